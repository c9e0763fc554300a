"""The fast path of ``log_model``: MLflow's private or undocumented APIs, in one place.

``mlflow.sklearn.log_model`` spends seconds on a model that takes milliseconds to save: it infers
requirements in a subprocess, reloads the model to validate the serving input and copies the
finished folder into place. This module does the same steps
directly, with the same files:

* :func:`save_sklearn_flavor` writes what ``mlflow.sklearn.save_model`` writes for a skops model,
  with the environment files of :func:`environment_files`;
* :func:`staging_dir`, :func:`log_logged_model`, :func:`finalize_quietly`, :func:`alias_and_link`
  and :func:`link_versions` create the logged model ``models:/m-<id>``, link it to its run, put its
  files in place, mark it READY, set the new version's alias and list the registry versions made
  from it, as ``Model.log`` and ``mlflow.register_model`` do, with fewer round trips to a
  tracking server (independent requests go out together; no look-ups MLflow makes only to word
  an error).

The skops file itself is written and audited with skops' public calls (``skops.io.dumps``,
``skops.io.get_untrusted_types``, in :mod:`~workbench.registry.trust` and
:mod:`~workbench.registry.safety`); the signature and the lineage datasets' schemas are MLflow's
own (``mlflow.models.infer_signature``, ``mlflow.data.from_pandas``).

Nothing else in :mod:`workbench.registry` imports a private ``mlflow`` module. An MLflow upgrade
that moves these names breaks here, and ``tests/unit/registry`` pins the files to what MLflow
itself writes.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable
from typing import Any

from workbench._core.conflict import retry_on_conflict
from workbench._core.unreachable import quick_failures, unreachable

__all__ = [
    "SKOPS_FILE",
    "alias_and_link",
    "environment_files",
    "finalize_quietly",
    "link_versions",
    "log_logged_model",
    "save_sklearn_flavor",
    "stamp_created_by",
    "staging_dir",
]

#: The skops file inside the model folder (the name ``mlflow.sklearn`` gives it).
SKOPS_FILE = "model.skops"


# --------------------------------------------------------------------------- the sklearn flavor


def save_sklearn_flavor(
    data: bytes,
    folder: str,
    *,
    signature: Any,
    input_example: Any,
    trusted: list[str],
    requirements: list[str],
) -> Any:
    """Write into ``folder`` what ``mlflow.sklearn.save_model`` writes for a skops model.

    Args:
        data: The skops file's bytes (``skops.io.dumps``, audited by the caller).
        folder: A folder that does not exist yet.
        signature: The model signature.
        input_example: A few rows of input.
        trusted: The types skops is told to trust when it loads the model.
        requirements: Pinned pip requirements.

    Returns:
        The :class:`mlflow.models.Model`; its ids are filled in once the logged model exists
        (:func:`log_logged_model`).
    """
    import sklearn
    from mlflow import pyfunc
    from mlflow.models import Model
    from mlflow.models.utils import _save_example
    from mlflow.utils.environment import _CONDA_ENV_FILE_NAME, _PYTHON_ENV_FILE_NAME
    from mlflow.utils.file_utils import get_total_file_size

    os.makedirs(folder)
    mlflow_model = Model()
    _save_example(mlflow_model, input_example, folder)
    mlflow_model.signature = signature
    with open(os.path.join(folder, SKOPS_FILE), "wb") as f:
        f.write(data)
    pyfunc.add_to_model(
        mlflow_model,
        loader_module="mlflow.sklearn",
        model_path=SKOPS_FILE,
        conda_env=_CONDA_ENV_FILE_NAME,
        python_env=_PYTHON_ENV_FILE_NAME,
        code=None,
        predict_fn="predict",
    )
    mlflow_model.add_flavor(
        "sklearn",
        pickled_model=SKOPS_FILE,
        sklearn_version=sklearn.__version__,
        serialization_format="skops",
        code=None,
        skops_trusted_types=trusted,
    )
    if size := get_total_file_size(folder):
        mlflow_model.model_size_bytes = size
    environment_files(folder, requirements)
    return mlflow_model


def environment_files(folder: str, requirements: list[str]) -> None:
    """Write ``conda.yaml``, ``requirements.txt`` (and ``constraints.txt`` when there are any)
    and ``python_env.yaml`` into ``folder`` for pinned ``requirements``, as
    ``mlflow.sklearn.save_model`` writes them (MLflow has no public call that writes them)."""
    for name, text in _environment_texts(tuple(requirements)):
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)


@functools.lru_cache(maxsize=16)
def _environment_texts(requirements: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The files' texts: MLflow's processing of the requirements (which looks up every installed
    distribution to warn of mismatches that pins read from the installed versions cannot have)
    runs once per process and requirement list."""
    import yaml
    from mlflow.utils.environment import (
        _CONDA_ENV_FILE_NAME,
        _CONSTRAINTS_FILE_NAME,
        _PYTHON_ENV_FILE_NAME,
        _REQUIREMENTS_FILE_NAME,
        _process_pip_requirements,
        _PythonEnv,
    )

    conda_env, pip_requirements, pip_constraints = _process_pip_requirements(
        None, list(requirements), None
    )
    python_env = {k: v for k, v in _PythonEnv.current().to_dict().items() if v}
    texts = [
        (_CONDA_ENV_FILE_NAME, yaml.safe_dump(conda_env, default_flow_style=False)),
        (_REQUIREMENTS_FILE_NAME, "\n".join(pip_requirements)),
        (
            _PYTHON_ENV_FILE_NAME,
            yaml.safe_dump(python_env, sort_keys=False, default_flow_style=False),
        ),
    ]
    if pip_constraints:
        texts.append((_CONSTRAINTS_FILE_NAME, "\n".join(pip_constraints)))
    return tuple(texts)


# --------------------------------------------------------------------------- the logged model


def staging_dir(ws: Any) -> str:
    """A temporary folder for the model files: under the artifact root when it is local, so
    that the finished folder is renamed into place instead of copied."""
    import tempfile

    if not ws.shared:
        try:
            return tempfile.mkdtemp(prefix=".staging-", dir=ws.artifact_root)
        except OSError:
            pass
    return tempfile.mkdtemp(prefix="workbench-model-")


def log_logged_model(
    run_id: str,
    experiment_id: str,
    mlflow_model: Any,
    folder: str,
    *,
    params: dict[str, str],
    metrics: dict[str, float],
    datasets: list[tuple[Any, str]],
    tags: dict[str, str] | None = None,
    run_files: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
    run_artifact_uri: str | None = None,
    finish: Callable[[], Any] | None = None,
    on_saved: Callable[[str], dict[str, str]] | None = None,
) -> Any:
    """Create the logged model, link it to the run, log params, metrics (on the run and the
    model, as ``Model.log`` does), ``tags`` and lineage, put the model's files and the run's
    ``run_files`` (name -> JSON-able dict, written as ``mlflow.log_dict`` writes them; or a
    callable that returns them once the logged model exists) in place and mark the model READY.

    Against a tracking server the independent requests (the run's output, batch and inputs, one
    upload per file) go out together from a few threads, and the artifact locations come from
    the logged model and ``run_artifact_uri`` instead of a lookup per file: the call costs about
    as many round trips as it has steps, not one per request; ``finish`` (ending the run, say)
    is called in this thread once everything is logged, while the model is marked READY. A
    local store does one thing after the other (SQLite takes one writer at a time). The tags
    ``on_saved(folder)`` returns, once the folder is final, go on the run with ``tags``.

    Raises:
        The first error, once every request has ended; the logged model is then marked FAILED
        (``finish`` may have run: the caller marks the run FAILED).

    Returns:
        The ``LoggedModel``.
    """
    import mlflow
    from mlflow.entities import LoggedModelStatus
    from mlflow.models.model import MLMODEL_FILE_NAME

    client = mlflow.MlflowClient()
    logged = mlflow.initialize_logged_model(
        name="model", source_run_id=run_id, params=params, experiment_id=experiment_id
    )
    try:
        mlflow_model.artifact_path = logged.artifact_location
        mlflow_model.model_uuid = logged.model_id
        mlflow_model.model_id = logged.model_id
        mlflow_model.run_id = run_id
        mlflow_model.save(os.path.join(folder, MLMODEL_FILE_NAME))
        tags = {**(tags or {}), **(on_saved(folder) if on_saved else {})}
        steps = _logging_steps(client, logged, run_id, params, metrics, datasets, tags)
        remote = _is_remote(client)
        steps += _model_file_steps(client, logged, folder, remote)
        files = run_files() if callable(run_files) else run_files
        if files:
            if run_artifact_uri is None:
                raise ValueError("run_files need the run's artifact URI")
            steps += _run_file_steps(client, run_artifact_uri, files, folder)
        _run_steps(steps, threads=4 if remote else 0)
        ready = [lambda: client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)]
        _run_steps(ready, threads=1 if remote else 0, then=finish)
    except Exception as err:
        with quick_failures() if unreachable(err) else contextlib.nullcontext():
            finalize_quietly(logged.model_id, failed=True)  # a server that is gone: no waiting
        raise
    return logged


def _logging_steps(
    client: Any,
    logged: Any,
    run_id: str,
    params: dict[str, str],
    metrics: dict[str, float],
    datasets: list[tuple[Any, str]],
    tags: dict[str, str],
) -> list[Callable[[], Any]]:
    """The run's output link, its batch (params, metrics on the run and the model, tags) and
    its inputs (the lineage datasets with their contexts), as steps."""
    from mlflow.entities import LoggedModelOutput, Metric, Param, RunTag
    from mlflow.tracking.fluent import _create_dataset_input
    from mlflow.utils.time import get_current_time_millis

    now = get_current_time_millis()
    steps = [
        lambda: client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)]),
        lambda: client.log_batch(
            run_id,
            metrics=[Metric(k, v, now, 0, model_id=logged.model_id) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in params.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        ),
    ]
    if datasets:  # the datasets' entities (schema, profile: CPU) are made in the step's thread
        # MLflow inserts a dataset row it did not find without a lock: two runs logging the same
        # table at once clash on its key, and the second attempt links the row the first made
        steps.append(
            lambda: retry_on_conflict(
                lambda: client.log_inputs(
                    run_id, datasets=[_create_dataset_input(d, context) for d, context in datasets]
                )
            )
        )
    return steps


def _is_remote(client: Any) -> bool:
    from urllib.parse import urlparse

    return urlparse(client.tracking_uri).scheme in ("http", "https")


def _run_steps(steps: list[Any], threads: int, then: Callable[[], Any] | None = None) -> None:
    """Call every step from ``threads`` threads (none: one after the other, here) and ``then``
    in this thread meanwhile (after them, without threads); raise the first error, in step
    order, once all have ended."""
    if threads <= 0:
        for step in steps:
            step()
        if then is not None:
            then()
        return
    import threading
    from concurrent.futures import ThreadPoolExecutor

    gone = threading.Event()  # a step found the server gone: the steps not started are skipped

    def guarded(step: Callable[[], Any]) -> Any:
        if gone.is_set():
            return None
        try:
            return step()
        except Exception as err:
            if unreachable(err):
                gone.set()
            raise

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="workbench-log") as pool:
        futures = [pool.submit(guarded, step) for step in steps]
        if then is not None:
            then()
    for future in futures:
        future.result()


def _repository(client: Any, artifact_uri: str) -> Any:
    """The artifact repository of ``artifact_uri`` (what ``MlflowClient`` builds after looking
    the location up)."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    return get_artifact_repository(artifact_uri, tracking_uri=client.tracking_uri)


def _model_file_steps(client: Any, logged: Any, folder: str, remote: bool) -> list[Any]:
    """Steps that put ``folder``'s files at the logged model's location: one upload per file
    against a server, else one step (a rename when that location is a local folder)."""
    if not remote:
        return [lambda: _place_model_files(client, logged, folder)]
    repo = _repository(client, logged.artifact_location)
    return [
        (lambda path=path, where=where: repo.log_artifact(path, where))
        for path, where in _files_under(folder)
    ]


def _run_file_steps(
    client: Any, artifact_uri: str, files: dict[str, Any], model_folder: str
) -> list[Any]:
    """Write ``files`` as ``MlflowClient.log_dict`` does (JSON, indent 2, ``default=str``) next
    to the model folder; one upload step per file into the run's artifacts."""
    import json
    import posixpath

    base = os.path.join(os.path.dirname(model_folder), "run-files")
    repo = _repository(client, artifact_uri)
    steps = []
    for name, data in files.items():
        path = os.path.join(base, *name.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(data, f, indent=2, default=str)
        where = posixpath.dirname(name) or None
        steps.append(lambda path=path, where=where: repo.log_artifact(path, where))
    return steps


def _files_under(folder: str) -> list[tuple[str, str | None]]:
    """(file, artifact folder or None) for every file under ``folder``, as ``log_artifacts``
    walks it."""
    import posixpath

    out = []
    for root, _, names in os.walk(folder):
        rel = os.path.relpath(root, folder)
        where = None if rel == "." else posixpath.join(*rel.split(os.sep))
        out += [(os.path.join(root, name), where) for name in sorted(names)]
    return out


def finalize_quietly(model_id: str, failed: bool) -> None:
    """Mark the logged model FAILED (or READY), keeping quiet if that fails too."""
    import mlflow
    from mlflow.entities import LoggedModelStatus

    status = LoggedModelStatus.FAILED if failed else LoggedModelStatus.READY
    try:
        mlflow.MlflowClient().finalize_logged_model(model_id, status)
    except Exception:  # the run is marked FAILED anyway; keep the first error
        pass


def alias_and_link(
    client: Any, name: str, alias: str | None, version: str | int, model_id: str | None
) -> None:
    """Point ``alias`` (if any) of registered model ``name`` at ``version``, a version this call
    has just created, and link the logged model ``model_id`` (if any) to it
    (:func:`link_versions`); against a tracking server both requests go out together.

    The alias is set with the registry's own call, without ``MlflowClient``'s look-up of the
    registered model (made only to refuse MLflow prompts; the workbench registers models): one
    round trip fewer.

    Raises:
        What setting the alias raised; the link is removed again then.
    """
    from mlflow.utils.mlflow_tags import MLFLOW_MODEL_VERSIONS

    steps: list[Callable[[], Any]] = []
    if model_id:
        steps.append(lambda: link_versions(client, model_id, name, version))
    set_it = None
    if alias:
        registry = client._get_registry_client()  # noqa: SLF001 - vendor-private, here only

        def set_it() -> None:
            registry.set_registered_model_alias(name, alias, str(version))

    try:
        _run_steps(steps, threads=1 if _is_remote(client) else 0, then=set_it)
    except Exception:
        if model_id:
            with contextlib.suppress(Exception):  # a display link only
                client._tracking_client.delete_logged_model_tag(  # noqa: SLF001
                    model_id, MLFLOW_MODEL_VERSIONS
                )
        raise


def link_versions(client: Any, model_id: str, name: str, version: str | int) -> None:
    """Tag the logged model with the registry version made from it, as
    ``mlflow.register_model`` does (the MLflow UI lists it); a display link only, so a failure
    is ignored."""
    import json

    from mlflow.utils.mlflow_tags import MLFLOW_MODEL_VERSIONS

    try:
        link = [{"name": name, "version": version}]
        # The tracking client's call, not MlflowClient's: that one first fetches the logged
        # model only to word a missing one's error, which is ignored here anyway.
        client._tracking_client.set_logged_model_tags(  # noqa: SLF001 - vendor-private, here only
            model_id, {MLFLOW_MODEL_VERSIONS: json.dumps(link)}
        )
    except Exception:  # a display link only: the version stands without it
        pass


def _place_model_files(client: Any, logged: Any, folder: str) -> None:
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
    _repository(client, location).log_artifacts(folder)


def stamp_created_by(client: Any, name: str, version: str, user: str) -> bool:
    """Fill the version's "Created by" (``ModelVersion.user_id``, which no MLflow API sets) with
    ``user`` on a registry in a SQL database this process opens (the local SQLite store); False,
    and nothing done, against a tracking server (MLflow 3.17's server leaves it empty)."""
    from mlflow.store.model_registry.dbmodels.models import SqlModelVersion

    store = client._get_registry_client().store  # noqa: SLF001 - vendor-private, here only
    if not hasattr(store, "ManagedSessionMaker"):
        return False
    with store.ManagedSessionMaker() as session:
        session.query(SqlModelVersion).filter(
            SqlModelVersion.name == name, SqlModelVersion.version == int(version)
        ).update({"user_id": user[:256]})
    return True
