"""What a workbench team server refuses through MLflow's ordinary REST API, to everyone.

MLflow's permissions cannot tell registering a version from moving an alias (both are EDIT on the
model), so the workbench's server app looks at each write request after MLflow's auth let it
through, and refuses (403) the ones only the server's own service may make:

==========================================  =======================================================
request                                     refused when
==========================================  =======================================================
set or delete a registered model alias      the alias is protected (``champion`` by default)
set or delete a registered model tag        the tag is the audit chain's head
create a version, set or delete its tag     a ``workbench.checks.*`` tag (the server's verdict)
delete a version                            a protected alias points at it
delete or rename a registered model         it has an audit chain or a protected alias
create or rename a registered model         to a name of the audit lock (``_workbench-audit-lock.``)
create or rename an experiment              to the audit's or the server checks' name
any write to an experiment, its runs        it is the audit experiment or the server's checks
(runs, tags, metrics, artifacts, deletes)   experiment
==========================================  =======================================================

The server's service user (the one the server's own promotions and checks run as) is not refused.
:func:`refusal` decides from the request and a :class:`Lookups` of the store; it says why in a
sentence that names what to use instead, or returns ``None``.

Example:
    >>> class Empty(Lookups):
    ...     pass
    >>> refusal("POST", "/api/2.0/mlflow/registered-models/alias",
    ...         {"name": "m", "alias": "champion", "version": "2"}, Empty(), ("champion",))[:45]
    'the workbench team server refuses to move the'
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from workbench._core.names import AUDIT_EXPERIMENT, AUDIT_HEAD_TAG, SERVER_CHECKS_EXPERIMENT
from workbench.registry.audit_lock import LOCK_PREFIX

__all__ = ["PROTECTED_EXPERIMENTS", "Lookups", "canonical_id", "endpoint_of", "refusal"]

#: Experiments only the server writes.
PROTECTED_EXPERIMENTS = (AUDIT_EXPERIMENT, SERVER_CHECKS_EXPERIMENT)
_CHECKS_TAGS = "workbench.checks."
_REST = re.compile(r"^/(?:ajax-)?api/[0-9.]+/mlflow/(.+?)/?$")
_ARTIFACTS = re.compile(r"^/(?:ajax-)?api/[0-9.]+/mlflow-artifacts/(?:artifacts|mpu/[a-z]+)/(.*)$")
_READS = ("search", "get", "list")  # POST endpoints that only read
_RESOURCES = ("logged-models", "traces")  # endpoints whose object id is in the path
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


class Lookups:
    """What the guard needs to know of the store; the server app answers from its own stores.

    Each method answers for what exists now; the defaults say "nothing", for tests.
    """

    def protected_experiment_ids(self) -> dict[str, str]:
        """Experiment id -> name, for the experiments of :data:`PROTECTED_EXPERIMENTS` that exist."""
        return {}

    def experiment_of_run(self, run_id: str) -> str | None:
        """The experiment id of run ``run_id`` (None: no such run)."""
        return None

    def experiment_of_resource(self, kind: str, resource_id: str) -> str | None:
        """The experiment id of a logged model or trace (``kind`` as in the path)."""
        return None

    def aliases(self, model: str) -> dict[str, str]:
        """Alias -> version of registered model ``model`` (empty: none, or no such model)."""
        return {}

    def has_chain(self, model: str) -> bool:
        """Whether registered model ``model`` carries an audit chain head."""
        return False


def endpoint_of(path: str) -> str | None:
    """The REST endpoint after ``/api/2.0/mlflow/`` (``registered-models/alias``), or None.

    Example:
        >>> endpoint_of("/ajax-api/2.0/mlflow/registered-models/alias")
        'registered-models/alias'
    """
    found = _REST.match(path)
    return found.group(1) if found else None


def canonical_id(value: Any) -> str:
    """An experiment id or a version number written one way: ``"03"``, ``" 3"``, ``"+3"`` and ``3``
    are all ``"3"``, as MLflow's SQL store reads them.

    Example:
        >>> canonical_id(" +03 ")
        '3'
    """
    text = str(value).strip()
    try:
        return str(int(text))
    except ValueError:
        return text


def refusal(
    method: str,
    path: str,
    params: Mapping[str, Any],
    store: Lookups,
    protected_aliases: Sequence[str],
) -> str | None:
    """Why the team server refuses this request (``None``: MLflow's own rules decide).

    Args:
        method: The HTTP method.
        path: The request path (decoded once, as the server routes it).
        params: The request's parameters (its JSON body, or its query string). Field names may be
            protobuf's JSON names (``experimentId``); ids may be written any way MLflow reads them.
        store: What exists in the store.
        protected_aliases: Aliases only the server moves.
    """
    if method in ("GET", "HEAD", "OPTIONS"):
        return None
    artifact = _ARTIFACTS.match(path)
    if artifact:
        return _artifact_refusal(artifact.group(1), store)
    endpoint = endpoint_of(path)
    if endpoint is None or endpoint.rsplit("/", 1)[-1].startswith(_READS):
        return None
    params = _snake(params)
    for rule in (_alias_rule, _model_rule, _version_rule, _experiment_rule, _run_rule):
        said = rule(endpoint, method, params, store, tuple(protected_aliases))
        if said:
            return said
    return None


def _alias_rule(endpoint, method, params, store, protected) -> str | None:
    if endpoint != "registered-models/alias":
        return None
    alias = str(params.get("alias") or "").strip()
    if alias.lower() not in {a.lower() for a in protected}:
        return None
    verb = "remove" if method == "DELETE" else "move"
    return (
        f"the workbench team server refuses to {verb} the protected alias @{alias} of "
        f"{_shown(params.get('name'))} through MLflow's API: promote or roll back with the "
        "workbench (`workbench promote` / `workbench rollback`, POST /api/workbench/promote), "
        "which runs the gate and records it."
    )


def _model_rule(endpoint, method, params, store, protected) -> str | None:
    name = str(params.get("name") or "")
    if endpoint in ("registered-models/set-tag", "registered-models/delete-tag"):
        if str(params.get("key") or "").strip() == AUDIT_HEAD_TAG:
            return (
                f"the workbench team server refuses writing the audit chain's head "
                f"({AUDIT_HEAD_TAG}) of {_shown(name)}: only its own promotions and rollbacks "
                "move it."
            )
        return None
    if endpoint in ("registered-models/create", "registered-models/rename"):
        new = str(params.get("new_name") if endpoint.endswith("rename") else name).strip()
        if new.startswith(LOCK_PREFIX):
            return (
                f"the workbench team server refuses the registered model name {_shown(new)}: "
                f"names starting with {LOCK_PREFIX!r} are its promotion locks."
            )
        if endpoint.endswith("create") and any(
            str(t.get("key", "")).strip() == AUDIT_HEAD_TAG for t in _tags(params)
        ):
            return f"the workbench team server refuses a new model carrying {AUDIT_HEAD_TAG}."
    if endpoint in ("registered-models/delete", "registered-models/rename"):
        held = _protected_held(store.aliases(name), protected)
        if held or store.has_chain(name):
            what = "delete" if endpoint.endswith("delete") else "rename"
            why = f"@{', @'.join(held)} points into it" if held else "it has an audit log"
            return (
                f"the workbench team server refuses to {what} the registered model "
                f"{_shown(name)}: {why}, which would be lost or orphaned. The server's admin can "
                "retire it."
            )
    return None


def _version_rule(endpoint, method, params, store, protected) -> str | None:
    name, version = str(params.get("name") or ""), canonical_id(params.get("version") or "")
    if endpoint in ("model-versions/set-tag", "model-versions/delete-tag"):
        if str(params.get("key") or "").strip().startswith(_CHECKS_TAGS):
            return _checks_tag_refusal(name, version)
    if endpoint == "model-versions/create":
        if any(str(t.get("key", "")).strip().startswith(_CHECKS_TAGS) for t in _tags(params)):
            return _checks_tag_refusal(name, "new")
    if endpoint == "model-versions/delete":
        held = [a for a, v in store.aliases(name).items() if canonical_id(v) == version]
        held = _protected_held(dict.fromkeys(held, version), protected)
        if held:
            return (
                f"the workbench team server refuses to delete {_shown(name)} version {version}: "
                f"the protected alias @{', @'.join(held)} points at it. Promote or roll back first."
            )
    return None


def _experiment_rule(endpoint, method, params, store, protected) -> str | None:
    if endpoint in ("experiments/create", "experiments/update"):
        new = str(params.get("new_name") if endpoint.endswith("update") else params.get("name"))
        wanted = {n.casefold() for n in PROTECTED_EXPERIMENTS}
        if new.strip().casefold() in wanted:
            return _experiment_refusal(new.strip())
    ids = store.protected_experiment_ids()
    if not ids:
        return None
    for experiment_id in _experiment_ids(params):
        if experiment_id in ids:
            return _experiment_refusal(ids[experiment_id])
    parts = endpoint.split("/")
    if len(parts) > 1 and parts[0] in _RESOURCES:  # logged-models/<id>/tags, traces/<id>/...
        owner = store.experiment_of_resource(parts[0], parts[1])
        if owner is not None and canonical_id(owner) in ids:
            return _experiment_refusal(ids[canonical_id(owner)])
    return None


def _run_rule(endpoint, method, params, store, protected) -> str | None:
    run_id = str(params.get("run_id") or params.get("run_uuid") or "").strip()
    if not run_id:
        return None
    ids = store.protected_experiment_ids()
    if not ids:
        return None
    experiment_id = store.experiment_of_run(run_id)
    if experiment_id is not None and canonical_id(experiment_id) in ids:
        return _experiment_refusal(ids[canonical_id(experiment_id)])
    return None


def _artifact_refusal(artifact_path: str, store: Lookups) -> str | None:
    """Refused when the path, decoded as often as MLflow decodes it, lies in a protected
    experiment's folder (``[workspaces/<name>/]<experiment id>/...``)."""
    path = artifact_path
    for _ in range(5):  # MLflow's path check decodes until nothing changes
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    parts = [p for p in posixpath.normpath("/" + path).split("/") if p not in ("", ".")]
    if len(parts) > 2 and parts[0] == "workspaces":
        parts = parts[2:]
    if not parts:
        return None
    ids = store.protected_experiment_ids()
    if canonical_id(parts[0]) in ids:
        return (
            "the workbench team server refuses writing artifacts of its audit or server-checks "
            "experiment: only the server writes them."
        )
    return None


def _experiment_refusal(name: str) -> str:
    what = "audit log" if name == AUDIT_EXPERIMENT else "checks the server ran"
    return (
        f"the workbench team server refuses writes to the experiment {name!r} (the {what}) "
        "through MLflow's API: only the server writes it (promote, roll back and check with the "
        "workbench)."
    )


def _checks_tag_refusal(name: str, version: str) -> str:
    return (
        f"the workbench team server refuses setting {_CHECKS_TAGS}* tags on {_shown(name)} "
        f"version {version}: the verdict that counts is the server's (`workbench check` runs the "
        "suite there)."
    )


def _experiment_ids(value: Any) -> set[str]:
    """Every experiment id named anywhere in a request (nested, in lists), written one way."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("experiment_id", "experiment_ids"):
                items = item if isinstance(item, list) else [item]
                found.update(canonical_id(i) for i in items if not isinstance(i, (dict, list)))
            found |= _experiment_ids(item)
    elif isinstance(value, list):
        for item in value:
            found |= _experiment_ids(item)
    return found


def _snake(value: Any) -> Any:
    """Protobuf's JSON names (``experimentId``) as field names (``experiment_id``), all levels."""
    if isinstance(value, Mapping):
        return {_CAMEL.sub(r"_\1", str(k)).lower(): _snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake(v) for v in value]
    return value


def _protected_held(aliases: Mapping[str, Any], protected: Sequence[str]) -> list[str]:
    wanted = {a.lower() for a in protected}
    return sorted(a for a in aliases if a.lower() in wanted)


def _tags(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    tags = params.get("tags") or []
    return [t for t in tags if isinstance(t, dict)] if isinstance(tags, list) else []


def _shown(name: Any) -> str:
    text = str(name)
    return repr(text if len(text) <= 200 else text[:200] + "...")
