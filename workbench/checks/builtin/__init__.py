"""The built-in checks, one module per concern.

Each check is small: it stores its settings (its ``__init__`` arguments, nothing else), says in
plain words what it ``protects`` against, and declares a ``failing_example()``: a check and a small
real context it fails on. The contract tests run every class listed here through the same
assertions.

==========================  ===============================  ============================
module                      class                            name in reports
==========================  ===============================  ============================
:mod:`.metrics`             ``MetricThreshold``              ``metric_<metric>``
:mod:`.metrics`             ``NoRegression``                 ``no_regression``
:mod:`.schema`              ``SchemaContract``               ``schema_contract``
:mod:`.data_quality`        ``DataQuality``                  ``data_quality``
:mod:`.robustness`          ``NoiseStability``               ``noise_stability``
:mod:`.robustness`          ``HandlesMissingValues``         ``handles_missing``
:mod:`.robustness`          ``HandlesUnseenCategories``      ``handles_unseen_categories``
:mod:`.fairness`            ``FairnessGap``                  ``fairness_gap``
:mod:`.latency`             ``LatencyBudget``                ``latency``
:mod:`.artifact`            ``ReloadReproducibility``        ``reload_reproducibility``
:mod:`.artifact`            ``SafeArtifact``                 ``safe_artifact``
:mod:`.serving`             ``ServingSmokeCheck``            ``serving_smoke``
==========================  ===============================  ============================

A name is the class name in snake case without a trailing ``Check``, except three kept as reports,
tags and gate policies have always shown them: ``metric_<metric>`` (one per metric),
``handles_missing`` and ``latency``.

To add a check: write the class in the module of its concern (or a new one), export it here, and
add it to a preset in :mod:`workbench.checks.presets` if it should run by default.
"""

from __future__ import annotations

from workbench.checks.builtin.artifact import ReloadReproducibility, SafeArtifact
from workbench.checks.builtin.data_quality import DataQuality
from workbench.checks.builtin.fairness import FairnessGap
from workbench.checks.builtin.latency import LatencyBudget
from workbench.checks.builtin.metrics import MetricThreshold, NoRegression
from workbench.checks.builtin.robustness import (
    HandlesMissingValues,
    HandlesUnseenCategories,
    NoiseStability,
)
from workbench.checks.builtin.schema import SchemaContract
from workbench.checks.builtin.serving import ServingSmokeCheck

__all__ = [
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
]
