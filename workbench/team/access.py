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
============  =====================================================================================

The admin (from ``basic_auth.ini``) bypasses every check. The creator of an experiment or model gets
MANAGE on it (MLflow's own rule).

Example:
    >>> ROLES["viewers"][0]
    ('experiment', 'READ')
"""

from __future__ import annotations

from workbench.team.state import TeamError

__all__ = [
    "ROLES",
    "USER_ROLES",
    "WORKSPACE",
    "create_experiments",
    "create_service_user",
    "create_user",
    "grant_roles",
]

WORKSPACE = "default"

#: role -> (resource type, permission) pairs, each on resource pattern ``*``.
ROLES: dict[str, list[tuple[str, str]]] = {
    "viewers": [("experiment", "READ"), ("registered_model", "READ")],
    "scientists": [("workspace", "USE"), ("experiment", "EDIT"), ("registered_model", "EDIT")],
    "approvers": [("workspace", "USE"), ("experiment", "EDIT"), ("registered_model", "EDIT")],
}

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
