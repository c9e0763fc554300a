"""The stage-4 entry point: :func:`drift_report` compares a batch with the reference, and
:func:`check_status` turns its verdict into an exception for schedulers.

``drift_report`` reads like the steps it takes: load the two tables, validate them, score both with
the model when one is given (and measure performance where there are labels), choose the columns to
test, compute every column's verdict on all rows, then build the Evidently report the user reads.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from workbench._core.progress import Progress, as_progress
from workbench.errors import DataError, UsageError
from workbench.monitoring.evidently_adapter import evidently_report
from workbench.monitoring.result import ColumnDrift, DriftResult
from workbench.monitoring.scoring import PREDICTION, model_identity, performance, score_tables
from workbench.monitoring.statistics import column_verdicts, columns_to_test
from workbench.monitoring.validation import validate

__all__ = ["check_status", "drift_report"]


def drift_report(
    reference: pd.DataFrame | str | os.PathLike,
    current: pd.DataFrame | str | os.PathLike,
    model: str | None = None,
    target: str | None = None,
    *,
    drift_share: float = 0.0,
    thresholds: dict[str, float] | None = None,
    methods: dict[str, str] | None = None,
    ignore: tuple[str, ...] | list[str] = (),
    min_rows: int = 30,
    null_surge: float = 0.1,
    on_invalid: str = "raise",
    max_report_rows: int = 50_000,
    build_report: bool = True,
    data_ids: dict[str, str] | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> DriftResult:
    """Compare ``current`` with ``reference`` and say which columns drifted, with an Evidently report.

    Args:
        reference: The data the model was trained or validated on (a frame or a CSV/Parquet path).
        current: The new batch (a frame or a path).
        model: A model URI (``models:/credit-risk@champion``): both tables are scored with it
            and the prediction's drift is tested too; with labels, performance is measured.
        target: The label column; its drift is tested when the current data has it.
        drift_share: Dataset drift when this share of columns drifted; 0 = any drifted column.
        thresholds: Per-column thresholds (distance, or p-value) replacing Evidently's defaults.
        methods: Per-column methods (``ks``, ``chisquare``, ``z``, ``wasserstein``,
            ``jensenshannon``) replacing the automatic choice.
        ignore: Columns not to test (ids). Date columns are never tested: they always move.
        min_rows: Fewer rows than this in either table is invalid data.
        null_surge: Largest allowed growth of a column's share of missing values.
        on_invalid: ``raise`` (interactive use) raises a :class:`~workbench.DataError` naming
            the column; ``return`` (scheduled runs) returns a result with ``valid=False``.
        max_report_rows: The Evidently report is built on at most this many rows per table (a
            uniform sample); the verdicts always use every row.
        build_report: Build the Evidently report (False: verdicts only, fast).
        data_ids: Identifiers of the tables for the history (file names, batch ids).
        seed: Seed of the report sample.
        progress: ``progress(step, fraction)`` callback.

    Returns:
        A :class:`~workbench.monitoring.result.DriftResult`.

    Raises:
        DataError: invalid data, with ``on_invalid="raise"`` (the subclass names the problem).
        DataFileError: a path does not exist or does not parse.
        ModelError: the model cannot be loaded or fails to predict.
        MonitoringError: Evidently failed to build the report.
    """
    _check_choice(on_invalid)
    step = as_progress(progress)
    step("loading the data", 0.05)
    ids = dict(data_ids or {})
    ref, cur = _load(reference, "reference", ids), _load(current, "current", ids)
    ids.setdefault("current_hash", _content_hash(cur))
    result = DriftResult(
        rows_reference=len(ref),
        rows_current=len(cur),
        drift_share=float(drift_share),
        model_uri=model,
        target=target,
        data_ids=ids,
    )
    step("validating", 0.1)
    ignore = list(ignore)
    checks = {"target": target, "min_rows": min_rows, "null_surge": null_surge, "ignore": ignore}
    result.reasons = validate(ref, cur, **checks, on_invalid=on_invalid)
    if result.reasons:
        result.valid = False
        return result
    task = None
    if model:
        step("scoring with the model", 0.2)
        ref, cur, task = _score_and_measure(result, model, ref, cur, target)
    ref, cur, kinds, result.ignored = columns_to_test(ref, cur, target, ignore)
    if PREDICTION in kinds:
        kinds[PREDICTION] = "numerical" if task == "regression" else "categorical"
    step("testing each column for drift", 0.4)
    stats = column_verdicts(ref, cur, kinds, thresholds, methods)
    result.set_columns([ColumnDrift.from_stat(s) for s in stats])
    if build_report:
        step("building the Evidently report", 0.6)
        result.attach_report(
            *evidently_report(ref, cur, kinds, result, task, max_report_rows, seed)
        )
    step("done", 1.0)
    return result


def check_status(
    result: DriftResult, fail_on_drift: bool = False, fail_on_invalid: bool = True
) -> str:
    """Raise :class:`~workbench.errors.DataQualityError` when ``result`` is invalid (unless
    ``fail_on_invalid`` is off), and :class:`~workbench.errors.DriftAlert` when it found drift and
    ``fail_on_drift`` is set; otherwise return its status (``ok``, ``drift``, ``invalid``).

    The last cell of notebook 04: a scheduled ``workbench run`` then fails (exit 1) on bad data, and
    on drift when asked.

    Example:
        >>> check_status(DriftResult(valid=False, reasons=["too few rows"]), fail_on_invalid=False)
        'invalid'
    """
    return result.raise_for_status(fail_on_drift=fail_on_drift, fail_on_invalid=fail_on_invalid)


# --------------------------------------------------------------------------- steps


def _check_choice(on_invalid: str) -> None:
    if on_invalid not in ("raise", "return"):
        raise UsageError("on_invalid must be 'raise' or 'return'")


def _load(data: Any, what: str, ids: dict[str, str]) -> pd.DataFrame:
    """``data`` as a frame (a path is read), its identifier recorded in ``ids``."""
    from workbench.data import load_table

    if isinstance(data, pd.DataFrame):
        ids.setdefault(what, f"frame of {len(data)} rows")
        return data
    if isinstance(data, str | os.PathLike):
        ids.setdefault(what, str(data))
        return load_table(data)
    raise DataError(
        f"the {what} data must be a DataFrame or a CSV / Parquet path, got {type(data).__name__}."
    )


def _content_hash(frame: pd.DataFrame) -> str:
    try:
        value = int(pd.util.hash_pandas_object(frame, index=False).sum()) & 0xFFFFFFFFFFFF
    except TypeError:
        return "unhashable"
    return f"{value:012x}"


def _score_and_measure(
    result: DriftResult, model: str, ref: pd.DataFrame, cur: pd.DataFrame, target: str | None
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Score both tables with ``model`` (its identity and, with labels, its performance recorded
    on ``result``); returns the scored tables and the task."""
    identity = model_identity(model)
    result.model_name, result.model_version = identity.name, identity.version
    ref, cur, task = score_tables(model, ref, cur, target, identity.task)
    if target and target in cur.columns:
        result.performance = performance(cur[target], cur[PREDICTION], task)
        result.reference_performance = performance(ref[target], ref[PREDICTION], task)
    return ref, cur, task
