"""The one module that imports Evidently: it builds the report the user reads, and renders it to
the files a saved result holds.

The report is configured with the methods and thresholds the verdicts used and with an explicit
``DataDefinition`` (column kinds, identifier and timestamp, the classification task with its
positive label, from the model contract), so the report and the verdicts tell the same story; on a
large table it is built on a bounded uniform sample (the verdicts always use every row). Evidently
is imported inside the functions: ``import workbench`` stays fast, and so does a verdict-only run.

The sample is :data:`REPORT_ROWS` rows per table by default. Evidently's time on a report is mostly
fixed (its plotly figures: about 4 s for 25 columns whatever the rows), the rest grows with the rows
(measured on 25 columns, 10k reference rows: 50k current rows 6.5-8.6 s, 10k 4.9 s, 2k 4.2-5.9 s);
10k rows keep the report's distributions within 0.016 of the full table's (DKW, 99%).

Evidently 0.7 writes column names and category values into its HTML unescaped (inside the
``<script>`` holding the report's data, and into its widgets), so a column named
``<img src=x onerror=...>`` or a category ``</script><script>...`` would run when
``report.html`` is opened. Evidently is therefore handed only safe text: every column name and
string value holding ``< > & " ' `` ` has those characters replaced by their full-width
look-alikes (``＜img src=x onerror=...＞``), kept unique. The verdicts, ``summary.json`` and the
:class:`~workbench.monitoring.result.DriftResult` keep the real names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from workbench._core.names import ARTIFACT
from workbench._core.text import first_line
from workbench.contract import ModelContract
from workbench.errors import MonitoringError
from workbench.monitoring.columns import ColumnPlan
from workbench.monitoring.scoring import PREDICTION

if TYPE_CHECKING:  # a result saves itself through this module: it reads the result, no more
    from workbench.monitoring.result import DriftResult

__all__ = ["REPORT_ROWS", "evidently_report", "report_files"]

#: Rows per table the Evidently report is built on by default (a uniform sample above it).
REPORT_ROWS = 10_000


def evidently_report(
    plan: ColumnPlan,
    result: DriftResult,
    task: str | None = None,
    contract: ModelContract | None = None,
    max_rows: int = REPORT_ROWS,
    seed: int = 0,
) -> tuple[Any, int, list[str]]:
    """The Evidently report on (a sample of) the data, with the verdicts' methods and thresholds
    and an explicit ``DataDefinition``: Evidently infers nothing.

    The definition says which columns are numerical and which categorical (the kinds the
    verdicts used: the model contract's, or inferred once from the reference), the identifier
    and timestamp columns, and, with a model and labels, the classification task with the
    contract's positive label (string labels included) or the regression task.

    Args:
        plan: The tables and their tested and skipped columns.
        result: The result holding the column verdicts, the target and the drift share.
        task: ``classification`` or ``regression`` (the performance section), None without a model.
        contract: The model's contract (its positive label and class labels).
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
    roles = _roles(plan)
    ref_s, cur_s = _sample(plan, [*plan.kinds, *roles.values()], max_rows, seed, notes)
    stamp = roles.get("timestamp")
    if stamp and min(ref_s[stamp].notna().mean(), cur_s[stamp].notna().mean()) < 0.9:
        del roles["timestamp"]  # not readable as times: Evidently gets no timestamp
        ref_s, cur_s = ref_s.drop(columns=stamp), cur_s.drop(columns=stamp)
    ref_s, cur_s = ref_s.copy(), cur_s.copy()  # samples of at most max_rows: cheap
    for col, kind in plan.kinds.items():  # Evidently takes no float label (NaN, 1.0): ints, None
        for frame in (ref_s, cur_s):
            if kind == "categorical" and col in frame and pd.api.types.is_float_dtype(frame[col]):
                frame[col] = _float_labels(frame[col])
    safe = _SafeText.of(ref_s, cur_s)
    ref_s, cur_s = safe.frame(ref_s), safe.frame(cur_s)
    kinds = {safe.name(c): k for c, k in plan.kinds.items()}
    roles = {role: safe.name(c) for role, c in roles.items()}
    notes.extend(safe.notes())
    drift, summary = _drift_presets(kinds, result, safe)
    target = safe.name(result.target) if result.target is not None else None
    perf_def, perf_preset = _performance_setup(ref_s, cur_s, target, task, contract, safe)

    def run(with_perf: bool):
        definition = _definition(kinds, roles, perf_def if with_perf else {})
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


def report_files(snapshot: Any, header: str = "") -> dict[str, bytes]:
    """``{file name: content}`` of an Evidently snapshot: the standalone ``report.html`` (opening
    with ``header``, the workbench's verdict, when given) and the metrics and tests as
    ``report.json`` (what ``Snapshot.save_html``/``save_json`` write)."""
    page = snapshot.get_html_str(as_iframe=False)
    if header:
        at = page.find("<body")
        end = page.find(">", at) + 1 if at >= 0 else 0
        page = page[:end] + header + page[end:]
    return {
        ARTIFACT.REPORT_HTML: page.encode("utf-8"),
        ARTIFACT.REPORT_JSON: snapshot.json().encode("utf-8"),
    }


# --------------------------------------------------------------------------- helpers

#: Characters that make text markup, and the full-width look-alikes Evidently is shown instead.
_MARKUP = str.maketrans({"<": "＜", ">": "＞", "&": "＆", '"': "＂", "'": "＇", "`": "｀"})


@dataclass
class _SafeText:
    """Column names and string values as Evidently may show them: markup characters replaced by
    look-alikes (unique: a clash gets `` (2)``). Text without them is left as it is."""

    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, ref: pd.DataFrame, cur: pd.DataFrame) -> _SafeText:
        columns = list(dict.fromkeys([*ref.columns, *cur.columns]))
        texts: list[str] = []
        for frame in (ref, cur):
            for col in frame.columns:
                if _holds_text(frame[col]):
                    texts.extend(v for v in frame[col].dropna().unique() if isinstance(v, str))
        return cls(_safe_map(columns), _safe_map(list(dict.fromkeys(texts))))

    def name(self, column: Any) -> Any:
        return self.names.get(column, column)

    def value(self, value: Any) -> Any:
        return self.values.get(value, value) if isinstance(value, str) else value

    def frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with safe column names and safe string values (a copy only when needed)."""
        if self.values:
            changed = {
                col: _safe_values(frame[col], self.values)
                for col in frame.columns
                if _holds_text(frame[col])
            }
            if changed:
                frame = frame.copy(deep=False)
                for col, values in changed.items():
                    frame[col] = values
        return frame.rename(columns=self.names) if self.names else frame

    def notes(self) -> list[str]:
        if not (self.names or self.values):
            return []
        return [
            f"The Evidently report shows {len(self.names)} column name(s) and "
            f"{len(self.values)} value(s) holding markup characters (< > & quotes) with "
            "full-width look-alikes (＜ ＞ ＆ ＂), so that opening it runs nothing; the verdicts "
            "and the summary keep the real names."
        ]


def _safe_map(texts: list[Any]) -> dict[str, str]:
    """``{text: safe look-alike}`` of the strings among ``texts`` that hold markup characters,
    each safe form unique among ``texts`` and the other safe forms."""
    taken = {t for t in texts if isinstance(t, str)}
    out: dict[str, str] = {}
    for text in texts:
        if not isinstance(text, str) or text.translate(_MARKUP) == text:
            continue
        base = candidate = text.translate(_MARKUP)
        n = 2
        while candidate in taken:
            candidate, n = f"{base} ({n})", n + 1
        taken.add(candidate)
        out[text] = candidate
    return out


def _holds_text(values: pd.Series) -> bool:
    dtype = values.dtype
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def _safe_values(values: pd.Series, mapping: dict[str, str]) -> pd.Series:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.rename_categories(lambda v: mapping.get(v, v))
    hit = values.isin(list(mapping))
    return values.where(~hit, values.map(mapping)) if hit.any() else values


def _roles(plan: ColumnPlan) -> dict[str, str]:
    """Evidently's ``id_column`` and ``timestamp`` (the first skipped identifier and date that
    both tables have)."""
    both = set(plan.ref.columns) & set(plan.cur.columns)
    out = {}
    ids = [c for c in plan.id_columns if c in both]
    dates = [c for c in plan.date_columns if c in both]
    if ids:
        out["id_column"] = ids[0]
    if dates:
        out["timestamp"] = dates[0]
    return out


def _sample(plan, cols, max_rows, seed, notes):
    """Uniform samples of at most ``max_rows`` rows of ``cols`` (a note when cut); a timestamp
    held as text is parsed."""
    ref, cur = plan.ref, plan.cur
    ref_s = ref.sample(n=max_rows, random_state=seed) if len(ref) > max_rows else ref
    cur_s = cur.sample(n=max_rows, random_state=seed) if len(cur) > max_rows else cur
    ref_s, cur_s = ref_s[cols], cur_s[cols]
    if len(cur_s) < len(cur) or len(ref_s) < len(ref):
        notes.append(
            f"Evidently report built on a uniform sample: {len(ref_s):,} of {len(ref):,} "
            f"reference rows, {len(cur_s):,} of {len(cur):,} current rows."
        )
    stamp = next((c for c in cols if c in plan.date_columns), None)
    if stamp is not None and not pd.api.types.is_datetime64_any_dtype(ref_s[stamp].dtype):
        ref_s, cur_s = (f.assign(**{stamp: _as_datetime(f[stamp])}) for f in (ref_s, cur_s))
    return ref_s, cur_s


def _as_datetime(values: pd.Series) -> pd.Series:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.to_datetime(values, errors="coerce", format="mixed")


def _drift_presets(kinds, result, safe):
    """The drift preset told the verdicts' methods and thresholds, and the data summary
    (``kinds`` and the methods keyed by the safe names Evidently is given).

    Evidently's dataset-level test gets its own default share (half the columns) unless the
    caller chose one: its uncorrected "any column" would contradict the corrected verdict."""
    from evidently.presets import DataDriftPreset, DataSummaryPreset

    per_method, per_threshold = {}, {}
    for c in result.columns:
        name, threshold = _decision_stattest(c, result.alpha)
        per_method[safe.name(c.column)] = name
        per_threshold[safe.name(c.column)] = threshold
    tested = max(1, len(result.columns))
    drift = DataDriftPreset(
        columns=list(kinds),
        # the workbench's dataset rule: its share, or any drifted column (half a column's share
        # is reached by one column and by none less)
        drift_share=result.drift_share if result.drift_share > 0 else 0.5 / tested,
        per_column_method=per_method,
        per_column_threshold=per_threshold,
    )
    return drift, DataSummaryPreset(columns=list(kinds))


def _decision_stattest(c: Any, alpha: float) -> tuple[str, float]:
    """A stat test registered with Evidently for one column that answers the workbench's own
    decision: its score is the corrected p-value (or Evidently's score under the caller's rule),
    its verdict the workbench's. Evidently's "Detected" and its dataset headline then say what
    the CLI says. Returns the test's name and the threshold it is shown with."""
    import uuid

    from evidently.legacy.calculations.stattests.registry import StatTest, register_stattest
    from evidently.legacy.core import ColumnType

    corrected = c.p_adjusted is not None and c.rule not in ("your threshold", "none")
    if corrected:
        score, threshold = float(c.p_adjusted), float(alpha)
        effect = (
            f" and {c.effect_name or 'effect'} at least {c.min_effect:g}" if c.min_effect else ""
        )
        shown = (
            f"{c.test or c.method} p-value, {c.rule}-corrected (drift: p <= {threshold:g}{effect})"
        )
    else:
        score, threshold = float(c.score), float(c.threshold)
        shown = f"{c.method} ({c.rule or 'the rule you chose'})"
    decided = bool(c.drifted)

    def decision(reference: Any, current: Any, feature_type: Any, _threshold: float):
        return score, decided

    name = f"workbench_{uuid.uuid4().hex[:12]}"
    test = StatTest(
        name=name,
        display_name=f"workbench: {shown}",
        allowed_feature_types=[ColumnType.Numerical, ColumnType.Categorical, ColumnType.Text],
        default_threshold=threshold,
    )
    register_stattest(test, decision)
    return name, threshold


def _performance_setup(ref, cur, target, task, contract, safe):
    """The data definition's task part and the performance preset, when both tables have labels
    and predictions; else ``({}, None)``. Binary classification is told the positive label (as
    the safe text the tables hold)."""
    from evidently.core.datasets import BinaryClassification, MulticlassClassification
    from evidently.core.datasets import Regression as RegressionDef
    from evidently.presets import ClassificationPreset, RegressionPreset

    has_labels = (
        target is not None
        and PREDICTION in cur.columns
        and target in cur.columns
        and target in ref.columns
        and bool(cur[target].notna().all())  # traffic with some labels back: the workbench's
    )  # figures (on the labelled rows) stand alone; Evidently's preset takes no gaps
    if not has_labels:
        return {}, None
    if task == "regression":
        return {"regression": [RegressionDef(target=target, prediction=PREDICTION)]}, (
            RegressionPreset()
        )
    labels = contract.labels if contract is not None and contract.labels else None
    n_labels = len(labels) if labels else pd.concat([ref[target], cur[target]]).nunique()
    if n_labels <= 2:
        positive = contract.positive_label if contract is not None else None
        if positive is None:  # no contract: the larger label, as the metrics take it
            values = labels or pd.concat([ref[target], cur[target]]).dropna().unique().tolist()
            positive = sorted(values, key=lambda v: (str(type(v)), v))[-1]
        cls = BinaryClassification(
            target=target, prediction_labels=PREDICTION, pos_label=safe.value(_plain(positive))
        )
    else:
        cls = MulticlassClassification(target=target, prediction_labels=PREDICTION)
    return {"classification": [cls]}, ClassificationPreset()


def _float_labels(col: pd.Series) -> pd.Series:
    """A categorical column held as floats (labels with gaps: ``1.0``, NaN) as Evidently takes
    labels: whole numbers as ints, gaps as None, objects."""
    values = [
        None if v != v else int(v) if float(v).is_integer() else float(v)
        for v in col.to_numpy(dtype="float64")
    ]
    return pd.Series(values, index=col.index, dtype=object, name=col.name)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _definition(kinds, roles, perf_def):
    from evidently import DataDefinition

    numerical = [c for c, k in kinds.items() if k == "numerical"]
    categorical = [c for c, k in kinds.items() if k == "categorical"]
    return DataDefinition(
        numerical_columns=numerical, categorical_columns=categorical, **roles, **perf_def
    )
