"""What the workbench reads about a served model without asking the server.

The model's MLflow info (its signature and input example) and the model loaded in this process (the
floor a load test compares against, what served predictions must equal) are cached per tracking store
and per *pinned* URI: ``models:/name@alias`` is resolved to the version it points at now first, so
a moved alias is never answered from the cache of its old version.

Nothing is deserialised before its format is checked: :func:`checked_model` and
:func:`in_process_model` resolve the model with :func:`~workbench.registry.resolve` (every flavor
judged; pickle, cloudpickle, foreign loaders and untrusted skops types refused,
:class:`~workbench.errors.UnsafeModelError`), refuse files that differ from the ones checked and
promoted (:class:`~workbench.errors.ArtifactChangedError`) and load only through the checked flavor. ``allow_pickle=True`` lets an unsafe one through and
records it on the version (tag ``workbench.allow_pickle``).

Example:
    >>> resolved_version("models:/credit-risk/3"), resolved_version("runs:/abc/model")
    ('3', None)
    >>> pinned_uri("models:/credit-risk/3")
    'models:/credit-risk/3'
"""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from workbench._core.names import TAG
from workbench._core.refs import parse_model_uri, registry_version
from workbench._core.text import first_line
from workbench.errors import ModelNotFoundError
from workbench.registry.resolved import resolve
from workbench.registry.safety import ArtifactSafety

__all__ = [
    "checked_model",
    "contract_of",
    "in_process_model",
    "in_process_predict",
    "input_example",
    "model_info",
    "pinned_uri",
    "record_allowed",
    "resolved_version",
]


def model_info(model_uri: str):
    """The model's ``mlflow.models.ModelInfo``, cached per tracking store and resolved version.

    Raises:
        ModelNotFoundError: the model cannot be found (nothing is started; exit code 2).
    """
    import mlflow

    return _model_info_cached(mlflow.get_tracking_uri(), pinned_uri(model_uri))


def resolved_version(model_uri: str) -> str | None:
    """The registry version ``model_uri`` names now: its number, the version its alias points at,
    or None (not a registered reference, or an alias the registry does not know)."""
    ref = parse_model_uri(model_uri)
    if ref.kind == "version":
        return ref.version
    if ref.kind != "alias":
        return None
    try:
        found = registry_version(ref)
    except Exception:
        return None
    return str(found.version) if found is not None else None


def pinned_uri(model_uri: str) -> str:
    """``models:/name@alias`` as the version it points at now (other URIs unchanged)."""
    ref = parse_model_uri(model_uri)
    return ref.pinned(resolved_version(model_uri)) if ref.kind == "alias" else model_uri


def contract_of(model_uri: str):
    """The :class:`~workbench.contract.ModelContract` of ``model_uri``, or None when the store has
    none for it (a local path, a model the store cannot find); cached per resolved version."""
    import mlflow

    return _contract_cached(mlflow.get_tracking_uri(), pinned_uri(model_uri))


def input_example(info) -> pd.DataFrame | None:
    """The input example logged with the model of ``info``, as a DataFrame (None without one)."""
    import mlflow

    model = mlflow.models.Model.load(info.model_uri)
    example = model.load_input_example()
    if example is None:
        return None
    return example if isinstance(example, pd.DataFrame) else pd.DataFrame(example)


def checked_model(model_uri: str, allow_pickle: bool = False) -> tuple[ArtifactSafety, str]:
    """Resolve ``model_uri``, refuse an unsafe or changed artifact, and load nothing.

    Args:
        model_uri: The model to check.
        allow_pickle: Let a pickle/cloudpickle or untrusted skops model through; recorded on the
            registry version (tag ``workbench.allow_pickle``).

    Returns:
        The safety verdict and the digest of the files checked (what the server must load).

    Raises:
        UnsafeModelError: loading it could run arbitrary code (exit code 2).
        ArtifactChangedError: its files differ from the ones checked and promoted (exit code 2).
        ModelNotFoundError: it cannot be found.
    """
    with resolve(model_uri, allow_pickle=allow_pickle, verify=True) as rm:
        safety, digest = rm.safety, rm.digest
    record_allowed(model_uri, safety)
    return safety, digest


def record_allowed(model_uri: str, safety: ArtifactSafety) -> None:
    """Tag the registry version when an unsafe format was allowed to load (nothing otherwise)."""
    if safety.safe:
        return
    from workbench.workspace import mlflow_client

    client = mlflow_client()
    found = registry_version(model_uri, client=client)
    if found is not None and (found.tags or {}).get(TAG.ALLOW_PICKLE) != "true":
        client.set_model_version_tag(found.name, found.version, TAG.ALLOW_PICKLE, "true")


def in_process_model(model_uri: str, allow_pickle: bool = False):
    """``model_uri`` loaded in this process as a pyfunc model (the last few are cached), from the
    folder :func:`~workbench.registry.fetch_model` downloaded and checked.

    Raises:
        UnsafeModelError: its format could run code when loaded and ``allow_pickle`` is False.
        ModelNotFoundError: it cannot be found.
    """
    import mlflow

    pinned = pinned_uri(model_uri)
    return _in_process_model_cached(mlflow.get_tracking_uri(), pinned, bool(allow_pickle))[0]


def in_process_predict(
    model_uri: str, data: pd.DataFrame, allow_pickle: bool = False
) -> np.ndarray:
    """Predictions of ``model_uri`` loaded in this process (what the server should return)."""
    return np.asarray(in_process_model(model_uri, allow_pickle).predict(data))


@lru_cache(maxsize=32)
def _model_info_cached(tracking_uri: str, model_uri: str):
    import mlflow

    try:
        return mlflow.models.get_model_info(model_uri)
    except Exception as err:
        raise ModelNotFoundError(
            f"cannot find model {model_uri}: {first_line(err) or type(err).__name__}. Check the "
            "name, version or alias (`workbench history NAME`, or the registry in the MLflow UI); "
            "nothing was started."
        ) from err


@lru_cache(maxsize=32)
def _contract_cached(tracking_uri: str, model_uri: str):
    from workbench.registry import model_contract

    if parse_model_uri(model_uri).kind == "path":
        return None
    try:
        return model_contract(model_uri)
    except Exception:  # no contract to read: the server and client fall back to the model's classes
        return None


@lru_cache(maxsize=4)
def _in_process_model_cached(tracking_uri: str, model_uri: str, allow_pickle: bool):
    """``(model, folder)``: the folder lives (and is deleted) with the cache entry."""
    folder = tempfile.TemporaryDirectory(prefix="wb-model-")
    rm = resolve(model_uri, Path(folder.name) / "model", allow_pickle=allow_pickle, verify=True)
    record_allowed(model_uri, rm.safety)
    return rm.load(), folder
