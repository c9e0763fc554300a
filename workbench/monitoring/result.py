"""What a drift report found: :class:`ColumnDrift` per column and the :class:`DriftResult`, which
shows itself (``_repr_html_``, ``text``), saves itself (``report.html``, ``report.json``,
``summary.json``), reads its summary back (``load``) and logs itself to MLflow (``log``).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from workbench._core.names import ARTIFACT
from workbench._core.results import Result, atomic_write, jsonable, timestamped_folder, utc_now
from workbench.errors import DataQualityError, DriftAlert, MonitoringError
from workbench.monitoring.statistics import (
    ALPHA,
    EFFECTS,
    TESTS,
    ColumnStat,
    dkw_bound,
    score_kind,
)

__all__ = ["ColumnDrift", "DriftResult"]


@dataclass
class ColumnDrift:
    """The drift verdict of one column.

    Attributes:
        column: Column name (``prediction`` for the model's output).
        kind: ``numerical`` or ``categorical``.
        method: The test Evidently uses for it (``Wasserstein distance (normed)``, ...).
        score: Evidently's score: a distance (drift when at or above the threshold) or a p-value
            (drift when below it); ``score_kind`` says which.
        threshold: The threshold Evidently compares the score with.
        drifted: The workbench's verdict: the corrected p-value is at most ``alpha`` and the
            effect reaches ``min_effect`` (see :mod:`~workbench.monitoring.statistics`), or the
            caller's own threshold when one was given (``rule``).
        score_kind: ``p-value`` or ``distance``: what ``score`` is.
        evidently_drifted: Evidently's own, uncorrected verdict on this column.
        test: The valid two-sample test behind ``p_value`` (``K-S``, ``chi-square (2-sample)``).
        p_value: Its p-value before correction.
        p_adjusted: The p-value corrected for the number of columns tested.
        effect_name: What ``effect`` measures.
        effect: The size of the move.
        min_effect: The smallest effect that counts as drift.
        rule: ``holm``, ``bh``, ``none`` (Evidently's rule) or ``your threshold``.

    Example:
        >>> c = ColumnDrift("income", "numerical", "Wasserstein distance (normed)", 0.4, 0.1, True)
        >>> c.score_kind, c.evidently_drifted
        ('distance', True)
    """

    column: str
    kind: str
    method: str
    score: float
    threshold: float
    drifted: bool
    score_kind: str = ""
    evidently_drifted: bool | None = None
    test: str = ""
    p_value: float | None = None
    p_adjusted: float | None = None
    effect_name: str = ""
    effect: float | None = None
    min_effect: float | None = None
    rule: str = ""

    def __post_init__(self) -> None:
        self.score_kind = self.score_kind or score_kind(self.method)
        if self.evidently_drifted is None:  # a summary written before the corrected decision
            self.evidently_drifted = self.drifted

    @classmethod
    def from_stat(cls, stat: ColumnStat) -> ColumnDrift:
        """The verdict of a decided :class:`~workbench.monitoring.statistics.ColumnStat`."""
        adjusted = None if math.isnan(stat.p_adjusted) else stat.p_adjusted
        return cls(
            column=stat.column,
            kind=stat.kind,
            method=stat.method_name,
            score=stat.score,
            threshold=stat.threshold,
            drifted=stat.drifted,
            score_kind=score_kind(stat.method),
            evidently_drifted=stat.evidently_drifted,
            test=TESTS[stat.kind],
            p_value=stat.p_value,
            p_adjusted=adjusted,
            effect_name=EFFECTS[stat.kind],
            effect=stat.effect,
            min_effect=stat.min_effect if adjusted is not None else None,
            rule=stat.rule,
        )

    @property
    def strength(self) -> float:
        """How strong the move is, to order columns: the effect over its minimum, else as
        Evidently scores it (the distance, or one minus the p-value)."""
        if self.effect is not None and self.min_effect:
            return self.effect / self.min_effect
        return self.score if self.score_kind == "distance" else 1.0 - self.score

    def score_text(self) -> str:
        """Evidently's score, saying what it is: ``distance 0.41`` or ``p-value 0.031``."""
        return f"{self.score_kind} {self.score:.3g}"


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
        columns: Every tested column's verdict (Evidently's score and verdict, the corrected
            p-value, the effect).
        drift_share: The dataset threshold used.
        alpha: The batch-level false-alarm rate of the corrected decision.
        correction: ``holm``, ``bh`` or ``none`` (Evidently's uncorrected per-column rule).
        performance: Model metrics on the current batch (when labels and a model are given).
        performance_note: Why performance was not measured (an unlabelled batch), when it was not.
        estimated_performance: A classifier's metrics on the batch estimated from its own
            probabilities, with intervals (:mod:`~workbench.monitoring.estimation`).
        reference_performance: The metrics performance is compared with: the model contract's,
            measured on held-out eval data when the version was logged.
        reference_source: Where ``reference_performance`` comes from.
        metric_average: ``macro`` when precision, recall, F1 and ROC AUC are unweighted means over
            a multiclass model's classes (shown as ``f1 (macro)``); empty otherwise.
        reference_table_performance: The same metrics of the model on the reference table
            (training data usually: optimistic, shown for information only).
        rows_reference, rows_current: Row counts of the two tables.
        report_rows: Current rows the Evidently report was built on (all of them, or a uniform
            sample when the table is large; the verdicts always use every row).
        sample_error_bound: With a sample, the largest gap between the sample's and the full
            table's distribution (CDF or bin share) at 99% confidence (DKW inequality).
        skipped: Columns not tested and why (identifiers, dates, ignored, not a model input,
            labels absent from the batch).
        roles_from: Where the column roles came from (the model contract, or inferred).
        model_uri, model_name, model_version: The model scored, when one was given.
        data_ids: How the two tables were identified (file names, demo day, content hashes).
        engine: Where the statistics were computed: ``pandas`` (on the rows, in this process)
            or ``spark`` (per-column summaries computed where the data lives).

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
    alpha: float = ALPHA
    correction: str = "holm"
    performance: dict[str, float] = field(default_factory=dict)
    performance_note: str = ""
    estimated_performance: dict[str, Any] = field(default_factory=dict)
    reference_performance: dict[str, float] = field(default_factory=dict)
    reference_source: str = ""
    metric_average: str = ""
    reference_table_performance: dict[str, float] = field(default_factory=dict)
    rows_reference: int = 0
    rows_current: int = 0
    report_rows: int = 0
    sample_error_bound: float | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    roles_from: str = ""
    model_uri: str | None = None
    model_name: str | None = None
    model_version: str | None = None
    target: str | None = None
    data_ids: dict[str, str] = field(default_factory=dict)
    engine: str = "pandas"
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
        """The columns that drifted, strongest move first."""
        drifted = [c for c in self.columns if c.drifted]
        return sorted(drifted, key=lambda c: c.strength, reverse=True)

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

    def report(self, inline: bool = True) -> Any:
        """The Evidently snapshot (displays inline in a notebook), or None for invalid data.

        ``inline=False`` (a scheduled run, whose executed notebook is kept): where the saved
        ``report.html`` is instead, as text, so the kept notebook does not carry a second copy of
        the report's megabytes (nor render it again).
        """
        if inline:
            return self._snapshot
        if self.report_path:
            return f"the Evidently report: {self.report_path}"
        return None if self._snapshot is None else "the Evidently report is not saved yet"

    def rule(self) -> str:
        """The decision rule in one sentence."""
        from workbench.monitoring.render import rule_text

        return rule_text(self)

    def text(self) -> str:
        """The verdict in plain text: drifted columns with their scores (each saying whether it
        is a p-value or a distance), skipped columns, performance, the rule."""
        from workbench.monitoring.render import result_text

        return result_text(self)

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

    def set_verdicts(self, stats: list[ColumnStat]) -> None:
        """Record the decided statistics of every column (both engines'
        :func:`~workbench.monitoring.statistics.verdicts`) and the dataset verdict."""
        self.set_columns([ColumnDrift.from_stat(s) for s in stats])

    def record_performance(
        self,
        contract: Any,
        task: str | None,
        reference_table: dict[str, float] | None,
        current: dict[str, float] | None,
    ) -> None:
        """The model's performance on the reference table and the batch (None: no labels), and
        the figures it is compared with (the ``contract``'s, else the reference table's)."""
        from workbench.monitoring.scoring import reference_metrics

        if contract is not None and task == "classification" and len(contract.labels or []) > 2:
            self.metric_average = "macro"
        if reference_table is not None:
            self.reference_table_performance = reference_table
        if contract is not None and contract.reference:
            self.reference_performance = reference_metrics(contract.reference, task)
            self.reference_source = (
                "held-out eval data when the version was logged (model contract)"
            )
        elif self.reference_table_performance:
            self.reference_performance = dict(self.reference_table_performance)
            self.reference_source = (
                "the reference table (no model contract with reference figures; a model scored "
                "on its own training data looks better than it is)"
            )
        if current is not None:
            self.performance = current
        else:
            self.performance_note = (
                f"not measured: the current batch has no labels (no {self.target!r} column). "
                "That is fine: drift is tested on the features and the prediction."
            )

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
        out["rule"] = self.rule() if self.valid else None
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
        written: list[Path] = []
        try:
            out.mkdir(parents=True, exist_ok=True)
            if self._snapshot is not None:
                from workbench.monitoring.evidently_adapter import report_files
                from workbench.monitoring.render import report_header

                header = report_header(self)  # the page opens with the workbench's verdict
                for name, data in report_files(self._snapshot, header).items():
                    written.append(_write_whole(out / name, data))
                self.report_path = str(out / ARTIFACT.REPORT_HTML)
            _write_whole(out / ARTIFACT.SUMMARY_JSON, json.dumps(self.to_dict(), indent=2))
        except OSError as err:
            for path in written:  # a report without its summary is no result: none is left
                path.unlink(missing_ok=True)
            self.report_path = None
            raise MonitoringError(
                f"cannot write the drift report to {out}: {err}. Nothing was left there (no "
                "partial file); free some disk space or choose a folder you can write to."
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
        if "ignored" in data and "skipped" not in data:  # written before the rename
            data["skipped"] = data["ignored"]
        names = {f.name for f in fields(cls) if not f.name.startswith("_")}
        kept = {k: v for k, v in data.items() if k in names}
        column_names = {f.name for f in fields(ColumnDrift)}
        kept["columns"] = [
            ColumnDrift(**{k: v for k, v in c.items() if k in column_names})
            for c in kept.get("columns", [])
        ]
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
        from workbench.monitoring.render import result_html

        return result_html(self)


def _write_whole(path: Path, data: str | bytes) -> Path:
    """:func:`~workbench._core.results.atomic_write`, removing its temporary file when the write
    fails (a full disk): nothing half-written stays beside ``path``."""
    before = set(path.parent.glob(f".{path.name}.*.tmp"))
    try:
        return atomic_write(path, data)
    except BaseException:
        for tmp in set(path.parent.glob(f".{path.name}.*.tmp")) - before:
            tmp.unlink(missing_ok=True)
        raise
