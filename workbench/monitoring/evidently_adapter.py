"""The one module that imports Evidently: it builds the report the user reads, and renders it to
the files a saved result holds.

The report is configured with the methods and thresholds the verdicts used, so the report and the
verdicts tell the same story; on a large table it is built on a bounded uniform sample (the
verdicts always use every row). Evidently is imported inside the functions: ``import workbench``
stays fast.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from workbench._core.names import ARTIFACT
from workbench._core.text import first_line
from workbench.errors import MonitoringError
from workbench.monitoring.result import DriftResult
from workbench.monitoring.scoring import PREDICTION
from workbench.monitoring.statistics import METHODS

__all__ = ["evidently_report", "report_files"]


def evidently_report(
    ref: pd.DataFrame,
    cur: pd.DataFrame,
    kinds: dict[str, str],
    result: DriftResult,
    task: str | None = None,
    max_rows: int = 50_000,
    seed: int = 0,
) -> tuple[Any, int, list[str]]:
    """The Evidently report on (a sample of) the data, with the verdicts' methods and thresholds.

    Args:
        ref: The reference table (with the :data:`PREDICTION` column when a model scored it).
        cur: The current table.
        kinds: ``{column: numerical | categorical}`` of the tested columns.
        result: The result holding the column verdicts, the target and the drift share.
        task: ``classification`` or ``regression`` (the performance section), None without a model.
        max_rows: At most this many rows per table (a uniform sample).
        seed: Seed of the sample.

    Returns:
        ``(snapshot, current rows used, notes)``.

    Raises:
        MonitoringError: Evidently failed to build the report.
    """
    try:
        from evidently import Dataset, Report
    except ImportError as err:  # pragma: no cover - evidently is a dependency
        raise MonitoringError(f"cannot import Evidently: {err}") from err

    notes: list[str] = []
    ref_s, cur_s = _sample(ref, cur, list(kinds), max_rows, seed, notes)
    drift, summary = _drift_presets(kinds, result)
    perf_def, perf_preset = _performance_setup(ref, cur, result.target, task)

    def run(with_perf: bool):
        definition = _definition(kinds, perf_def if with_perf else {})
        metrics = [drift, summary]
        if with_perf:
            metrics.append(perf_preset)
        report = Report(metrics, include_tests=True)
        return report.run(
            current_data=Dataset.from_pandas(cur_s, data_definition=definition),
            reference_data=Dataset.from_pandas(ref_s, data_definition=definition),
        )

    try:
        try:
            snapshot = run(perf_preset is not None)
        except Exception as err:
            if perf_preset is None:
                raise
            notes.append(f"performance section left out: Evidently failed on it ({err})")
            snapshot = run(False)
    except Exception as err:
        raise MonitoringError(
            f"Evidently failed to build the drift report: {type(err).__name__}: "
            f"{first_line(err)}. The verdicts were computed; rerun with build_report=False "
            "to get them without the report."
        ) from err
    return snapshot, len(cur_s), notes


def report_files(snapshot: Any) -> dict[str, bytes]:
    """``{file name: content}`` of an Evidently snapshot: the standalone ``report.html`` and the
    metrics and tests as ``report.json`` (what ``Snapshot.save_html``/``save_json`` write)."""
    return {
        ARTIFACT.REPORT_HTML: snapshot.get_html_str(as_iframe=False).encode("utf-8"),
        ARTIFACT.REPORT_JSON: snapshot.json().encode("utf-8"),
    }


# --------------------------------------------------------------------------- helpers


def _sample(ref, cur, cols, max_rows, seed, notes):
    """Uniform samples of at most ``max_rows`` rows of the tested columns (a note when cut)."""
    ref_s = ref.sample(n=max_rows, random_state=seed) if len(ref) > max_rows else ref
    cur_s = cur.sample(n=max_rows, random_state=seed) if len(cur) > max_rows else cur
    ref_s, cur_s = ref_s[cols], cur_s[cols]
    if len(cur_s) < len(cur) or len(ref_s) < len(ref):
        notes.append(
            f"Evidently report built on a uniform sample: {len(ref_s):,} of {len(ref):,} "
            f"reference rows, {len(cur_s):,} of {len(cur):,} current rows."
        )
    return ref_s, cur_s


def _drift_presets(kinds, result):
    """The drift preset told the verdicts' methods and thresholds, and the data summary."""
    from evidently.presets import DataDriftPreset, DataSummaryPreset

    method_keys = {v[0]: k for k, v in METHODS.items()}
    # Evidently refuses chisquare / z when *named* for a numerical column (it picks them itself
    # for numerical columns with few values): leave those to its own, identical choice.
    per_method = {
        c.column: method_keys[c.method]
        for c in result.columns
        if not (c.kind == "numerical" and method_keys[c.method] in ("chisquare", "z"))
    }
    per_threshold = {c.column: c.threshold for c in result.columns}
    drift = DataDriftPreset(
        columns=list(kinds),
        drift_share=max(result.drift_share, 1e-9),
        per_column_method=per_method,
        per_column_threshold=per_threshold,
    )
    return drift, DataSummaryPreset(columns=list(kinds))


def _performance_setup(ref, cur, target, task):
    """The data definition's task part and the performance preset, when both tables have labels
    and predictions; else ``({}, None)``."""
    from evidently.core.datasets import BinaryClassification, MulticlassClassification
    from evidently.core.datasets import Regression as RegressionDef
    from evidently.presets import ClassificationPreset, RegressionPreset

    has_labels = (
        target is not None
        and PREDICTION in cur.columns
        and target in cur.columns
        and target in ref.columns
    )
    if not has_labels:
        return {}, None
    if task == "regression":
        return {"regression": [RegressionDef(target=target, prediction=PREDICTION)]}, (
            RegressionPreset()
        )
    n_labels = pd.concat([ref[target], cur[target]]).nunique()
    cls = BinaryClassification if n_labels <= 2 else MulticlassClassification
    return {"classification": [cls(target=target, prediction_labels=PREDICTION)]}, (
        ClassificationPreset()
    )


def _definition(kinds, perf_def):
    from evidently import DataDefinition

    numerical = [c for c, k in kinds.items() if k == "numerical"]
    categorical = [c for c, k in kinds.items() if k == "categorical"]
    return DataDefinition(numerical_columns=numerical, categorical_columns=categorical, **perf_def)
