"""The team's users and what MLflow lets each of them do, set through MLflow's auth REST API.

The server runs with ``default_permission = NO_PERMISSIONS`` and workspaces enabled (everything lives
in the ``default`` workspace), so a user can do only what a role grants:

============  =====================================================================================
role          grants (workspace ``default``)
============  =====================================================================================
viewers       READ on every experiment and registered model; no workspace grant, so no creating
scientists    USE on the workspace (create experiments and models) + EDIT on every experiment and
              registered model (log runs, register versions, set aliases; not delete, not grant)
approvers     the same as scientists: MLflow needs *update* on a model both to register a version and
              to move an alias, so it cannot tell them apart; the workbench's gate policy does
learners      USE on the workspace only (``workbench class up``): each creates, and so MANAGEs, only
              their own experiments and models; everyone else's are invisible and unwritable to
              them. Plus READ on the audit experiment (by id), so ``history`` works
============  =====================================================================================

The admin (from ``basic_auth.ini``) bypasses every check. The creator of an experiment or model gets
MANAGE on it (MLflow's own rule): ``class up`` creates each learner's experiment and model
(``<login>.credit-risk``, ``lesson/<login>``) *as that learner*, so the names are theirs before
anyone else could take them. The server's promote endpoint asks for EDIT on the model, which a
learner holds on their own models only; with the default policy (no approvers) that lets a learner
promote their own model and nobody else's (see :mod:`workbench.team.policy` when approvers are set).

Example:
    >>> ROLES["viewers"][0]
    ('experiment', 'READ')
"""

from __future__ import annotations

from workbench.team.state import TeamError

__all__ = [
    "LEARNER_ROLE",
    "ROLES",
    "USER_ROLES",
    "WORKSPACE",
    "assign_role",
    "create_experiments",
    "create_service_user",
    "create_user",
    "grant_read",
    "grant_read_by_name",
    "grant_roles",
    "reserve",
    "set_password",
    "user_exists",
]

WORKSPACE = "default"

#: role -> (resource type, permission) pairs, each on resource pattern ``*``.
ROLES: dict[str, list[tuple[str, str]]] = {
    "viewers": [("experiment", "READ"), ("registered_model", "READ")],
    "scientists": [("workspace", "USE"), ("experiment", "EDIT"), ("registered_model", "EDIT")],
    "approvers": [("workspace", "USE"), ("experiment", "EDIT"), ("registered_model", "EDIT")],
    "learners": [("workspace", "USE")],
}
#: The role of a class's learners (``workbench class up``).
LEARNER_ROLE = "learners"

#: user -> role (the admin needs none).
USER_ROLES: dict[str, str] = {
    "ds1": "scientists",
    "ds2": "scientists",
    "approver": "approvers",
    "viewer": "viewers",
}

_PREFIX = "team-"


def _api(url: str, admin: tuple[str, str], method: str, path: str, **kwargs) -> dict:
    import requests

    resp = requests.request(method, f"{url}{path}", auth=admin, timeout=30, **kwargs)
    if not resp.ok:
        raise TeamError(
            f"MLflow's auth API refused {method} {path} ({resp.status_code}): {resp.text[:300]}"
        )
    return resp.json() if resp.content else {}


def create_user(url: str, admin: tuple[str, str], username: str, password: str) -> bool:
    """Create ``username`` through the auth API; False when it already exists."""
    import requests

    resp = requests.post(
        f"{url}/api/2.0/mlflow/users/create",
        json={"username": username, "password": password},
        auth=admin,
        timeout=30,
    )
    if resp.ok:
        return True
    if "RESOURCE_ALREADY_EXISTS" in resp.text or "already exists" in resp.text:
        return False
    raise TeamError(
        f"creating the MLflow user {username!r} failed ({resp.status_code}): {resp.text[:300]}"
    )


def create_service_user(url: str, admin: tuple[str, str], username: str, password: str) -> None:
    """Create the server's service user (once) as an MLflow admin: the server's own promotions
    and checks run as it, and the workbench's guard lets only it write what the gate owns."""
    if not create_user(url, admin, username, password):
        _api(
            url, admin, "PATCH", "/api/2.0/mlflow/users/update-password",
            json={"username": username, "password": password},
        )  # fmt: skip
    _api(
        url, admin, "PATCH", "/api/2.0/mlflow/users/update-admin",
        json={"username": username, "is_admin": True},
    )  # fmt: skip


def create_experiments(url: str, service: tuple[str, str], names: tuple[str, ...]) -> None:
    """Create the experiments only the server writes (once, as its service user), so that they
    exist, under their ids, before anyone else could ask for their names."""
    import requests

    for name in names:
        resp = requests.post(
            f"{url}/api/2.0/mlflow/experiments/create",
            json={"name": name},
            auth=service,
            timeout=30,
        )
        if not resp.ok and "RESOURCE_ALREADY_EXISTS" not in resp.text:
            raise TeamError(
                f"creating the experiment {name!r} failed ({resp.status_code}): {resp.text[:300]}"
            )


def grant_roles(url: str, admin: tuple[str, str]) -> dict[str, str]:
    """Create the team's roles (once), give them their grants and assign each user; idempotent.

    Returns:
        user -> role name on the server.
    """
    listed = _api(url, admin, "GET", "/api/3.0/mlflow/roles/list", params={"workspace": WORKSPACE})
    roles = {r["name"]: r for r in listed.get("roles", [])}
    ids: dict[str, int] = {}
    for role, grants in ROLES.items():
        name = _PREFIX + role
        found = roles.get(name)
        if found is None:
            found = _api(
                url, admin, "POST", "/api/3.0/mlflow/roles/create",
                json={"name": name, "workspace": WORKSPACE, "description": f"workbench team {role}"},
            )["role"]  # fmt: skip
        ids[role] = int(found["id"])
        have = {(p["resource_type"], p["resource_pattern"]) for p in found.get("permissions") or []}
        for resource_type, permission in grants:
            if (resource_type, "*") in have:
                continue
            _api(
                url, admin, "POST", "/api/3.0/mlflow/roles/permissions/add",
                json={"role_id": ids[role], "resource_type": resource_type,
                      "resource_pattern": "*", "permission": permission},
            )  # fmt: skip
    for user, role in USER_ROLES.items():
        mine = _api(
            url, admin, "GET", "/api/3.0/mlflow/users/roles/list", params={"username": user}
        )
        if any(int(r.get("id", -1)) == ids[role] for r in mine.get("roles", [])):
            continue
        _api(
            url, admin, "POST", "/api/3.0/mlflow/roles/assign",
            json={"role_id": ids[role], "username": user},
        )  # fmt: skip
    return {user: _PREFIX + role for user, role in USER_ROLES.items()}


def user_exists(url: str, admin: tuple[str, str], username: str) -> bool:
    """Whether the server has a user ``username``."""
    import requests

    resp = requests.get(
        f"{url}/api/2.0/mlflow/users/get", params={"username": username}, auth=admin, timeout=30
    )
    if resp.status_code == 404 or "RESOURCE_DOES_NOT_EXIST" in resp.text:
        return False
    if not resp.ok:
        raise TeamError(f"looking up the MLflow user {username!r} failed ({resp.status_code})")
    return True


def set_password(url: str, admin: tuple[str, str], username: str, password: str) -> None:
    """Set ``username``'s password (the admin may)."""
    _api(
        url, admin, "PATCH", "/api/2.0/mlflow/users/update-password",
        json={"username": username, "password": password},
    )  # fmt: skip


def assign_role(url: str, admin: tuple[str, str], username: str, role: str) -> None:
    """Give ``username`` the team role ``role`` (a key of :data:`ROLES`), once; the roles are
    created first when the server does not have them yet (a server started by an older version).
    """
    role_id = _role_id(url, admin, role)
    mine = _api(
        url, admin, "GET", "/api/3.0/mlflow/users/roles/list", params={"username": username}
    )
    if any(int(r.get("id", -1)) == role_id for r in mine.get("roles", [])):
        return
    _api(
        url, admin, "POST", "/api/3.0/mlflow/roles/assign",
        json={"role_id": role_id, "username": username},
    )  # fmt: skip


def grant_read(
    url: str, admin: tuple[str, str], role: str, resource_type: str, resource_id: str
) -> None:
    """Give team role ``role`` READ on one resource (an experiment id, a model name), once."""
    role_id = _role_id(url, admin, role)
    found = _api(url, admin, "GET", "/api/3.0/mlflow/roles/get", params={"role_id": role_id})
    have = {
        (p["resource_type"], p["resource_pattern"])
        for p in (found.get("role") or {}).get("permissions") or []
    }
    if (resource_type, str(resource_id)) in have:
        return
    _api(
        url, admin, "POST", "/api/3.0/mlflow/roles/permissions/add",
        json={"role_id": role_id, "resource_type": resource_type,
              "resource_pattern": str(resource_id), "permission": "READ"},
    )  # fmt: skip


def grant_read_by_name(url: str, admin: tuple[str, str], role: str, experiment: str) -> None:
    """Give team role ``role`` READ on the experiment named ``experiment``, when it exists."""
    import requests

    resp = requests.get(
        f"{url}/api/2.0/mlflow/experiments/get-by-name",
        params={"experiment_name": experiment},
        auth=admin,
        timeout=30,
    )
    if resp.ok:
        grant_read(url, admin, role, "experiment", resp.json()["experiment"]["experiment_id"])


def reserve(
    url: str, login: tuple[str, str], experiments: tuple[str, ...], models: tuple[str, ...]
) -> list[str]:
    """Create ``experiments`` and registered ``models`` as ``login`` (who then MANAGEs them), each
    unless it exists; returns the names that exist but ``login`` cannot read (someone else's)."""
    import requests

    from workbench.workspace import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG

    taken = []
    for kind, names in (("experiments", experiments), ("registered-models", models)):
        for name in names:
            body = {"name": name}
            if kind == "experiments":
                body["tags"] = [{"key": EXPERIMENT_KIND_TAG, "value": EXPERIMENT_KIND}]
            resp = requests.post(
                f"{url}/api/2.0/mlflow/{kind}/create", json=body, auth=login, timeout=30
            )
            if resp.ok:
                continue
            if "RESOURCE_ALREADY_EXISTS" not in resp.text:
                raise TeamError(
                    f"creating {name!r} as {login[0]!r} failed ({resp.status_code}): "
                    f"{resp.text[:300]}"
                )
            path = "experiments/get-by-name" if kind == "experiments" else f"{kind}/get"
            seen = requests.get(
                f"{url}/api/2.0/mlflow/{path}",
                params={"experiment_name" if kind == "experiments" else "name": name},
                auth=login,
                timeout=30,
            )
            if not seen.ok:
                taken.append(name)
    return taken


def _role_id(url: str, admin: tuple[str, str], role: str) -> int:
    for attempt in range(2):
        listed = _api(
            url, admin, "GET", "/api/3.0/mlflow/roles/list", params={"workspace": WORKSPACE}
        )
        for found in listed.get("roles", []):
            if found["name"] == _PREFIX + role:
                return int(found["id"])
        if attempt == 0:
            grant_roles(url, admin)  # a server started before this role existed
    raise TeamError(f"the team server has no role {_PREFIX + role!r}, and creating it failed")
