"""Stage 2: the pre-deployment suite that gates promotion.

A suite is a list of small checks (:func:`default_suite`); :func:`run_checks` runs it on a model
version and keeps the results with the version, where :func:`workbench.promote` looks for them::

    import workbench as wb
    report = wb.run_checks("models:/credit-risk@challenger", data=df, target="default")
    report.passed, report.failed
    report.verdict(fail=True)  # prints the verdict; GateError (exit code 3) when it failed

The checks obey the version's model contract (``wb.model_contract(uri)``): each model is fed its
own features from the eval table (extra columns are fine), metrics and fairness are measured on its
positive label, and fairness slices by its protected attributes (or ``protected=[...]``).

Where things live:

* :mod:`~workbench.checks.base`     ``Check``, ``CheckResult``, ``CheckReport`` (the result protocol)
* :mod:`~workbench.checks.context`  ``CheckContext``: what the checks look at, metrics computed once
* :mod:`~workbench.checks.builtin`  the built-in checks, one module per concern
* :mod:`~workbench.checks.presets`  ``default_suite`` and the default metric bars
* :mod:`~workbench.checks.runner`   ``run_checks`` (load, run, report, keep with the version) and
  ``load_eval_data``
* :mod:`~workbench.checks.card`     the model card

Write your own check by subclassing :class:`Check` (settings in ``__init__``, work in ``run``).
"""

from __future__ import annotations

from workbench._core.tasks import LOWER_IS_BETTER
from workbench.checks.base import STATUSES, Check, CheckReport, CheckResult
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
from workbench.checks.card import card_html, model_card
from workbench.checks.context import CheckContext
from workbench.checks.presets import DEFAULT_THRESHOLDS, default_suite
from workbench.checks.runner import RUN_TAG, STATUS_TAG, load_eval_data, run_checks

__all__ = [
    "DEFAULT_THRESHOLDS",
    "LOWER_IS_BETTER",
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
    "ServingSmokeCheck",
    "card_html",
    "default_suite",
    "load_eval_data",
    "model_card",
    "run_checks",
]
