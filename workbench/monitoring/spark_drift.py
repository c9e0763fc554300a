"""``drift_report(..., engine="spark")``: the same report, its statistics computed where the data
lives.

The steps are the pandas path's (:mod:`~workbench.monitoring.report`), each on Spark where the rows
are, with only small summaries reaching the driver:

1. **Load**: a Spark or pandas DataFrame, a Parquet file or folder, a CSV file or a table name
   (:func:`~workbench.spark.spark_table`); nothing is collected.
2. **Validate** from one profile job per table (rows, missing and non-finite values, text in a
   numeric column): the rules and messages of :mod:`~workbench.monitoring.validation`, so a
   missing column, a null surge, an all-null column, ``inf`` values or a tiny batch make the result
   invalid (or raise), never a silent "no drift".
3. **Sample** each table (a uniform sample of at most 50,000 rows, or ``max_report_rows`` if
   larger, as pandas): the column roles and kinds are read from it by
   :func:`~workbench.monitoring.columns.plan_columns`, the model scores it on the driver with the
   pandas path's code, and the Evidently report is built on (at most ``max_report_rows`` rows of)
   it. On tables of at most 50,000 rows the sample is the table, and the plan
   is the pandas path's; above, a role that depends on every row (an integer identifier that is
   unique on the sample but not on the table) could differ: give a model (its contract decides)
   or ``ignore=``.
4. **Score** with the model on Spark (:func:`workbench.score` with ``engine="spark"``: the model's
   format is checked on the driver before any executor loads it) and count the ``(label,
   prediction)`` pairs for the performance figures, in the same job as the drift counts. A
   reference that holds the model's training rows (the row hashes its version kept, counted on
   Spark: :func:`~workbench.monitoring.scoring.prediction_reference`) gets the pandas path's note,
   and the prediction is tested against the model's held-out predictions instead.
5. **Test** every column from its summaries (:mod:`~workbench.spark.statistics` computes them,
   :mod:`~workbench.monitoring.summaries` reads the tests from them): the pandas path's methods,
   thresholds, Holm correction and minimum effects. Columns of at most 10,000 values per table
   are exact; binned numerical columns give each score with a proven bound (in ``notes`` when a
   score lies within its bound of a threshold).

Example:
    >>> import workbench as wb
    >>> result = wb.drift_report("reference.parquet", "batches/2026-11-23/",
    ...                          model="models:/credit-risk@champion", engine="spark")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from workbench._core.progress import as_progress
from workbench.monitoring.columns import plan_columns
from workbench.monitoring.result import DriftResult
from workbench.monitoring.scoring import (
    PERFORMANCE_METRICS,
    PREDICTION,
    contract_of,
    label_arguments,
    model_identity,
    performance,
    prediction_reference,
    score_tables,
)
from workbench.monitoring.summaries import summary_verdicts
from workbench.monitoring.validation import (
    ColumnFacts,
    check_options,
    ignored_columns,
    problems_of,
    raise_first,
    validation_columns,
)

__all__ = ["drift_on_spark"]

_SAMPLE_ROWS = 50_000  # the plan's and the bin edges' sample (the report's is max_report_rows)
_SAMPLE_NOTE = "Evidently report built on a uniform sample"


def drift_on_spark(
    reference: Any,
    current: Any,
    model: str | None = None,
    target: str | None = None,
    spark: Any = None,
    master: str | None = None,
    **options: Any,
) -> DriftResult:
    """:func:`~workbench.monitoring.report.drift_report` on Spark (``spark``: an existing
    SparkSession, ``master``: a master URL for a new one): ``options`` are every one of its
    keyword options (:data:`~workbench.monitoring.report.ENGINE_OPTIONS`), as it passes them."""
    from workbench.spark import spark_session
    from workbench.spark import statistics as stats

    o = SimpleNamespace(**options)
    check_options(o.on_invalid, o.correction, o.alpha)
    step = as_progress(o.progress)
    step("starting Spark", 0.02)
    session = spark_session(master, spark)
    step("loading the data", 0.05)
    ids = dict(o.data_ids or {})
    ref = _table(session, reference, "reference", ids)
    cur = _table(session, current, "current", ids)
    ignore = ignored_columns(o.ignore, ref.columns, cur.columns)
    contract = contract_of(model) if model else None
    named_target = target
    target = target or (contract.target if contract else None)
    step("profiling the columns", 0.08)
    ref_types = {f.name: f.dataType for f in ref.schema.fields}
    cur_types = {f.name: f.dataType for f in cur.schema.fields}
    parse = [c for c in cur.columns if c in ref_types and _numeric(ref_types[c])]
    numbers = [c for c in ref.columns if _numeric(ref_types[c]) and _numeric(cur_types.get(c))]
    ref_profile = stats.profile(ref, numbers=numbers)
    cur_profile = stats.profile(cur, parse, numbers=numbers)
    ref_rows, cur_rows = ref_profile.rows, cur_profile.rows
    ids.setdefault("current_hash", cur_profile.digest)
    result = DriftResult(
        rows_reference=ref_rows,
        rows_current=cur_rows,
        drift_share=float(o.drift_share),
        alpha=float(o.alpha),
        correction=o.correction,
        model_uri=model,
        target=target,
        data_ids=ids,
        roles_from="the model contract" if contract else "inferred from the reference table",
        engine="spark",
    )
    step("validating", 0.1)
    found = problems_of(
        (ref_rows, list(ref.columns)),
        (cur_rows, list(cur.columns)),
        lambda col: (_facts(ref_profile.columns[col]), _facts(cur_profile.columns[col])),
        **validation_columns(named_target, target, list(ref.columns), ignore, contract),
        min_rows=o.min_rows,
        null_surge=o.null_surge,
    )
    if found and o.on_invalid == "raise":
        raise_first(found)
    result.reasons = [p.message for p in found]
    if found:
        result.valid = False
        return result
    step("sampling the tables", 0.15)
    size = max(o.max_report_rows, _SAMPLE_ROWS)  # the bin edges' sample; Evidently's is cut
    ref_s = stats.sample(ref, ref_rows, size, o.seed)
    cur_s = stats.sample(cur, cur_rows, size, o.seed)
    task = contract.task if contract else None
    references: dict[str, Any] = {}  # a column's own reference (the held-out predictions)
    if model:
        if contract is None:
            result.roles_from = "inferred from the reference table (the model is not in the store)"
        step("scoring with the model", 0.2)
        identity = model_identity(model)
        result.model_name, result.model_version = identity.name, identity.version
        ref_s, cur_s, task = score_tables(
            model, ref_s, cur_s, target, task or identity.task, o.allow_pickle
        )
        measure = functools.partial(_training_overlap, contract=contract)
        references = prediction_reference(model, ref, result.notes, measure)
    plan = plan_columns(ref_s, cur_s, target, ignore, contract, task)
    if references.get(PREDICTION) is None and PREDICTION in references:
        plan.kinds.pop(PREDICTION, None)  # trained-on rows and nothing held out: not testable
        plan.skipped[PREDICTION] = result.notes[-1]
        references = {}
    result.skipped = plan.skipped
    step("summarising each column where the data lives", 0.3)
    tables = [(ref, ref_profile, None), (cur, cur_profile, None)]
    if model:  # lazily: the model runs once per table, in the counting job
        scoring = (model, session, o.allow_pickle, contract, target)
        tables = [(raw, prof, _scored(raw, *scoring)) for raw, prof, _ in tables]
    specs, sketches = _specs(plan, tables, result, references)
    measured = []
    for i, ((raw, _, scored), sketch) in enumerate(zip(tables, sketches, strict=True)):
        own = {c: s for c, s in specs.items() if i or c not in references}
        summaries, figures = _count(raw, scored, own, task, contract, target)
        for col in own:  # a number column's spread comes from its sketch
            if specs[col].edges is not None:
                summaries[col] = dataclasses.replace(summaries[col], std=sketch[col].std)
        if not i:  # a replaced reference: summarised from its values, on the same bins
            for col in specs.keys() & references.keys():
                summaries[col] = stats.ColumnSummary.from_values(references[col], specs[col].edges)
        measured.append((summaries, figures))
    kinds = dict(plan.kinds)
    step("testing each column for drift", 0.7)
    decided, bounds = summary_verdicts(
        {c: (measured[0][0][c], measured[1][0][c]) for c in kinds},
        kinds,
        o.thresholds,
        o.methods,
        alpha=o.alpha,
        correction=o.correction,
    )
    result.set_verdicts(decided)
    result.notes.extend(_bound_notes(decided, bounds))
    if model:
        result.record_performance(contract, task, measured[0][1], measured[1][1])
    if o.build_report:
        from workbench.monitoring.evidently_adapter import evidently_report

        step("building the Evidently report", 0.8)
        snapshot, rows, notes = evidently_report(
            plan, result, task, contract, o.max_report_rows, o.seed
        )
        notes = [n for n in notes if not n.startswith(_SAMPLE_NOTE)]
        ref_used = min(len(ref_s), o.max_report_rows)
        if ref_used < ref_rows or rows < cur_rows:
            notes.insert(
                0,
                f"{_SAMPLE_NOTE}: {ref_used:,} of {ref_rows:,} reference rows, {rows:,} of "
                f"{cur_rows:,} current rows.",
            )
        result.attach_report(snapshot, rows, notes)
    step("done", 1.0)
    return result


# --------------------------------------------------------------------------- steps


def _table(session: Any, data: Any, what: str, ids: dict[str, str]) -> Any:
    """``data`` as a Spark DataFrame, its identifier recorded in ``ids``."""
    from workbench.spark import spark_table
    from workbench.spark.statistics import restore_timestamps
    from workbench.spark.tables import is_spark_frame

    if isinstance(data, pd.DataFrame):
        ids.setdefault(what, f"frame of {len(data)} rows")
    elif is_spark_frame(data):
        ids.setdefault(what, "Spark DataFrame")
    elif isinstance(data, str | os.PathLike):
        ids.setdefault(what, str(data))
    return restore_timestamps(spark_table(session, data, f"the {what} data"), data)


def _numeric(kind: Any) -> bool:
    from pyspark.sql.types import NumericType

    return isinstance(kind, NumericType)


def _numbers(values: pd.Series) -> Any:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=float("nan"))


def _sketch(values: pd.Series) -> Any:
    """The :class:`~workbench.spark.statistics.NumericSketch` of a pandas Series."""
    from workbench.spark.statistics import NumericSketch

    x = _numbers(values)
    x = x[np.isfinite(x)]
    if not len(x):
        return NumericSketch(0, math.nan, math.nan, math.nan)
    return NumericSketch(len(x), float(x.min()), float(x.max()), float(np.std(x)))


def _training_overlap(kept: dict | None, frame: Any, contract: Any = None) -> float | None:
    """:func:`workbench._core.rowhash.overlap` of a Spark table, where it lives: each partition
    hashes its rows (as the pandas engine reads them: the contract's category codes as text) and
    keeps the kept training-row hashes it holds; only their distinct count reaches the driver."""
    from workbench._core import rowhash

    columns = rowhash.hashed_columns(kept, frame.columns)
    if kept is None or columns is None:
        return None

    def hits(parts):
        for part in parts:
            part = contract.codes_as_text(part) if contract is not None else part
            found = sorted(rowhash.found(kept, part, columns))
            if found:
                yield pd.DataFrame({"h": pd.Series(found, dtype=object)})

    table = frame.select(*[_quoted(c) for c in columns.values()])
    return table.mapInPandas(hits, "h string").distinct().count() / len(kept["hashes"])


def _facts(profile: Any) -> ColumnFacts:
    names = [f.name for f in dataclasses.fields(ColumnFacts)]
    return ColumnFacts(**{name: getattr(profile, name) for name in names})


def _scored(
    frame: Any, model: str, session: Any, allow_pickle: bool, contract: Any, target: Any
) -> Any:
    """The label (when the table has it) and the model's :data:`PREDICTION` of every row, lazily:
    the pandas path's scorer on every partition, given the model's columns only."""
    from workbench.scoring import score

    keep = [c for c in frame.columns if c != PREDICTION]
    if contract is not None:
        keep = [c for c in keep if c in {*contract.features, target}]
    ids = [target] if target in keep else []
    scored = score(
        model,
        frame.select(*[_quoted(c) for c in keep]),
        engine="spark",
        spark=session,
        id_columns=ids,
        progress=False,
        allow_pickle=allow_pickle,
    )
    return scored.select(*[_quoted(c) for c in ids], PREDICTION)


def _specs(
    plan: Any, tables: list, result: DriftResult, references: dict[str, pd.Series]
) -> tuple[dict, list[dict]]:
    """How to count each tested column, and the sketches of the numerical ones (a column of
    ``references``: the reference's sketch and sample are its values); a numerical column
    without a finite value in a table is skipped, with the reason."""
    from workbench.spark import statistics as stats

    numerical = [c for c, k in plan.kinds.items() if k == "numerical"]
    sketches = []
    for i, (raw, profiled, scored) in enumerate(tables):
        found = {c: profiled.sketches[c] for c in numerical if c in profiled.sketches}
        found.pop(PREDICTION, None)  # a column of that name in the table: not the model's
        if not i:
            found.update({c: _sketch(references[c]) for c in numerical if c in references})
        rest = [c for c in numerical if c not in found and c != PREDICTION]
        found.update(stats.sketches(raw, rest))
        if PREDICTION in numerical and PREDICTION not in found:  # one more pass of the model
            found.update(stats.sketches(scored, [PREDICTION]))
        sketches.append(found)
    types = [{f.name: f.dataType for f in raw.schema} for raw, _, _ in tables]
    specs = {}
    for col, kind in list(plan.kinds.items()):
        pair = [sketches[0][col], sketches[1][col]] if kind == "numerical" else []
        if any(s.n == 0 for s in pair):
            del plan.kinds[col]
            result.skipped[col] = "no values left to test once missing and non-finite ones dropped"
        elif pair:
            samples = [_numbers(references.get(col, plan.ref[col])), _numbers(plan.cur[col])]
            specs[col] = stats.CountSpec(True, stats.shared_edges(samples, pair))
        else:  # 1, 1.0 and "1" are the same category, as the pandas path casts them
            r, c = (t.get(col) if col != PREDICTION else None for t in types)
            specs[col] = stats.CountSpec(bool(r is not None and _numeric(r) and r != c))
    return specs, sketches


def _count(raw, scored, specs, task, contract, target) -> tuple[dict, dict | None]:
    """Every column's summary (the prediction's from the scored table, with the performance
    figures when it has labels: None without)."""
    from workbench.spark import statistics as stats

    plain = {c: s for c, s in specs.items() if c != PREDICTION}
    summaries = stats.counts(raw, plain)[0] if plain else {}
    if scored is None:
        return summaries, None
    labelled = bool(target and target in scored.columns)
    classes = labelled and task != "regression"
    pairs = (target, PREDICTION) if classes else None
    errors = (target, PREDICTION) if labelled and not classes else None
    own = {c: s for c, s in specs.items() if c == PREDICTION}
    if own or labelled:
        found, counted, sums = stats.counts(scored, own, pairs, errors)
        summaries.update(found)
    return summaries, _performance(task, contract, counted, sums) if labelled else None


def _quoted(name: str) -> Any:
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _performance(task, contract, counted, sums) -> dict[str, float]:
    """The performance figures from counted ``(label, prediction)`` pairs (classification) or
    error sums (regression)."""
    if task == "regression":
        n = sums.get("n", 0.0)
        if not n:
            return {}
        figures = {"rmse": (sums["se"] / n) ** 0.5, "mae": sums["ae"] / n}
        return {k: float(v) for k, v in figures.items() if k in PERFORMANCE_METRICS["regression"]}
    if not counted:
        return {}
    labels, predictions, weights = zip(*counted, strict=True)
    return performance(
        pd.Series(labels),
        pd.Series(predictions),
        task,
        **label_arguments(contract),
        weights=weights,
    )


def _bound_notes(decided, bounds) -> list[str]:
    """What the binned columns' bounds say, and any score within its bound of a threshold."""
    binned = [s.column for s in decided if not bounds[s.column].exact]
    notes = [
        "Spark engine: per-column summaries computed where the data lives; columns of at most "
        "10,000 values per table, and every categorical column, are tested exactly."
    ]
    if binned:
        worst = max(binned, key=lambda c: bounds[c].effect)
        notes.append(
            f"Binned numerical columns ({', '.join(binned)}): each score is within a proven "
            f"bound of the full data's (largest: Wasserstein {bounds[worst].effect:.2g} for "
            f"{worst}); scores read at the bin edges never overstate drift."
        )
    for s in decided:
        b = bounds[s.column]
        near_threshold = b.score and abs(s.score - s.threshold) <= b.score
        near_effect = b.effect and abs(s.effect - s.min_effect) <= b.effect and s.min_effect
        if near_threshold or near_effect:
            notes.append(
                f"{s.column}: its score is within the summaries' bound of a threshold; the "
                "pandas engine could decide it the other way."
            )
    return notes
