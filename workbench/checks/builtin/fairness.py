"""The fairness check: a metric stays close across the slices of a protected column."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.checks.base import Check, CheckResult
from workbench.checks.context import CheckContext
from workbench.errors import CheckError, MissingColumnError

__all__ = ["FairnessGap"]

#: Metrics whose gap is relative (to the overall value: an error's scale is the data's); the
#: gap of every other metric is absolute (points of a share between 0 and 1).
RELATIVE_GAP = frozenset({"mae"})


class FairnessGap(Check):
    """The gap of a metric across slices of each protected attribute stays under a limit.

    Args:
        protected: The attribute(s) whose groups must be treated alike (``age_band``, or a list):
            columns of the eval data, which need not be model inputs (the eval table is sliced
            by them, the model is fed its own features).
        metric: ``recall`` (share of the positive class found), ``positive_rate`` (share
            predicted positive), ``precision``, ``accuracy`` or, for regression, ``mae``.
            Default: recall on the contract's positive label (accuracy for multiclass models,
            MAE for regression).
        max_gap: Largest allowed difference between the best and the worst slice: absolute
            for shares (0.25 = 25 points of recall), relative to the overall MAE for ``mae``.
            The result's detail says which, and of which metric.
        min_rows: Slices with fewer rows are shown but not judged.
    """

    name = "fairness_gap"
    protects = "a model that serves one group of people much worse than another"

    def __init__(
        self,
        protected: str | list[str],
        metric: str | None = None,
        max_gap: float = 0.25,
        min_rows: int = 30,
    ):
        self.protected = protected
        self.metric = metric
        self.max_gap = max_gap
        self.min_rows = min_rows

    @classmethod
    def failing_example(cls) -> tuple[FairnessGap, CheckContext]:
        """A model that learned to say yes to group ``a`` and no to group ``b``."""
        from workbench.checks.builtin._examples import (
            PROTECTED,
            TARGET,
            example_context,
            example_model,
            example_table,
        )

        train, evaluation = example_table(), example_table(seed=1)
        for table in (train, evaluation):
            table[TARGET] = (table[PROTECTED] == "a").astype(int)
        biased = example_model(train=train, categorical=["region", PROTECTED])
        context = example_context(biased, evaluation, train=train)
        return cls(PROTECTED, metric="positive_rate", max_gap=0.2), context

    def run(self, context: CheckContext) -> CheckResult:
        """Compute the metric per slice of each protected attribute and the largest gap (the
        table also holds the ``@champion``'s metric per slice, when there is one: drawn beside
        the candidate's, never judged)."""
        attributes = [self.protected] if isinstance(self.protected, str) else list(self.protected)
        absent = [a for a in attributes if a not in context.data.columns]
        if absent:
            raise MissingColumnError(
                f"protected attribute {', '.join(map(repr, absent))} is not in the eval data: add "
                "it or name another column (protected=...)."
            )
        positive = _positive(context)
        metric = self.metric or _default_metric(context, positive)
        if positive is None and metric in ("recall", "precision", "positive_rate"):
            raise CheckError(
                f"fairness metric {metric!r} needs a positive class, and this model has none "
                "(multiclass or regression): use metric='accuracy' (or 'mae')."
            )
        pred = context.predict(context.x)
        champion_pred = _champion_predictions(context)
        y = None if context.target is None else np.asarray(context.target)
        if y is None and metric != "positive_rate":
            raise CheckError(f"fairness metric {metric!r} needs labels; the eval data has none.")
        overall = _slice_metric(metric, y, pred, positive)
        tables = [
            self._slices(context, a, metric, y, pred, positive, champion_pred) for a in attributes
        ]
        table = pd.concat(tables, ignore_index=True)
        judged = table[table["judged"] & table[metric].notna()]
        gaps = {
            a: _gap(judged[judged["attribute"] == a], metric, overall)
            for a in attributes
            if (judged["attribute"] == a).sum() >= 2
        }
        on = f" of {positive!r}" if positive is not None and metric != "accuracy" else ""
        if not gaps:
            return self.result(
                "warn",
                None,
                self.max_gap,
                f"fewer than two slices of {_names(attributes)} have {self.min_rows}+ rows: "
                "use more eval data to judge fairness.",
                table,
            )
        attribute = max(gaps, key=lambda a: gaps[a])
        gap = gaps[attribute]
        rows = judged[judged["attribute"] == attribute]
        worst = rows.loc[rows[metric].idxmin() if metric != "mae" else rows[metric].idxmax()]
        text = (
            f"relative gap in {metric} across {attribute!r} slices: {gap:.3f} of the overall "
            f"{metric} (worst slice minus best, over the overall {overall:.3f}; worst: "
            f"{worst['slice']} at {worst[metric]:.3f})"
            if metric in RELATIVE_GAP
            else f"absolute gap in {metric}{on} across {attribute!r} slices: {gap:.3f} (best "
            f"slice minus worst; worst: {worst['slice']} at {worst[metric]:.3f}; overall "
            f"{overall:.3f})"
        )
        if len(gaps) > 1:
            text += f"; the largest gap of {len(gaps)} attributes ({_names(list(gaps))})"
        if gap > self.max_gap:
            return self.result(
                "fail",
                gap,
                self.max_gap,
                text + f", above the limit {self.max_gap:g}. Look at the slice table, "
                "rebalance the training data or the threshold.",
                table,
            )
        return self.result("pass", gap, self.max_gap, text, table)

    def _slices(self, context, attribute, metric, y, pred, positive, champion_pred=None):
        """One row per slice: rows, the candidate's metric, the champion's (when there is one,
        on the same rows and the candidate's positive label) and whether it is judged."""
        column = context.data[attribute]
        groups = np.where(column.isna(), "(missing)", column.astype(str)).astype(str)
        rows = []
        for group in sorted(set(groups)):
            mask = groups == group
            truth = None if y is None else y[mask]
            row = {
                "attribute": attribute,
                "slice": group,
                "rows": int(mask.sum()),
                metric: _slice_metric(metric, truth, pred[mask], positive),
            }
            if champion_pred is not None:
                row["champion"] = _slice_metric(metric, truth, champion_pred[mask], positive)
            rows.append({**row, "judged": bool(mask.sum() >= self.min_rows)})
        columns = ["attribute", "slice", "rows", metric]
        columns += ["champion"] if champion_pred is not None else []
        return pd.DataFrame(rows, columns=[*columns, "judged"])


# --------------------------------------------------------------------------- helpers


def _positive(context: CheckContext) -> Any:
    """The contract's positive label; without a contract, the larger of two labels."""
    if context.task != "classification":
        return None
    if context.contract is not None and context.contract.labels:
        return context.positive_label
    if context.positive_label is not None:
        return context.positive_label
    classes = getattr(context.model, "classes_", None)
    labels = list(classes) if classes is not None else []
    return labels[-1] if len(labels) == 2 else None


def _champion_predictions(context: CheckContext) -> np.ndarray | None:
    """The ``@champion``'s predictions on the eval rows (its own features), or ``None`` without
    a champion or when it cannot be scored on them (the candidate is judged all the same)."""
    if context.champion is None:
        return None
    try:
        return np.asarray(context.champion.predict(context.champion_x()))
    except Exception:  # the champion is only drawn beside the candidate, never judged
        return None


def _default_metric(context: CheckContext, positive: Any) -> str:
    if context.task != "classification":
        return "mae"
    return "recall" if positive is not None else "accuracy"


def _gap(rows: pd.DataFrame, metric: str, overall: float) -> float:
    gap = float(rows[metric].max() - rows[metric].min())
    if metric in RELATIVE_GAP:
        gap = gap / overall if overall else 0.0
    return gap


def _names(columns: list[str]) -> str:
    return ", ".join(map(repr, columns))


def _slice_metric(metric: str, y: np.ndarray | None, pred: np.ndarray, positive: Any) -> float:
    if len(pred) == 0:
        return float("nan")
    if metric == "positive_rate":
        return float(np.mean(pred == positive))
    if metric == "recall":
        actual = y == positive
        return float(np.mean(pred[actual] == positive)) if actual.any() else float("nan")
    if metric == "precision":
        chosen = pred == positive
        return float(np.mean(y[chosen] == positive)) if chosen.any() else float("nan")
    if metric == "accuracy":
        return float(np.mean(pred == y))
    if metric == "mae":
        return float(np.mean(np.abs(pred.astype(float) - y.astype(float))))
    raise CheckError(
        f"unknown fairness metric {metric!r}: use recall, precision, positive_rate, accuracy or mae."
    )
