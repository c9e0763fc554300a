"""The data-quality check: the eval data looks like the training data (from its profile).

Values outside the training range are judged against what the training data's own spread
predicts for the sample at hand, not against a fixed share. The share of a distribution lying
outside the minimum and maximum of ``n`` values drawn from it is itself random, ``Beta(2, n - 1)``
whatever the distribution (order statistics; ``2 / (n + 1)`` on average), so the number of ``m``
fresh values that fall outside is beta-binomial. A column fails when its count is above that
distribution's ``1 - alpha / columns`` quantile (eval data drawn like the training data fails
somewhere only ``alpha`` of the time) and more than ``min_out_of_range_share`` of its values lie
outside (a handful of rows just past the range of a big table is no data problem).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from workbench.checks.base import Check, CheckResult
from workbench.checks.context import CheckContext

__all__ = ["DataQuality", "out_of_range_bound"]


class DataQuality(Check):
    """The eval data looks like the training data: missing shares, constant columns, duplicate
    rows, values outside the training range and categories never seen in training.

    Args:
        max_missing_increase: Largest allowed rise of a column's missing share (0.10 = 10 points).
        max_duplicate_share: Largest allowed share of duplicated rows.
        out_of_range_alpha: Chance that eval data drawn like the training data still fails the
            range test in some column (0.001: one random split in a thousand).
        min_out_of_range_share: A column fails the range test only when more than this share of
            its values lies outside the training range, too.
        max_unseen_share: Largest allowed share of a column's values in categories training never saw.
    """

    name = "data_quality"
    protects = "testing (and later serving) on data unlike what the model learned from"

    def __init__(
        self,
        max_missing_increase: float = 0.10,
        max_duplicate_share: float = 0.05,
        out_of_range_alpha: float = 0.001,
        min_out_of_range_share: float = 0.01,
        max_unseen_share: float = 0.05,
    ):
        self.max_missing_increase = max_missing_increase
        self.max_duplicate_share = max_duplicate_share
        self.out_of_range_alpha = out_of_range_alpha
        self.min_out_of_range_share = min_out_of_range_share
        self.max_unseen_share = max_unseen_share

    @classmethod
    def failing_example(cls) -> tuple[DataQuality, CheckContext]:
        """Eval data whose incomes are fifty times those seen in training."""
        from workbench.checks.builtin._examples import example_context, example_table

        evaluation = example_table(seed=1)
        evaluation["income"] = evaluation["income"] * 50
        return cls(), example_context(evaluation=evaluation)

    def run(self, context: CheckContext) -> CheckResult:
        """Compare each column of the eval data with the training profile."""
        profile = context.profile
        if not profile:
            return self.result(
                "warn",
                detail="no training-data profile was logged with this version (it predates "
                "profile.json): log it again with workbench.log_model to get this check.",
            )
        x = context.x
        columns = {n: e for n, e in profile["columns"].items() if n in x.columns}
        ranged = [n for n, e in columns.items() if e.get("kind") == "numeric" and "min" in e]
        alpha = self.out_of_range_alpha / max(len(ranged), 1)  # Bonferroni over the columns
        train_rows = int(profile.get("rows") or 0)
        rows, problems = [], []
        for name, entry in columns.items():
            row, issues = self._column(name, x[name], entry, len(x), train_rows, alpha)
            rows.append(row)
            problems.extend(issues)
        duplicates = float(x.duplicated().mean()) if len(x) else 0.0
        if duplicates > self.max_duplicate_share:
            problems.append(
                f"{duplicates:.1%} of the rows are duplicates (limit {self.max_duplicate_share:.0%})"
            )
        table = pd.DataFrame(rows)
        if problems:
            return self.result(
                "fail",
                len(problems),
                0,
                "; ".join(problems[:6]) + ". Fix the data, or retrain on data like it.",
                table,
            )
        return self.result(
            "pass",
            0,
            0,
            f"{len(rows)} columns within the training profile (ranges judged for "
            f"{len(x):,} rows against {train_rows:,} training rows); {duplicates:.1%} duplicate rows",
            table,
        )

    def _column(
        self,
        name: str,
        col: pd.Series,
        entry: dict[str, Any],
        n: int,
        train_rows: int,
        alpha: float,
    ):
        issues: list[str] = []
        missing = float(col.isna().mean()) if n else 0.0
        row = {
            "column": name,
            "train_missing": entry.get("missing", 0.0),
            "eval_missing": missing,
            "out_of_range": 0.0,
            "out_of_range_expected_at_most": None,
            "unseen": 0.0,
            "constant": False,
        }
        if missing - entry.get("missing", 0.0) > self.max_missing_increase:
            issues.append(
                f"column {name!r} is {missing:.0%} missing (training: {entry.get('missing', 0):.0%})"
            )
        values = col.dropna()
        varied_in_training = entry.get("distinct", 2) > 1
        if n >= 20 and values.nunique() <= 1 and varied_in_training:
            row["constant"] = True
            issues.append(f"column {name!r} is constant in the eval data but varied in training")
        if entry.get("kind") == "numeric" and "min" in entry and len(values):
            numeric = pd.to_numeric(values, errors="coerce")
            count = int(((numeric < entry["min"]) | (numeric > entry["max"])).sum())
            seen = round(train_rows * (1.0 - float(entry.get("missing", 0.0))))
            bound = out_of_range_bound(len(values), seen, alpha)
            outside = count / len(values)
            row["out_of_range"] = outside
            row["out_of_range_expected_at_most"] = bound / len(values)
            if count > bound and outside > self.min_out_of_range_share:
                issues.append(
                    f"{outside:.1%} of column {name!r} ({count} of {len(values)} values) lies "
                    f"outside the training range [{entry['min']:.4g}, {entry['max']:.4g}], where "
                    f"data like the training data puts at most {bound:.0f}"
                )
        if entry.get("kind") == "categorical" and "categories" in entry and len(values):
            unseen_mask = ~values.astype(str).isin(set(entry["categories"]))
            unseen = float(unseen_mask.mean())
            row["unseen"] = unseen
            if unseen > self.max_unseen_share:
                sample = ", ".join(map(repr, values[unseen_mask].astype(str).unique()[:3]))
                issues.append(
                    f"{unseen:.0%} of column {name!r} are categories never seen in training ({sample})"
                )
        return row, issues


def out_of_range_bound(rows: int, train_rows: int, alpha: float) -> float:
    """The most of ``rows`` fresh values that fall outside the range of ``train_rows`` training
    values drawn from the same distribution, but for a chance ``alpha``.

    The share outside the range of ``n`` values is ``Beta(2, n - 1)`` for any continuous
    distribution (ties only make it smaller), so the count is beta-binomial. Without at least two
    training values the range says nothing: every value may fall outside.

    Example:
        >>> out_of_range_bound(rows=45, train_rows=133, alpha=0.001 / 13)  # a wine split: 16%
        7.0
    """
    if rows <= 0:
        return 0.0
    if train_rows < 2:
        return float(rows)
    from scipy.stats import betabinom

    return float(betabinom.ppf(1.0 - alpha, rows, 2, train_rows - 1))
