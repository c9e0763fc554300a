"""Robustness checks: noisy inputs, missing values and categories never seen in training."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.checks.base import Check, CheckResult
from workbench.checks.builtin._shared import UNSEEN, numeric_columns, predict_error, text_columns
from workbench.checks.context import CheckContext

__all__ = ["HandlesMissingValues", "HandlesUnseenCategories", "NoiseStability"]


class NoiseStability(Check):
    """Predictions barely move when numeric inputs get a little noise (1% of a column's spread).

    Args:
        scale: Noise as a share of each column's standard deviation.
        max_change: Classification: largest allowed share of changed labels. Regression: largest
            allowed mean change as a share of the predictions' standard deviation.
        seed: Seed of the noise.
    """

    name = "noise_stability"
    protects = "a brittle model whose answer flips on measurement noise"

    def __init__(self, scale: float = 0.01, max_change: float = 0.05, seed: int = 0):
        self.scale = scale
        self.max_change = max_change
        self.seed = seed

    @classmethod
    def failing_example(cls) -> tuple[NoiseStability, CheckContext]:
        """A deep tree that memorised random labels from one numeric column."""
        import numpy as np
        from sklearn.tree import DecisionTreeClassifier

        from workbench.checks.builtin._examples import (
            TARGET,
            example_context,
            example_model,
            example_table,
        )

        train = example_table()
        train[TARGET] = np.random.default_rng(0).integers(0, 2, len(train))
        tree = DecisionTreeClassifier(random_state=0)
        model = example_model(tree, train=train, numeric=["income"], categorical=[])
        return cls(), example_context(model, train=train)

    def run(self, context: CheckContext) -> CheckResult:
        """Add noise to the numeric inputs and count the predictions that move."""
        x = context.x
        columns = numeric_columns(context)
        if not columns or not len(x):
            return self.result("pass", 0.0, self.max_change, "no numeric inputs to perturb")
        rng = np.random.default_rng(self.seed)
        noisy = x.copy()
        for col in columns:
            std = float(np.nanstd(x[col].to_numpy(dtype="float64")))
            noisy[col] = x[col] + rng.normal(0.0, self.scale * (std or 1.0), len(x))
        base, moved = context.predict(x), context.predict(noisy)
        if context.task == "classification":
            change = float(np.mean(base != moved))
            what = f"{change:.1%} of the labels changed"
        else:
            spread = float(np.std(base)) or 1.0
            change = float(np.mean(np.abs(moved - base)) / spread)
            what = f"predictions moved by {change:.1%} of their spread on average"
        status = "fail" if change > self.max_change else "pass"
        advice = (
            " Regularise the model or use fewer, smoother features." if status == "fail" else ""
        )
        return self.result(
            status,
            change,
            self.max_change,
            f"{what} under {self.scale:.0%} noise on {len(columns)} numeric columns.{advice}",
        )


class HandlesMissingValues(Check):
    """The model still answers when inputs are missing (each column is blanked in turn).

    Args:
        share: Share of rows to blank per column.
        rows: Eval rows to use.
    """

    name = "handles_missing"
    protects = "a crash (HTTP 500) the first time a form field comes in empty"

    def __init__(self, share: float = 0.2, rows: int = 200):
        self.share = share
        self.rows = rows

    @classmethod
    def failing_example(cls) -> tuple[HandlesMissingValues, CheckContext]:
        """A pipeline without an imputer: a logistic regression refuses a missing number."""
        from workbench.checks.builtin._examples import example_context, example_model

        return cls(), example_context(example_model(impute=False))

    def run(self, context: CheckContext) -> CheckResult:
        """Blank the inputs (all together, then one by one) and predict."""
        x = context.x.head(self.rows)
        types = context.input_types()
        columns = [c for c in x.columns if types.get(c) not in ("long", "integer", "boolean")]
        mask = np.random.default_rng(0).random(len(x)) < self.share
        mask[:1] = True
        blanked = x.copy()
        for col in columns:
            blanked[col] = x[col].where(~mask, None if x[col].dtype == object else np.nan)
        error = predict_error(context, blanked)
        if error is None:
            return self.result(
                "pass", 0, 0, f"answers with missing values in any of {len(columns)} columns"
            )
        failing = []
        for col in columns:
            one = x.copy()
            one[col] = x[col].where(~mask, None if x[col].dtype == object else np.nan)
            if predict_error(context, one) is not None:
                failing.append(col)
        broken = pd.DataFrame({"column": failing or ["(several together)"]})
        return self.result(
            "fail",
            len(failing),
            0,
            f"the model fails when {', '.join(failing) or 'several columns'} are missing "
            f"({error}). Add an imputer to the pipeline.",
            broken,
        )


class HandlesUnseenCategories(Check):
    """The model still answers when a text column holds a category training never saw."""

    name = "handles_unseen_categories"
    protects = "a crash the day a new product, region or code appears"

    def __init__(self, rows: int = 200):
        self.rows = rows

    @classmethod
    def failing_example(cls) -> tuple[HandlesUnseenCategories, CheckContext]:
        """A one-hot encoder that raises on a category it never saw."""
        from sklearn.preprocessing import OneHotEncoder

        from workbench.checks.builtin._examples import example_context, example_model

        strict = example_model(encoder=OneHotEncoder(handle_unknown="error"))
        return cls(), example_context(strict)

    def run(self, context: CheckContext) -> CheckResult:
        """Put a category never seen in training in each text column and predict."""
        x = context.x.head(self.rows)
        columns = text_columns(context)
        if not columns:
            return self.result("pass", 0, 0, "no categorical inputs")
        failing, last_error = [], None
        for col in columns:
            error = predict_error(context, x.assign(**{col: UNSEEN}))
            if error is not None:
                failing.append(col)
                last_error = error
        if failing:
            return self.result(
                "fail",
                len(failing),
                0,
                f"the model fails on a new category in {', '.join(failing)} ({last_error}). "
                "Use OneHotEncoder(handle_unknown='ignore') or similar.",
                pd.DataFrame({"column": failing}),
            )
        return self.result("pass", 0, 0, f"answers with new categories in {len(columns)} columns")
