"""The stage-4 entry point: :func:`drift_report` compares a batch with the reference, and
:func:`check_status` turns its verdict into an exception for schedulers.

``drift_report`` reads like the steps it takes: load the two tables, read the model's contract when
a model is given, validate the tables, score both with the model (and measure performance where
there are labels), choose the columns to test (the contract's, or roles inferred from the
reference), compute every column's statistics and the corrected decision on all rows, then build
the Evidently report the user reads.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

import pandas as pd

from workbench._core.progress import Progress, as_progress
from workbench._core.remote import speaks_for_server
from workbench.contract import ModelContract
from workbench.errors import DataError, UsageError
from workbench.monitoring.columns import plan_columns
from workbench.monitoring.estimation import estimated
from workbench.monitoring.evidently_adapter import REPORT_ROWS, evidently_report
from workbench.monitoring.result import DriftResult
from workbench.monitoring.scoring import (
    PREDICTION,
    contract_of,
    label_arguments,
    model_identity,
    performance,
    prediction_reference,
    score_tables,
)
from workbench.monitoring.statistics import ALPHA, column_verdicts
from workbench.monitoring.validation import (
    check_options,
    ignored_columns,
    validate,
    validation_columns,
)

__all__ = ["ENGINE_OPTIONS", "check_status", "drift_report"]


@speaks_for_server("building and logging a drift report")
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
    alpha: float = ALPHA,
    correction: str = "holm",
    min_rows: int = 30,
    null_surge: float = 0.1,
    on_invalid: str = "raise",
    max_report_rows: int = REPORT_ROWS,
    build_report: bool = True,
    data_ids: dict[str, str] | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    allow_pickle: bool = False,
    engine: str = "pandas",
    spark: Any = None,
    master: str | None = None,
) -> DriftResult:
    """Compare ``current`` with ``reference`` and say which columns drifted, with an Evidently report.

    A column drifts when its two-sample test's p-value, corrected for the number of columns
    tested (Holm), is at most ``alpha`` and the move is large enough to matter (see
    :mod:`~workbench.monitoring.statistics`): a stationary batch raises an alarm at most
    ``alpha`` of the time. Evidently's own per-column scores and verdicts are kept beside.

    Args:
        reference: The data the model was trained or validated on (a frame or a CSV/Parquet path).
        current: The new batch (a frame or a path).
        model: A model URI (``models:/credit-risk@champion``). Its contract decides the columns:
            its features, the prediction (both tables are scored) and the target are tested;
            identifiers, dates and ignored columns are skipped. With labels in the batch,
            performance is measured with the contract's positive label and compared with the
            contract's reference figures (held-out eval data when the version was logged).
        target: The label column; default the model contract's target. A batch without it is
            valid (unlabelled): label drift and performance are skipped, and the result says so.
        drift_share: Dataset drift when this share of columns drifted; 0 = any drifted column.
        thresholds: Per-column thresholds (distance, or p-value) replacing Evidently's defaults;
            such a column is decided by its threshold, outside the correction.
        methods: Per-column methods (``ks``, ``chisquare``, ``z``, ``wasserstein``,
            ``jensenshannon``) replacing the automatic choice (decided like ``thresholds``).
        ignore: Columns not to test (listed as skipped). Identifiers and dates are skipped
            without asking: the model contract's, or inferred from the reference table.
        alpha: The batch-level false-alarm rate.
        correction: ``holm`` (default), ``bh`` (Benjamini-Hochberg) or ``none`` (Evidently's
            uncorrected per-column rule).
        min_rows: Fewer rows than this in either table is invalid data.
        null_surge: Largest allowed growth of a column's share of missing values.
        on_invalid: ``raise`` (interactive use) raises a :class:`~workbench.DataError` naming
            the column; ``return`` (scheduled runs) returns a result with ``valid=False``.
        max_report_rows: The Evidently report is built on at most this many rows per table (a
            uniform sample, default 10,000); the verdicts always use every row.
        build_report: Build the Evidently report (False: verdicts only, fast).
        data_ids: Identifiers of the tables for the history (file names, batch ids).
        seed: Seed of the report sample.
        progress: ``progress(step, fraction)`` callback.
        allow_pickle: Load ``model`` although its format could run code when loaded (pickle,
            untrusted skops types); without it such a model is refused before it is loaded.
        engine: ``pandas`` (this process) or ``spark``: per-column summaries computed where the
            data lives, the same tests, thresholds and corrections
            (:mod:`~workbench.monitoring.spark_drift`); the tables may then also be Spark
            DataFrames, Parquet folders or table names.
        spark: An existing SparkSession (a cluster's); ``engine="spark"`` only.
        master: A Spark master URL for a new session (default ``local[*]``).

    Returns:
        A :class:`~workbench.monitoring.result.DriftResult`.

    Raises:
        DataError: invalid data, with ``on_invalid="raise"`` (the subclass names the problem).
        DataFileError: a path does not exist or does not parse.
        ModelNotFoundError: the model, version or alias does not exist.
        ModelError: the model cannot be loaded or fails to predict.
        MonitoringError: Evidently failed to build the report.
        UsageError: an unknown ``on_invalid`` or ``correction``, ``alpha`` outside (0, 1), or
            an ``ignore`` name that is no column of either table.
    """
    given = dict(locals())  # the arguments, before any step rebinds one
    options = {name: given[name] for name in ENGINE_OPTIONS}
    check_options(on_invalid, correction, alpha)
    if engine != "pandas" or spark is not None or master is not None:
        if engine != "spark":
            raise UsageError(
                f"engine must be 'pandas' or 'spark' (spark=, master=), got {engine!r}."
            )
        from workbench.monitoring.spark_drift import drift_on_spark

        return drift_on_spark(reference, current, model, target, spark, master, **options)
    step = as_progress(progress)
    step("loading the data", 0.05)
    ids = dict(data_ids or {})
    contract = contract_of(model) if model else None  # its kinds: how a CSV is read
    ref, cur = (
        _load(reference, "reference", ids, contract),
        _load(current, "current", ids, contract),
    )
    ids.setdefault("current_hash", _content_hash(cur))
    ignore = ignored_columns(ignore, ref.columns, cur.columns)
    named_target = target
    target = target or (contract.target if contract else None)
    result = DriftResult(
        rows_reference=len(ref),
        rows_current=len(cur),
        drift_share=float(drift_share),
        alpha=float(alpha),
        correction=correction,
        model_uri=model,
        target=target,
        data_ids=ids,
        roles_from="the model contract" if contract else "inferred from the reference table",
    )
    step("validating", 0.1)
    checks = validation_columns(named_target, target, list(ref.columns), ignore, contract)
    result.reasons = validate(
        ref, cur, **checks, min_rows=min_rows, null_surge=null_surge, on_invalid=on_invalid
    )
    if result.reasons:
        result.valid = False
        return result
    task = contract.task if contract else None
    if model and contract is None:
        result.roles_from = "inferred from the reference table (the model is not in the store)"
    references: dict[str, pd.Series] = {}
    if model:
        step("scoring with the model", 0.2)
        raw_ref = ref
        ref, cur, task = _score_and_measure(result, model, contract, ref, cur, target, allow_pickle)
        references = prediction_reference(model, raw_ref, result.notes)
    plan = plan_columns(ref, cur, target, ignore, contract, task)
    if references.get(PREDICTION) is None and PREDICTION in references:
        plan.kinds.pop(PREDICTION, None)  # trained-on rows and nothing held out: not testable
        plan.skipped[PREDICTION] = result.notes[-1]
        references = {}
    result.skipped = plan.skipped
    step("testing each column for drift", 0.4)
    stats = column_verdicts(
        plan.ref, plan.cur, plan.kinds, thresholds, methods, alpha=alpha, correction=correction,
        references=references,
    )  # fmt: skip
    result.set_verdicts(stats)
    if build_report:
        step("building the Evidently report", 0.6)
        result.attach_report(*evidently_report(plan, result, task, contract, max_report_rows, seed))
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


def _load(data: Any, what: str, ids: dict[str, str], contract: Any = None) -> pd.DataFrame:
    """``data`` as a frame, its identifier recorded in ``ids``: a CSV is read with the model's
    text columns as text (``07`` stays ``07``), and its declared category codes are text."""
    from workbench.data import load_table

    if isinstance(data, pd.DataFrame):
        ids.setdefault(what, f"frame of {len(data)} rows")
        return contract.codes_as_text(data) if contract is not None else data
    if isinstance(data, str | os.PathLike):
        ids.setdefault(what, str(data))
        if contract is None:
            return load_table(data)
        return contract.codes_as_text(load_table(data, text=contract.text_columns))
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
    result: DriftResult,
    model: str,
    contract: ModelContract | None,
    ref: pd.DataFrame,
    cur: pd.DataFrame,
    target: str | None,
    allow_pickle: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Score both tables with ``model`` (its identity and, with labels, its performance recorded
    on ``result``); returns the scored tables and the task."""
    identity = model_identity(model)
    result.model_name, result.model_version = identity.name, identity.version
    probabilities: dict[str, Any] = {}
    ref, cur, task = score_tables(
        model, ref, cur, target, contract.task if contract else identity.task, allow_pickle,
        probabilities=probabilities,
    )  # fmt: skip
    result.estimated_performance = estimated(contract, probabilities, cur[PREDICTION])
    label = label_arguments(contract)
    ref_perf = cur_perf = None
    if target and target in ref.columns:
        ref_perf = performance(ref[target], ref[PREDICTION], task, **label)
    if target and target in cur.columns:
        labelled = cur[target].notna().to_numpy()  # traffic: labels come back for some rows
        if labelled.any():
            cur_perf = performance(
                cur[target][labelled].infer_objects(), cur[PREDICTION][labelled], task, **label
            )
        if not labelled.all():
            result.notes.append(
                f"performance measured on the {int(labelled.sum()):,} of {len(cur):,} rows "
                "whose labels have come back; the estimate covers every row."
            )
    result.record_performance(contract, task, ref_perf, cur_perf)
    return ref, cur, task


#: drift_report's keyword options that each engine reads (the rest choose the engine): its
#: signature is the one list of them and of their defaults.
ENGINE_OPTIONS = tuple(
    p.name
    for p in inspect.signature(drift_report).parameters.values()
    if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in ("engine", "spark", "master")
)
