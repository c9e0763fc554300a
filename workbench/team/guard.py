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

import re
from collections.abc import Mapping, Sequence
from typing import Any

from workbench._core.names import AUDIT_EXPERIMENT, AUDIT_HEAD_TAG, SERVER_CHECKS_EXPERIMENT
from workbench.registry.audit_lock import LOCK_PREFIX

__all__ = ["PROTECTED_EXPERIMENTS", "Lookups", "endpoint_of", "refusal"]

#: Experiments only the server writes.
PROTECTED_EXPERIMENTS = (AUDIT_EXPERIMENT, SERVER_CHECKS_EXPERIMENT)
_CHECKS_TAGS = "workbench.checks."
_REST = re.compile(r"^/(?:ajax-)?api/[0-9.]+/mlflow/(.+?)/?$")
_ARTIFACTS = re.compile(r"^/(?:ajax-)?api/[0-9.]+/mlflow-artifacts/(?:artifacts|mpu/[a-z]+)/(.*)$")
_READS = ("search", "get", "list")  # POST endpoints that only read


class Lookups:
    """What the guard needs to know of the store; the server app answers from its own stores.

    Each method answers for what exists now; the defaults say "nothing", for tests.
    """

    def protected_experiment_ids(self) -> dict[str, str]:
        """Experiment id -> name, for the experiments of :data:`PROTECTED_EXPERIMENTS` that exist."""
        return {}

    def protected_artifact_prefixes(self) -> list[str]:
        """Artifact paths (below ``mlflow-artifacts:/``) of those experiments."""
        return []

    def experiment_of_run(self, run_id: str) -> str | None:
        """The experiment id of run ``run_id`` (None: no such run)."""
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
        path: The request path.
        params: The request's JSON body and query parameters, merged.
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
    for rule in (_alias_rule, _model_rule, _version_rule, _experiment_rule, _run_rule):
        said = rule(endpoint, method, params, store, tuple(protected_aliases))
        if said:
            return said
    return None


def _alias_rule(endpoint, method, params, store, protected) -> str | None:
    if endpoint != "registered-models/alias":
        return None
    alias = str(params.get("alias") or "")
    if alias.lower() not in {a.lower() for a in protected}:
        return None
    verb = "remove" if method == "DELETE" else "move"
    return (
        f"the workbench team server refuses to {verb} the protected alias @{alias} of "
        f"{params.get('name')!r} through MLflow's API: promote or roll back with the workbench "
        "(`workbench promote` / `workbench rollback`, POST /api/workbench/promote), which runs the "
        "gate and records it."
    )


def _model_rule(endpoint, method, params, store, protected) -> str | None:
    name = str(params.get("name") or "")
    if endpoint in ("registered-models/set-tag", "registered-models/delete-tag"):
        if params.get("key") == AUDIT_HEAD_TAG:
            return (
                f"the workbench team server refuses writing the audit chain's head "
                f"({AUDIT_HEAD_TAG}) of {name!r}: only its own promotions and rollbacks move it."
            )
        return None
    if endpoint in ("registered-models/create", "registered-models/rename"):
        new = str(params.get("new_name") if endpoint.endswith("rename") else name)
        if new.startswith(LOCK_PREFIX):
            return (
                f"the workbench team server refuses the registered model name {new!r}: names "
                f"starting with {LOCK_PREFIX!r} are its promotion locks."
            )
        if endpoint.endswith("create") and any(
            str(t.get("key", "")) == AUDIT_HEAD_TAG for t in _tags(params)
        ):
            return f"the workbench team server refuses a new model carrying {AUDIT_HEAD_TAG}."
    if endpoint in ("registered-models/delete", "registered-models/rename"):
        held = _protected_held(store.aliases(name), protected)
        if held or store.has_chain(name):
            what = "delete" if endpoint.endswith("delete") else "rename"
            why = f"@{', @'.join(held)} points into it" if held else "it has an audit log"
            return (
                f"the workbench team server refuses to {what} the registered model {name!r}: "
                f"{why}, which would be lost or orphaned. The server's admin can retire it."
            )
    return None


def _version_rule(endpoint, method, params, store, protected) -> str | None:
    name, version = str(params.get("name") or ""), str(params.get("version") or "")
    if endpoint in ("model-versions/set-tag", "model-versions/delete-tag"):
        if str(params.get("key") or "").startswith(_CHECKS_TAGS):
            return _checks_tag_refusal(name, version)
    if endpoint == "model-versions/create":
        if any(str(t.get("key", "")).startswith(_CHECKS_TAGS) for t in _tags(params)):
            return _checks_tag_refusal(name, "new")
    if endpoint == "model-versions/delete":
        held = [a for a, v in store.aliases(name).items() if str(v) == version]
        held = _protected_held(dict.fromkeys(held, version), protected)
        if held:
            return (
                f"the workbench team server refuses to delete {name!r} version {version}: the "
                f"protected alias @{', @'.join(held)} points at it. Promote or roll back first."
            )
    return None


def _experiment_rule(endpoint, method, params, store, protected) -> str | None:
    if endpoint in ("experiments/create", "experiments/update"):
        new = str(params.get("name") or params.get("new_name") or "")
        if new in PROTECTED_EXPERIMENTS and endpoint.endswith("create"):
            return _experiment_refusal(new)
        if new in PROTECTED_EXPERIMENTS:
            return _experiment_refusal(new)
    experiment_id = str(params.get("experiment_id") or "")
    ids = store.protected_experiment_ids() if experiment_id else {}
    if experiment_id in ids:
        return _experiment_refusal(ids[experiment_id])
    return None


def _run_rule(endpoint, method, params, store, protected) -> str | None:
    run_id = str(params.get("run_id") or params.get("run_uuid") or "")
    if not run_id:
        return None
    ids = store.protected_experiment_ids()
    if not ids:
        return None
    experiment_id = store.experiment_of_run(run_id)
    if experiment_id in ids:
        return _experiment_refusal(ids[experiment_id])
    return None


def _artifact_refusal(artifact_path: str, store: Lookups) -> str | None:
    path = artifact_path.lstrip("/")
    for prefix in store.protected_artifact_prefixes():
        prefix = prefix.strip("/")
        if prefix and (path == prefix or path.startswith(prefix + "/")):
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
        f"the workbench team server refuses setting {_CHECKS_TAGS}* tags on {name!r} version "
        f"{version}: the verdict that counts is the server's (`workbench check` runs the suite "
        "there)."
    )


def _protected_held(aliases: Mapping[str, Any], protected: Sequence[str]) -> list[str]:
    wanted = {a.lower() for a in protected}
    return sorted(a for a in aliases if a.lower() in wanted)


def _tags(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    tags = params.get("tags") or []
    return [t for t in tags if isinstance(t, dict)] if isinstance(tags, list) else []
