"""Metric checks: an absolute bar on one metric, and no regression against the ``@champion``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench._core.tasks import LOWER_IS_BETTER
from workbench.checks.base import Check, CheckResult
from workbench.checks.context import CheckContext
from workbench.errors import CheckError, MissingColumnError, UsageError

__all__ = ["MetricThreshold", "NoRegression"]


class MetricThreshold(Check):
    """An absolute bar on one metric: ``roc_auc`` at least 0.75, ``rmse`` at most 50...

    Args:
        metric: A metric of :func:`workbench._core.tasks.metrics` (``roc_auc``, ``f1``, ``rmse``...);
            the check's name is ``metric_<metric>``.
        minimum: The lowest acceptable value (for scores).
        maximum: The highest acceptable value (for errors such as ``rmse``).

    Example:
        >>> MetricThreshold("roc_auc", minimum=0.75).name
        'metric_roc_auc'
    """

    protects = "a model that is simply not good enough reaching users"

    def __init__(self, metric: str, minimum: float | None = None, maximum: float | None = None):
        if minimum is None and maximum is None:
            raise UsageError(f"give MetricThreshold({metric!r}) a minimum or a maximum")
        self.metric = metric
        self.minimum = minimum
        self.maximum = maximum

    @property
    def name(self) -> str:  # type: ignore[override]
        """``metric_<metric>``: one check per metric in a report."""
        return f"metric_{self.metric}"

    @classmethod
    def failing_example(cls) -> tuple[MetricThreshold, CheckContext]:
        """A model that always guesses the majority class (ROC AUC 0.5) held to 0.75."""
        from sklearn.dummy import DummyClassifier

        from workbench.checks.builtin._examples import example_context, example_model

        guesser = example_model(DummyClassifier(strategy="prior"))
        return cls("roc_auc", minimum=0.75), example_context(guesser)

    def run(self, context: CheckContext) -> CheckResult:
        """Hold the candidate's metric on the eval data to the bar."""
        metrics = context.metrics()
        if self.metric not in metrics:
            raise CheckError(
                f"metric {self.metric!r} is not available for this {context.task} model "
                f"(available: {', '.join(sorted(metrics))}): choose one of those."
            )
        value = metrics[self.metric]
        if value is None or not np.isfinite(value):
            return self.result(
                "error", value, None, f"{self.metric} could not be computed on the eval data"
            )
        too_low = self.minimum is not None and value < self.minimum
        too_high = self.maximum is not None and value > self.maximum
        bar = " and ".join(
            ([f">= {self.minimum:g}"] if self.minimum is not None else [])
            + ([f"<= {self.maximum:g}"] if self.maximum is not None else [])
        )
        typed = (
            {"bar": self.minimum, "op": ">="}
            if self.minimum is not None
            else {"bar": self.maximum, "op": "<="}
        )  # the gate reads these numbers, never the text
        label = context.metric_label(self.metric)  # "f1 (macro)" for a multiclass model
        if too_low or too_high:
            return self.result(
                "fail",
                value,
                bar,
                f"{label} is {value:.4f} on the eval data, the bar is {bar}: improve the "
                "model (features, tuning) before it may be promoted.",
                **typed,
            )
        return self.result("pass", value, bar, f"{label} {value:.4f} meets {bar}", **typed)


class NoRegression(Check):
    """The candidate is not worse than the current ``@champion`` on the same eval data.

    Each model is fed the features its own contract lists, from the same eval table, so a
    candidate with a different feature set is compared fairly. When the eval table lacks a feature
    only the champion needs, the result is a warning that says so (the comparison cannot be made),
    not an error of the candidate.

    Args:
        metrics: Metrics to compare; default ``roc_auc`` (classification: it does not depend on a
            decision threshold, so it is stable between retrains) or ``rmse`` (regression).
        tolerance: Allowed loss: absolute for scores (0.02 = two points of ROC AUC), relative for
            errors (0.02 = RMSE up to 2% higher).
    """

    name = "no_regression"
    protects = "replacing a good model by a worse one"

    def __init__(self, metrics: list[str] | None = None, tolerance: float = 0.02):
        self.metrics = metrics
        self.tolerance = tolerance

    @classmethod
    def failing_example(cls) -> tuple[NoRegression, CheckContext]:
        """A candidate that guesses, checked against a sound ``@champion``."""
        from sklearn.dummy import DummyClassifier

        from workbench.checks.builtin._examples import example_context, example_model

        guesser = example_model(DummyClassifier(strategy="prior"))
        return cls(), example_context(guesser, champion=example_model())

    def run(self, context: CheckContext) -> CheckResult:
        """Compare the candidate's metrics with the champion's on the same eval data."""
        if context.champion is None:
            return self.result("pass", detail="no @champion yet: nothing to compare with")
        if context.champion_version is not None and context.champion_version == context.version:
            return self.result("pass", detail="this version is the @champion itself")
        cand = context.metrics("candidate")
        vs = f"champion v{context.champion_version}" if context.champion_version else "champion"
        try:  # the champion is fed its own features from the same eval table
            champ = context.metrics("champion")
        except MissingColumnError as err:
            return self.result(
                "warn", None, f"tolerance {self.tolerance:g}", f"not compared with the {vs}: {err}"
            )
        default = ["roc_auc"] if context.task == "classification" else ["rmse"]
        names = [m for m in (self.metrics or default) if m in cand and m in champ]
        if not names:
            raise CheckError(f"none of the metrics {self.metrics or default} could be computed.")
        rows, worse, kept = [], [], []
        for metric in names:
            lower = metric in LOWER_IS_BETTER
            delta = cand[metric] - champ[metric]
            allowed = abs(champ[metric]) * self.tolerance if lower else self.tolerance
            regressed = delta > allowed if lower else delta < -allowed
            rows.append(
                {
                    "metric": metric,
                    "candidate": cand[metric],
                    "champion": champ[metric],
                    "delta": delta,
                    "allowed_loss": allowed,
                    "regressed": regressed,
                }
            )
            tolerance = f"the {_tolerance(self.tolerance, lower)} tolerance"
            if regressed:
                verdict = f"worse than the {vs} beyond {tolerance}"
            elif (delta > 0) if lower else (delta < 0):
                verdict = f"within {tolerance} of the {vs}"
            else:
                verdict = f"at least as good as the {vs}"
            line = _compared(
                context.metric_label(metric), verdict, cand[metric], champ[metric], lower
            )
            (worse if regressed else kept).append(line)
        table = pd.DataFrame(rows)
        first = rows[0]
        if worse:
            return self.result(
                "fail",
                first["delta"],
                f"tolerance {self.tolerance:g}",
                f"{'; '.join(worse)}. Keep the champion, or retrain.",
                table,
            )
        return self.result(
            "pass", first["delta"], f"tolerance {self.tolerance:g}", "; ".join(kept), table
        )


def _compared(label: str, verdict: str, candidate: float, champion: float, lower: bool) -> str:
    """``roc_auc within the 0.02 tolerance of the champion v2 (-0.015: 0.8012 vs 0.8162)``;
    the change of an error also as a share of the champion's."""
    delta = candidate - champion
    change = f"{delta:+.3g}"
    if lower and champion:
        change += f", {delta / abs(champion):+.1%}"
    return f"{label} {verdict} ({change}: {candidate:.4f} vs {champion:.4f})"


def _tolerance(tolerance: float, lower: bool) -> str:
    """``0.02`` for a score (absolute), ``2%`` for an error (relative to the champion's)."""
    return f"{tolerance * 100:.3g}%" if lower else f"{tolerance:g}"
