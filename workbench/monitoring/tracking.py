"""Logging a :class:`~workbench.monitoring.result.DriftResult` to MLflow, one run per report, in the
model's monitoring experiment (``monitoring/<model name>``, ``monitoring/data`` without a model).

What is logged is what :mod:`~workbench.monitoring.history` reads back: metrics (validity, drift,
drifted share and count, per-column scores ``drift.<column>``, performance ``perf.<metric>``), tags
(status, user, drifted columns, data identifiers, model) and the saved report as artifacts.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from workbench._core.names import ARTIFACT, MONITORING_EXPERIMENT_PREFIX, TAG
from workbench._core.refs import model_name_of
from workbench._core.text import user_name
from workbench.errors import MonitoringError

if TYPE_CHECKING:  # a result logs itself through this module: it reads the result, no more
    from workbench.monitoring.result import DriftResult

__all__ = [
    "ARTIFACT_FOLDER",
    "DATA_TAG_PREFIX",
    "NO_MODEL",
    "experiment_name",
    "log_result",
    "metric_key",
]

#: The experiment of runs without a model: ``monitoring/data``.
NO_MODEL = "data"
#: Run artifacts folder that holds the saved report.
ARTIFACT_FOLDER = "drift"
#: Data identifiers become tags ``workbench.data.<what>`` (``workbench.data.current``, ...).
DATA_TAG_PREFIX = TAG.DATA_CURRENT.removesuffix("current")


def experiment_name(model: str | None) -> str:
    """``monitoring/<model name>`` for a model name or ``models:/`` URI; ``monitoring/data`` for
    None.

    Example:
        >>> experiment_name("models:/credit-risk@champion"), experiment_name(None)
        ('monitoring/credit-risk', 'monitoring/data')
    """
    return MONITORING_EXPERIMENT_PREFIX + (model_name_of(model) or NO_MODEL)


def log_result(result: DriftResult, experiment: str | None = None) -> str:
    """Log ``result`` as a new MLflow run; returns its id and records it (``run_id``, ``run_url``)
    on the result.

    Args:
        result: The drift result.
        experiment: The experiment (default: :func:`experiment_name` of the result's model).

    Raises:
        MonitoringError: MLflow refused the run, a metric or an artifact.
    """
    import mlflow

    from workbench.workspace import current_workspace

    ws = current_workspace()
    name = experiment or experiment_name(result.model_name or result.model_uri)
    try:
        exp_id = ws.experiment_id(name)
        metrics = {k: v for k, v in _metrics(result).items() if np.isfinite(v)}
        with mlflow.start_run(experiment_id=exp_id, run_name=_run_name(result)) as run:
            mlflow.set_tags(_tags(result))
            mlflow.log_metrics(metrics)
            _log_reports(result)
    except MonitoringError:
        raise
    except Exception as err:
        raise MonitoringError(
            f"logging the drift result to MLflow experiment {name!r} failed: {err}"
        ) from err
    result.run_id = run.info.run_id
    result.run_url = ws.run_url(exp_id, run.info.run_id)
    return run.info.run_id


def metric_key(name: str) -> str:
    """``name`` as an MLflow metric key (``drift.<column>``): characters MLflow refuses become
    ``_``; :mod:`~workbench.monitoring.history` reads the metrics back by the same keys.

    Example:
        >>> metric_key("drift.loan amount (€)")
        'drift.loan amount ___'
    """
    return "".join(ch if ch.isalnum() or ch in "_-./ " else "_" for ch in str(name))


# --------------------------------------------------------------------------- helpers


def _metrics(result: DriftResult) -> dict[str, float]:
    metrics: dict[str, float] = {
        "valid": float(result.valid),
        "drift_detected": float(bool(result.drift_detected)),
        "drifted_share": float(result.share),
        "drifted_count": float(len(result.drifted_columns)),
        "rows_current": float(result.rows_current),
    }
    for c in result.columns:
        metrics[metric_key(f"drift.{c.column}")] = float(c.score)
    for k, v in result.performance.items():
        metrics[metric_key(f"perf.{k}")] = float(v)
    for k, v in result.estimated_performance.items():
        if isinstance(v, dict) and v.get("value") is not None:  # a withheld metric: no figure
            # est.accuracy, est.accuracy.low, est.accuracy.high
            metrics[metric_key(f"est.{k}")] = float(v["value"])
            metrics[metric_key(f"est.{k}.low")] = float(v["low"])
            metrics[metric_key(f"est.{k}.high")] = float(v["high"])
    return metrics


def _run_name(result: DriftResult) -> str:
    """``monitor-NAME-vN-<UTC time>`` (``monitor-data-...`` without a model)."""
    name = result.model_name or model_name_of(result.model_uri) or NO_MODEL
    version = f"-v{result.model_version}" if result.model_version else ""
    return f"monitor-{name}{version}-{str(result.created_at).replace('+00:00', 'Z')}"


def _tags(result: DriftResult) -> dict[str, str]:
    tags = {
        TAG.KIND: "monitor",
        TAG.STATUS: result.status,
        TAG.USER: user_name(),
        TAG.DRIFTED_COLUMNS: ",".join(c.column for c in result.drifted_columns)[:500],
        **{f"{DATA_TAG_PREFIX}{k}": str(v)[:500] for k, v in result.data_ids.items()},
    }
    if result.model_uri:
        tags[TAG.MODEL_URI] = result.model_uri
    if result.model_name:
        tags[TAG.MODEL_NAME] = result.model_name
    if result.model_version:
        tags[TAG.MODEL_VERSION] = str(result.model_version)
    if result.reasons:
        tags[TAG.REASONS] = " | ".join(result.reasons)[:4000]
    note = _estimate_note(result.estimated_performance)
    if note:
        tags[TAG.ESTIMATE_NOTE] = note[:4000]
    return tags


def _estimate_note(estimate: dict) -> str:
    """``withheld: why`` or the warnings that flag the estimate ("" when there is none of
    either): the monitoring history and the dashboard show it beside the figures."""
    if not estimate:
        return ""
    parts = [estimate["reason"]] if estimate.get("reason") else []
    parts += list(estimate.get("warnings") or [])
    text = "; ".join(parts)
    return f"withheld: {text}" if estimate.get("withheld") else text


def _log_reports(result: DriftResult) -> None:
    """The saved report's files as artifacts of the active run (saved to a temporary folder first
    when the result was not saved)."""
    import mlflow

    if result.report_path and Path(result.report_path).parent.exists():
        folder = Path(result.report_path).parent
        for file in (ARTIFACT.REPORT_HTML, ARTIFACT.REPORT_JSON, ARTIFACT.SUMMARY_JSON):
            if (folder / file).exists():
                mlflow.log_artifact(str(folder / file), artifact_path=ARTIFACT_FOLDER)
        return
    with tempfile.TemporaryDirectory() as tmp:
        saved_path = result.report_path
        result.save(tmp)
        result.report_path = saved_path
        mlflow.log_artifacts(tmp, artifact_path=ARTIFACT_FOLDER)
