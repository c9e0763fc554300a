"""The registry: register a version, and read models, versions and aliases back.

:func:`register_version` is the last step of ``log_model`` (a new version, its alias, the link from
the logged model); :func:`model_names`, :func:`versions` and :func:`get_version` are what the panels,
the CLI and the gate read.
"""

from __future__ import annotations

import contextlib
from typing import Any

from workbench._core.conflict import conflict, retry_on_conflict
from workbench._core.names import TAG
from workbench._core.refs import parse_model_uri, registry_version, version_uri
from workbench._core.remote import speaks_for_server
from workbench._core.text import user_name
from workbench._core.unreachable import unreachable
from workbench.errors import ModelNotFoundError, RegistryError
from workbench.registry._mlflow_private import alias_and_link, stamp_created_by
from workbench.registry.model_version import ModelVersion
from workbench.workspace import mlflow_client

__all__ = [
    "get_version",
    "model_names",
    "register_version",
    "registered_model",
    "to_version",
    "versions",
]


def model_names() -> list[str]:
    """Names of the registered models in the current workspace, sorted (the audit's lock models,
    which live for the moment of a promotion on a shared server, left out)."""
    from workbench.registry.audit_lock import LOCK_PREFIX

    found = mlflow_client().search_registered_models()
    return sorted(m.name for m in found if not m.name.startswith(LOCK_PREFIX))


@speaks_for_server("listing the versions")
def versions(name: str) -> list[ModelVersion]:
    """Every version of registered model ``name``, newest first.

    Raises:
        ModelNotFoundError: no registered model is called ``name``.
    """
    client = mlflow_client()
    registered = registered_model(client, name)
    by_version: dict[int, list[str]] = {}
    for alias, number in (getattr(registered, "aliases", None) or {}).items():
        by_version.setdefault(int(number), []).append(alias)
    found = client.search_model_versions(f"name = '{name}'")  # these carry no aliases
    out = [to_version(client, mv) for mv in found]
    for version in out:
        version.aliases = sorted(set(version.aliases) | set(by_version.get(version.version, [])))
    return sorted(out, key=lambda v: -v.version)


@speaks_for_server("reading the version")
def get_version(name: str, version: int | str) -> ModelVersion:
    """One version of ``name`` by number or by alias (``"champion"`` or ``"@champion"``).

    Raises:
        ModelNotFoundError: the model, version or alias does not exist.
    """
    client = mlflow_client()
    registered_model(client, name)
    ref = str(version).lstrip("@")
    uri = version_uri(name, ref) if ref.isdigit() else f"models:/{name}@{ref}"
    mv = registry_version(parse_model_uri(uri), client)
    if mv is None:
        what = f"version {ref}" if ref.isdigit() else f"alias @{ref}"
        raise ModelNotFoundError(
            f"model {name!r} has no {what}: see `workbench history {name}` or the registry."
        )
    return to_version(client, mv)


def registered_model(client: Any, name: str) -> Any:
    """The registry's ``RegisteredModel`` called ``name``.

    Raises:
        ModelNotFoundError: there is none (the message lists the names there are).
    """
    import mlflow

    try:
        return client.get_registered_model(name)
    except mlflow.exceptions.MlflowException as err:
        if unreachable(err):
            raise  # the server did not answer: not "no such model"
        known = ", ".join(m.name for m in client.search_registered_models(max_results=20))
        raise ModelNotFoundError(
            f"no registered model called {name!r} (known: {known or 'none yet'}): "
            "log one with workbench.log_model or check the name."
        ) from err


def to_version(client: Any, mv: Any) -> ModelVersion:
    """A :class:`ModelVersion` of the registry's version ``mv``, with its run's eval metrics.

    The task and the metric average come from the run (versions logged before they left the
    version's tags carry them there); no other run tag is taken: the gate reads only what the
    version itself says."""
    metrics: dict[str, float] = {}
    tags = dict(mv.tags or {})
    run_tags: dict[str, str] = {}
    if mv.run_id:
        try:
            run = client.get_run(mv.run_id)
            metrics = {k: v for k, v in run.data.metrics.items() if not k.startswith("train_")}
            run_tags = dict(run.data.tags or {})
        except Exception:
            metrics = {}
    if TAG.METRIC_AVERAGE not in tags and run_tags.get(TAG.METRIC_AVERAGE):
        tags[TAG.METRIC_AVERAGE] = run_tags[TAG.METRIC_AVERAGE]  # a display label, never judged
    return ModelVersion(
        name=mv.name,
        version=int(mv.version),
        model_uri=version_uri(mv.name, mv.version),
        run_id=mv.run_id,
        metrics=metrics,
        task=tags.get(TAG.TASK) or run_tags.get(TAG.TASK),
        aliases=sorted(getattr(mv, "aliases", []) or []),
        tags=tags,
    )


def register_version(
    name: str,
    logged_uri: str,
    run_id: str,
    alias: str | None,
    tags: dict[str, str],
    description: str | None,
) -> str:
    """Register ``logged_uri`` as a new version of ``name`` (creating the model when needed) and
    point ``alias`` at it.

    Returns:
        The new version number.

    Raises:
        RegistryError: the registry refused; a version whose alias could not be set is removed
            again, so nothing is left half-registered.
    """
    import mlflow

    client = mlflow_client()
    model_id = logged_uri.removeprefix("models:/") if _is_logged(logged_uri) else None

    def create_version():
        # await_creation_for=0: MLflow's wait logs "Waiting up to 300 seconds ..." even when the
        # version is READY at once (it is on MLflow's own stores); _ready waits when it is not.
        # many writers at once: MLflow's three tries at a free version number can all clash
        return retry_on_conflict(lambda: client.create_model_version(
            name, logged_uri, run_id=run_id, tags=tags, description=description,
            model_id=model_id, await_creation_for=0,
        ))  # fmt: skip

    try:
        try:
            mv = create_version()  # the usual case: the model exists (one round trip fewer)
        except mlflow.exceptions.MlflowException as err:
            if err.error_code not in ("RESOURCE_DOES_NOT_EXIST", "PERMISSION_DENIED"):  # auth: 403
                raise
            try:
                client.create_registered_model(name)
            except mlflow.exceptions.MlflowException as exists:
                if "already exists" not in str(exists):  # another process created it meanwhile
                    raise RegistryError(
                        f"cannot create registered model {name!r}: {exists}"
                    ) from exists
            mv = create_version()
        mv = _ready(client, mv)
    except RegistryError:
        raise
    except Exception as err:
        clash = " Other writers registered versions at the same moment: retry."
        raise RegistryError(
            f"registering a version of {name!r} failed: {err}." + (clash if conflict(err) else "")
        ) from err
    try:  # as mlflow.register_model does, the logged model lists its versions (a display link)
        alias_and_link(client, name, alias, mv.version, model_id)
    except Exception as err:
        client.delete_model_version(name, mv.version)  # no half-written entry
        raise RegistryError(
            f"pointing @{alias} at {name} version {mv.version} failed ({err}); "
            "the version was removed again."
        ) from err
    with contextlib.suppress(Exception):  # "Created by" is a display field: never fatal
        stamp_created_by(client, name, mv.version, user_name())
    return mv.version


def _ready(client: Any, mv: Any, timeout: float = 300.0) -> Any:
    """``mv`` once it left PENDING_REGISTRATION (at once on MLflow's own stores); a version
    that failed or stayed pending is deleted and reported."""
    import time

    deadline = time.monotonic() + timeout
    while mv.status == "PENDING_REGISTRATION" and time.monotonic() < deadline:
        time.sleep(0.5)
        mv = client.get_model_version(mv.name, mv.version)
    if mv.status != "READY":
        with contextlib.suppress(Exception):
            client.delete_model_version(mv.name, mv.version)
        raise RegistryError(
            f"version {mv.version} of {mv.name!r} did not become READY (status {mv.status}: "
            f"{mv.status_message or 'no message'}); it was removed. Log the model again."
        )
    return mv


def _is_logged(uri: str) -> bool:
    return parse_model_uri(uri).kind == "logged"
