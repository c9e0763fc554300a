"""Classifier plots: ROC and precision-recall curves of the positive class, and the confusion
matrix with the positive label first.

Example:
    >>> fig = roc_curve([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], positive_label=1)
    >>> fig.data[0].name
    'ROC (AUC 1.000)'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.errors import DataError
from workbench.plots._common import PALETTE, column, same_length, style, text

__all__ = ["confusion_matrix", "precision_recall_curve", "roc_curve"]


def _label(value: Any) -> str:
    """A label as a person reads it in a plot title: ``1``, ``'yes'`` (not ``np.int64(1)``),
    drawn as text (a label from data adds no markup)."""
    return text(repr(value.item() if isinstance(value, np.generic) else value))


def _binary(y_true: Any, scores: Any, positive_label: Any) -> tuple[np.ndarray, np.ndarray]:
    """``y_true == positive_label`` and the scores, checked: both classes present, numbers only."""
    y = column(y_true, "y_true")
    s = column(scores, "scores (probabilities of the positive class)", numeric=True)
    same_length(y_true=y, scores=s)
    if positive_label is None:
        raise DataError("name the positive label (positive_label=...): the curve is drawn for it.")
    hit = y.astype(object) == positive_label
    if not hit.any() and str(positive_label) in set(map(str, y)):
        hit = y.astype(str) == str(positive_label)  # "1" typed in a panel for labels 0/1
    if hit.all() or not hit.any():
        present = ", ".join(map(repr, sorted(set(y.tolist()), key=str)[:5]))
        raise DataError(
            f"y_true holds only one class for positive label {positive_label!r} (labels: "
            f"{present}): a curve needs rows of the positive class and of the others."
        )
    return hit, s


def roc_curve(y_true: Any, scores: Any, positive_label: Any = 1) -> Any:
    """The ROC curve of the positive class, its AUC in the legend and the chance diagonal.

    Args:
        y_true: True labels.
        scores: The model's probability (or score) of ``positive_label`` for each row.
        positive_label: The class that counts as positive (the model contract's).

    Raises:
        DataError: empty or NaN inputs, lengths differ, or only one class in ``y_true``.
    """
    import plotly.graph_objects as go
    from sklearn import metrics

    hit, s = _binary(y_true, scores, positive_label)
    fpr, tpr, thresholds = metrics.roc_curve(hit, s)
    auc = metrics.auc(fpr, tpr)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=fpr, y=tpr, mode="lines", name=f"ROC (AUC {auc:.3f})",
            line={"color": PALETTE[0], "width": 2},
            customdata=np.clip(thresholds, 0, 1),
            hovertemplate="FPR %{x:.3f}, TPR %{y:.3f}<br>threshold %{customdata:.3f}<extra></extra>",
        )
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="chance",
            line={"color": PALETTE[1], "dash": "dash", "width": 1}, hoverinfo="skip",
        )
    )  # fmt: skip
    style(
        fig,
        f"ROC curve: positive class {_label(positive_label)}",
        "False positive rate",
        "True positive rate",
    )
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    return fig


def precision_recall_curve(y_true: Any, scores: Any, positive_label: Any = 1) -> Any:
    """Precision against recall of the positive class, average precision in the legend, and the
    base rate (a model that guesses) as a dashed line.

    Raises:
        DataError: empty or NaN inputs, lengths differ, or only one class in ``y_true``.
    """
    import plotly.graph_objects as go
    from sklearn import metrics

    hit, s = _binary(y_true, scores, positive_label)
    precision, recall, _ = metrics.precision_recall_curve(hit, s)
    ap = metrics.average_precision_score(hit, s)
    base = float(hit.mean())
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=recall, y=precision, mode="lines", name=f"precision-recall (AP {ap:.3f})",
            line={"color": PALETTE[0], "width": 2, "shape": "hv"},
            hovertemplate="recall %{x:.3f}, precision %{y:.3f}<extra></extra>",
        )
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=[0, 1], y=[base, base], mode="lines", name=f"base rate {base:.3f}",
            line={"color": PALETTE[1], "dash": "dash", "width": 1}, hoverinfo="skip",
        )
    )  # fmt: skip
    style(fig, f"Precision-recall: positive class {_label(positive_label)}", "Recall", "Precision")
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1.02])
    return fig


def confusion_matrix(
    y_true: Any, y_pred: Any, positive_label: Any = None, labels: list[Any] | None = None
) -> Any:
    """Counts of actual (rows) by predicted (columns) labels, the positive label first.

    Args:
        y_true: True labels.
        y_pred: Predicted labels.
        positive_label: Put first and named in the title (the model contract's positive class).
        labels: All the classes (default: those seen in either array, sorted).

    Raises:
        DataError: empty or NaN inputs, lengths differ, or a positive label not among the labels.
    """
    import plotly.graph_objects as go
    from sklearn import metrics

    y, p = column(y_true, "y_true"), column(y_pred, "y_pred")
    same_length(y_true=y, y_pred=p)
    order = (
        list(labels) if labels is not None else sorted(set(y.tolist()) | set(p.tolist()), key=str)
    )
    if positive_label is not None:
        if positive_label not in order:
            raise DataError(
                f"positive label {positive_label!r} is not among the labels "
                f"{', '.join(map(repr, order))}: name one of them."
            )
        order = [positive_label] + [label for label in order if label != positive_label]
    counts = metrics.confusion_matrix(y, p, labels=order)
    names = [text(label) for label in order]
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    cells = [
        [f"{c:,}<br>{s:.0%} of row" for c, s in zip(row, srow, strict=True)]
        for row, srow in zip(counts, share, strict=True)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=counts, x=names, y=names, text=cells, texttemplate="%{text}",
            colorscale=[[0, "#ffffff"], [1, PALETTE[0]]], showscale=False,
            hovertemplate="actual %{y}, predicted %{x}: %{z:,}<extra></extra>",
        )
    )  # fmt: skip
    title = "Confusion matrix" + (
        f": positive class {_label(positive_label)} first" if positive_label is not None else ""
    )
    style(fig, title, "Predicted", "Actual", height=320 + 20 * max(0, len(order) - 2))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="bottom")
    return fig
