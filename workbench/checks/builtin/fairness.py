"""The fairness check: a metric stays close across the slices of a protected column."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.checks.base import Check, CheckResult
from workbench.checks.context import CheckContext
from workbench.errors import CheckError, MissingColumnError

__all__ = ["FairnessGap"]


class FairnessGap(Check):
    """The gap of a metric across slices of a protected column stays under a limit.

    Args:
        protected: The column whose groups must be treated alike (``age_band``); it may be a
            column of the eval data that is not a model input.
        metric: ``recall`` (share of true positives found), ``positive_rate`` (share predicted
            positive), ``accuracy`` or, for regression, ``mae``.
        max_gap: Largest allowed difference between the best and the worst slice (absolute; for
            ``mae`` relative to the overall MAE).
        min_rows: Slices with fewer rows are shown but not judged.
    """

    name = "fairness_gap"
    protects = "a model that serves one group of people much worse than another"

    def __init__(
        self, protected: str, metric: str | None = None, max_gap: float = 0.25, min_rows: int = 30
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
        """Compute the metric per slice of the protected column and the largest gap."""
        if self.protected not in context.data.columns:
            raise MissingColumnError(
                f"protected column {self.protected!r} is not in the eval data: add it or name "
                "another column (protected=...)."
            )
        metric = self.metric or ("recall" if context.task == "classification" else "mae")
        pred = context.predict(context.x)
        y = None if context.target is None else np.asarray(context.target)
        if y is None and metric != "positive_rate":
            raise CheckError(f"fairness metric {metric!r} needs labels; the eval data has none.")
        groups = context.data[self.protected].fillna("(missing)").astype(str).to_numpy()
        positive = _positive_label(y, pred) if context.task == "classification" else None
        rows = []
        overall = _slice_metric(metric, y, pred, positive)
        for group in sorted(set(groups)):
            mask = groups == group
            rows.append(
                {
                    "slice": group,
                    "rows": int(mask.sum()),
                    metric: _slice_metric(
                        metric, None if y is None else y[mask], pred[mask], positive
                    ),
                    "judged": bool(mask.sum() >= self.min_rows),
                }
            )
        table = pd.DataFrame(rows)
        judged = table[table["judged"] & table[metric].notna()]
        if len(judged) < 2:
            return self.result(
                "warn",
                None,
                self.max_gap,
                f"fewer than two slices of {self.protected!r} have {self.min_rows}+ rows: "
                "use more eval data to judge fairness.",
                table,
            )
        gap = float(judged[metric].max() - judged[metric].min())
        if metric == "mae":
            gap = gap / overall if overall else 0.0
        worst = judged.loc[judged[metric].idxmin() if metric != "mae" else judged[metric].idxmax()]
        text = (
            f"{metric} ranges over {gap:.3f} across {self.protected!r} slices "
            f"(worst: {worst['slice']} at {worst[metric]:.3f}; overall {overall:.3f})"
        )
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


# --------------------------------------------------------------------------- helpers


def _positive_label(y: np.ndarray | None, pred: np.ndarray) -> Any:
    labels = np.unique(np.concatenate([y if y is not None else [], pred]))
    return labels.max() if len(labels) else 1


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
