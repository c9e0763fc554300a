"""The nightly fleet: every job of a monitoring plan, with the imports paid once
(:func:`monitor_plan`, ``workbench monitor --plan plan.yaml [-j N]``).

A scheduler that runs one ``workbench monitor`` per model pays, per model, a fresh interpreter, the
imports of pandas, Evidently and MLflow, and a kernel. The fleet pays them once: its jobs run one
after another in this process, or with ``workers=N`` on N worker processes that each import once
and take job after job. The steps of a job are those of notebook 04 (:mod:`~workbench.monitoring.
nightly`): the workers read, judge and save the reports; this process records each saved result
(an MLflow run, the retrain policy) and sends its alert as soon as it is saved, one at a time, so
that two processes never write the store at once. A job whose plan says ``report: notebook`` runs
notebook 04 through papermill, all such jobs in one kernel started at the outset.

Every job gets its own report folder, MLflow run, exit code and alert; a job that fails (a missing
file, a model that does not load, a worker killed) is its own outcome and the others run on. The
fleet's exit code is the worst of them (1 failed > 2 invalid > 3 drift > 0), and ``fleet.json``
beside the jobs' folders lists them all.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import UsageError

if TYPE_CHECKING:  # the command imports this module to start; pandas and the rest load on use
    from workbench.monitoring.nightly import FleetResult, JobOutcome
    from workbench.monitoring.plan import MonitorJob

__all__ = ["MAX_WORKERS", "WARM_MODULES", "headless", "monitor_notebook", "monitor_plan"]

#: What notebook 04's cells import, in the order they need it: a kernel (or worker) imports them
#: as it starts, while the caller goes on.
WARM_MODULES = (
    "workbench.monitoring",
    "evidently.presets",
    "plotly.graph_objects",
    "workbench.ui",
)
#: The most worker processes a plan runs on.
MAX_WORKERS = 64
_WORKER_DIED = (
    "the worker process running it died (killed, or out of memory); the other jobs ran on: "
    "rerun this one alone with `workbench monitor`"
)


def monitor_plan(
    plan: str | os.PathLike | dict | list,
    workers: int = 1,
    *,
    notify: tuple[str, ...] | list[str] = (),
    notify_always: bool = False,
    fail_on_drift: bool = False,
    out: str | os.PathLike | None = None,
    timeout: float = 900,
    progress: Callable[[JobOutcome, int, int], None] | None = None,
) -> FleetResult:
    """Run every job of a monitoring plan; each gets its report, MLflow run, exit code and alert.

    Args:
        plan: The plan's YAML file (see :mod:`~workbench.monitoring.plan`), or its data.
        workers: Worker processes for the jobs run in Python (1: in this process). Each imports
            once, then takes job after job; more than the machine's cores buys nothing.
        notify: Alert targets (webhook URLs, email addresses) added to every job's own.
        notify_always: Also alert on clean runs.
        fail_on_drift: Every job exits 3 on drift (a job's plan may also ask it).
        out: The folder for ``fleet.json`` and the jobs' default folders (default:
            ``reports/monitoring/plan-<UTC time>`` in the workspace).
        timeout: Seconds a cell of a notebook job may run.
        progress: Called with each job's outcome as it is recorded, the count done and the total.

    Returns:
        A :class:`~workbench.monitoring.nightly.FleetResult`, saved as ``fleet.json`` in ``out``.

    Raises:
        UsageError: the plan is malformed, a notify target is neither a URL nor an address, or
            ``workers`` is out of range (before any job runs).
    """
    from workbench._core.notify import check_targets
    from workbench._core.results import stamp
    from workbench.monitoring.nightly import FleetResult, compute_job, record_job
    from workbench.monitoring.plan import load_plan
    from workbench.workspace import current_workspace

    started = time.perf_counter()
    jobs = load_plan(plan)
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise UsageError(
            f"workers must be a whole number from 1 to {MAX_WORKERS}, got {workers!r}."
        )
    check_targets([*notify, *(t for job in jobs for t in job.notify)])
    ws = current_workspace()
    folder = Path(out).expanduser() if out else ws.reports_dir / "monitoring" / f"plan-{stamp()}"
    folder = folder.resolve()
    outs = {job.name: job.out or str(folder / job.name) for job in jobs}
    for path in outs.values():  # never read a previous run's verdict
        (Path(path) / "summary.json").unlink(missing_ok=True)
    letters = ws.reports_dir / "notify-dead-letter"
    outcomes: dict[str, JobOutcome] = {}

    def record(job: MonitorJob, computed: dict[str, Any]) -> None:
        if fail_on_drift and not job.fail_on_drift:
            from dataclasses import replace

            job = replace(job, fail_on_drift=True)
        outcomes[job.name] = outcome = record_job(
            job, computed, outs[job.name], dead_letters=letters,
            notify_targets=tuple(notify), notify_always=notify_always,
        )  # fmt: skip
        if progress is not None:
            progress(outcome, len(outcomes), len(jobs))

    in_python = [job for job in jobs if job.report == "python"]
    in_notebook = [job for job in jobs if job.report == "notebook"]
    kernel = _start_kernel(ws.root, any(job.model for job in in_notebook)) if in_notebook else None
    try:
        workers = min(workers, len(in_python)) or 1
        if workers == 1:
            if in_python:
                _import_once()
            for job in in_python:
                record(job, compute_job(job, outs[job.name]))
        else:
            _on_workers(in_python, outs, workers, str(ws.root), record)
        for job in in_notebook:
            record(job, _notebook_job(job, outs[job.name], ws.root, kernel, timeout))
    finally:
        if kernel is not None:
            kernel.shutdown(wait=False)
    result = FleetResult(
        jobs=[outcomes[job.name] for job in jobs],
        plan=None if isinstance(plan, dict | list) else str(Path(plan).expanduser().resolve()),
        workers=workers,
        seconds=time.perf_counter() - started,
        folder=str(folder),
    )
    result.save(folder)
    return result


def monitor_notebook(root: Any) -> str:
    """Notebook 04 of the workspace, else the one shipped beside the package."""
    own = Path(root) / "notebooks" / "04_monitor_drift.ipynb"
    if own.exists():
        return str(own)
    return str(Path(__file__).resolve().parents[1] / "notebooks" / "04_monitor_drift.ipynb")


def headless(notebook: str | os.PathLike, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` for a scheduled run of notebook 04: the Evidently report is not shown inline
    (``report.html`` is beside the kept notebook, 5 MB less per run), where the notebook has the
    parameter (a workspace's older copy may not: it then runs as it is)."""
    if "inline_report = " in Path(notebook).read_text(encoding="utf-8"):
        return {**params, "inline_report": False}
    return params


def _on_workers(
    jobs: list[MonitorJob], outs: dict[str, str], workers: int, root: str, record: Callable
) -> None:
    """The jobs on ``workers`` worker processes, at most one job in flight per worker; each
    result recorded here as it comes. A worker that dies fails the jobs it was running (the
    pool is then replaced for the rest)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    from workbench.monitoring.nightly import compute_job, job_failed

    context = multiprocessing.get_context("spawn")  # a fork would copy this process's store

    def new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start_worker, initargs=(root, os.getpid())
        )

    pending, running = list(jobs), {}
    pool = new_pool()
    try:
        while pending or running:
            broken = False
            while pending and len(running) < workers and not broken:
                job = pending[0]
                try:  # a worker may have died since the last answer: the pool then refuses jobs
                    running[pool.submit(compute_job, job, outs[job.name])] = job
                    pending.pop(0)
                except BrokenProcessPool:
                    broken = True
            done, _ = wait(running, return_when=FIRST_COMPLETED) if running else (set(), set())
            for future in done:
                job = running.pop(future)
                try:
                    computed = future.result()
                except BrokenProcessPool:
                    broken, computed = True, job_failed(_WORKER_DIED)
                except Exception as err:  # the job could not be sent or its answer read
                    computed = job_failed(f"{type(err).__name__}: {err}")
                record(job, computed)
            if broken:  # the rest of the in-flight jobs died with it; a fresh pool for the others
                for job in running.values():
                    record(job, job_failed(_WORKER_DIED))
                running.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = new_pool()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _start_worker(root: str, fleet: int) -> None:
    """A worker's start: the workspace opened and notebook 04's modules imported, once; and a
    watch on the fleet's process, which the worker outlives by at most a second (a scheduler
    that kills the command would otherwise leave the workers waiting for jobs forever: the
    other workers keep the job queue open)."""
    import threading

    from workbench.workspace import open_workspace

    threading.Thread(target=_exit_with, args=(fleet,), daemon=True).start()
    open_workspace(root)
    _import_once()


def _exit_with(fleet: int) -> None:
    """Exit once this process's parent is no longer the fleet (it died, even before we began)."""
    while os.getppid() == fleet:
        time.sleep(0.5)
    os._exit(1)


def _import_once() -> None:
    """What every job needs, imported with the garbage collector paused (it would re-traverse the
    long-lived objects the imports make: a quarter of their time)."""
    import importlib

    from workbench._core.gcpause import gc_paused

    with gc_paused():
        for name in ("workbench.monitoring.report", "evidently.presets", "evidently.core.report"):
            try:
                importlib.import_module(name)
            except ImportError:  # reported by the job that needs it
                pass


def _start_kernel(root: Path, with_model: bool):
    """One kernel for every notebook job, started now: it imports while the Python jobs run."""
    from workbench.runner import SharedKernel

    modules = WARM_MODULES + (("mlflow",) if with_model else ())
    kernel = SharedKernel(
        cwd=Path(monitor_notebook(root)).parent,
        warm=modules,
        log_path=root / "runs" / "kernels.log",
    )
    try:
        return kernel.start()
    except Exception:  # the first notebook job then starts its own, and says what is wrong
        return None


def _notebook_job(job: MonitorJob, out: str, root: Path, kernel: Any, timeout: float) -> dict:
    """Notebook 04 for one job (papermill, in the shared kernel), recording left to the caller."""
    import workbench.monitoring  # noqa: F401 - its DataError subclasses, by name
    from workbench.errors import NotebookError, error_class_named
    from workbench.monitoring.nightly import job_failed
    from workbench.runner import run_notebook

    started = time.perf_counter()
    try:
        notebook = monitor_notebook(root)
        params = headless(notebook, job.notebook_parameters(out))
        run = run_notebook(notebook, params, timeout=timeout, kernel=kernel)
    except NotebookError as err:
        cls = error_class_named(getattr(err.__cause__, "ename", "") or err.ename or "")
        invalid = cls is not None and cls.exit_code == 2
        said = getattr(err.__cause__, "evalue", "") if invalid else ""
        computed = job_failed(said or str(err)) | {
            "invalid": invalid,
            "exit_code": 2 if invalid else 1,
        }
        computed["executed_notebook"] = err.output_path
    except Exception as err:  # the kernel could not start, the notebook is missing
        computed = job_failed(f"{type(err).__name__}: {err}")
    else:
        computed = {"saved": True, "executed_notebook": str(run.output_path)}
    computed["seconds"] = time.perf_counter() - started
    return computed
