"""What a drift report found: :class:`ColumnDrift` per column and the :class:`DriftResult`, which
shows itself (``_repr_html_``), saves itself (``report.html``, ``report.json``, ``summary.json``),
reads its summary back (``load``) and logs itself to MLflow (``log``).
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from workbench._core.names import ARTIFACT
from workbench._core.results import Result, atomic_write, jsonable, timestamped_folder, utc_now
from workbench.errors import DataQualityError, DriftAlert, MonitoringError
from workbench.monitoring.statistics import METHODS, ColumnStat, dkw_bound

__all__ = ["ColumnDrift", "DriftResult"]

_HIGHER_IS_DRIFT = {name for name, _, above in METHODS.values() if above}


@dataclass
class ColumnDrift:
    """The drift verdict of one column.

    Attributes:
        column: Column name (``prediction`` for the model's output).
        kind: ``numerical`` or ``categorical``.
        method: The test Evidently uses for it (``Wasserstein distance (normed)``, ...).
        score: The test's score: a distance (drift when at or above the threshold) or a p-value
            (drift when below it).
        threshold: The threshold the score is compared with.
        drifted: The verdict.

    Example:
        >>> c = ColumnDrift("income", "numerical", "Wasserstein distance (normed)", 0.4, 0.1, True)
        >>> c.effect
        0.4
    """

    column: str
    kind: str
    method: str
    score: float
    threshold: float
    drifted: bool

    @classmethod
    def from_stat(cls, stat: ColumnStat) -> ColumnDrift:
        """The verdict of a computed :class:`~workbench.monitoring.statistics.ColumnStat`."""
        return cls(
            stat.column, stat.kind, stat.method_name, stat.score, stat.threshold, stat.drifted
        )

    @property
    def effect(self) -> float:
        """How strong the drift is: the distance, or one minus the p-value."""
        return self.score if self.method in _HIGHER_IS_DRIFT else 1.0 - self.score


@dataclass
class DriftResult(Result):
    """What :func:`~workbench.monitoring.drift_report` found: a verdict per column, the dataset
    verdict, the report.

    Attributes:
        valid: False when the data failed validation; ``reasons`` then says why, and there is no
            drift verdict (``drift_detected`` is None): invalid data is never "no drift".
        reasons: What is wrong with the data, one line per problem, each naming its column.
        drift_detected: True when the share of drifted columns reaches ``drift_share`` (with
            ``drift_share=0``, the default, any drifted column counts).
        share: Share of tested columns that drifted.
        columns: Every tested column's verdict (method, score, threshold).
        drift_share: The dataset threshold used.
        performance: Model metrics on the current batch (when labels and a model are given).
        reference_performance: The same metrics on the reference data.
        rows_reference, rows_current: Row counts of the two tables.
        report_rows: Current rows the Evidently report was built on (all of them, or a uniform
            sample when the table is large; the verdicts always use every row).
        sample_error_bound: With a sample, the largest gap between the sample's and the full
            table's distribution (CDF or bin share) at 99% confidence (DKW inequality).
        ignored: Columns not tested and why (dates, ids).
        model_uri, model_name, model_version: The model scored, when one was given.
        data_ids: How the two tables were identified (file names, demo day, content hashes).

    Example:
        >>> r = DriftResult(valid=False, reasons=["column 'income': 65% missing"])
        >>> r.status
        'invalid'
    """

    FILE_NAME: ClassVar[str] = ARTIFACT.SUMMARY_JSON

    valid: bool = True
    reasons: list[str] = field(default_factory=list)
    drift_detected: bool | None = None
    share: float = 0.0
    columns: list[ColumnDrift] = field(default_factory=list)
    drift_share: float = 0.0
    performance: dict[str, float] = field(default_factory=dict)
    reference_performance: dict[str, float] = field(default_factory=dict)
    rows_reference: int = 0
    rows_current: int = 0
    report_rows: int = 0
    sample_error_bound: float | None = None
    ignored: dict[str, str] = field(default_factory=dict)
    model_uri: str | None = None
    model_name: str | None = None
    model_version: str | None = None
    target: str | None = None
    data_ids: dict[str, str] = field(default_factory=dict)
    created_at: str = field(default_factory=utc_now)
    report_path: str | None = None
    run_id: str | None = None
    run_url: str | None = None
    notes: list[str] = field(default_factory=list)
    _snapshot: Any = field(default=None, repr=False, compare=False)

    # -- reading

    @property
    def status(self) -> str:
        """``invalid``, ``drift`` or ``ok``."""
        if not self.valid:
            return "invalid"
        return "drift" if self.drift_detected else "ok"

    @property
    def drifted_columns(self) -> list[ColumnDrift]:
        """The columns that drifted, largest effect first."""
        drifted = [c for c in self.columns if c.drifted]
        return sorted(drifted, key=lambda c: c.effect, reverse=True)

    @property
    def tests(self) -> dict[str, Any]:
        """Test summary: one test per column plus the dataset share test (and validation)."""
        if not self.valid:
            return {"total": 1, "passed": 0, "failed": 1, "failed_names": ["data validation"]}
        failed = [f"drift in {c.column}" for c in self.drifted_columns]
        if self.drift_detected:
            failed.append("share of drifted columns")
        total = len(self.columns) + 1
        return {
            "total": total,
            "passed": total - len(failed),
            "failed": len(failed),
            "failed_names": failed,
        }

    def report(self) -> Any:
        """The Evidently snapshot (displays inline in a notebook), or None for invalid data."""
        return self._snapshot

    # -- filling in (drift_report's steps)

    def set_columns(self, columns: list[ColumnDrift]) -> None:
        """Record the column verdicts and decide the dataset verdict from ``drift_share``."""
        self.columns = columns
        n_drifted = sum(c.drifted for c in columns)
        self.share = n_drifted / len(columns) if columns else 0.0
        if self.drift_share <= 0:
            self.drift_detected = n_drifted > 0
        else:
            self.drift_detected = bool(self.share >= self.drift_share)

    def attach_report(self, snapshot: Any, rows: int, notes: list[str]) -> None:
        """Keep the Evidently ``snapshot`` built on ``rows`` current rows (a sample states its
        error bound) and the ``notes`` its building left."""
        self._snapshot = snapshot
        self.report_rows = rows
        self.notes.extend(notes)
        if rows < self.rows_current:
            self.sample_error_bound = dkw_bound(rows)

    def raise_for_status(self, fail_on_drift: bool = False, fail_on_invalid: bool = True) -> str:
        """Raise for invalid data, and for drift when asked; else return the status.

        Raises:
            DataQualityError: the data is invalid (unless ``fail_on_invalid`` is off).
            DriftAlert: drift was found and ``fail_on_drift`` is set.
        """
        if not self.valid and fail_on_invalid:
            raise DataQualityError("invalid data, no drift verdict: " + " | ".join(self.reasons))
        if fail_on_drift and self.drift_detected:
            cols = ", ".join(c.column for c in self.drifted_columns)
            raise DriftAlert(
                f"drift detected in {cols} (share {self.share:.0%}): read the report"
                + (f" at {self.report_path}" if self.report_path else "")
                + " and decide whether to retrain."
            )
        return self.status

    # -- saving

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields (what ``summary.json`` holds)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        out["columns"] = [asdict(c) for c in self.columns]  # the snapshot is never deep-copied
        out["status"] = self.status
        out["drifted_columns"] = [c.column for c in self.drifted_columns]
        out["tests"] = self.tests
        return jsonable(out)

    def save(self, folder: str | os.PathLike | None = None) -> Path:
        """Write ``report.html``, ``report.json`` (the Evidently report) and ``summary.json``.

        ``folder`` defaults to ``reports/monitoring/<UTC timestamp>`` in the workspace. Each file
        is written beside and then renamed, the summary last, so a failure leaves no half-written
        report. An invalid result writes ``summary.json`` only.

        Returns:
            The folder.

        Raises:
            MonitoringError: the folder cannot be written.
        """
        if folder is None:
            from workbench.workspace import current_workspace

            folder = timestamped_folder(current_workspace().reports_dir / "monitoring")
        out = Path(folder).expanduser().resolve()
        try:
            out.mkdir(parents=True, exist_ok=True)
            if self._snapshot is not None:
                from workbench.monitoring.evidently_adapter import report_files

                for name, data in report_files(self._snapshot).items():  # rendered, then written
                    atomic_write(out / name, data)
                self.report_path = str(out / ARTIFACT.REPORT_HTML)
            atomic_write(out / ARTIFACT.SUMMARY_JSON, json.dumps(self.to_dict(), indent=2))
        except OSError as err:
            raise MonitoringError(
                f"cannot write the drift report to {out}: {err}. Choose a folder you can write to."
            ) from err
        return out

    @classmethod
    def load(cls, path: str | os.PathLike) -> DriftResult:
        """Read a result back from its ``summary.json`` (the file, or the folder holding it); the
        Evidently report is not read back (``report()`` is None)."""
        source = Path(path)
        if source.is_dir():
            source = source / cls.FILE_NAME
        data = json.loads(source.read_text())
        names = {f.name for f in fields(cls) if not f.name.startswith("_")}
        kept = {k: v for k, v in data.items() if k in names}
        kept["columns"] = [ColumnDrift(**c) for c in kept.get("columns", [])]
        return cls(**kept)

    def log(self, experiment: str | None = None) -> str:  # type: ignore[override]
        """Log this result as an MLflow run in the model's monitoring experiment.

        Metrics: drift share, drifted count, per-column scores (``drift.<column>``), performance
        (``perf.<metric>``); tags: model name and version, data identifiers, status; artifacts: the
        reports. Returns the run id.
        """
        from workbench.monitoring.tracking import log_result

        return log_result(self, experiment)

    # -- showing

    def _repr_html_(self) -> str:
        colour = {"invalid": "#9a6700", "drift": "#cf222e", "ok": "#1a7f37"}[self.status]
        label = {
            "invalid": "INVALID DATA - no drift verdict",
            "drift": f"DRIFT in {len(self.drifted_columns)} of {len(self.columns)} columns",
            "ok": f"no drift in {len(self.columns)} columns",
        }[self.status]
        parts = [
            f"<div class='wb-drift-result wb-drift-{self.status}' style='border:1px solid #ccc;"
            "border-radius:6px;padding:8px 12px;display:inline-block;max-width:900px'>",
            f"<b style='color:{colour}'>{html.escape(label)}</b>",
        ]
        if self.model_uri:
            parts.append(f" &middot; model <code>{html.escape(self.model_uri)}</code>")
        parts.append(
            f"<br>{self.rows_current:,} current rows vs {self.rows_reference:,} reference rows"
        )
        if not self.valid:
            items = "".join(f"<li>{html.escape(r)}</li>" for r in self.reasons)
            parts.append(f"<ul class='wb-drift-reasons'>{items}</ul>")
        else:
            parts.extend(self._verdict_html())
        if self.ignored:
            ignored = ", ".join(f"{k} ({v})" for k, v in self.ignored.items())
            parts.append(f"<small>not tested: {html.escape(ignored)}</small><br>")
        if self.report_path:
            href = html.escape(_relative_link(self.report_path))
            parts.append(
                f"<a class='wb-report-link' href='{href}' target='_blank'>Open the full Evidently "
                f"report</a> <small>({html.escape(self.report_path)})</small>"
            )
        elif self._snapshot is not None:
            parts.append("<small>Full report: <code>result.report()</code> or .save(dir)</small>")
        if self.run_url:
            parts.append(f"<br>MLflow run: <a href='{html.escape(self.run_url)}'>{self.run_id}</a>")
        parts.append("</div>")
        return "".join(parts)

    def _verdict_html(self) -> list[str]:
        """The share, the column table, performance and the sample note of a valid result."""
        parts = [
            f" &middot; drifted share {self.share:.0%} (alert at "
            f"{'any column' if self.drift_share == 0 else f'{self.drift_share:.0%}'})"
        ]
        rows = "".join(
            f"<tr style='color:{'#cf222e' if c.drifted else 'inherit'}'>"
            f"<td>{html.escape(c.column)}</td><td>{html.escape(c.method)}</td>"
            f"<td style='text-align:right'>{c.score:.4g}</td>"
            f"<td style='text-align:right'>{c.threshold:.3g}</td>"
            f"<td>{'drift' if c.drifted else 'ok'}</td></tr>"
            for c in sorted(self.columns, key=lambda c: (not c.drifted, c.column))
        )
        parts.append(
            "<table class='wb-drift-columns'><tr><th>column</th><th>test</th><th>score</th>"
            f"<th>threshold</th><th>verdict</th></tr>{rows}</table>"
        )
        if self.performance:
            perf = ", ".join(
                f"{k} {v:.3f}"
                + (
                    f" (reference {self.reference_performance[k]:.3f})"
                    if k in self.reference_performance
                    else ""
                )
                for k, v in self.performance.items()
            )
            parts.append(f"performance: {html.escape(perf)}<br>")
        if self.report_rows and self.report_rows < self.rows_current:
            parts.append(
                f"<small>The Evidently report shows a uniform sample of {self.report_rows:,} "
                f"rows (distributions within {self.sample_error_bound:.3f} of the full table, "
                "99% confidence); the verdicts above use every row.</small><br>"
            )
        return parts


def _relative_link(path: str) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return path
