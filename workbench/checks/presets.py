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
from workbench.registry.policy import DEFAULT_THRESHOLDS as POLICY_THRESHOLDS
from workbench.registry.policy import gate_policy

__all__ = ["DEFAULT_THRESHOLDS", "default_suite"]

#: Absolute bars of the default gate policy (the workspace's ``gate_policy.json`` may tighten them).
DEFAULT_THRESHOLDS = POLICY_THRESHOLDS


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
            ``mae``, ``log_loss``) maximums. Default: the workspace's gate policy (ROC AUC >= 0.65
            for classification, R2 >= 0 for regression, unless ``gate_policy.json`` tightens
            them). Looser bars run, but ``promote`` refuses a version checked with them.
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
    bars = thresholds if thresholds is not None else _policy_bars(task)
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


def _policy_bars(task: str) -> dict[str, float]:
    try:
        return dict(gate_policy().thresholds.get(task, DEFAULT_THRESHOLDS[task]))
    except UsageError:
        raise
    except Exception:  # no workspace to read a policy from: the default bars
        return dict(DEFAULT_THRESHOLDS[task])


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
