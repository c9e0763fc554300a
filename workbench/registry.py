"""Stage 1 and the registry: log a fitted model, register a version, read versions and aliases.

:func:`log_model` reads like the steps it takes: check the inputs, evaluate, infer the signature,
log the run (params, metrics, lineage, model), then register a version and point ``@challenger`` at it.
Every check happens before anything is written, so bad input leaves nothing half-registered.
"""

from __future__ import annotations

import html
import os
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import (
    DataError,
    GateError,
    MissingColumnError,
    ModelError,
    ModelNotFoundError,
    NotFittedError,
    RegistryError,
    SchemaMismatchError,
    UntrustedTypeError,
)
from workbench.workspace import current_workspace

__all__ = [
    "AuditEntry",
    "ModelVersion",
    "get_version",
    "history",
    "log_model",
    "model_names",
    "promote",
    "rollback",
    "versions",
]

#: Module roots whose types are trusted for skops without asking the user.
_TRUSTED_ROOTS = ("sklearn", "numpy", "scipy", "builtins", "collections", "pandas")
_BASE_REQUIREMENTS = ("mlflow", "scikit-learn", "numpy", "pandas", "scipy", "skops", "cloudpickle")


@dataclass
class ModelVersion:
    """A registered model version, as :func:`log_model` and :func:`get_version` return it.

    Attributes:
        name: Registered model name.
        version: Version number in the registry.
        model_uri: ``models:/<name>/<version>``, what serving and checks take.
        run_id: The MLflow run that logged it.
        metrics: Evaluation metrics logged with it.
        task: ``classification`` or ``regression``.
        aliases: Aliases that point at this version.
        run_url: MLflow UI address of the run.

    Example:
        >>> mv = ModelVersion("credit-risk", 3, "models:/credit-risk/3", "abc", {"roc_auc": 0.81})
        >>> mv.model_uri
        'models:/credit-risk/3'
    """

    name: str
    version: int
    model_uri: str
    run_id: str
    metrics: dict[str, float] = field(default_factory=dict)
    task: str | None = None
    aliases: list[str] = field(default_factory=list)
    run_url: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        return asdict(self)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td style='text-align:right'>{v:.4f}</td></tr>"
            for k, v in sorted(self.metrics.items())
        )
        aliases = ", ".join(f"@{a}" for a in self.aliases) or "none"
        link = (
            f"<a href='{html.escape(self.run_url)}' target='_blank'>{html.escape(self.run_url)}</a>"
            if self.run_url
            else ""
        )
        return (
            "<div class='wb-model-version' style='border:1px solid #ccc;border-radius:6px;"
            "padding:8px 12px;display:inline-block'>"
            f"<b>{html.escape(self.name)}</b> version <b>{self.version}</b> ({aliases})<br>"
            f"<code>{html.escape(self.model_uri)}</code> &middot; {self.task or ''}<br>"
            f"<table><tr><th>metric</th><th>value</th></tr>{rows}</table>"
            f"run: {link}</div>"
        )


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

    Returns:
        The new :class:`ModelVersion`.

    Raises:
        NotFittedError: ``model`` was not fitted.
        DataError: empty data, a missing target, or eval columns that differ from train.
        UntrustedTypeError: the model holds a type skops cannot vouch for.
        RegistryError: MLflow refused to log or register (nothing is left registered).
    """
    _check_fitted(model)
    x_train, y_train = _as_xy(train, "train")
    x_eval, y_eval = _as_xy(eval, "eval") if eval is not None else (x_train, y_train)
    _check_same_columns(x_train, x_eval)
    task = _task_of(model)
    metrics, train_metrics, eval_pred = _evaluate_train_and_eval(
        model, (x_train, y_train), (x_eval, y_eval) if eval is not None else None, task
    )
    sig_frame = signature_frame(x_train)
    trusted = _trusted_types(model, trusted_types or [])

    ws = current_workspace()
    run_tags = _run_tags(ws, task, eval is None, tags, y_train)
    model_info, run_id, experiment_id = _log_run(
        ws,
        model,
        name=name,
        sig_frame=sig_frame,
        x_eval=x_eval,
        trusted=trusted,
        params={**_estimator_params(model), **(params or {})},
        metrics={**metrics, **{f"train_{k}": v for k, v in train_metrics.items()}},
        tags=run_tags,
        lineage=[
            (x_train, y_train, dataset_name, "training"),
            *([(x_eval, y_eval, "eval", "evaluation")] if eval is not None else []),
        ],
        eval_pred=eval_pred,
    )
    version = _register(name, model_info.model_uri, run_id, alias, run_tags, description)
    return ModelVersion(
        name=name,
        version=int(version),
        model_uri=f"models:/{name}/{version}",
        run_id=run_id,
        metrics=metrics,
        task=task,
        aliases=[alias] if alias else [],
        run_url=ws.run_url(experiment_id, run_id),
        tags=run_tags,
    )


# --------------------------------------------------------------------------- checks of the input


def _check_fitted(model: Any) -> None:
    from sklearn.exceptions import NotFittedError as SkNotFitted
    from sklearn.utils.validation import check_is_fitted

    if not hasattr(model, "predict"):
        raise ModelError(
            f"{type(model).__name__} has no predict method: log a scikit-learn estimator or Pipeline."
        )
    try:
        check_is_fitted(model)
    except SkNotFitted as err:
        raise NotFittedError(
            f"{type(model).__name__} is not fitted: call model.fit(X, y) before logging it."
        ) from err
    except TypeError as err:
        raise ModelError(
            f"{type(model).__name__} is not a scikit-learn estimator ({err}): wrap it in one."
        ) from err


def _as_xy(data: Any, label: str) -> tuple[pd.DataFrame, pd.Series]:
    if not isinstance(data, tuple) or len(data) != 2:
        raise DataError(f"{label} must be a tuple (X, y) or (frame, target_column_name).")
    x, y = data
    if isinstance(x, np.ndarray):
        x = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
    if not isinstance(x, pd.DataFrame):
        raise DataError(f"{label} X must be a pandas DataFrame, got {type(x).__name__}.")
    if isinstance(y, str):
        if y not in x.columns:
            raise MissingColumnError(
                f"target column {y!r} is not in the {label} data (columns: "
                f"{', '.join(map(str, x.columns[:12]))}): name the column that holds the labels."
            )
        x, y = x.drop(columns=y), x[y]
    if len(x) == 0:
        raise DataError(f"the {label} data has no rows: give at least one row to evaluate on.")
    y = pd.Series(np.asarray(y), index=x.index, name=getattr(y, "name", None) or "target")
    if len(y) != len(x):
        raise DataError(f"{label} X has {len(x)} rows but y has {len(y)}: they must match.")
    return x, y


def _check_same_columns(x_train: pd.DataFrame, x_eval: pd.DataFrame) -> None:
    missing = [c for c in x_train.columns if c not in x_eval.columns]
    extra = [c for c in x_eval.columns if c not in x_train.columns]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing from eval: {', '.join(map(str, missing))}")
        if extra:
            parts.append(f"only in eval: {', '.join(map(str, extra))}")
        raise SchemaMismatchError(
            f"eval columns differ from train ({'; '.join(parts)}): "
            "evaluate on data with the columns the model was trained on."
        )


def _task_of(model: Any) -> str:
    from sklearn.base import is_classifier, is_regressor

    if is_classifier(model):
        return "classification"
    if is_regressor(model):
        return "regression"
    raise ModelError(
        f"cannot tell whether {type(model).__name__} is a classifier or a regressor: "
        "log a scikit-learn classifier, regressor, or a Pipeline ending in one."
    )


# --------------------------------------------------------------------------- evaluation


def evaluate(model: Any, x: pd.DataFrame, y: pd.Series, task: str) -> dict[str, float]:
    """Classification (accuracy, precision, recall, f1, roc_auc, log_loss) or regression (rmse,
    mae, r2) metrics of ``model`` on ``(x, y)``.

    Raises:
        ModelError: the model fails to predict on ``x`` (the message carries its error).
    """
    pred, proba = _predict(model, x, task)
    return _metrics(model, y, pred, proba, task)


def _evaluate_train_and_eval(
    model: Any,
    train: tuple[pd.DataFrame, pd.Series],
    eval: tuple[pd.DataFrame, pd.Series] | None,  # noqa: A002
    task: str,
) -> tuple[dict[str, float], dict[str, float], np.ndarray]:
    """Eval metrics, train metrics (empty without ``eval``) and the eval predictions.

    Train and eval rows go through the model in one call when they have the same columns and
    dtypes (a prediction is per row, so the result is the same; the per-call cost of a pipeline
    or a forest is paid once).
    """
    x_train, y_train = train
    if eval is None:
        pred, proba = _predict(model, x_train, task)
        return _metrics(model, y_train, pred, proba, task), {}, pred
    x_eval, y_eval = eval
    same = list(x_train.columns) == list(x_eval.columns) and x_train.dtypes.equals(x_eval.dtypes)
    if not same:
        pred, proba = _predict(model, x_eval, task)
        train_metrics = evaluate(model, x_train, y_train, task)
        return _metrics(model, y_eval, pred, proba, task), train_metrics, pred
    n = len(x_eval)
    pred, proba = _predict(model, pd.concat([x_eval, x_train], ignore_index=True), task)
    metrics = _metrics(model, y_eval, pred[:n], None if proba is None else proba[:n], task)
    train_metrics = _metrics(model, y_train, pred[n:], None if proba is None else proba[n:], task)
    return metrics, train_metrics, pred[:n]


def _predict(model: Any, x: pd.DataFrame, task: str) -> tuple[np.ndarray, np.ndarray | None]:
    """``model.predict(x)`` and, for a classifier that has it, ``model.predict_proba(x)``.

    A forest classifier's ``predict`` *is* the argmax of its ``predict_proba`` (scikit-learn's
    own code): for those the trees are walked once and the labels taken from the probabilities.
    """
    proba = None
    try:
        model, x = _transformed(model, x)
        if task == "classification" and _predict_is_argmax_of_proba(model):
            proba = model.predict_proba(x)
            pred = _final_step(model).classes_.take(np.argmax(proba, axis=1), axis=0)
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


def _final_step(model: Any) -> Any:
    steps = getattr(model, "steps", None)
    return _final_step(steps[-1][1]) if steps else model


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


def _metrics(
    model: Any, y: pd.Series, pred: np.ndarray, proba: np.ndarray | None, task: str
) -> dict[str, float]:
    from sklearn import metrics as skm

    if task == "regression":
        return {
            "rmse": float(np.sqrt(skm.mean_squared_error(y, pred))),
            "mae": float(skm.mean_absolute_error(y, pred)),
            "r2": float(skm.r2_score(y, pred)) if len(y) > 1 else float("nan"),
        }
    labels = np.unique(np.concatenate([np.asarray(y), np.asarray(pred)]))
    binary = len(labels) <= 2
    average = "binary" if binary else "macro"
    pos_label = labels.max() if binary else 1
    # one pass for the three: precision_score, recall_score and f1_score each call this
    precision, recall, f1, _ = skm.precision_recall_fscore_support(
        y, pred, average=average, pos_label=pos_label, zero_division=0
    )
    out = {
        "accuracy": float(skm.accuracy_score(y, pred)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
    }
    if proba is not None and len(np.unique(y)) > 1:
        try:
            if binary and proba.shape[1] == 2:
                out["roc_auc"] = float(skm.roc_auc_score(y, proba[:, 1]))
            else:
                out["roc_auc"] = float(
                    skm.roc_auc_score(y, proba, multi_class="ovr", labels=model.classes_)
                )
            out["log_loss"] = float(skm.log_loss(y, proba, labels=model.classes_))
        except (ValueError, AttributeError):
            pass  # e.g. an eval label the model never saw: the other metrics still stand
    return out


# --------------------------------------------------------------------------- signature and types


def signature_frame(x: pd.DataFrame) -> pd.DataFrame:
    """``x`` with integer columns as float64: an integer column that may hold NaN later must not
    break schema enforcement (MLflow cannot put NaN in a ``long`` column)."""
    ints = [c for c in x.columns if pd.api.types.is_integer_dtype(x[c].dtype)]
    bools = [c for c in x.columns if pd.api.types.is_bool_dtype(x[c].dtype)]
    if not ints and not bools:
        return x
    return x.astype({c: "float64" for c in ints} | {c: "float64" for c in bools})


def _trusted_types(model: Any, user_trusted: list[str]) -> list[str]:
    """Every type inside ``model`` that skops must be told to trust when it loads the model.

    Types from scikit-learn, numpy and scipy are trusted without asking; anything else must be in
    ``user_trusted`` or the call fails with the list of names to pass.
    """
    found = _types_in(model)
    untrusted = sorted(
        t for t in found if t.split(".")[0] not in _TRUSTED_ROOTS and t not in user_trusted
    )
    if untrusted:
        names = ", ".join(repr(t) for t in untrusted)
        raise UntrustedTypeError(
            f"the model holds types that skops does not trust: {names}. If you trust the code "
            f"that defines them, pass trusted_types=[{names}] to log_model; the serving "
            "environment must be able to import them too."
        )
    return sorted(found | set(user_trusted) | {"numpy.dtype"})


def _types_in(obj: Any) -> set[str]:
    """Qualified names of the non-builtin types reachable from ``obj``'s attributes."""
    seen: set[int] = set()
    names: set[str] = set()
    stack = [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, str | bytes | int | float | bool | type(None) | complex):
            continue
        if isinstance(item, np.ndarray):
            if item.dtype == object:
                stack.extend(item.ravel()[:10_000].tolist())
            continue
        if isinstance(item, np.generic):
            continue
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
            continue
        if isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
            continue
        cls = type(item)
        if cls.__module__ != "builtins":
            names.add(f"{cls.__module__}.{cls.__qualname__}")
        if isinstance(item, type) or callable(item) and not hasattr(item, "__dict__"):
            continue
        state = getattr(item, "__dict__", None)
        if state is None and hasattr(item, "__getstate__"):
            try:
                state = item.__getstate__()
            except Exception:
                state = None
        if isinstance(state, dict):
            stack.extend(state.values())
    return names


@lru_cache(maxsize=1)
def _distributions() -> dict[str, list[str]]:
    from importlib.metadata import packages_distributions

    return packages_distributions()


def _pip_requirements(model: Any) -> list[str]:
    """Pinned requirements from the installed versions of what the model needs.

    MLflow infers these by loading the model in a subprocess (seconds); this reads the installed
    versions of the packages whose types the model holds, plus the flavor's own needs.
    """
    roots = {t.split(".")[0] for t in _types_in(model)} - {"builtins", "collections", "__main__"}
    dists = set(_BASE_REQUIREMENTS)
    for root in roots:
        dists.update(_distributions().get(root, []))
    return [f"{d}=={v}" for d in sorted(dists, key=str.lower) if (v := _installed_version(d))]


@lru_cache(maxsize=256)
def _installed_version(dist: str) -> str | None:
    """The installed version of ``dist`` (each lookup scans ``sys.path``: a few ms; cached)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


# --------------------------------------------------------------------------- logging


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


def _run_tags(ws, task, eval_on_train, extra, y) -> dict[str, str]:
    from workbench._util import git_commit, user_name, workbench_version

    tags = {
        "workbench.version": workbench_version(),
        "workbench.user": user_name(),
        "workbench.task": task,
        "workbench.target": str(y.name),
        "workbench.eval_on": "train" if eval_on_train else "eval",
    }
    commit = git_commit(str(ws.root))
    if commit:
        tags["workbench.git_commit"] = commit
    tags.update({k: str(v) for k, v in (extra or {}).items()})
    return tags


def _log_run(
    ws,
    model,
    *,
    name,
    sig_frame,
    x_eval,
    trusted,
    params,
    metrics,
    tags,
    lineage,
    eval_pred=None,
):
    """Log the run and its model: the steps of ``mlflow.sklearn.log_model``, done directly.

    MLflow 3's ``Model.log`` creates a logged model ``models:/m-<id>`` in the run's experiment,
    links it to the run as an output, copies the run's metrics onto it, saves the flavor to a
    temporary folder, reloads the model to validate the serving input, copies the folder to the
    model's artifact location and marks the model READY. The same steps run here, with the same
    files (``MLmodel``, ``model.skops``, input examples, ``requirements.txt``, ``conda.yaml``,
    ``python_env.yaml``), except:

    * requirements come from the installed versions (:func:`_pip_requirements`), not from a
      subprocess that imports the model;
    * the skops file is written without JSON indentation (skops indents ``schema.json``, which
      is most of its dump time) and audited with ``skops.io.get_untrusted_types`` instead of a
      full reload; the serving-input reload is skipped (the stage-2 reload check does it);
    * the run's tags go in with the run, its params and metrics in one batch, both datasets in
      one call, and a local model folder is moved into place rather than copied.

    Everything that can fail on the model (serialization, trusted types, signature, dataset
    digests) runs before the run is created.
    """
    import shutil

    import mlflow
    from mlflow.models import infer_signature

    staging = None
    try:
        experiment_id = ws.experiment_id(name)
        preds = eval_pred[:50] if eval_pred is not None else model.predict(x_eval.head(50))
        signature = infer_signature(sig_frame, preds)
        staging = _staging_dir(ws)
        folder = os.path.join(staging, "model")
        mlflow_model = _save_sklearn_flavor(
            model,
            folder,
            signature=signature,
            input_example=sig_frame.head(5),
            trusted=trusted,
            requirements=_pip_requirements(model),
        )
        datasets = _lineage_datasets(lineage)
    except ModelError:
        if staging:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    except Exception as err:
        if staging:
            shutil.rmtree(staging, ignore_errors=True)
        raise RegistryError(f"cannot prepare the MLflow run for model {name!r}: {err}") from err

    try:
        with mlflow.start_run(
            experiment_id=experiment_id, run_name=f"train-{name}", tags=tags
        ) as run:
            logged = None
            try:
                logged = _log_logged_model(
                    run.info.run_id,
                    experiment_id,
                    mlflow_model,
                    folder,
                    params={k: str(v)[:500] for k, v in params.items()},
                    metrics={
                        k: float(v) for k, v in metrics.items() if v is not None and np.isfinite(v)
                    },
                    datasets=datasets,
                )
                _log_check_baseline(model, sig_frame, x_eval)
            except Exception as err:
                if logged is not None:
                    _finalize_quietly(logged.model_id, failed=True)
                mlflow.set_tag("workbench.error", str(err)[:500])
                mlflow.end_run(status="FAILED")
                raise RegistryError(
                    f"logging model {name!r} to MLflow failed: {err}. The run "
                    f"{run.info.run_id} is marked FAILED and no version was registered."
                ) from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return mlflow_model.get_model_info(logged), run.info.run_id, experiment_id


def _log_logged_model(run_id, experiment_id, mlflow_model, folder, *, params, metrics, datasets):
    """Create the logged model, link it to the run, log params, metrics (on the run and the
    model, as ``Model.log`` does) and lineage, put the files in place and mark it READY."""
    import mlflow
    from mlflow.entities import LoggedModelOutput, LoggedModelStatus, Metric, Param
    from mlflow.models.model import MLMODEL_FILE_NAME
    from mlflow.utils.time import get_current_time_millis

    client = mlflow.MlflowClient()
    logged = mlflow.initialize_logged_model(
        name="model", source_run_id=run_id, params=params, experiment_id=experiment_id
    )
    client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])
    now = get_current_time_millis()
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, now, 0, model_id=logged.model_id) for k, v in metrics.items()],
        params=[Param(k, v) for k, v in params.items()],
    )
    if datasets:
        mlflow.log_inputs(
            datasets=[d for d, _ in datasets],
            contexts=[c for _, c in datasets],
            tags_list=[None] * len(datasets),
        )
    mlflow_model.artifact_path = logged.artifact_location
    mlflow_model.model_uuid = logged.model_id
    mlflow_model.model_id = logged.model_id
    mlflow_model.run_id = run_id
    mlflow_model.save(os.path.join(folder, MLMODEL_FILE_NAME))
    _place_model_files(client, logged, folder)
    client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    return logged


def _finalize_quietly(model_id: str, failed: bool) -> None:
    import mlflow
    from mlflow.entities import LoggedModelStatus

    status = LoggedModelStatus.FAILED if failed else LoggedModelStatus.READY
    try:
        mlflow.MlflowClient().finalize_logged_model(model_id, status)
    except Exception:  # the run is marked FAILED anyway; keep the first error
        pass


def _staging_dir(ws) -> str:
    """A temporary folder for the model files: under the artifact root when it is local, so
    that the finished folder is renamed into place instead of copied."""
    import tempfile

    if not ws.shared:
        try:
            return tempfile.mkdtemp(prefix=".staging-", dir=ws.artifact_root)
        except OSError:
            pass
    return tempfile.mkdtemp(prefix="workbench-model-")


def _place_model_files(client, logged, folder: str) -> None:
    """Put ``folder``'s files at the logged model's artifact location: a rename when that is a
    local folder on the same file system, else MLflow's artifact upload (a copy)."""
    from urllib.parse import urlparse

    location = logged.artifact_location
    if urlparse(location).scheme in ("file", ""):
        from mlflow.utils.file_utils import local_file_uri_to_path

        target = local_file_uri_to_path(location)
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if os.path.isdir(target) and not os.listdir(target):
                os.rmdir(target)
            if not os.path.exists(target):
                os.rename(folder, target)
                return
        except OSError:
            pass  # another file system, say: copy below
    client.log_model_artifacts(logged.model_id, folder)


def _save_sklearn_flavor(model, folder, *, signature, input_example, trusted, requirements):
    """Write into ``folder`` what ``mlflow.sklearn.save_model`` writes for a skops model, and
    return the :class:`mlflow.models.Model` (its ids are filled in once the logged model exists).

    Same files, flavors and fields as MLflow's (a unit test compares them); the skops file is
    written by :func:`_skops_bytes` and audited by :func:`_check_skops_trust`.
    """
    import sklearn
    import yaml
    from mlflow import pyfunc
    from mlflow.models import Model
    from mlflow.models.utils import _save_example
    from mlflow.utils.environment import (
        _CONDA_ENV_FILE_NAME,
        _CONSTRAINTS_FILE_NAME,
        _PYTHON_ENV_FILE_NAME,
        _REQUIREMENTS_FILE_NAME,
        _process_pip_requirements,
        _PythonEnv,
    )
    from mlflow.utils.file_utils import get_total_file_size, write_to

    data, schema = _skops_bytes(model)
    _check_skops_trust(data, schema, trusted)
    os.makedirs(folder)
    mlflow_model = Model()
    _save_example(mlflow_model, input_example, folder)
    mlflow_model.signature = signature
    with open(os.path.join(folder, _SKOPS_FILE), "wb") as f:
        f.write(data)
    pyfunc.add_to_model(
        mlflow_model,
        loader_module="mlflow.sklearn",
        model_path=_SKOPS_FILE,
        conda_env=_CONDA_ENV_FILE_NAME,
        python_env=_PYTHON_ENV_FILE_NAME,
        code=None,
        predict_fn="predict",
    )
    mlflow_model.add_flavor(
        "sklearn",
        pickled_model=_SKOPS_FILE,
        sklearn_version=sklearn.__version__,
        serialization_format="skops",
        code=None,
        skops_trusted_types=trusted,
    )
    if size := get_total_file_size(folder):
        mlflow_model.model_size_bytes = size
    conda_env, pip_requirements, pip_constraints = _process_pip_requirements(
        None, requirements, None
    )
    with open(os.path.join(folder, _CONDA_ENV_FILE_NAME), "w") as f:
        yaml.safe_dump(conda_env, stream=f, default_flow_style=False)
    if pip_constraints:
        write_to(os.path.join(folder, _CONSTRAINTS_FILE_NAME), "\n".join(pip_constraints))
    write_to(os.path.join(folder, _REQUIREMENTS_FILE_NAME), "\n".join(pip_requirements))
    _PythonEnv.current().to_yaml(os.path.join(folder, _PYTHON_ENV_FILE_NAME))
    return mlflow_model


_SKOPS_FILE = "model.skops"


def _skops_bytes(model) -> tuple[bytes, str | None]:
    """``skops.io.dumps(model)`` with ``schema.json`` written compactly; also that schema.

    skops writes its schema with ``json.dumps(indent=2)``, which uses Python's slow encoder: for a
    100-tree forest that is about 80% of the dump. The schema is the same JSON either way and
    ``skops.io.load`` reads both. Falls back to ``skops.io.dumps`` if skops' internals move.
    """
    import io
    import json
    import zipfile

    import skops
    import skops.io

    try:
        from skops.io._utils import SaveContext, get_state
    except ImportError:
        return skops.io.dumps(model), None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zip_file:
        context = SaveContext(zip_file=zip_file)
        state = get_state(model, context)
        context.clear_memo()
        state["protocol"] = context.protocol
        state["_skops_version"] = skops.__version__
        schema = json.dumps(state)
        zip_file.writestr("schema.json", schema)
    return buffer.getvalue(), schema


class _NoArrayBytes:
    """Stands in for the zip file during an audit: the audit reads the schema, never the
    arrays' bytes (which is most of what ``skops.io.get_untrusted_types`` spends its time on)."""

    def read(self, name: str) -> bytes:
        return b""


def _untrusted_types(data: bytes, schema: str | None) -> set[str]:
    """The types skops would refuse in ``data``: ``skops.io.get_untrusted_types`` run on the
    schema alone when skops' internals allow it."""
    import json

    import skops.io

    if schema is not None:
        try:
            from skops.io._audit import get_tree
            from skops.io._utils import LoadContext

            state = json.loads(schema)
            context = LoadContext(src=_NoArrayBytes(), protocol=state["protocol"])
            return set(get_tree(state, context, trusted=None).get_unsafe_set())
        except ImportError:
            pass
    return set(skops.io.get_untrusted_types(data=data))


def _check_skops_trust(data: bytes, schema: str | None, trusted: list[str]) -> None:
    """Fail, naming the types, if skops would refuse to load ``data`` with ``trusted``."""
    missing = sorted(_untrusted_types(data, schema) - set(trusted))
    if missing:
        names = ", ".join(repr(t) for t in missing)
        raise UntrustedTypeError(
            f"skops would refuse to load this model: it holds {names}, which are not trusted. "
            f"If you trust them, pass trusted_types=[{names}] to log_model; the serving "
            "environment must be able to import them too."
        )


def _lineage_datasets(lineage) -> list[tuple[Any, str]]:
    """MLflow datasets (name, digest, schema, profile) of the lineage, with their contexts."""
    import mlflow

    out = []
    for x, y, ds_name, context in lineage:
        frame = x.assign(**{str(y.name): y.to_numpy()})
        out.append((mlflow.data.from_pandas(frame, name=ds_name, targets=str(y.name)), context))
    return out


def _register(name, logged_uri, run_id, alias, tags, description) -> str:
    import json

    import mlflow
    from mlflow.utils.mlflow_tags import MLFLOW_MODEL_VERSIONS

    client = mlflow.MlflowClient()
    model_id = logged_uri.removeprefix("models:/") if logged_uri.startswith("models:/m-") else None

    def create_version():
        return client.create_model_version(
            name, logged_uri, run_id=run_id, tags=tags, description=description, model_id=model_id
        )

    try:
        try:
            mv = create_version()  # the usual case: the model exists (one round trip fewer)
        except mlflow.exceptions.MlflowException as err:
            if err.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            try:
                client.create_registered_model(name)
            except mlflow.exceptions.MlflowException as exists:
                if "already exists" not in str(exists):  # another process created it meanwhile
                    raise RegistryError(
                        f"cannot create registered model {name!r}: {exists}"
                    ) from exists
            mv = create_version()
    except RegistryError:
        raise
    except Exception as err:
        raise RegistryError(f"registering a version of {name!r} failed: {err}") from err
    try:
        if alias:
            client.set_registered_model_alias(name, alias, mv.version)
    except Exception as err:
        client.delete_model_version(name, mv.version)  # no half-written entry
        raise RegistryError(
            f"pointing @{alias} at {name} version {mv.version} failed ({err}); "
            "the version was removed again."
        ) from err
    if model_id:  # as mlflow.register_model does: the logged model lists its versions
        try:
            link = [{"name": mv.name, "version": mv.version}]
            client.set_logged_model_tags(model_id, {MLFLOW_MODEL_VERSIONS: json.dumps(link)})
        except Exception:  # a display link only: the version stands without it
            pass
    return mv.version


# --------------------------------------------------------------------------- reading the registry


def model_names() -> list[str]:
    """Names of the registered models in the current workspace, sorted."""
    import mlflow

    current_workspace()
    return sorted(m.name for m in mlflow.MlflowClient().search_registered_models())


def versions(name: str) -> list[ModelVersion]:
    """Every version of registered model ``name``, newest first.

    Raises:
        ModelNotFoundError: no registered model is called ``name``.
    """
    import mlflow

    current_workspace()
    client = mlflow.MlflowClient()
    registered = _registered(client, name)
    by_version: dict[int, list[str]] = {}
    for alias, number in (getattr(registered, "aliases", None) or {}).items():
        by_version.setdefault(int(number), []).append(alias)
    found = client.search_model_versions(f"name = '{name}'")  # these carry no aliases
    out = [_to_version(client, mv) for mv in found]
    for version in out:
        version.aliases = sorted(set(version.aliases) | set(by_version.get(version.version, [])))
    return sorted(out, key=lambda v: -v.version)


def get_version(name: str, version: int | str) -> ModelVersion:
    """One version of ``name`` by number or by alias (``"champion"`` or ``"@champion"``).

    Raises:
        ModelNotFoundError: the model, version or alias does not exist.
    """
    import mlflow

    current_workspace()
    client = mlflow.MlflowClient()
    _registered(client, name)
    ref = str(version).lstrip("@")
    try:
        if ref.isdigit():
            mv = client.get_model_version(name, ref)
        else:
            mv = client.get_model_version_by_alias(name, ref)
    except mlflow.exceptions.MlflowException as err:
        what = f"version {ref}" if ref.isdigit() else f"alias @{ref}"
        raise ModelNotFoundError(
            f"model {name!r} has no {what}: see `workbench history {name}` or the registry."
        ) from err
    return _to_version(client, mv)


def _registered(client, name: str):
    import mlflow

    try:
        return client.get_registered_model(name)
    except mlflow.exceptions.MlflowException as err:
        known = ", ".join(m.name for m in client.search_registered_models(max_results=20))
        raise ModelNotFoundError(
            f"no registered model called {name!r} (known: {known or 'none yet'}): "
            "log one with workbench.log_model or check the name."
        ) from err


def _to_version(client, mv) -> ModelVersion:
    metrics: dict[str, float] = {}
    if mv.run_id:
        try:
            run = client.get_run(mv.run_id)
            metrics = {k: v for k, v in run.data.metrics.items() if not k.startswith("train_")}
        except Exception:
            metrics = {}
    return ModelVersion(
        name=mv.name,
        version=int(mv.version),
        model_uri=f"models:/{mv.name}/{mv.version}",
        run_id=mv.run_id,
        metrics=metrics,
        task=(mv.tags or {}).get("workbench.task"),
        aliases=sorted(getattr(mv, "aliases", []) or []),
        tags=dict(mv.tags or {}),
    )


# --------------------------------------------------------------------------- stage 2: checks, gate, audit


def _log_check_baseline(model: Any, sig_frame: pd.DataFrame, x_eval: pd.DataFrame) -> None:
    """Log what the pre-deployment checks compare against: ``profile.json`` (the training data's
    profile) and ``reference.json`` (rows and the model's predictions on them at log time)."""
    import mlflow

    from workbench.checks.profile import (
        PROFILE_FILE,
        REFERENCE_FILE,
        reference_predictions,
        training_profile,
    )

    mlflow.log_dict(training_profile(sig_frame), PROFILE_FILE)
    example = sig_frame.head(5)
    reference = reference_predictions(model, [example, signature_frame(x_eval)])
    mlflow.log_dict(reference, REFERENCE_FILE)


#: Experiment that holds the audit log: one run per promotion or rollback, never overwritten.
AUDIT_EXPERIMENT = "workbench-audit"
_AUDIT = "workbench.audit."
_CHECKS_STATUS_TAG = "workbench.checks.status"
_CHECKS_FAILED_TAG = "workbench.checks.failed"
_CHECKS_RUN_TAG = "workbench.checks.run_id"
_HISTORY_COLUMNS = [
    "time",
    "action",
    "model",
    "alias",
    "old_version",
    "new_version",
    "by",
    "reason",
    "forced",
    "checks_status",
    "run_id",
]


@dataclass
class AuditEntry:
    """One promotion or rollback, as the audit log keeps it.

    Attributes:
        time: UTC time, ISO 8601 with microseconds.
        action: ``promote`` or ``rollback``.
        model: Registered model name.
        alias: The alias that moved (``champion``).
        old_version: The version that held it before (``None``: nobody).
        new_version: The version that holds it now.
        by: Who did it.
        reason: Why.
        forced: Promoted although the checks had not passed.
        checks_status: The new version's checks at the time: ``passed``, ``failed`` or ``never ran``.
        run_id: The audit run in the ``workbench-audit`` experiment.

    Example:
        >>> e = AuditEntry("2026-11-22T10:00:00+00:00", "promote", "m", "champion", None, 1,
        ...                "ana", "first", False, "passed")
        >>> e.summary()
        'promote m@champion: none -> v1 by ana (checks passed): first'
    """

    time: str
    action: str
    model: str
    alias: str
    old_version: int | None
    new_version: int
    by: str
    reason: str
    forced: bool
    checks_status: str
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        return asdict(self)

    def summary(self) -> str:
        """One line: what moved, who, why."""
        old = f"v{self.old_version}" if self.old_version is not None else "none"
        forced = ", FORCED" if self.forced else ""
        return (
            f"{self.action} {self.model}@{self.alias}: {old} -> v{self.new_version} by {self.by} "
            f"(checks {self.checks_status}{forced}): {self.reason}"
        )

    def _repr_html_(self) -> str:
        colour = "#cf222e" if self.forced else "#1a7f37"
        return f"<div class='wb-audit-entry' style='color:{colour}'>{html.escape(self.summary())}</div>"


def promote(
    name: str,
    version: int | str,
    alias: str = "champion",
    *,
    by: str | None = None,
    reason: str | None = None,
    force: bool = False,
) -> AuditEntry:
    """Point ``alias`` at ``version`` if its latest checks passed, and record who, when and why.

    Args:
        name: Registered model name.
        version: Version number, or an alias such as ``"challenger"``.
        alias: The alias to move (``champion``).
        by: Who promotes (default: ``WORKBENCH_USER`` or the login name).
        reason: Why; required with ``force``.
        force: Promote although the checks failed or never ran (recorded as forced).

    Returns:
        The :class:`AuditEntry` written to the audit log.

    Raises:
        ModelNotFoundError: no such model or version.
        GateError: the version's latest checks did not pass or never ran (the message names the
            failing checks).
        DataError: ``force`` was given without a reason.
        RegistryError: the registry refused; the alias is left as it was.

    Example:
        >>> import workbench as wb
        >>> wb.promote("credit-risk", 3, by="ana", reason="beats v2 on recall")  # doctest: +SKIP
    """
    import mlflow

    from workbench._util import user_name

    current_workspace()
    client = mlflow.MlflowClient()
    target = get_version(name, version)
    status = target.tags.get(_CHECKS_STATUS_TAG) or "never ran"
    if force and not (reason or "").strip():
        raise DataError(
            f"forcing {name} version {target.version} to @{alias} needs a reason: say why the "
            "checks may be overridden (reason=... / --reason)."
        )
    if status != "passed" and not force:
        raise GateError(_refusal(name, target, alias, status))
    old = _alias_holder(client, name, alias)
    entry = AuditEntry(
        time=_utc_now(),
        action="promote",
        model=name,
        alias=alias,
        old_version=old,
        new_version=target.version,
        by=by or user_name(),
        reason=(reason or "").strip(),
        forced=bool(force),
        checks_status=status,
    )
    return _move_alias(client, entry)


def rollback(
    name: str, alias: str = "champion", *, by: str | None = None, reason: str | None = None
) -> AuditEntry:
    """Return ``alias`` to the version that held it before the current one, and record it.

    Promotions stack up and each rollback undoes one: after promoting v1, v2, v3, two rollbacks
    lead back to v1.

    Args:
        name: Registered model name.
        alias: The alias to move back (``champion``).
        by: Who rolls back.
        reason: Why (required: the audit log keeps it).

    Returns:
        The :class:`AuditEntry` written to the audit log.

    Raises:
        ModelNotFoundError: no such model, or the earlier version was deleted.
        DataError: no reason was given (exit code 2: bad usage, not a refusal).
        RegistryError: there is no earlier holder to return to, or the registry refused.
    """
    import mlflow

    from workbench._util import user_name

    if not (reason or "").strip():
        raise DataError(f"rolling back {name}@{alias} needs a reason (reason=... / --reason).")
    current_workspace()
    client = mlflow.MlflowClient()
    _registered(client, name)
    current = _alias_holder(client, name, alias)
    log = history(name)
    previous = _previous_holder(log[log["alias"] == alias], current)
    if previous is None:
        raise RegistryError(
            f"{name}@{alias} has no earlier holder to return to (now: "
            f"{'v' + str(current) if current else 'none'}): promote a version instead."
        )
    target = get_version(name, previous)
    entry = AuditEntry(
        time=_utc_now(),
        action="rollback",
        model=name,
        alias=alias,
        old_version=current,
        new_version=target.version,
        by=by or user_name(),
        reason=reason.strip(),
        forced=False,
        checks_status=target.tags.get(_CHECKS_STATUS_TAG) or "never ran",
    )
    return _move_alias(client, entry)


def history(name: str, alias: str | None = None) -> pd.DataFrame:
    """The audit log of ``name``: every promotion and rollback, oldest first.

    It lives in the tracking store (experiment ``workbench-audit``, one run per entry), so a
    shared tracking server keeps it for the whole team.

    Args:
        name: Registered model name.
        alias: Only entries for this alias.

    Returns:
        A DataFrame with columns time (UTC), action, model, alias, old_version, new_version, by,
        reason, forced, checks_status and run_id.

    Raises:
        ModelNotFoundError: no registered model is called ``name``.
    """
    import mlflow

    current_workspace()
    client = mlflow.MlflowClient()
    _registered(client, name)
    experiment = client.get_experiment_by_name(AUDIT_EXPERIMENT)
    if experiment is None:
        return pd.DataFrame(columns=_HISTORY_COLUMNS)
    quoted = name.replace("'", "\\'")
    query = f"tags.`{_AUDIT}model` = '{quoted}'"
    if alias:
        query += f" and tags.`{_AUDIT}alias` = '{alias}'"
    rows, token = [], None
    while True:
        page = client.search_runs(
            [experiment.experiment_id], filter_string=query, max_results=1000, page_token=token
        )
        rows.extend((_entry_of(run).to_dict(), run.info.start_time) for run in page)
        token = page.token
        if not token:
            break
    rows.sort(key=lambda pair: (pair[0]["time"], pair[1]))
    frame = pd.DataFrame([r for r, _ in rows], columns=_HISTORY_COLUMNS)
    return frame.astype({"old_version": "Int64", "new_version": "Int64", "forced": bool})


def _refusal(name: str, target: ModelVersion, alias: str, status: str) -> str:
    uri = f"models:/{name}/{target.version}"
    if status == "never ran":
        return (
            f"refused: {name} version {target.version} has no checks on record. Run them first "
            f"(workbench check {uri} --data FILE --target COL), or force with a reason."
        )
    failed = target.tags.get(_CHECKS_FAILED_TAG) or "unknown"
    run = target.tags.get(_CHECKS_RUN_TAG, "")
    return (
        f"refused: the latest checks of {name} version {target.version} did not pass "
        f"(failing: {failed.replace(',', ', ')}; run {run}). Fix them and run the checks again "
        f"before promoting to @{alias}, or force with a reason."
    )


def _alias_holder(client, name: str, alias: str) -> int | None:
    import mlflow

    try:
        return int(client.get_model_version_by_alias(name, alias).version)
    except mlflow.exceptions.MlflowException:
        return None


def _move_alias(client, entry: AuditEntry) -> AuditEntry:
    """Point the alias at the new version, then write the audit entry; undo the move if the
    entry cannot be written, so the alias never moves without a record."""
    name, alias = entry.model, entry.alias
    try:
        client.set_registered_model_alias(name, alias, str(entry.new_version))
    except Exception as err:
        raise RegistryError(
            f"pointing {name}@{alias} at version {entry.new_version} failed: {err}"
        ) from err
    try:
        entry.run_id = _record(client, entry)
    except Exception as err:
        try:
            if entry.old_version is None:
                client.delete_registered_model_alias(name, alias)
            else:
                client.set_registered_model_alias(name, alias, str(entry.old_version))
        finally:
            raise RegistryError(
                f"writing the audit entry for {name}@{alias} failed ({err}); the alias was "
                "put back where it was."
            ) from err
    return entry


def _record(client, entry: AuditEntry) -> str:
    experiment_id = current_workspace().experiment_id(AUDIT_EXPERIMENT)
    tags = {_AUDIT + k: "" if v is None else str(v) for k, v in entry.to_dict().items()}
    tags.pop(_AUDIT + "run_id")
    tags["mlflow.note.content"] = entry.summary()
    old = f"v{entry.old_version}" if entry.old_version is not None else "none"
    run_name = f"{entry.action} {entry.model}@{entry.alias} {old}->v{entry.new_version}"
    run = client.create_run(experiment_id, run_name=run_name, tags=tags)
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def _entry_of(run) -> AuditEntry:
    tags = run.data.tags

    def get(key: str) -> str:
        return tags.get(_AUDIT + key, "")

    old = get("old_version")
    return AuditEntry(
        time=get("time"),
        action=get("action"),
        model=get("model"),
        alias=get("alias"),
        old_version=int(old) if old.isdigit() else None,
        new_version=int(get("new_version") or 0),
        by=get("by"),
        reason=get("reason"),
        forced=get("forced") == "True",
        checks_status=get("checks_status"),
        run_id=run.info.run_id,
    )


def _previous_holder(log: pd.DataFrame, current: int | None) -> int | None:
    """Replay the alias's promotions (push) and rollbacks (pop); the one below the top is where a
    rollback goes."""
    stack: list[int] = []
    for entry in log.itertuples(index=False):
        if entry.action == "promote":
            if not stack and pd.notna(entry.old_version):
                stack.append(int(entry.old_version))
            if not stack or stack[-1] != entry.new_version:
                stack.append(int(entry.new_version))
        elif entry.action == "rollback":
            if stack:
                stack.pop()
            if not stack or stack[-1] != entry.new_version:
                stack.append(int(entry.new_version))
    if not stack:
        return None
    if stack[-1] == current:
        return stack[-2] if len(stack) >= 2 else None
    return stack[-1]  # the alias was moved outside the workbench: go back to the last known holder


def _utc_now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="microseconds")
