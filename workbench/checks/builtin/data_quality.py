"""The data-quality check: the eval data looks like the training data (from its profile)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from workbench.checks.base import Check, CheckResult
from workbench.checks.context import CheckContext

__all__ = ["DataQuality"]


class DataQuality(Check):
    """The eval data looks like the training data: missing shares, constant columns, duplicate
    rows, values outside the training range and categories never seen in training.

    Args:
        max_missing_increase: Largest allowed rise of a column's missing share (0.10 = 10 points).
        max_duplicate_share: Largest allowed share of duplicated rows.
        max_out_of_range_share: Largest allowed share of a column's values outside the training
            range.
        max_unseen_share: Largest allowed share of a column's values in categories training never saw.
    """

    name = "data_quality"
    protects = "testing (and later serving) on data unlike what the model learned from"

    def __init__(
        self,
        max_missing_increase: float = 0.10,
        max_duplicate_share: float = 0.05,
        max_out_of_range_share: float = 0.05,
        max_unseen_share: float = 0.05,
    ):
        self.max_missing_increase = max_missing_increase
        self.max_duplicate_share = max_duplicate_share
        self.max_out_of_range_share = max_out_of_range_share
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
        rows, problems = [], []
        for name, entry in profile["columns"].items():
            if name not in x.columns:
                continue
            row, issues = self._column(name, x[name], entry, len(x))
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
            f"{len(rows)} columns within the training profile; {duplicates:.1%} duplicate rows",
            table,
        )

    def _column(self, name: str, col: pd.Series, entry: dict[str, Any], n: int):
        issues: list[str] = []
        missing = float(col.isna().mean()) if n else 0.0
        row = {
            "column": name,
            "train_missing": entry.get("missing", 0.0),
            "eval_missing": missing,
            "out_of_range": 0.0,
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
            outside = float(((numeric < entry["min"]) | (numeric > entry["max"])).mean())
            row["out_of_range"] = outside
            if outside > self.max_out_of_range_share:
                issues.append(
                    f"{outside:.0%} of column {name!r} lies outside the training range "
                    f"[{entry['min']:.4g}, {entry['max']:.4g}]"
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
