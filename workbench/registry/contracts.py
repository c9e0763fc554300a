"""The model contract of a version: made when it is logged, stored with its run, read back.

:func:`contract_for_model` completes a contract for a fitted model (its features are the columns it
was fitted on, its labels its ``classes_``), :func:`model_contract` reads the contract of any model
URI back from the store. Versions logged before contracts existed get one rebuilt from their
signature and tags, with a note saying so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench._core.calibration import fit_calibration
from workbench._core.names import ARTIFACT, TAG
from workbench._core.refs import parse_model_uri, registry_version
from workbench._core.text import first_line
from workbench.contract import ModelContract, infer_contract
from workbench.errors import ModelNotFoundError
from workbench.workspace import mlflow_client

__all__ = [
    "calibration_of", "contract_for_model", "contract_if_any", "model_contract", "source_run_id",
]  # fmt: skip


def contract_for_model(
    model: Any,
    x_train: pd.DataFrame,
    y_train: pd.Series,
    task: str,
    *,
    contract: ModelContract | None = None,
    positive_label: Any = None,
    protected: list[str] | tuple[str, ...] = (),
) -> ModelContract:
    """The contract of ``model`` fitted on ``(x_train, y_train)``.

    A ``contract`` inferred earlier on the whole table (by ``train_and_log``) keeps its roles for
    the columns the model does not take; the features are always the model's own input columns.

    Raises:
        UsageError: the positive label is not among the labels, or a label pair needs one.
    """
    target = str(y_train.name)
    frame = x_train.assign(**{target: y_train.to_numpy()})
    labels = getattr(model, "classes_", None)
    labels = [v.item() if hasattr(v, "item") else v for v in labels] if labels is not None else None
    if contract is not None:
        positive_label = positive_label if positive_label is not None else contract.positive_label
        protected = list(protected) or contract.protected
    made = infer_contract(
        frame,
        target,
        task=task,
        positive_label=positive_label,
        labels=labels if task == "classification" else None,
        protected=list(protected),
        features=list(x_train.columns),
        categorical=[c for c in contract.categorical_codes if c in x_train.columns]
        if contract is not None
        else (),
    )
    if contract is None:
        return made
    features = set(made.features)
    kept = [c for c in contract.columns if c.name not in features and c.role != "target"]
    order = {c.name: i for i, c in enumerate(contract.columns)}
    made.columns = sorted(
        [c for c in made.columns if c.name in features or c.role == "target"] + kept,
        key=lambda c: order.get(c.name, len(order)),
    )
    made.id_columns = list(contract.id_columns)
    made.date_columns = list(contract.date_columns)
    made.ignored = [c for c in contract.ignored if c not in features]
    made.kinds = {**contract.kinds, **made.kinds}
    made.personal = list(contract.personal)
    made.notes = list(dict.fromkeys([*contract.notes, *made.notes]))
    return made


def calibration_of(contract: ModelContract, y_eval: Any, proba: Any) -> dict[str, Any]:
    """The calibration table of a binary classifier's positive-class probabilities ``proba``
    (columns in ``contract.labels`` order) against the eval labels; empty otherwise."""
    labels = contract.labels or []
    if contract.task != "classification" or proba is None or len(labels) != 2:
        return {}
    if contract.positive_label not in labels:
        return {}
    column = labels.index(contract.positive_label)
    truth = pd.Series(y_eval).to_numpy() == contract.positive_label
    return fit_calibration(np.asarray(proba)[:, column], truth)


def contract_if_any(model_uri: str) -> ModelContract | None:
    """The contract of ``model_uri``; None for a local path or a model the store keeps none for
    (its signature and classes still hold).

    Raises:
        ModelNotFoundError: a registered name, version or alias that does not exist.
    """
    if parse_model_uri(model_uri).kind == "path":
        return None
    try:
        return model_contract(model_uri)
    except ModelNotFoundError:
        raise
    except Exception:  # nothing to read it from
        return None


def model_contract(model_uri: str) -> ModelContract:
    """The :class:`~workbench.contract.ModelContract` of a logged or registered model.

    Args:
        model_uri: ``models:/NAME/VERSION``, ``models:/NAME@alias``, ``models:/m-<id>`` or
            ``runs:/<run>/...``.

    Raises:
        ModelNotFoundError: no such model, version or alias.

    Example:
        >>> import workbench as wb
        >>> wb.model_contract("models:/credit-risk@champion").roles_table()  # doctest: +SKIP
    """
    import mlflow

    run_id = source_run_id(model_uri)
    try:
        data = mlflow.artifacts.load_dict(f"runs:/{run_id}/{ARTIFACT.CONTRACT}")
    except Exception:  # a version logged before contracts: rebuild what the store knows
        return _rebuilt(model_uri, run_id)
    return ModelContract.from_dict(data)


def source_run_id(model_uri: str) -> str:
    """The id of the run that logged ``model_uri``.

    Raises:
        ModelNotFoundError: the model, version or alias does not exist.
    """
    import mlflow

    ref = parse_model_uri(model_uri)
    client = mlflow_client()
    if ref.registered:
        return registry_version(ref, client, strict=True).run_id
    if ref.kind == "run":
        return model_uri[len("runs:/") :].split("/")[0]
    if ref.kind == "logged":
        try:
            return mlflow.get_logged_model(model_uri[len("models:/") :].strip("/")).source_run_id
        except Exception as err:
            raise ModelNotFoundError(
                f"logged model {model_uri} not found ({first_line(err)}): check the id."
            ) from err
    raise ModelNotFoundError(
        f"{model_uri} is not a model in the store: give models:/NAME/VERSION, models:/NAME@alias "
        "or runs:/RUN/PATH to read its contract."
    )


def _rebuilt(model_uri: str, run_id: str) -> ModelContract:
    import mlflow

    client = mlflow_client()
    tags = client.get_run(run_id).data.tags
    info = mlflow.models.get_model_info(model_uri)
    schema = info.signature.inputs if info.signature is not None else None
    features = [s.name for s in schema.inputs] if schema is not None else []
    kinds = {
        s.name: "numeric" if str(s.type).split(".")[-1] in ("double", "float", "long", "integer")
        else "categorical"
        for s in (schema.inputs if schema is not None else [])
    }  # fmt: skip
    return ModelContract(
        target=tags.get(TAG.TARGET, "target"),
        task=tags.get(TAG.TASK, "classification"),
        features=features,
        kinds=kinds,
        positive_label=tags.get(TAG.POSITIVE_LABEL),
        notes=[
            "rebuilt from the signature: this version was logged before model contracts, so its "
            "labels, identifiers and reference performance are unknown"
        ],
    )
