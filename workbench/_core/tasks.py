"""Classification or regression, predictions and metrics: decided and computed in one place.

* :func:`task_of_estimator` reads a fitted scikit-learn estimator (``is_classifier``/``is_regressor``);
* :func:`task_of_values` reads a target or a prediction column (labels versus a measured quantity);
* :func:`predict` returns labels and probabilities with one pass of a pipeline's preprocessing;
* :func:`metrics` computes the classification or regression metrics every stage reports;
* :func:`evaluate` is ``predict`` then ``metrics``.

Example:
    >>> import pandas as pd
    >>> task_of_values(pd.Series(["yes", "no"])), task_of_values(pd.Series([0.5, 1.25]))
    ('classification', 'regression')
    >>> m = metrics(pd.Series([0, 1, 1]), [0, 1, 0], task="classification")
    >>> round(m["accuracy"], 3), round(m["recall"], 2)
    (0.667, 0.5)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import ModelError

__all__ = [
    "CLASSIFICATION_METRICS",
    "LOWER_IS_BETTER",
    "REGRESSION_METRICS",
    "TASKS",
    "evaluate",
    "final_step",
    "metric_label",
    "metrics",
    "predict",
    "task_of_estimator",
    "task_of_values",
]

TASKS = ("classification", "regression")
CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2")
#: Metrics where a smaller value is better (the gate compares them the other way round).
LOWER_IS_BETTER = frozenset({"rmse", "mae", "log_loss"})
#: At most this many distinct whole-number values make a numeric column labels, not a quantity.
MAX_CLASSES = 20
#: What a multiclass model's metric averages over its classes (unweighted: macro), as shown.
MACRO_AVERAGED = {
    "precision": "macro",
    "recall": "macro",
    "f1": "macro",
    "roc_auc": "macro, one-vs-rest",
}


def metric_label(metric: str, multiclass: bool = False) -> str:
    """``metric`` as people read it: a multiclass model's precision, recall, F1 and ROC AUC are
    unweighted means over its classes, and say so; the metric's key stays ``precision``.

    Example:
        >>> metric_label("precision", multiclass=True), metric_label("precision")
        ('precision (macro)', 'precision')
        >>> metric_label("accuracy", multiclass=True)
        'accuracy'
    """
    average = MACRO_AVERAGED.get(metric) if multiclass else None
    return f"{metric} ({average})" if average else metric


def task_of_estimator(model: Any, fallback: bool = False) -> str:
    """``classification`` or ``regression`` for a fitted estimator (or a Pipeline ending in one).

    Args:
        model: The estimator.
        fallback: When scikit-learn cannot tell (a pyfunc wrapper), guess from ``predict_proba``
            instead of raising.

    Raises:
        ModelError: neither a classifier nor a regressor, and no ``fallback``.
    """
    from sklearn.base import is_classifier, is_regressor

    try:
        if is_classifier(model):
            return "classification"
        if is_regressor(model):
            return "regression"
    except Exception:  # noqa: S110 - an object scikit-learn cannot inspect: fall through
        pass
    if fallback:
        return "classification" if hasattr(model, "predict_proba") else "regression"
    raise ModelError(
        f"cannot tell whether {type(model).__name__} is a classifier or a regressor: "
        "log a scikit-learn classifier, regressor, or a Pipeline ending in one."
    )


def task_of_values(y: pd.Series | Iterable[Any]) -> str:
    """``classification`` for labels (text, bool, or at most 20 distinct whole numbers), else
    ``regression``."""
    y = y if isinstance(y, pd.Series) else pd.Series(list(y))
    if not pd.api.types.is_numeric_dtype(y.dtype) or pd.api.types.is_bool_dtype(y.dtype):
        return "classification"
    values = y.dropna()
    is_whole = bool(((values % 1) == 0).all()) if len(values) else True
    return "classification" if is_whole and values.nunique() <= MAX_CLASSES else "regression"


def evaluate(model: Any, x: pd.DataFrame, y: pd.Series, task: str) -> dict[str, float]:
    """Classification (accuracy, precision, recall, f1, roc_auc, log_loss) or regression (rmse,
    mae, r2) metrics of ``model`` on ``(x, y)``.

    Raises:
        ModelError: the model fails to predict on ``x`` (the message carries its error).
    """
    pred, proba = predict(model, x, task)
    return metrics(y, pred, proba, task, classes=getattr(model, "classes_", None))


def predict(model: Any, x: pd.DataFrame, task: str) -> tuple[np.ndarray, np.ndarray | None]:
    """``model.predict(x)`` and, for a classifier that has it, ``model.predict_proba(x)``.

    A forest classifier's ``predict`` *is* the argmax of its ``predict_proba`` (scikit-learn's
    own code): for those the trees are walked once and the labels taken from the probabilities.

    Raises:
        ModelError: the model fails to predict on ``x``.
    """
    proba = None
    try:
        model, x = _transformed(model, x)
        if task == "classification" and _predict_is_argmax_of_proba(model):
            proba = model.predict_proba(x)
            pred = final_step(model).classes_.take(np.argmax(proba, axis=1), axis=0)
        else:
            pred = model.predict(x)
    except Exception as err:
        raise ModelError(
            f"the model failed to predict on the evaluation data: {type(err).__name__}: {err}. "
            "Check that the columns and types match what it was trained on."
        ) from err
    if proba is None and task == "classification" and hasattr(model, "predict_proba"):
        try:
            proba = model.predict_proba(x)
        except (ValueError, AttributeError):
            proba = None  # e.g. an SVC without probabilities: the other metrics still stand
    return np.asarray(pred), proba


def metrics(
    y: pd.Series | np.ndarray,
    pred: Any,
    proba: np.ndarray | None = None,
    task: str = "classification",
    classes: Any = None,
    names: Iterable[str] | None = None,
    positive_label: Any = None,
    sample_weight: Any = None,
) -> dict[str, float]:
    """The task's metrics of predictions ``pred`` (and probabilities ``proba``) against ``y``.

    Rows where ``y`` is missing are left out. Binary labels are scored on ``positive_label`` (the
    model contract's; without one, the larger label); multiclass on macro averages.

    Args:
        y: True values.
        pred: Predictions.
        proba: Class probabilities (classifiers), columns in the order of ``classes``.
        task: ``classification`` or ``regression``.
        classes: The model's ``classes_`` (for ROC AUC and log loss on probabilities).
        names: Keep only these metrics (default: all the task has).
        positive_label: The class precision, recall, F1 and ROC AUC are measured on (binary).
        sample_weight: How many rows each ``(y, pred)`` stands for (counted pairs).
    """
    from sklearn import metrics as skm

    y_arr = np.asarray(y)
    pred = np.asarray(pred)
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    mask = pd.notna(y_arr)
    if not mask.all():
        y_arr, pred = y_arr[mask], pred[mask]
        proba = None if proba is None else np.asarray(proba)[mask]
        w = None if w is None else w[mask]
    if not len(y_arr):
        return {}
    if task == "regression":
        out = {
            "rmse": float(np.sqrt(skm.mean_squared_error(y_arr, pred, sample_weight=w))),
            "mae": float(skm.mean_absolute_error(y_arr, pred, sample_weight=w)),
            "r2": float(skm.r2_score(y_arr, pred, sample_weight=w))
            if len(y_arr) > 1
            else float("nan"),
        }
    else:
        out = _classification_metrics(y_arr, pred, proba, classes, positive_label, w)
    return out if names is None else {k: v for k, v in out.items() if k in set(names)}


def final_step(model: Any) -> Any:
    """The last estimator of a (nested) Pipeline, or ``model`` itself."""
    steps = getattr(model, "steps", None)
    return final_step(steps[-1][1]) if steps else model


def _classification_metrics(y, pred, proba, classes, positive_label=None, w=None):
    from sklearn import metrics as skm

    labels = _labels(y, pred)
    binary = len(labels) <= 2 and (positive_label is None or len(_labels(classes, [])) <= 2)
    average = "binary" if binary else "macro"
    pos_label = (positive_label if positive_label is not None else labels[-1]) if binary else 1
    # one pass for the three: precision_score, recall_score and f1_score each call this
    if binary:  # per the positive label, present in this batch or not
        scores = skm.precision_recall_fscore_support(
            y, pred, labels=[pos_label], average=None, zero_division=0, sample_weight=w
        )
        precision, recall, f1 = (float(s[0]) for s in scores[:3])
    else:
        precision, recall, f1, _ = skm.precision_recall_fscore_support(
            y, pred, average=average, zero_division=0, sample_weight=w
        )
    out = {
        "accuracy": float(skm.accuracy_score(y, pred, sample_weight=w)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
    }
    if proba is not None and w is None and len(np.unique(y)) > 1:
        try:
            if binary and proba.shape[1] == 2:
                order = list(classes) if classes is not None else sorted(labels.tolist())
                column = order.index(pos_label) if pos_label in order else 1
                positive = np.asarray(y) == pos_label
                out["roc_auc"] = float(skm.roc_auc_score(positive, proba[:, column]))
            else:
                out["roc_auc"] = float(
                    skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes)
                )
            out["log_loss"] = float(skm.log_loss(y, proba, labels=classes))
        except (ValueError, AttributeError, TypeError):
            pass  # e.g. an eval label the model never saw: the other metrics still stand
    return out


def _labels(y: Any, pred: Any) -> np.ndarray:
    values = np.concatenate([np.asarray(y if y is not None else []), np.asarray(pred)])
    try:
        return np.unique(values)
    except TypeError:  # mixed types: order them as text
        return np.array(sorted(set(values.tolist()), key=str), dtype=object)


def _transformed(model: Any, x: Any) -> tuple[Any, Any]:
    """``(final estimator, x through the steps before it)`` for a plain Pipeline, so that
    ``predict`` and ``predict_proba`` share one pass of the preprocessing (which is what
    ``Pipeline.predict`` does before it calls the final step); else ``(model, x)``."""
    from sklearn import get_config
    from sklearn.pipeline import Pipeline

    if type(model) is not Pipeline or len(model.steps) < 2:
        return model, x
    if get_config().get("enable_metadata_routing"):
        return model, x
    final = model.steps[-1][1]
    if final is None or isinstance(final, str):
        return model, x
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)  # as Pipeline.predict does, on the whole pipeline
    for _, step in model.steps[:-1]:
        if step is not None and not isinstance(step, str):  # "passthrough" steps are skipped
            x = step.transform(x)
    return final, x


def _predict_is_argmax_of_proba(model: Any) -> bool:
    """True when ``model.predict`` is exactly ``classes_[argmax(predict_proba)]``: a plain
    scikit-learn forest classifier, alone or at the end of plain Pipelines."""
    from sklearn.ensemble._forest import ForestClassifier
    from sklearn.pipeline import Pipeline

    while getattr(model, "steps", None):
        if type(model) is not Pipeline:  # a subclass may predict differently
            return False
        model = model.steps[-1][1]
    return (
        isinstance(model, ForestClassifier)
        and type(model).predict is ForestClassifier.predict
        and getattr(model, "n_outputs_", 0) == 1
    )
