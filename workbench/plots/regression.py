"""Regressor plots: predicted against actual (the diagonal is a perfect model) and the
residuals against the prediction (a pattern there is what the model missed).

Example:
    >>> fig = predicted_vs_actual([1.0, 2.0, 3.0], [1.1, 1.9, 3.2])
    >>> fig.data[0].x.tolist(), fig.data[1].name
    ([1.0, 2.0, 3.0], 'perfect')
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.plots._common import PALETTE, column, same_length, style

__all__ = ["predicted_vs_actual", "residuals"]

_MAX_POINTS = 5000  # more points only slow the page: an even sample is drawn


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    y = column(y_true, "y_true", numeric=True)
    p = column(y_pred, "y_pred", numeric=True)
    same_length(y_true=y, y_pred=p)
    if len(y) > _MAX_POINTS:
        keep = np.linspace(0, len(y) - 1, _MAX_POINTS).astype(int)
        y, p = y[keep], p[keep]
    return y, p


def predicted_vs_actual(y_true: Any, y_pred: Any) -> Any:
    """One point per row (actual on x, predicted on y) and the diagonal of a perfect model.

    Raises:
        DataError: empty, NaN or non-numeric inputs, or lengths differ.
    """
    import plotly.graph_objects as go

    y, p = _pair(y_true, y_pred)
    low, high = float(min(y.min(), p.min())), float(max(y.max(), p.max()))
    rmse = float(np.sqrt(np.mean((p - y) ** 2)))
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=y, y=p, mode="markers", name=f"rows (RMSE {rmse:.4g})",
            marker={"color": PALETTE[0], "size": 5, "opacity": 0.6},
            hovertemplate="actual %{x:.4g}, predicted %{y:.4g}<extra></extra>",
        )
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=[low, high], y=[low, high], mode="lines", name="perfect",
            line={"color": PALETTE[1], "dash": "dash", "width": 1}, hoverinfo="skip",
        )
    )  # fmt: skip
    return style(fig, "Predicted vs actual", "Actual", "Predicted")


def residuals(y_true: Any, y_pred: Any) -> Any:
    """Residual (actual minus predicted) against the prediction, with the zero line.

    Raises:
        DataError: empty, NaN or non-numeric inputs, or lengths differ.
    """
    import plotly.graph_objects as go

    y, p = _pair(y_true, y_pred)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=p, y=y - p, mode="markers", name="residual (actual - predicted)",
            marker={"color": PALETTE[0], "size": 5, "opacity": 0.6},
            hovertemplate="predicted %{x:.4g}, residual %{y:.4g}<extra></extra>",
        )
    )  # fmt: skip
    fig.add_hline(y=0, line={"color": PALETTE[1], "dash": "dash", "width": 1})
    return style(fig, "Residuals", "Predicted", "Actual - predicted")
