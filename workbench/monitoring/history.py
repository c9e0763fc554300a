"""The monitoring runs of a model read back from MLflow, oldest first, with a plot of drift over
time: what :func:`~workbench.monitoring.retrain.apply_retrain_policy` decides on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workbench._core.names import TAG
from workbench._core.refs import model_name_of
from workbench._core.results import jsonable
from workbench.monitoring.tracking import NO_MODEL, experiment_name

__all__ = ["MonitoringHistory", "monitoring_history"]

_COLUMNS = ["time", "run_id", "status", "drift_detected", "drifted_share", "model_version"]


@dataclass
class MonitoringHistory:
    """The monitoring runs of a model, oldest first, with a plot of drift over time.

    Attributes:
        model: The model name (or ``data`` for runs without a model).
        frame: One row per run: ``time``, ``run_id``, ``status``, ``drift_detected``,
            ``drifted_share``, ``model_version``, ``current`` and the ``perf.*`` metrics.

    Example:
        >>> import pandas as pd
        >>> MonitoringHistory("credit-risk", pd.DataFrame()).to_dict()
        {'model': 'credit-risk', 'runs': []}
    """

    model: str
    frame: pd.DataFrame

    def plot(self) -> Any:
        """A matplotlib figure: drifted share per run (red: drift, grey: invalid data)."""
        import matplotlib

        matplotlib.use("Agg", force=False) if not _in_notebook() else None
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 3))
        f = self.frame
        if len(f):
            colours = [
                "#999" if s == "invalid" else ("#cf222e" if s == "drift" else "#1a7f37")
                for s in f["status"]
            ]
            ax.plot(f["time"], f["drifted_share"], color="#555", linewidth=1)
            ax.scatter(f["time"], f["drifted_share"], c=colours, zorder=3)
            perf = [c for c in f.columns if c.startswith("perf.")]
            for col in perf[:2]:
                ax.plot(f["time"], f[col], linestyle="--", label=col)
            if perf:
                ax.legend(loc="upper left", fontsize=8)
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel("drifted share")
        ax.set_title(f"monitoring history: {self.model} ({len(f)} runs)")
        fig.autofmt_xdate()
        fig.tight_layout()
        plt.close(fig)
        return fig

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        return {"model": self.model, "runs": jsonable(self.frame.astype(str).to_dict("records"))}

    def _repr_html_(self) -> str:
        import base64
        import io

        buf = io.BytesIO()
        self.plot().savefig(buf, format="png", dpi=80)
        img = base64.b64encode(buf.getvalue()).decode()
        cols = [
            c
            for c in ("time", "status", "drifted_share", "model_version", "current")
            if c in self.frame
        ]
        table = self.frame[cols].tail(10).to_html(index=False, float_format="{:.2f}".format)
        return (
            f"<div class='wb-monitoring-history'><img src='data:image/png;base64,{img}'/>"
            f"{table}</div>"
        )


def monitoring_history(model: str | None = None, max_runs: int = 500) -> MonitoringHistory:
    """The monitoring runs of ``model`` (a name or a ``models:/`` URI; None = runs without a
    model), oldest first.

    Args:
        model: The model name or URI.
        max_runs: Read at most this many of the latest runs.

    Example:
        >>> wb.monitoring_history("credit-risk").frame.tail(3)   # doctest: +SKIP
    """
    from workbench.workspace import mlflow_client

    client = mlflow_client()
    name = model_name_of(model) or NO_MODEL
    exp = client.get_experiment_by_name(experiment_name(model))
    if exp is None:
        return MonitoringHistory(name, pd.DataFrame(columns=[*_COLUMNS, "current"]))
    runs = client.search_runs(
        [exp.experiment_id], order_by=["attributes.start_time DESC"], max_results=max_runs
    )
    rows = [_row(run) for run in runs]
    frame = pd.DataFrame(rows).sort_values("time", kind="stable").reset_index(drop=True)
    return MonitoringHistory(name, frame)


# --------------------------------------------------------------------------- helpers


def _row(run: Any) -> dict[str, Any]:
    tags, metrics = run.data.tags, run.data.metrics
    row = {
        "time": pd.Timestamp(run.info.start_time, unit="ms", tz="UTC"),
        "run_id": run.info.run_id,
        "status": tags.get(TAG.STATUS, ""),
        "drift_detected": bool(metrics.get("drift_detected", 0.0)),
        "drifted_share": metrics.get("drifted_share", np.nan),
        "model_version": tags.get(TAG.MODEL_VERSION),
        "current": tags.get(TAG.DATA_CURRENT),
        "drifted_columns": tags.get(TAG.DRIFTED_COLUMNS, ""),
    }
    row.update({k: v for k, v in metrics.items() if k.startswith("perf.")})
    return row


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython

        return get_ipython() is not None
    except ImportError:  # pragma: no cover
        return False
