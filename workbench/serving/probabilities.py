"""Class probabilities of a classifier, laid out by its labels, for the server and for batch scoring.

A :class:`ProbabilitySpec` says which labels the probabilities are of (the model's class order), which
one is positive (binary) and what the columns are called (``proba_<label>``, from
:meth:`~workbench.contract.ModelContract.probability_columns`). The model server puts them beside the
predictions in its answer::

    {"predictions": [1, 0], "probabilities": [0.83, 0.07], "labels": [0, 1], "positive_label": 1}

A binary model with a positive label answers the positive class's probability per row; any other
classifier answers one row per request row, each in the order of ``labels``
(``"probabilities": [[0.1, 0.7, 0.2], ...]``, ``"positive_label": null``).

:func:`labels_and_probabilities` runs the model once: the labels are the most probable classes
(``classes_[argmax]``) when the estimator's ``predict`` is known to be exactly that, else ``predict``
and ``predict_proba`` both run (a threshold-tuned classifier's labels are not the argmax).

Example:
    >>> import numpy as np
    >>> spec = ProbabilitySpec(labels=["no", "yes"], positive_label="yes")
    >>> spec.columns, spec.positive_index
    (['proba_yes'], 1)
    >>> spec.response_fields(np.array([[0.25, 0.75]]))["probabilities"]
    [0.75]
    >>> probability_frame([1], {"probabilities": [0.8], "labels": [0, 1], "positive_label": 1})
       prediction  proba_1
    0           1      0.8
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workbench.contract import ModelContract, resolve_positive_label
from workbench.errors import ServingError, UsageError

__all__ = [
    "ARGMAX_ESTIMATORS",
    "PREDICTION",
    "ProbabilitySpec",
    "labels_and_probabilities",
    "probability_frame",
    "spec_for",
]

#: The column that holds the predicted label (or value) in scored tables.
PREDICTION = "prediction"
#: scikit-learn estimators whose ``predict`` is ``classes_[argmax(predict_proba)]``.
ARGMAX_ESTIMATORS = frozenset(
    {
        "LogisticRegression",
        "LogisticRegressionCV",
        "RandomForestClassifier",
        "ExtraTreesClassifier",
        "DecisionTreeClassifier",
        "ExtraTreeClassifier",
        "GradientBoostingClassifier",
        "HistGradientBoostingClassifier",
        "KNeighborsClassifier",
        "GaussianNB",
        "MultinomialNB",
        "BernoulliNB",
        "ComplementNB",
        "CategoricalNB",
        "MLPClassifier",
        "CalibratedClassifierCV",
        "LinearDiscriminantAnalysis",
        "QuadraticDiscriminantAnalysis",
        "VotingClassifier",
    }
)


@dataclass(frozen=True)
class ProbabilitySpec:
    """The labels a classifier's probabilities are of, in the model's class order.

    Attributes:
        labels: The model's classes (``classes_``), as plain values.
        positive_label: The positive class of a binary model (``None`` otherwise).
        argmax: True when the labels may be computed from the probabilities (one pass).

    Example:
        >>> ProbabilitySpec(labels=["a", "b", "c"]).columns
        ['proba_a', 'proba_b', 'proba_c']
    """

    labels: tuple | list
    positive_label: Any = None
    argmax: bool = False

    @property
    def positive_index(self) -> int | None:
        """Column of the positive label in ``predict_proba`` (binary models with one)."""
        if self.positive_label is None:
            return None
        return list(self.labels).index(self.positive_label)

    @property
    def columns(self) -> list[str]:
        """The probability columns scoring adds (``proba_<label>``), as the contract names them."""
        contract = ModelContract(
            "", "classification", [], labels=list(self.labels), positive_label=self.positive_label
        )
        return contract.probability_columns()

    def table(self, proba: np.ndarray) -> np.ndarray:
        """``predict_proba``'s output as the columns of :attr:`columns` (rows x columns)."""
        index = self.positive_index
        return proba[:, [index]] if index is not None else proba

    def response_fields(self, proba: np.ndarray) -> dict[str, Any]:
        """What the server adds beside ``predictions``: probabilities, labels, positive label, and
        ``probability_of``: the class each probability is of (the positive label, when one
        probability per row is given; else the labels, one per column)."""
        index = self.positive_index
        values = proba[:, index] if index is not None else proba
        return {
            "probabilities": values.tolist(),
            "probability_of": self.positive_label if index is not None else list(self.labels),
            "labels": list(self.labels),
            "positive_label": self.positive_label,
        }

    def to_json(self) -> str:
        """The spec as JSON (what the launcher hands to the server's workers)."""
        return json.dumps({"labels": list(self.labels), "positive_label": self.positive_label})


def spec_for(model: Any, contract: ModelContract | dict | None = None) -> ProbabilitySpec | None:
    """The probability layout of a scikit-learn classifier, or None (a regressor, no
    ``predict_proba``, not scikit-learn).

    The labels are the model's own ``classes_`` (the order of ``predict_proba``); the positive label
    is the contract's when it is one of them, else the obvious one of a 0/1, False/True, yes/no pair,
    else none (every class's probability is given).

    Args:
        model: The raw model (``pyfunc_model.get_raw_model()``).
        contract: The version's contract, or a dict with ``labels`` and ``positive_label``.
    """
    classes = getattr(model, "classes_", None)
    if classes is None or isinstance(classes, list) or not hasattr(model, "predict_proba"):
        return None  # a regressor, a multi-output model (a list of class arrays), no probabilities
    labels = [v.item() if hasattr(v, "item") else v for v in np.asarray(classes)]
    if len(labels) < 2:
        return None
    wanted = contract.positive_label if isinstance(contract, ModelContract) else None
    if isinstance(contract, dict):
        wanted = contract.get("positive_label")
    positive = None
    if len(labels) == 2:
        try:
            positive = resolve_positive_label(labels, wanted, "the target")
        except UsageError:
            positive = None  # unknown pair, or a label the model does not have: give both columns
    return ProbabilitySpec(labels=labels, positive_label=positive, argmax=_argmax_is_predict(model))


def labels_and_probabilities(
    model: Any, frame: pd.DataFrame, spec: ProbabilitySpec
) -> tuple[np.ndarray, np.ndarray]:
    """The predicted labels and the class probabilities of ``frame`` (rows x classes).

    When ``spec.argmax`` the model runs once and the labels are ``classes_[argmax]``; otherwise
    ``predict`` gives the labels, as it would without probabilities.
    """
    proba = np.asarray(model.predict_proba(frame), dtype="float64")
    if spec.argmax:
        labels = np.asarray(model.classes_).take(np.argmax(proba, axis=1))
    else:
        labels = np.asarray(model.predict(frame))
    return labels, proba


def probability_frame(
    predictions: Any, payload: dict[str, Any], index: pd.Index | None = None
) -> pd.DataFrame:
    """A server's answer as a table: ``prediction`` and one ``proba_<label>`` column per
    probability (the names :class:`ProbabilitySpec` and the contract give).

    Raises:
        ServingError: the answer holds no probabilities (a regressor, or plain
            ``mlflow models serve``), or they do not fit its labels.
    """
    if "probabilities" not in payload or "labels" not in payload:
        raise ServingError(
            "the server answered predictions without probabilities: the model is not a "
            "classifier with predict_proba, or the server is plain `mlflow models serve` "
            "(serve with the workbench's launcher, gc_tuned=True, to get them)."
        )
    spec = ProbabilitySpec(labels=payload["labels"], positive_label=payload.get("positive_label"))
    values = np.asarray(payload["probabilities"], dtype="float64")
    values = values.reshape(len(values), -1)
    if values.shape[1] != len(spec.columns):
        raise ServingError(
            f"the server answered {values.shape[1]} probabilities per row for the labels "
            f"{spec.labels}: expected {len(spec.columns)}."
        )
    out = pd.DataFrame(values, columns=spec.columns, index=index)
    out.insert(0, PREDICTION, np.asarray(predictions))
    return out


def _final_estimator(model: Any) -> Any:
    steps = getattr(model, "steps", None)
    return steps[-1][1] if steps else model


def _argmax_is_predict(model: Any) -> bool:
    final = _final_estimator(model)
    cls = type(final)
    if not cls.__module__.startswith("sklearn."):
        return False
    if cls.__name__ == "VotingClassifier":
        return getattr(final, "voting", None) == "soft"
    return cls.__name__ in ARGMAX_ESTIMATORS
