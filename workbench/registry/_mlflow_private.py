"""The fast path of ``log_model``: every use of MLflow's and skops' private or undocumented APIs.

``mlflow.sklearn.log_model`` spends seconds on a model that takes milliseconds to save: it infers
requirements in a subprocess, writes skops' schema with indented JSON, reloads the model to validate
the serving input and copies the finished folder into place. This module does the same steps
directly, with the same files:

* :func:`save_sklearn_flavor` writes what ``mlflow.sklearn.save_model`` writes for a skops model;
* :func:`skops_bytes` and :func:`untrusted_types` dump and audit the skops file from its schema;
* :func:`staging_dir`, :func:`log_logged_model`, :func:`finalize_quietly` and
  :func:`link_versions` create the logged model ``models:/m-<id>``, link it to its run, put its
  files in place, mark it READY and list the registry versions made from it, as ``Model.log`` and
  ``mlflow.register_model`` do.

Nothing else in :mod:`workbench.registry` imports a private ``mlflow`` or ``skops`` module. An
MLflow or skops upgrade that moves them breaks here, and ``tests/unit/registry`` pins the files to
what MLflow itself writes.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = [
    "SKOPS_FILE",
    "finalize_quietly",
    "link_versions",
    "log_logged_model",
    "save_sklearn_flavor",
    "skops_bytes",
    "staging_dir",
    "untrusted_types",
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
        data: The skops file's bytes (:func:`skops_bytes`, audited by the caller).
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


# --------------------------------------------------------------------------- skops


def skops_bytes(model: Any) -> tuple[bytes, str | None]:
    """``skops.io.dumps(model)`` with ``schema.json`` written compactly; also that schema.

    skops writes its schema with ``json.dumps(indent=2)``, which uses Python's slow encoder: for a
    100-tree forest that is about 80% of the dump. The schema is the same JSON either way and
    ``skops.io.load`` reads both. Falls back to ``skops.io.dumps`` (and no schema) if skops'
    internals move.
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


def untrusted_types(data: bytes, schema: str | None) -> set[str]:
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


class _NoArrayBytes:
    """Stands in for the zip file during an audit: the audit reads the schema, never the
    arrays' bytes (which is most of what ``skops.io.get_untrusted_types`` spends its time on)."""

    def read(self, name: str) -> bytes:
        return b""


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
) -> Any:
    """Create the logged model, link it to the run, log params, metrics (on the run and the
    model, as ``Model.log`` does) and lineage, put the files in place and mark it READY.

    Returns:
        The ``LoggedModel``.
    """
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


def finalize_quietly(model_id: str, failed: bool) -> None:
    """Mark the logged model FAILED (or READY), keeping quiet if that fails too."""
    import mlflow
    from mlflow.entities import LoggedModelStatus

    status = LoggedModelStatus.FAILED if failed else LoggedModelStatus.READY
    try:
        mlflow.MlflowClient().finalize_logged_model(model_id, status)
    except Exception:  # the run is marked FAILED anyway; keep the first error
        pass


def link_versions(client: Any, model_id: str, name: str, version: str | int) -> None:
    """Tag the logged model with the registry version made from it, as
    ``mlflow.register_model`` does (the MLflow UI lists it); a display link only, so a failure
    is ignored."""
    import json

    from mlflow.utils.mlflow_tags import MLFLOW_MODEL_VERSIONS

    try:
        link = [{"name": name, "version": version}]
        client.set_logged_model_tags(model_id, {MLFLOW_MODEL_VERSIONS: json.dumps(link)})
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
    client.log_model_artifacts(logged.model_id, folder)
