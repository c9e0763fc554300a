"""Stage 4: drift and performance monitoring with Evidently, logged to MLflow, that never says
"no drift" by mistake.

Evidently on its own drops a missing column and ignores nulls, so a column gone 67% null shows "no
drift"; here such data is refused (``on_invalid="raise"``) or returned marked invalid with its
reasons (``on_invalid="return"``, for scheduled runs). A column drifts when its p-value, corrected
for testing many columns (Holm), is small and the move is large enough to matter, so a clean batch
raises an alarm at most 5% of the time; Evidently's own per-column verdicts are kept beside. With a
model, its contract says which columns are tested (features, prediction, target) and which are
skipped (identifiers, dates, ignored), and which label is positive.

What lives where:

* :mod:`~workbench.monitoring.report`       :func:`drift_report` (the entry point), :func:`check_status`
* :mod:`~workbench.monitoring.validation`   every reason two tables cannot be compared (and the
  options and columns the check is given)
* :mod:`~workbench.monitoring.columns`      columns to test and to skip (the model contract's roles,
  or identifiers and dates inferred), each skipped one with its reason
* :mod:`~workbench.monitoring.statistics`   per-column statistics (Evidently's scores and verdicts, in
  numpy, on all rows) and the one decision both engines feed (``verdicts``: Holm over the columns,
  a minimum effect)
* :mod:`~workbench.monitoring.summaries`    the same tests read from per-column summaries (counts,
  histograms), with proven bounds where binned: the Spark engine's scores, the same decision
* :mod:`~workbench.monitoring.spark_drift`  ``drift_report(..., engine="spark")``: the summaries
  computed where the data lives (:mod:`workbench.spark.statistics`)
* :mod:`~workbench.monitoring.scoring`      the model: its registry identity and contract, its
  predictions, its performance
* :mod:`~workbench.monitoring.evidently_adapter`  the Evidently report (the only module importing
  Evidently)
* :mod:`~workbench.monitoring.result`       :class:`ColumnDrift`, :class:`DriftResult` (save, load, log)
* :mod:`~workbench.monitoring.render`       how a result shows itself: HTML card, text, the rule
* :mod:`~workbench.monitoring.tracking`     a result logged as an MLflow run
* :mod:`~workbench.monitoring.history`      :func:`monitoring_history`: the logged runs read back
* :mod:`~workbench.monitoring.retrain`      :func:`apply_retrain_policy`: drift in k of n runs tags the
  version
* :mod:`~workbench.monitoring.dashboard`    :func:`monitoring_dashboard`: every model's live version,
  latest verdict, runs and retrain flag, as the dashboard shows them (HTML in ``dashboard_render``)
* :mod:`~workbench.monitoring.simulation`   demo tables and a simulated week in production

Example:
    >>> import workbench as wb
    >>> from workbench.data import credit_risk, production_batch
    >>> ref = credit_risk(2000)
    >>> result = wb.drift_report(ref, production_batch(5, "gradual_shift"))  # doctest: +SKIP
    >>> result.drift_detected, [c.column for c in result.drifted_columns]    # doctest: +SKIP
    (True, ['loan_amount', 'income', 'default'])
"""

from __future__ import annotations

from workbench.errors import DataQualityError, DriftAlert
from workbench.monitoring.abtest import ABTest, abtest
from workbench.monitoring.dashboard import Dashboard, ModelHealth, monitoring_dashboard
from workbench.monitoring.history import MonitoringHistory, monitoring_history
from workbench.monitoring.report import check_status, drift_report
from workbench.monitoring.result import ColumnDrift, DriftResult
from workbench.monitoring.retrain import RETRAIN_TAG, RetrainDecision, apply_retrain_policy
from workbench.monitoring.scoring import PREDICTION
from workbench.monitoring.simulation import WeekSimulation, batches, demo_data, simulate_week
from workbench.monitoring.traffic import Feedback, feedback, traffic_batch

__all__ = [
    "PREDICTION",
    "ABTest",
    "RETRAIN_TAG",
    "ColumnDrift",
    "Dashboard",
    "DataQualityError",
    "DriftAlert",
    "DriftResult",
    "Feedback",
    "ModelHealth",
    "MonitoringHistory",
    "RetrainDecision",
    "WeekSimulation",
    "abtest",
    "apply_retrain_policy",
    "batches",
    "check_status",
    "demo_data",
    "drift_report",
    "feedback",
    "monitoring_dashboard",
    "monitoring_history",
    "traffic_batch",
    "simulate_week",
]
