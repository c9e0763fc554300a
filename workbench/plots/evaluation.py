"""The evaluation figures of a fitted model on held-out rows: for a classifier the ROC and
precision-recall curves of the positive class and the confusion matrix (positive label first),
for a regressor predicted vs actual and the residuals; permutation importance for both.

A figure that cannot be drawn (a held-out set with one class only) is left out, and the reason
is kept in the result's ``notes``.

Example:
    >>> from sklearn.linear_model import LogisticRegression
    >>> import pandas as pd
    >>> x = pd.DataFrame({"a": range(40)}); y = (x["a"] > 19).astype(int)
    >>> figs = evaluation_figures(LogisticRegression().fit(x, y), x, y, "classification", 1)
    >>> sorted(figs.figures)
    ['confusion_matrix', 'importance', 'precision_recall', 'roc']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError

__all__ = ["EvaluationFigures", "evaluation_figures"]


@dataclass
class EvaluationFigures:
    """Figures by name (``roc``, ``precision_recall``, ``confusion_matrix``,
    ``predicted_vs_actual``, ``residuals``, ``importance``) and notes on any left out."""

    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def evaluation_figures(
    model: Any,
    x: pd.DataFrame,
    y: Any,
    task: str,
    positive_label: Any = None,
    *,
    importance: bool = True,
    seed: int = 0,
) -> EvaluationFigures:
    """The figures of ``task`` for ``model`` on the held-out ``x``, ``y``.

    Args:
        model: A fitted estimator or pipeline taking ``x``.
        x: Held-out input columns.
        y: Their true labels or values.
        task: ``classification`` or ``regression``.
        positive_label: The class the curves are drawn for (the model contract's).
        importance: Also compute permutation importance (a few shuffles of at most 500 rows).
        seed: Seed of the importance sample and shuffles.

    Raises:
        ModelError: the model fails to predict on ``x``.
    """
    from workbench._core.tasks import predict
    from workbench.plots import classification, regression
    from workbench.plots import importance as imp

    out = EvaluationFigures()
    y = np.asarray(y)
    pred, proba = predict(model, x, task)
    if task == "classification":
        classes = list(getattr(model, "classes_", []))
        positive = _positive(classes, positive_label)
        if proba is not None and positive is not None and len(classes) == 2:
            scores = proba[:, classes.index(positive)]
            _add(out, "roc", classification.roc_curve, y, scores, positive)
            _add(
                out, "precision_recall", classification.precision_recall_curve, y, scores, positive
            )
        elif len(classes) != 2:
            out.notes.append(f"no ROC or precision-recall curve: {len(classes)} classes, not two.")
        else:
            out.notes.append("no ROC or precision-recall curve: the model gives no probabilities.")
        _add(
            out, "confusion_matrix", classification.confusion_matrix, y, pred, positive,
            classes or None,
        )  # fmt: skip
        score = "accuracy"
    else:
        _add(out, "predicted_vs_actual", regression.predicted_vs_actual, y, pred)
        _add(out, "residuals", regression.residuals, y, pred)
        score = "R²"
    if importance:
        try:
            table = imp.permutation_importance(model, x, y, seed=seed)
            out.figures["importance"] = imp.importance_bars(table, score=score)
        except WorkbenchError as err:
            out.notes.append(f"no feature importance: {err}")
    return out


def _positive(classes: list[Any], positive_label: Any) -> Any:
    """The class among ``classes`` that is ``positive_label`` (``"1"`` finds ``1``)."""
    if positive_label is None:
        return classes[-1] if len(classes) == 2 else None
    for label in classes:
        if label == positive_label or str(label) == str(positive_label):
            return label
    return None


def _add(out: EvaluationFigures, name: str, draw: Any, *args: Any) -> None:
    try:
        out.figures[name] = draw(*args)
    except WorkbenchError as err:
        out.notes.append(f"no {name.replace('_', ' ')} plot: {err}")
