"""The ``monitor`` command: notebook 04 through the runner, then the verdict from its
``summary.json`` (0 no drift, 3 drift with ``--fail-on-drift``, 2 invalid data).

Where the seconds go: the notebook's kernel imports pandas and Evidently before the first drift
test can run, and that is most of a run. So the kernel starts first thing, before the workspace
opens (:func:`start_kernel_early`, called by ``main``), and imports those modules while this
process opens the workspace, checks the files and prepares the notebook; the notebook then runs in
that kernel, top to bottom, from its parameters cell, as it would in a fresh one. A kernel that
failed to start is replaced by a fresh one in the run.

The two processes share the work: the notebook runs with ``record = False`` (no MLflow in the
kernel, which would cost it two seconds of imports), while this process loads MLflow and opens
the store as the kernel computes, then records the run from the saved ``summary.json`` with the
notebook's own steps (:meth:`DriftResult.log`, :func:`apply_retrain_policy`) once it has finished.
With ``--model`` the kernel loads the model, so it imports MLflow too.

``--notify URL_OR_ADDRESS`` (repeatable) sends the outcome to a person once it is known, whatever
it is: drift, invalid data (exit 2), a failed run (exit 1), a retrain request; a clean run too with
``--notify-always`` (:mod:`workbench._core.notify`). A delivery that fails is a warning and a
dead letter, never a different exit code.

``--plan PLAN.yaml [-j N]`` runs a whole plan of jobs instead (:func:`workbench.fleet.monitor_plan`):
one process, imports paid once, a line per job as it is recorded, the worst exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from workbench.cli._conventions import print_json
from workbench.cli._serve import engine_arguments, on_spark
from workbench.fleet import WARM_MODULES, headless, monitor_notebook

__all__ = [
    "MODEL_WARM_MODULES",
    "WARM_MODULES",
    "cmd_monitor",
    "monitor_arguments",
    "start_kernel_early",
]

EXIT_OK, EXIT_USAGE, EXIT_GATE = 0, 2, 3

#: What the kernel imports too with ``--model`` (loading the model needs MLflow and its store).
MODEL_WARM_MODULES = ("mlflow", "mlflow.store.tracking.sqlalchemy_store")


def monitor_arguments(p: argparse.ArgumentParser) -> None:
    """The ``monitor`` command's arguments."""
    p.add_argument("--reference", help="reference data, CSV or Parquet (required without --plan)")
    p.add_argument("--current", help="current batch, CSV or Parquet (or --traffic)")
    p.add_argument(
        "--traffic",
        metavar="MODEL_URI",
        help="monitor the model's served traffic (its inference log) instead of a --current file",
    )
    p.add_argument(
        "--since", default="24h", help="with --traffic: the window (24h, 7d, 2026-12-01; UTC)"
    )
    p.add_argument("--model", help="model URI, for prediction drift")
    p.add_argument("--target", help="label column (default: the model contract's); may be absent")
    p.add_argument("--ignore", action="append", metavar="COL", help="skip COL; repeatable")
    p.add_argument("--out", help="folder for the reports")
    p.add_argument("--fail-on-drift", action="store_true", help="exit 3 when drift is found")
    p.add_argument(
        "--drift-share", type=float, default=0.0, help="alert share of drifted columns (0: any)"
    )
    p.add_argument("--timeout", type=float, default=900, help="seconds a notebook cell may run")
    p.add_argument(
        "--plan",
        metavar="PLAN_YAML",
        help="run every job of a plan (the nightly fleet): one process, imports paid once; the "
        "exit code is the worst job's (1 failed > 2 invalid > 3 drift > 0)",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="with --plan: run the Python jobs on N worker processes (default 1)",
    )
    p.add_argument(
        "--notify",
        action="append",
        default=[],
        metavar="URL_OR_ADDRESS",
        help="send the outcome (drift, invalid data, failed run, retrain request) to a webhook "
        "(http(s) URL, POSTed JSON) or an email address (SMTP: WORKBENCH_SMTP_* variables); "
        "repeatable",
    )
    p.add_argument(
        "--notify-always", action="store_true", help="with --notify, also alert on a clean run"
    )
    engine_arguments(
        p,
        "pandas: this process (default); spark: per-column summaries on Spark (PySpark, Java); "
        "the data may then be Parquet folders or table names",
    )
    p.set_defaults(before_open=start_kernel_early)


def start_kernel_early(args: argparse.Namespace) -> None:
    """Start notebook 04's kernel now, before the workspace opens: it imports
    :data:`WARM_MODULES` meanwhile. Never fails: without it the run starts a fresh kernel."""
    from workbench.prestart import start_early

    args.kernel = None
    if getattr(args, "plan", None):  # a plan starts the kernels its notebook jobs need
        return
    args.kernel = start_early(
        args.workspace,
        lambda root: Path(monitor_notebook(root)).parent,
        WARM_MODULES + (MODEL_WARM_MODULES if args.model else ()),
    )


def cmd_monitor(args: argparse.Namespace) -> int:
    """Run notebook 04 (the executed copy is the audit record), then read its ``summary.json``."""
    if getattr(args, "plan", None):
        from workbench.cli._plan import cmd_plan

        return cmd_plan(args)
    kernel = getattr(args, "kernel", None)
    state: dict[str, Any] = {"ran": False, "finished": False}
    try:
        targets = getattr(args, "notify", None) or []
        if targets:  # a typo fails before the run (smtplib and the rest load only then)
            from workbench._core.notify import check_targets

            targets = check_targets(targets)
        try:
            code = _monitor(args, kernel, state, targets)
        except Exception as err:  # a failed run, invalid data: the alert goes out, then the error
            _send(args, targets, _failure_summary(args, err, state), quiet=False)
            raise
        state["finished"] = True
        return code
    finally:
        if kernel is not None:  # a finished run's kernel exits by itself (no wait for teardown)
            kernel.shutdown(wait=not state["finished"], now=not state["ran"])


def _monitor(
    args: argparse.Namespace, kernel: Any, state: dict[str, Any], targets: list[str]
) -> int:
    from workbench._core.names import ARTIFACT
    from workbench._core.results import timestamped_folder
    from workbench._core.text import first_line
    from workbench._core.ticker import ticking
    from workbench.errors import NotebookError, UsageError, WorkbenchError
    from workbench.runner import run_notebook
    from workbench.workspace import current_workspace

    ws = current_workspace()
    spark = on_spark(args)
    files = _input_files(args, spark)
    base = ws.reports_dir / "monitoring"
    out = Path(args.out).expanduser() if args.out else timestamped_folder(base)
    out = out.resolve()
    state["out"] = str(out)
    summary_file = out / ARTIFACT.SUMMARY_JSON
    if summary_file.exists():
        summary_file.unlink()  # never read a previous run's verdict
    if getattr(args, "traffic", None):  # the served model is the one judged, unless named
        args.model = args.model or args.traffic
    params = {
        **files,
        **({"traffic": args.traffic, "since": args.since} if args.traffic else {}),
        "model": args.model,
        "target": args.target,
        "ignore": args.ignore,
        "out": str(out),
        "drift_share": args.drift_share,
        "fail_on_drift": False,
        "fail_on_invalid": False,
        "record": False,  # recorded here, by _record, once the notebook has run
        **({"engine": "spark", "spark_master": args.spark_master} if spark else {}),
    }
    notebook = monitor_notebook(ws.root)
    if spark and '"engine = ' not in Path(notebook).read_text():
        raise UsageError(f"{notebook} has no engine parameter: update it from the package's copy.")
    if kernel is not None and Path(kernel.cwd).resolve() != Path(notebook).resolve().parent:
        kernel.shutdown()  # started for another notebook folder: run in a fresh kernel
        kernel = None
    params = headless(notebook, params)
    _open_store(args.model)
    _skip_iri_grammars()
    state["ran"] = True
    try:
        with ticking("monitoring: notebook 04 runs", enabled=not args.json):
            run = run_notebook(notebook, params, timeout=args.timeout, kernel=kernel)
    except NotebookError as err:
        data_error = _data_error_named(getattr(err.__cause__, "ename", ""))
        if data_error is not None:  # bad input found inside the notebook: exit 2, not 1
            raise data_error(
                f"{first_line(getattr(err.__cause__, 'evalue', ''), limit=500)} "
                f"(executed notebook: {err.output_path})"
            ) from err
        raise
    if not summary_file.exists():
        raise WorkbenchError(
            f"notebook 04 ran but wrote no {summary_file}: see the executed notebook {run.output_path}"
        )
    summary = json.loads(summary_file.read_text())
    state["summary"] = summary | {"executed_notebook": run.output_path}
    summary.update(_record(summary_file, args.model))
    summary["executed_notebook"] = run.output_path
    summary["report_folder"] = str(out)
    code = EXIT_OK
    if summary["status"] == "invalid":
        code = EXIT_USAGE
    elif summary["status"] == "drift" and args.fail_on_drift:
        code = EXIT_GATE
    summary["exit_code"] = code
    deliveries = _send(args, targets, summary, quiet=args.json)
    if args.json:
        if targets:
            summary["notifications"] = [d.to_dict() for d in deliveries]
        print_json(args, summary)
    if summary["status"] == "invalid":
        print(
            "error: invalid data, no drift verdict: " + " | ".join(summary["reasons"]),
            file=sys.stderr,
        )
    elif not args.json:
        from workbench.monitoring import DriftResult

        print(DriftResult.load(summary_file).text())  # each score says p-value or distance
        print(f"report: {out / ARTIFACT.REPORT_HTML}")
        print(f"MLflow run: {summary['run_url'] or summary['run_id']}")
        if summary["retrain"]["requested"]:
            print(summary["retrain"]["reason"])
        print(f"executed notebook: {run.output_path} ({run.seconds:.1f} s)")
        for sent in (d for d in deliveries if d.delivered):
            print(sent.text())
    return code


def _send(args: argparse.Namespace, targets: list[str], summary: dict[str, Any], quiet: bool):
    """Alert ``targets`` of the outcome; a failed delivery is a warning on stderr (and a dead
    letter), never an error: the exit code stays the verdict's. Returns the deliveries."""
    if not targets:
        return []
    try:
        from workbench._core.notify import notify
        from workbench.workspace import current_workspace

        try:
            letters = current_workspace().reports_dir / "notify-dead-letter"
        except Exception:  # no workspace (the run failed on it): the alert still goes out
            letters = Path("reports") / "notify-dead-letter"
        deliveries = notify(
            summary,
            targets,
            always=getattr(args, "notify_always", False),
            dead_letter_dir=letters,
        )
    except Exception as err:  # a bug here must not hide the verdict
        print(f"warning: no alert was sent: {type(err).__name__}: {err}", file=sys.stderr)
        return []
    for delivery in deliveries:
        if not delivery.delivered:
            print(delivery.text(), file=sys.stderr)
        elif not quiet and summary.get("status") in ("failed", "invalid"):
            print(delivery.text(), file=sys.stderr)  # the verdict's own output is an error
    return deliveries


def _failure_summary(args: argparse.Namespace, err: Exception, state: dict[str, Any]) -> dict:
    """What the alert of a run that raised says (:func:`~workbench.monitoring.nightly.
    failure_summary`), with what is known of the run (the report folder, the executed notebook,
    a verdict already saved)."""
    from workbench.errors import DataError, WorkbenchError
    from workbench.monitoring.nightly import failure_summary

    notebook = getattr(err, "output_path", None) or getattr(err.__cause__, "output_path", None)
    return failure_summary(
        error=str(err) or type(err).__name__,
        exit_code=err.exit_code if isinstance(err, WorkbenchError) else 1,
        invalid=isinstance(err, DataError),
        model=args.model,
        current=args.current
        or (f"traffic of {args.traffic}" if getattr(args, "traffic", None) else None),
        reference=args.reference,
        report_folder=state.get("out"),
        executed_notebook=notebook,
        known=state.get("summary"),
    )


def _open_store(model: str | None) -> None:
    """Load MLflow and open the store while the kernel starts (this process records the run).
    Never fails, nor waits on a server that does not answer (no retries): :func:`_record`
    reports what is wrong with the store."""
    try:
        from workbench._core.gcpause import gc_paused
        from workbench._core.unreachable import quick_failures

        with gc_paused():  # MLflow's and the store's imports (the kernel needs the other core)
            from workbench.monitoring.tracking import experiment_name
            from workbench.workspace import mlflow_client

            with quick_failures():
                mlflow_client().get_experiment_by_name(experiment_name(model))
    except Exception:  # noqa: S110 - reported when the run is recorded
        pass


def _record(summary_file: Path, model: str | None) -> dict[str, Any]:
    """What notebook 04 does when ``record`` is True, on its saved result: the MLflow run, then
    the retrain policy (:func:`~workbench.monitoring.nightly.record_saved`)."""
    from workbench.monitoring.nightly import record_saved

    return record_saved(summary_file, model)


def _input_files(args: argparse.Namespace, spark: bool) -> dict[str, str]:
    """The two tables as absolute paths (or Spark table names); a missing file is bad input."""
    from workbench.errors import DataFileError, UsageError

    files = {}
    if not args.reference:
        raise UsageError("give the reference data (--reference FILE), or a plan of jobs (--plan).")
    if bool(args.current) == bool(getattr(args, "traffic", None)):
        raise UsageError(
            "give the current batch as a file (--current) or the model whose served traffic to "
            "monitor (--traffic models:/NAME@champion), not both."
            if args.current
            else "give the current batch: --current FILE, or --traffic MODEL_URI for the traffic."
        )
    for what, path in (("reference", args.reference), ("current", args.current)):
        if path is None:
            continue
        file = Path(path).expanduser()
        if spark and (file.exists() or not (os.sep in path or file.suffix)):
            files[what] = str(file.resolve()) if file.exists() else path  # a table name
            continue
        if file.is_dir():
            raise DataFileError(
                f"{what} data {path} is a folder: the pandas engine reads one CSV or Parquet file; "
                "add --engine spark to read a folder of Parquet files."
            )
        if not file.is_file():
            raise DataFileError(
                f"{what} data file {path} does not exist: give a CSV or Parquet file."
            )
        files[what] = str(file.resolve())
    return files


def _skip_iri_grammars() -> None:
    """Import papermill without building the IRI grammars nobody here uses.

    papermill imports nbformat, which imports jsonschema, whose format checkers import the
    optional ``rfc3987_syntax`` when installed (JupyterLab's event schemas need it): that builds
    some 40 parsers, 1.2-1.5 s of CPU while the kernel is importing on the other core. Notebook
    schemas check no IRI format, so this process imports jsonschema without that optional
    checker (as it would were the package not installed), then lets the package be imported
    normally again.
    """
    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        return
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment] - import then raises
    try:
        import papermill  # noqa: F401
    except ImportError:
        pass  # reported where papermill is used
    finally:
        if sys.modules.get("rfc3987_syntax", 0) is None:
            del sys.modules["rfc3987_syntax"]


def _data_error_named(name: str):
    """The workbench error class called ``name`` when it means bad input (exit code 2)."""
    from workbench.cli import _error_class_named

    cls = _error_class_named(name)
    return cls if cls is not None and cls.exit_code == EXIT_USAGE else None
