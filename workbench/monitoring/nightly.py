"""One job of the nightly fleet, in two halves, and the fleet's result.

A job's work is split where ``workbench monitor`` splits it: :func:`compute_job` reads the two
tables, judges them and saves the reports (the part that needs pandas and Evidently, and runs in a
worker process with ``-j N``); :func:`record_job` records the saved result as an MLflow run, applies
the retrain policy and alerts (the part that needs the store, and runs in the fleet's own process,
one job after another, so that no two processes write the store at once). A job that fails, in
either half, is an outcome like any other: the other jobs run on.

Exit codes, worst first: 1 (the job failed to run), 2 (invalid input: no verdict), 3 (drift, with
``fail_on_drift``), 0. :attr:`FleetResult.exit_code` is the worst of its jobs'.
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench._core.results import Result, html_table, jsonable
from workbench._core.text import first_line
from workbench.errors import DataError, MonitoringError, WorkbenchError
from workbench.monitoring.plan import MonitorJob

__all__ = [
    "FleetResult",
    "JobOutcome",
    "compute_job",
    "failure_summary",
    "job_failed",
    "record_job",
    "record_saved",
    "worst_exit",
]

#: Exit codes from the least to the most severe.
_SEVERITY = {0: 0, 3: 1, 2: 2, 1: 3}


def worst_exit(codes: list[int]) -> int:
    """The most severe of ``codes`` (1 failed > 2 invalid > 3 drift > 0); 0 for none.

    Example:
        >>> worst_exit([0, 3, 2]), worst_exit([3, 1, 2]), worst_exit([])
        (2, 1, 0)
    """
    return max(codes, key=lambda c: _SEVERITY.get(c, 4), default=0)


@dataclass
class JobOutcome:
    """What one job came to: its verdict, exit code, report, MLflow run and alerts."""

    name: str
    status: str  # ok, drift, invalid, failed
    exit_code: int
    model: str | None = None
    current: str | None = None
    report_folder: str | None = None
    run_id: str | None = None
    run_url: str | None = None
    drifted_columns: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    error: str | None = None
    retrain_requested: bool = False
    notifications: list[dict[str, Any]] = field(default_factory=list)
    executed_notebook: str | None = None
    seconds: float = 0.0

    def text(self) -> str:
        """One line: the job, its verdict and where to read more."""
        if self.status == "failed":
            said = f"FAILED: {self.error}"
        elif self.status == "invalid":
            said = "INVALID DATA, no verdict: " + " | ".join(self.reasons or [self.error or ""])
        elif self.status == "drift":
            said = "DRIFT in " + ", ".join(self.drifted_columns)
        else:
            said = "no drift"
        where = f"; report {self.report_folder}" if self.report_folder else ""
        return f"{self.name}: {said} (exit {self.exit_code}, {self.seconds:.1f} s){where}"


@dataclass
class FleetResult(Result):
    """The nightly fleet's outcome: one :class:`JobOutcome` per job, in the plan's order.

    ``exit_code`` is the worst job's; ``save`` writes ``fleet.json`` (what ``--json`` prints).

    Example:
        >>> fleet = FleetResult(jobs=[JobOutcome("a", "ok", 0), JobOutcome("b", "drift", 3)])
        >>> fleet.exit_code, fleet.counts()["drift"]
        (3, 1)
    """

    FILE_NAME = "fleet.json"

    jobs: list[JobOutcome]
    plan: str | None = None
    workers: int = 1
    seconds: float = 0.0
    folder: str | None = None

    @property
    def exit_code(self) -> int:
        """The worst of the jobs' exit codes."""
        return worst_exit([j.exit_code for j in self.jobs])

    def counts(self) -> dict[str, int]:
        """Jobs per status."""
        out = {s: 0 for s in ("ok", "drift", "invalid", "failed")}
        for job in self.jobs:
            out[job.status] = out.get(job.status, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain data: the tally, the exit code and every job (what ``--json`` prints)."""
        return jsonable(
            {
                "plan": self.plan,
                "exit_code": self.exit_code,
                "counts": self.counts(),
                "workers": self.workers,
                "seconds": round(self.seconds, 2),
                "folder": self.folder,
                "jobs": [asdict(j) for j in self.jobs],
            }
        )

    def text(self) -> str:
        """A line per job, then the tally."""
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items() if n)
        lines = [job.text() for job in self.jobs]
        lines.append(
            f"{len(self.jobs)} jobs in {self.seconds:.1f} s on {self.workers} "
            f"worker{'s' if self.workers != 1 else ''}: {counts}; exit {self.exit_code}"
        )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colours = {"ok": "#1a7f37", "drift": "#cf222e", "invalid": "#9a6700", "failed": "#cf222e"}
        rows = "".join(
            "<tr>"
            f"<td>{html.escape(j.name)}</td>"
            f"<td style='color:{colours.get(j.status, '#000')}'><b>{j.status}</b></td>"
            f"<td>{j.exit_code}</td>"
            f"<td>{html.escape(', '.join(j.drifted_columns) or (j.error or '')[:120])}</td>"
            f"<td>{html.escape(j.run_id or '')}</td><td>{j.seconds:.1f} s</td></tr>"
            for j in self.jobs
        )
        head = "".join(
            f"<th style='text-align:left'>{h}</th>"
            for h in ("job", "status", "exit", "drifted / error", "MLflow run", "time")
        )
        summary = html_table(
            [("jobs", len(self.jobs)), ("exit code", self.exit_code), ("workers", self.workers)],
            title="Nightly monitoring",
        )
        return f"<div class='wb-fleet'>{summary}<table><tr>{head}</tr>{rows}</table></div>"


def compute_job(job: MonitorJob, out: str) -> dict[str, Any]:
    """Read, judge and save one job's batch into ``out`` (``summary.json`` and the reports).

    Never raises for the job's own failure: returns ``{"saved": True}`` or the error as plain,
    picklable data (``error``, ``exit_code``, ``invalid``), with ``seconds``.
    """
    from workbench.monitoring.report import drift_report
    from workbench.monitoring.simulation import batches

    started = time.perf_counter()
    try:
        ref, cur, ids = batches(job.reference, job.current, traffic=job.traffic, since=job.since)
        result = drift_report(
            ref, cur, model=job.model, target=job.target, ignore=job.ignore,
            drift_share=job.drift_share, on_invalid="return", data_ids=ids,
        )  # fmt: skip
        result.save(out)
        outcome: dict[str, Any] = {"saved": True}
    except Exception as err:  # the job's failure is its outcome; the fleet goes on
        outcome = _error(err)
    outcome["seconds"] = time.perf_counter() - started
    return outcome


def record_job(
    job: MonitorJob,
    computed: dict[str, Any],
    out: str,
    *,
    dead_letters: str | Path | None = None,
    notify_targets: tuple[str, ...] = (),
    notify_always: bool = False,
) -> JobOutcome:
    """Record a computed job (MLflow run, retrain policy), alert, and say what it came to.

    ``notify_targets`` are alerted besides the job's own ``notify``; ``notify_always`` sends a
    clean run's alert too. A delivery that fails is a dead letter, never a different exit code.
    """
    started = time.perf_counter()
    summary_file = Path(out) / "summary.json"
    computed = dict(computed)
    if computed.get("saved") and not summary_file.is_file():
        where = computed.get("executed_notebook") or out
        computed.update(job_failed(f"the job ran but wrote no {summary_file}: see {where}"))
    summary: dict[str, Any] = {}
    if computed.get("saved"):
        summary = json.loads(summary_file.read_text())
        try:
            summary.update(record_saved(summary_file, job.model))
        except Exception as err:  # the store is down: the report stays, the job failed
            computed.update(_error(err))
        summary["report_folder"] = out
        summary["executed_notebook"] = computed.get("executed_notebook")
    if not computed.get("saved"):
        summary = failure_summary(
            error=computed.get("error") or "failed",
            exit_code=int(computed.get("exit_code") or 1),
            invalid=bool(computed.get("invalid")),
            model=job.model,
            current=job.current or (f"traffic of {job.traffic}" if job.traffic else None),
            reference=job.reference,
            report_folder=out if Path(out).is_dir() else None,
            executed_notebook=computed.get("executed_notebook"),
            known=_saved_summary(summary_file),
        )
    code = summary.get("exit_code")
    if computed.get("saved"):
        status = summary.get("status")
        code = 2 if status == "invalid" else 3 if status == "drift" and job.fail_on_drift else 0
        summary["exit_code"] = code
    deliveries = _alert(
        summary, (*job.notify, *notify_targets), job.notify_always or notify_always, dead_letters
    )
    return JobOutcome(
        name=job.name,
        status=summary.get("status", "failed"),
        exit_code=int(code if code is not None else 1),
        model=job.model,
        current=job.current
        or (f"traffic of {job.traffic} since {job.since}" if job.traffic else None),
        report_folder=out if summary_file.is_file() else None,
        run_id=summary.get("run_id"),
        run_url=summary.get("run_url"),
        drifted_columns=list(summary.get("drifted_columns") or []),
        reasons=list(summary.get("reasons") or []),
        error=summary.get("error"),
        retrain_requested=bool((summary.get("retrain") or {}).get("requested")),
        notifications=deliveries,
        executed_notebook=summary.get("executed_notebook"),
        seconds=float(computed.get("seconds") or 0.0) + time.perf_counter() - started,
    )


def record_saved(summary_file: str | Path, model: str | None) -> dict[str, Any]:
    """What notebook 04 does when ``record`` is True, on its saved result: the MLflow run, then
    the retrain policy. Returns ``run_id``, ``run_url`` and ``retrain`` (the decision).

    Raises:
        ServerUnavailableError: the tracking server did not answer (the report stays saved).
        MonitoringError: the run could not be recorded.
    """
    from workbench._core.unreachable import server_down, unreachable
    from workbench.monitoring.result import DriftResult
    from workbench.monitoring.retrain import apply_retrain_policy

    summary_file = Path(summary_file)
    result = DriftResult.load(summary_file)
    try:
        run_id = result.log()
    except MonitoringError as err:
        saved = f"The report is saved in {summary_file.parent}; no MLflow run was recorded."
        reason = unreachable(err)
        if reason is not None:
            raise server_down("recording the monitoring run", reason, then=saved) from err
        raise MonitoringError(f"{err} ({saved})") from err
    decision = apply_retrain_policy(model)
    return {"run_id": run_id, "run_url": result.run_url, "retrain": decision.to_dict()}


def failure_summary(
    *,
    error: str,
    exit_code: int,
    invalid: bool,
    model: str | None,
    current: str | None,
    reference: str | None,
    report_folder: str | None,
    executed_notebook: str | None = None,
    known: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the alert of a run that raised says: ``failed`` (a cell raised, the kernel died, the
    store is down) or ``invalid`` (bad input data, exit 2), with what is known of the run
    (``known``: a verdict already saved)."""
    message = first_line(" ".join(str(error).split()) or "failed", limit=2000)
    summary = dict(known or {})
    summary.update(
        status="invalid" if invalid else "failed",
        exit_code=exit_code,
        error=message,
        model_uri=summary.get("model_uri") or model,
        current=current,
        reference=reference,
        report_folder=report_folder,
    )
    if invalid:
        summary["reasons"] = [message]
    if executed_notebook or "executed_notebook" not in summary:
        summary["executed_notebook"] = str(executed_notebook) if executed_notebook else None
    return summary


def _error(err: BaseException) -> dict[str, Any]:
    """An exception as plain data: its one-line message, exit code, and whether it is bad input."""
    text = " ".join(str(err).split()) or type(err).__name__
    if not isinstance(err, WorkbenchError):
        text = f"{type(err).__name__}: {text}"
    return {
        "saved": False,
        "error": first_line(text, limit=2000),
        "exit_code": err.exit_code if isinstance(err, WorkbenchError) else 1,
        "invalid": isinstance(err, DataError),
    }


def job_failed(error: str) -> dict[str, Any]:
    """A job that failed to run (exit 1), as :func:`compute_job` says it."""
    return {"saved": False, "error": error, "exit_code": 1, "invalid": False}


def _saved_summary(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None


def _alert(
    summary: dict[str, Any], targets: tuple[str, ...], always: bool, dead_letters
) -> list[dict[str, Any]]:
    """The deliveries of the job's alert, as plain data; a failure of alerting itself is one
    undelivered entry (it must not hide the verdict)."""
    if not targets:
        return []
    from workbench._core.notify import notify

    try:
        sent = notify(summary, list(dict.fromkeys(targets)), always=always,
                      dead_letter_dir=dead_letters)  # fmt: skip
    except Exception as err:
        reason = first_line(f"{type(err).__name__}: {err}", limit=500)
        return [{"target": ", ".join(targets), "delivered": False, "reason": reason}]
    return [d.to_dict() for d in sent]
