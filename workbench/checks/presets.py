"""Presets: a suite is a list of small checks (as Evidently's presets are), and the default bars.

:func:`default_suite` is what :func:`workbench.run_checks` runs when it is given no ``suite``.
"""

from __future__ import annotations

from workbench._core.tasks import LOWER_IS_BETTER
from workbench.checks.base import Check
from workbench.checks.builtin import (
    DataQuality,
    FairnessGap,
    HandlesMissingValues,
    HandlesUnseenCategories,
    LatencyBudget,
    MetricThreshold,
    NoiseStability,
    NoRegression,
    ReloadReproducibility,
    SafeArtifact,
    SchemaContract,
    ServingSmokeCheck,
)
from workbench.errors import UsageError

__all__ = ["DEFAULT_THRESHOLDS", "default_suite"]

#: Absolute bars used when ``thresholds`` is not given.
DEFAULT_THRESHOLDS = {"classification": {"roc_auc": 0.65}, "regression": {"r2": 0.0}}


def default_suite(
    task: str = "classification",
    *,
    thresholds: dict[str, float] | None = None,
    tolerance: float = 0.02,
    protected: str | list[str] | None = None,
    fairness_metric: str | None = None,
    max_gap: float = 0.25,
    p95_ms: float = 100.0,
    min_rows_per_s: float = 1000.0,
    serving: bool = False,
) -> list[Check]:
    """The standard pre-deployment suite: a list of small checks, in the order they run.

    Args:
        task: ``classification`` or ``regression``.
        thresholds: Absolute bars, metric -> value. Scores are minimums, errors (``rmse``,
            ``mae``, ``log_loss``) maximums. Default: ROC AUC >= 0.65 (classification), R2 >= 0.
        tolerance: Allowed loss against ``@champion`` (see :class:`NoRegression`).
        protected: Attribute(s) whose slices must be treated alike (``run_checks`` passes the
            contract's); no fairness check without one.
        fairness_metric: Metric compared across slices (default recall, or MAE for regression).
        max_gap: Largest allowed gap of that metric between slices.
        p95_ms: Budget of one in-process prediction (95th percentile).
        min_rows_per_s: Smallest acceptable batch throughput.
        serving: Add the serving smoke check (starts a real server; stage 3).

    Returns:
        The checks, ready for :func:`workbench.run_checks` (``suite=...``).

    Raises:
        UsageError: ``task`` is neither classification nor regression.

    Example:
        >>> [c.name for c in default_suite(protected="age_band")][:3]
        ['schema_contract', 'metric_roc_auc', 'no_regression']
    """
    if task not in DEFAULT_THRESHOLDS:
        raise UsageError(f"unknown task {task!r}: use classification or regression")
    bars = thresholds if thresholds is not None else DEFAULT_THRESHOLDS[task]
    suite: list[Check] = [SchemaContract(), *metric_bars(bars)]
    suite += [
        NoRegression(tolerance=tolerance),
        DataQuality(),
        NoiseStability(),
        HandlesMissingValues(),
        HandlesUnseenCategories(),
    ]
    if protected:
        attributes = [protected] if isinstance(protected, str) else list(protected)
        suite.append(FairnessGap(attributes, metric=fairness_metric, max_gap=max_gap))
    suite += [
        LatencyBudget(p95_ms=p95_ms, min_rows_per_s=min_rows_per_s),
        ReloadReproducibility(),
        SafeArtifact(),
    ]
    if serving:
        suite.append(ServingSmokeCheck())
    return suite


def metric_bars(thresholds: dict[str, float]) -> list[Check]:
    """One :class:`MetricThreshold` per metric: a maximum for errors, a minimum for scores.

    Example:
        >>> [(c.name, c.minimum, c.maximum) for c in metric_bars({"rmse": 60.0, "r2": 0.3})]
        [('metric_rmse', None, 60.0), ('metric_r2', 0.3, None)]
    """
    return [
        MetricThreshold(metric, maximum=value)
        if metric in LOWER_IS_BETTER
        else MetricThreshold(metric, minimum=value)
        for metric, value in thresholds.items()
    ]
