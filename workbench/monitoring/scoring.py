"""The model in a monitoring run: which registered version it is, its predictions on both tables,
and its performance where the batch has labels.

Predictions go into a :data:`PREDICTION` column, so the prediction's drift is tested like any other
column; the task is the version's ``workbench.task`` tag, else read from the predictions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from workbench._core.names import TAG
from workbench._core.refs import registry_version
from workbench._core.tasks import metrics, task_of_values
from workbench._core.text import first_line
from workbench.errors import ModelError, ModelNotFoundError

if TYPE_CHECKING:
    from workbench.contract import ModelContract

__all__ = [
    "PERFORMANCE_METRICS",
    "PREDICTION",
    "ModelIdentity",
    "contract_of",
    "label_arguments",
    "model_identity",
    "performance",
    "prediction_reference",
    "reference_metrics",
    "score_tables",
]

#: The column that holds the model's predictions.
PREDICTION = "prediction"
#: The metrics monitoring reports per task (a subset of :func:`workbench._core.tasks.metrics`).
PERFORMANCE_METRICS = {
    "classification": ("accuracy", "precision", "recall", "f1"),
    "regression": ("rmse", "mae"),
}


@dataclass(frozen=True)
class ModelIdentity:
    """A model URI's registered name, version and task (None for an unregistered model)."""

    name: str | None = None
    version: str | None = None
    task: str | None = None


def model_identity(uri: str) -> ModelIdentity:
    """Registered name, version and task of ``models:/name/3`` or ``models:/name@alias``; empty for
    other URIs (a logged model ``models:/m-...``, ``runs:/``, a path).

    Raises:
        ModelNotFoundError: the name, version or alias is not in the registry.
    """
    from workbench.workspace import mlflow_client

    try:
        mv = registry_version(uri, client=mlflow_client(), strict=True)
    except ModelNotFoundError as err:
        raise ModelNotFoundError(f"{err} Or run without a model for data drift only.") from err
    if mv is None:
        return ModelIdentity()
    return ModelIdentity(mv.name, str(mv.version), (mv.tags or {}).get(TAG.TASK))


def contract_of(model: str) -> ModelContract | None:
    """The contract of ``model`` (a missing model named, with the way out); None for a model that
    is not in the store (a local path): its column roles are then inferred.

    Raises:
        ModelNotFoundError: the name, version or alias is not in the registry.
    """
    from workbench._core.refs import parse_model_uri
    from workbench.registry import model_contract

    if parse_model_uri(model).kind == "path":
        return None
    try:
        return model_contract(model)
    except ModelNotFoundError as err:
        raise ModelNotFoundError(f"{err} Or run without a model for data drift only.") from err


def score_tables(
    uri: str,
    ref: pd.DataFrame,
    cur: pd.DataFrame,
    target: str | None,
    task: str | None = None,
    allow_pickle: bool = False,
    probabilities: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Both tables with the model's :data:`PREDICTION` column added, and the task.

    ``probabilities``, a dict, receives the classifier's ``predict_proba`` of the current table
    (``"current"``) and its ``"classes"``, when the model has one (performance estimation).

    The target is dropped before predicting and the tables are conformed to the model's input
    signature. ``task`` None reads it from the reference predictions. A ``models:/`` URI is read
    from the open workspace's registry (call :func:`model_identity` first).

    Raises:
        UnsafeModelError: the model's format could run code when loaded (not allowed).
        ModelError: the model cannot be loaded or fails to predict.
        SchemaMismatchError: a table does not fit the model's signature.
    """
    from workbench.data import conform_to_signature
    from workbench.errors import ModelNotFoundError
    from workbench.registry import resolve, signature_frame

    # refused before loading: an unsafe format, or files other than the ones promoted
    with resolve(uri, allow_pickle=allow_pickle, verify=True) as rm:
        try:
            model = rm.load()
        except ModelNotFoundError as err:
            raise ModelError(
                f"cannot load model {uri}: {first_line(err)}. Check the URI, or run without a "
                "model for data drift only."
            ) from err
    schema = model.metadata.get_input_schema()
    frames = []
    for what, frame in (("the reference data", ref), ("the current data", cur)):
        x = frame.drop(columns=[c for c in (target,) if c in frame.columns])
        x = conform_to_signature(
            signature_frame(x), schema, allow_extra=True, what=what, missing="keep"
        )
        try:
            pred = np.asarray(model.predict(x)).reshape(len(x), -1)[:, 0]
        except Exception as err:
            raise ModelError(
                f"model {uri} failed to predict on {what}: {type(err).__name__}: {first_line(err)}"
            ) from err
        frames.append(frame.assign(**{PREDICTION: pred}))
    if probabilities is not None:
        probabilities.update(_probabilities(model, x))
    return frames[0], frames[1], task or task_of_values(frames[0][PREDICTION])


def _probabilities(model: Any, x: pd.DataFrame) -> dict[str, Any]:
    """``{"current": predict_proba(x), "classes": [...]}`` of the scikit-learn model inside the
    pyfunc ``model``; empty when it has no ``predict_proba`` or it fails (nothing estimated)."""
    try:
        raw = model.get_raw_model()
        proba = np.asarray(raw.predict_proba(x), dtype=float)
        classes = [c.item() if hasattr(c, "item") else c for c in raw.classes_]
    except Exception:  # no probabilities: the batch is measured, not estimated
        return {}
    return {"current": proba, "classes": classes}


def performance(
    y_true: pd.Series,
    y_pred: pd.Series,
    task: str,
    positive_label: Any = None,
    classes: list[Any] | None = None,
    weights: Any = None,
) -> dict[str, float]:
    """The task's :data:`PERFORMANCE_METRICS` of ``y_pred`` against ``y_true`` (rows without a
    label left out; empty when none has one); ``weights``: how many rows each pair stands for
    (the Spark engine's counted ``(label, prediction)`` pairs).

    Binary precision, recall and F1 are measured on ``positive_label`` (the model contract's);
    ``classes`` is the model's class order.

    Example:
        >>> y = pd.Series(["repaid", "defaulted", "defaulted", "repaid"])
        >>> pred = pd.Series(["repaid", "defaulted", "repaid", "repaid"])
        >>> performance(y, pred, "classification", positive_label="defaulted")["recall"]
        0.5
    """
    names = PERFORMANCE_METRICS["regression" if task == "regression" else "classification"]
    return metrics(
        y_true,
        y_pred,
        task=task,
        names=names,
        positive_label=positive_label,
        classes=classes,
        sample_weight=weights,
    )


def label_arguments(contract: ModelContract | None) -> dict[str, Any]:
    """:func:`performance`'s ``positive_label`` and ``classes``, from the model's contract (None
    without one)."""
    return {
        "positive_label": contract.positive_label if contract else None,
        "classes": contract.labels if contract else None,
    }


def reference_metrics(reference: dict[str, float], task: str) -> dict[str, float]:
    """The :data:`PERFORMANCE_METRICS` among a contract's ``reference`` figures (held-out eval).

    Example:
        >>> reference_metrics({"accuracy": 0.9, "roc_auc": 0.8, "recall": 0.5}, "classification")
        {'accuracy': 0.9, 'recall': 0.5}
    """
    names = PERFORMANCE_METRICS["regression" if task == "regression" else "classification"]
    return {k: float(v) for k, v in reference.items() if k in names and v is not None}


#: The share of a version's kept training rows that makes a reference table "the training table".
TRAINING_OVERLAP = 0.5


def prediction_reference(
    model_uri: str,
    reference: Any,
    notes: list[str],
    overlap: Callable[[dict[str, Any] | None, Any], float | None] | None = None,
) -> dict[str, pd.Series | None]:
    """What the prediction column is compared with when the reference table is the training table.

    Predictions on rows a model was trained on are no reference for its predictions on new rows:
    when ``reference`` holds at least :data:`TRAINING_OVERLAP` of the rows whose hashes the
    version kept, the prediction column is compared with the model's predictions on its held-out
    eval rows (``{PREDICTION: series}``), or, when the version kept none (logged without eval
    data), not tested (``{PREDICTION: None}``); a note says which. Empty: the reference is fine.

    ``overlap(kept, reference)`` measures the share (default
    :func:`workbench._core.rowhash.overlap` of a pandas frame; the Spark engine passes its own,
    which hashes a Spark table where it lives).
    """
    from workbench._core import rowhash

    kept = _version_reference(model_uri)
    share = (overlap or rowhash.overlap)((kept or {}).get("training_rows"), reference)
    if share is None or share < TRAINING_OVERLAP:
        return {}
    held = (kept or {}).get("eval_predictions")
    if held:
        notes.append(
            f"the reference table holds {share:.0%} of the rows the model was trained on: the "
            f"prediction column is compared with the model's predictions on its {len(held):,} "
            "held-out eval rows, not with its predictions on rows it learned"
        )
        return {PREDICTION: pd.Series(held, name=PREDICTION)}
    notes.append(
        f"the reference table holds {share:.0%} of the rows the model was trained on, and the "
        "version kept no predictions on held-out rows (it was logged without eval data): the "
        "prediction column is not tested. Give a held-out table as the reference."
    )
    return {PREDICTION: None}


def _version_reference(model_uri: str) -> dict[str, Any] | None:
    """The ``reference.json`` the version's run kept (None: not a registered version, or older)."""
    import mlflow

    from workbench._core.profile import REFERENCE_FILE
    from workbench.workspace import mlflow_client

    try:
        mv = registry_version(model_uri, client=mlflow_client(), strict=True)
        if mv is None or not mv.run_id:
            return None
        found = mlflow.artifacts.load_dict(f"runs:/{mv.run_id}/{REFERENCE_FILE}")
    except Exception:
        return None
    return found if isinstance(found, dict) else None
