"""Stage 1: log a fitted model to MLflow and register a new version.

:func:`log_model` reads like the steps it takes: check the inputs, evaluate, infer the signature,
log the run (params, metrics, lineage, model, the checks' baseline), then register a version and
point ``@challenger`` at it. Every check happens before anything is written, so bad input leaves
nothing half-registered. The model files are written by the fast path of
:mod:`workbench.registry._mlflow_private`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from typing import Any

import numpy as np
import pandas as pd

from workbench._core.conflict import conflict
from workbench._core.names import ARTIFACT, TAG
from workbench._core.profile import (
    PROFILE_FILE,
    REFERENCE_FILE,
    reference_predictions,
    training_profile,
)
from workbench._core.refs import check_alias, check_model_name, version_uri
from workbench._core.remote import speaks_for_server
from workbench._core.results import plain
from workbench._core.rowhash import row_hashes
from workbench._core.tasks import metrics as task_metrics
from workbench._core.tasks import predict, task_of_estimator
from workbench._core.text import VERSION, git_commit, user_name
from workbench._core.unreachable import quick_failures, server_down, unreachable
from workbench.contract import ModelContract
from workbench.errors import (
    ModelError,
    RegistryError,
)
from workbench.registry._mlflow_private import (
    log_logged_model,
    save_sklearn_flavor,
    staging_dir,
)
from workbench.registry.contracts import calibration_of, contract_for_model
from workbench.registry.digest import folder_digest
from workbench.registry.log_inputs import XY, as_xy, check_fitted, check_same_columns
from workbench.registry.model_version import ModelVersion
from workbench.registry.trust import (
    pip_requirements,
    signature_frame,
    trusted_skops_bytes,
)
from workbench.registry.trust import trusted_types as types_to_trust
from workbench.registry.versions import register_version
from workbench.workspace import Workspace, current_workspace

__all__ = ["log_model"]


@speaks_for_server("logging and registering a model")
def log_model(
    model: Any,
    *,
    name: str,
    train: tuple[pd.DataFrame, Any],
    eval: tuple[pd.DataFrame, Any] | None = None,  # noqa: A002 - the DESIGN's public keyword
    params: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
    description: str | None = None,
    trusted_types: list[str] | None = None,
    alias: str | None = "challenger",
    dataset_name: str = "train",
    positive_label: Any = None,
    protected: list[str] | None = None,
    contract: ModelContract | None = None,
) -> ModelVersion:
    """Evaluate a fitted scikit-learn model, log it to MLflow and register a new version.

    Args:
        model: A fitted estimator or Pipeline.
        name: Registered model name (also the experiment the run goes to).
        train: ``(X, y)`` the model was trained on; ``y`` may be a column name of ``X``.
        eval: ``(X, y)`` held-out data for the metrics; defaults to ``train`` (flagged in the tags).
        params: Extra params to log beside the estimator's own.
        tags: Extra tags for the run and the version.
        description: Description of the new version.
        trusted_types: Types defined outside scikit-learn, numpy and scipy that you trust skops
            to load (your own transformers).
        alias: Alias to point at the new version (``None`` for none).
        dataset_name: Name of the training data set in the lineage.
        positive_label: The class precision, recall, F1 and fairness measure (required for a
            binary target whose labels are not 0/1, False/True, yes/no, true/false or
            positive/negative).
        protected: Attributes fairness is measured on; they need not be features.
        contract: A :class:`~workbench.contract.ModelContract` inferred on the whole table (what
            ``train_and_log`` passes), to keep the roles of the columns the model does not take.

    Returns:
        The new :class:`ModelVersion`; :func:`~workbench.registry.model_contract` reads its
        contract back.

    Raises:
        NotFittedError: ``model`` was not fitted.
        UsageError: the name or alias is not allowed, the positive label is unknown, or a label
            pair needs one (nothing is logged).
        DataError: empty data, a missing target, or eval columns that differ from train.
        UntrustedTypeError: the model holds a type skops cannot vouch for.
        RegistryError: MLflow refused to log or register (nothing is left registered).
    """
    name = check_model_name(name)
    if alias is not None:
        check_alias(alias)
    check_fitted(model)
    x_train, y_train = as_xy(train, "train")
    x_eval, y_eval = as_xy(eval, "eval") if eval is not None else (x_train, y_train)
    check_same_columns(x_train, x_eval)
    task = task_of_estimator(model)
    contract = contract_for_model(
        model, x_train, y_train, task, contract=contract, positive_label=positive_label,
        protected=protected or (),
    )  # fmt: skip
    trusted = types_to_trust(model, trusted_types or [])
    # measured on the rows as the served model gets them (integers as float64, the signature's)
    sig_frame, sig_eval = signature_frame(x_train), signature_frame(x_eval)
    held_out = (sig_eval, y_eval) if eval is not None else None
    metrics, train_metrics, eval_pred, eval_proba, train_pred = _evaluate(
        model, (sig_frame, y_train), held_out, task, contract.positive_label
    )
    contract.reference = dict(metrics)
    contract.calibration = calibration_of(contract, y_eval, eval_proba)

    ws = current_workspace()
    run_tags = _run_tags(ws, task, eval is None, tags, y_train)
    if task == "classification" and len(contract.labels or ()) > 2:  # what the metrics say
        run_tags[TAG.METRIC_AVERAGE] = "macro"
    if trusted_types:  # the logger vouched for these: later loads accept them (and say so)
        run_tags[TAG.TRUSTED_TYPES] = ",".join(sorted(trusted_types))
    lineage = [(x_train, y_train, dataset_name, "training")]
    if held_out is not None:
        lineage.append((x_eval, y_eval, "eval", "evaluation"))
    logged_uri, run_id, experiment_id = _log_run(
        ws,
        model,
        name=name,
        sig_frame=sig_frame,
        x_eval=sig_eval,
        trusted=trusted,
        params={**_estimator_params(model), **(params or {})},
        metrics={**metrics, **{f"train_{k}": v for k, v in train_metrics.items()}},
        tags=run_tags,
        lineage=lineage,
        eval_pred=eval_pred,
        reference_pred=np.concatenate([train_pred[:5], eval_pred]),
        contract=contract,
        held_out=held_out is not None,
    )
    version = register_version(
        name, logged_uri, run_id, alias, _version_tags(run_tags), description
    )
    return ModelVersion(
        name=name,
        version=int(version),
        model_uri=version_uri(name, version),
        run_id=run_id,
        metrics=metrics,
        task=task,
        aliases=[alias] if alias else [],
        run_url=ws.run_url(experiment_id, run_id),
        tags=run_tags,
    )


# --------------------------------------------------------------------------- evaluation


def _evaluate(
    model: Any, train: XY, held_out: XY | None, task: str, positive_label: Any = None
) -> tuple[dict[str, float], dict[str, float], np.ndarray, np.ndarray | None, np.ndarray]:
    """Eval metrics, train metrics (empty without ``held_out``), eval predictions and
    probabilities, and train predictions.

    Train and eval rows go through the model in one call when they have the same columns and
    dtypes (a prediction is per row, so the result is the same; the per-call cost of a pipeline
    or a forest is paid once).
    """
    classes = getattr(model, "classes_", None)

    def score(y, pred, proba):
        return task_metrics(y, pred, proba, task, classes=classes, positive_label=positive_label)

    x_train, y_train = train
    if held_out is None:
        pred, proba = predict(model, x_train, task)
        return score(y_train, pred, proba), {}, pred, proba, pred
    x_eval, y_eval = held_out
    same = list(x_train.columns) == list(x_eval.columns) and x_train.dtypes.equals(x_eval.dtypes)
    if not same:
        pred, proba = predict(model, x_eval, task)
        train_pred, train_proba = predict(model, x_train, task)
        scores = score(y_eval, pred, proba), score(y_train, train_pred, train_proba)
        return *scores, pred, proba, train_pred
    n = len(x_eval)
    pred, proba = predict(model, pd.concat([x_eval, x_train], ignore_index=True), task)
    metrics = score(y_eval, pred[:n], None if proba is None else proba[:n])
    train_metrics = score(y_train, pred[n:], None if proba is None else proba[n:])
    return metrics, train_metrics, pred[:n], None if proba is None else proba[:n], pred[n:]


# --------------------------------------------------------------------------- the run


def _estimator_params(model: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"estimator": type(model).__name__}
    steps = getattr(model, "steps", None)
    if steps:
        params["estimator"] = " > ".join(type(s).__name__ for _, s in steps)
    try:
        raw = model.get_params(deep=True)
    except Exception:
        raw = {}
    for key, value in raw.items():
        if isinstance(value, str | int | float | bool) or value is None:
            params[key] = value
        if len(params) >= 100:
            break
    return params


def _run_name(name: str) -> str:
    """``train-NAME-YYYY-MM-DD`` (UTC). The version is not known yet, and renaming the run once it
    is would cost a tracking server two more requests per model logged; the version page links
    its run."""
    import time

    return f"train-{name}-{time.strftime('%Y-%m-%d', time.gmtime())}"


def _version_tags(run_tags: dict[str, str]) -> dict[str, str]:
    """What the version carries of its run's tags: the user's own, the digest of the files as
    logged and the types the logger declared trusted (read when it is loaded). The workbench's
    other facts stay on the run, so a version holds at most four ``workbench.*`` tags."""
    kept = (TAG.DIGEST, TAG.TRUSTED_TYPES)
    return {k: v for k, v in run_tags.items() if k in kept or not k.startswith("workbench.")}


def _run_tags(
    ws: Workspace, task: str, eval_on_train: bool, extra: dict[str, Any] | None, y: pd.Series
) -> dict[str, str]:
    tags = {
        TAG.KIND: "train",
        TAG.VERSION: VERSION,
        TAG.USER: user_name(),
        TAG.TASK: task,
        TAG.TARGET: str(y.name),
        TAG.EVAL_ON: "train" if eval_on_train else "eval",
    }
    commit = git_commit(str(ws.root))
    if commit:
        tags[TAG.GIT_COMMIT] = commit
    tags.update({k: str(v) for k, v in (extra or {}).items()})
    return tags


def _log_run(
    ws: Workspace,
    model: Any,
    *,
    name: str,
    sig_frame: pd.DataFrame,
    x_eval: pd.DataFrame,
    trusted: list[str],
    params: dict[str, Any],
    metrics: dict[str, float],
    tags: dict[str, str],
    lineage: list[tuple[pd.DataFrame, pd.Series, str, str]],
    eval_pred: np.ndarray | None = None,
    reference_pred: np.ndarray | None = None,
    held_out: bool = False,
    contract: ModelContract | None = None,
) -> tuple[str, str, str]:
    """Log the run and its model: the steps of ``mlflow.sklearn.log_model``, done directly.

    MLflow 3's ``Model.log`` creates a logged model ``models:/m-<id>`` in the run's experiment,
    links it to the run as an output, copies the run's metrics onto it, saves the flavor to a
    temporary folder, reloads the model to validate the serving input, copies the folder to the
    model's artifact location and marks the model READY. The same steps run here, with the same
    files (``MLmodel``, ``model.skops``, input examples, ``requirements.txt``, ``conda.yaml``,
    ``python_env.yaml``), except:

    * requirements come from the installed versions (:func:`pip_requirements`), not from a
      subprocess that imports the model;
    * the skops file is written without JSON indentation (skops indents ``schema.json``, which
      is most of its dump time) and audited from its schema instead of a full reload; the
      serving-input reload is skipped (the stage-2 reload check does it);
    * the run's tags go in with the run, its params, metrics and the positive label's tag in one
      batch, both datasets in one call, and a local model folder is moved into place;
    * against a server, requests that do not depend on each other go out together and CPU work
      is done while a request is under way (:func:`log_logged_model`); no run URL is printed.

    Everything that can fail on the model (serialization, trusted types, signature, dataset
    digests) runs before the run is created.

    Returns:
        The logged model's URI (``models:/m-<id>``), the run id and the experiment id.
    """
    import mlflow

    stamped: dict[str, str] = {}

    def stamp(final: str) -> dict[str, str]:
        stamped[TAG.DIGEST] = folder_digest(final)  # the files as logged: run and version
        return dict(stamped)

    with _staged_folder(ws, name) as folder:
        experiment_id, mlflow_model, datasets = _prepare(
            ws, model, folder, name, sig_frame, x_eval, trusted, lineage, eval_pred
        )
        # the checks' baseline files (CPU) are made while the run and the model are created
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-files") as pool:
            run_files = pool.submit(
                _run_files, model, sig_frame, x_eval, contract, reference_pred, held_out
            )
            with mlflow.start_run(
                experiment_id=experiment_id, run_name=_run_name(name), tags=tags
            ) as run:
                try:
                    logged = log_logged_model(
                        run.info.run_id,
                        experiment_id,
                        mlflow_model,
                        folder,
                        params={k: str(v)[:500] for k, v in params.items()},
                        metrics={k: float(v) for k, v in metrics.items() if _finite(v)},
                        datasets=datasets,
                        tags=_file_tags(contract),
                        run_files=run_files.result,
                        run_artifact_uri=run.info.artifact_uri,
                        finish=mlflow.end_run,  # the run ends while the model is marked READY
                        on_saved=stamp,
                    )
                except Exception as err:  # the logged model is marked FAILED already
                    reason = unreachable(err)
                    if reason is not None:  # the server is gone: say so, without waiting on it
                        with quick_failures(), suppress(Exception):
                            mlflow.end_run("FAILED")  # off this process's run stack, at least
                        left = f"No version was registered; run {run.info.run_id} may stay RUNNING."
                        raise server_down(f"logging model {name!r}", reason, then=left) from err
                    _mark_failed(run.info.run_id, err)
                    clash = " Another writer logged the same rows at the same moment: retry."
                    raise RegistryError(
                        f"logging model {name!r} to MLflow failed: {err}. The run "
                        f"{run.info.run_id} is marked FAILED and no version was registered."
                        + (clash if conflict(err) else "")
                    ) from err
    tags.update(stamped)  # the version carries the digest too (register_version copies tags)
    return mlflow_model.get_model_info(logged).model_uri, run.info.run_id, experiment_id


def _finite(value: Any) -> bool:
    return value is not None and bool(np.isfinite(value))


def _mark_failed(run_id: str, err: Exception) -> None:
    """Tag run ``run_id`` with the error and end it FAILED (it may have ended already: the run
    ends while the model's last step runs)."""
    import mlflow

    active = mlflow.active_run()
    if active is not None and active.info.run_id == run_id:
        mlflow.set_tag(TAG.ERROR, str(err)[:500])
        mlflow.end_run(status="FAILED")
        return
    client = mlflow.MlflowClient()
    client.set_tag(run_id, TAG.ERROR, str(err)[:500])
    client.set_terminated(run_id, status="FAILED")


@contextmanager
def _staged_folder(ws: Workspace, name: str) -> Iterator[str]:
    """A model folder path in a new staging folder, removed (with whatever is left) on exit."""
    try:
        staging = staging_dir(ws)
    except OSError as err:
        raise RegistryError(f"cannot prepare the MLflow run for model {name!r}: {err}") from err
    try:
        yield os.path.join(staging, "model")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _prepare(
    ws: Workspace,
    model: Any,
    folder: str,
    name: str,
    sig_frame: pd.DataFrame,
    x_eval: pd.DataFrame,
    trusted: list[str],
    lineage: list[tuple[pd.DataFrame, pd.Series, str, str]],
    eval_pred: np.ndarray | None,
) -> tuple[str, Any, list[tuple[Any, str]]]:
    """The experiment id, the model's files written to ``folder`` and the lineage datasets:
    everything that can fail on the model, done before a run exists. Against a tracking server
    the experiment is looked up (or created) while the files are written."""
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-lookup") as pool:
            lookup = pool.submit(ws.experiment_id, name) if ws.shared else None
            experiment_id = ws.experiment_id(name) if lookup is None else None
            datasets = _lineage_datasets(lineage)
            mlflow_model = _model_files(model, folder, sig_frame, x_eval, trusted, eval_pred)
            experiment_id = lookup.result() if lookup is not None else experiment_id
        return experiment_id, mlflow_model, datasets
    except ModelError:
        raise
    except Exception as err:
        raise RegistryError(f"cannot prepare the MLflow run for model {name!r}: {err}") from err


def _model_files(
    model: Any,
    folder: str,
    sig_frame: pd.DataFrame,
    x_eval: pd.DataFrame,
    trusted: list[str],
    eval_pred: np.ndarray | None,
) -> Any:
    """Write the model's MLflow folder (flavor, skops file, signature, example, requirements)."""
    from mlflow.models import infer_signature

    preds = eval_pred[:50] if eval_pred is not None else model.predict(x_eval.head(50))
    signature, requirements = infer_signature(sig_frame, preds), pip_requirements(model)
    data, needed = trusted_skops_bytes(model, trusted)
    return save_sklearn_flavor(
        data,
        folder,
        signature=signature,
        input_example=sig_frame.head(5),
        trusted=needed,
        requirements=requirements,
    )


def _lineage_datasets(lineage) -> list[tuple[Any, str]]:
    """MLflow datasets (name, digest, schema, profile) of the lineage, with their contexts."""
    import mlflow

    out, first = [], None
    for x, y, ds_name, context in lineage:
        frame = x.assign(**{str(y.name): y.to_numpy()})
        dataset = mlflow.data.from_pandas(frame, name=ds_name, targets=str(y.name))
        kinds = (frame.dtypes, frame.isna().any())  # what a schema says: type, required
        if first is None:
            first = (kinds, dataset)
        elif all(a.equals(b) for a, b in zip(kinds, first[0])):  # the eval table: training's
            with suppress(AttributeError):  # schema (MLflow infers text columns value by value,
                dataset.schema = first[1].schema  # 40 ms of 0.24 s; its cached property takes it)
        out.append((dataset, context))
    return out


def _run_files(
    model: Any,
    sig_frame: pd.DataFrame,
    x_eval: pd.DataFrame,
    contract: ModelContract | None,
    predictions: np.ndarray | None = None,
    held_out: bool = False,
) -> dict[str, Any]:
    """The run's files: what the pre-deployment checks compare against (``profile.json``: the
    training data's profile; ``reference.json``: rows and the model's predictions on them at
    log time, ``predictions`` when the evaluation made them already) and the contract
    (``contract.json``). ``x_eval`` is in signature types.

    ``reference.json`` also keeps what monitoring needs when its reference table is the training
    table: the hashes of a sample of training rows (``training_rows``) and, with held-out eval
    data, the model's predictions on it (``eval_predictions``, up to 20,000)."""
    rows = [sig_frame.head(5), x_eval]
    reference = reference_predictions(model, rows, predictions)
    reference["training_rows"] = row_hashes(sig_frame)
    if held_out and predictions is not None:
        reference["eval_predictions"] = [plain(v) for v in np.asarray(predictions)[5:20_005]]
    files: dict[str, Any] = {
        PROFILE_FILE: training_profile(sig_frame),
        REFERENCE_FILE: reference,
    }
    if contract is not None:
        files[ARTIFACT.CONTRACT] = contract.to_dict()
    return files


def _file_tags(contract: ModelContract | None) -> dict[str, str]:
    """The contract's positive label as a run tag."""
    if contract is None or contract.positive_label is None:
        return {}
    return {TAG.POSITIVE_LABEL: str(contract.positive_label)}
