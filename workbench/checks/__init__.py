"""Stage 2: the pre-deployment suite that gates promotion.

A suite is a list of small checks (:func:`default_suite`); :func:`run_checks` runs it on a model
version and keeps the results with the version, where :func:`workbench.promote` looks for them::

    import workbench as wb
    report = wb.run_checks("models:/credit-risk@challenger", data=df, target="default",
                           protected="age_band")
    report.passed, report.failed

Write your own check by subclassing :class:`Check` (settings in ``__init__``, work in ``run``).
"""

from __future__ import annotations

from workbench.checks.base import STATUSES, Check, CheckContext, CheckReport, CheckResult
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
)
from workbench.checks.suite import (
    DEFAULT_THRESHOLDS,
    RUN_TAG,
    STATUS_TAG,
    default_suite,
    load_eval_data,
    run_checks,
)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "RUN_TAG",
    "STATUSES",
    "STATUS_TAG",
    "Check",
    "CheckContext",
    "CheckReport",
    "CheckResult",
    "DataQuality",
    "FairnessGap",
    "HandlesMissingValues",
    "HandlesUnseenCategories",
    "LatencyBudget",
    "MetricThreshold",
    "NoRegression",
    "NoiseStability",
    "ReloadReproducibility",
    "SafeArtifact",
    "SchemaContract",
    "default_suite",
    "load_eval_data",
    "run_checks",
]
