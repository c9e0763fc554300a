"""The team server's policy, set by its admin: approvers, protected aliases, the gate's bars.

The policy that counts on a team server lives on the server (``team/service/gate_policy.json`` and
``team_settings.json``), not in a client's folder: ``workbench team policy`` reads it (anyone
logged in) or changes it (the admin) through ``/api/workbench/policy``. On the machine that runs the
server the admin's password is read from ``team/credentials.json``; elsewhere the login is
``MLFLOW_TRACKING_USERNAME``/``PASSWORD``.

A class's learners (``workbench class up``, role ``learners`` in :mod:`workbench.team.access`)
promote under the same rules. The server's promote endpoint asks for EDIT on the model, and a
learner holds it only on what they created: their own ``<login>.*`` models, reserved for them by
``class up``. With the default policy (no approvers) a learner may therefore promote their own
model and no one else's; the gate, the audit chain and the protected aliases are unchanged. A
policy that names approvers refuses learners as it refuses everyone else not named (keep
``approvers`` empty on a class's server, or name the learners).

Example:
    >>> team_policy("/tmp/ws", approvers=["approver"])  # doctest: +SKIP
    {'policy': {...'approvers': ['approver']...}, 'settings': {'protected_aliases': ['champion'], ...}}
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from workbench.team.state import TeamError, TeamPaths, read_json

__all__ = ["team_policy"]


def team_policy(
    root: str | os.PathLike,
    *,
    approvers: list[str] | None = None,
    protected_aliases: list[str] | None = None,
    gate_policy_file: str | os.PathLike | None = None,
    check_timeout: float | None = None,
) -> dict[str, Any]:
    """Show the team server's policy, or change it (as its admin) when anything is given.

    Args:
        root: The workspace whose team server it is (or any workspace, with
            ``MLFLOW_TRACKING_URI`` pointing at the server).
        approvers: Who may promote and roll back (empty list: anyone with EDIT on the model).
        protected_aliases: Aliases only the gate moves (``["champion"]`` by default).
        gate_policy_file: A ``gate_policy.json`` whose bars, required checks and approvers the
            server adopts (validated as the gate reads it).
        check_timeout: Seconds a server-run suite may take.

    Returns:
        ``{"policy": ..., "settings": ...}`` as the server holds them now.

    Raises:
        TeamError: no team server is known here, the file does not read, or the server refused
            (the message says why: not the admin, an invalid policy).
    """
    import requests

    url, auth = _server(root)
    change: dict[str, Any] = {}
    if gate_policy_file is not None:
        try:
            change["gate_policy"] = json.loads(Path(gate_policy_file).read_text())
        except (OSError, ValueError) as err:
            raise TeamError(f"the gate policy {gate_policy_file} does not read: {err}") from err
    for key, value in (
        ("approvers", approvers),
        ("protected_aliases", protected_aliases),
        ("check_timeout", check_timeout),
    ):
        if value is not None:
            change[key] = value
    try:
        if change:
            resp = requests.post(f"{url}/api/workbench/policy", json=change, auth=auth, timeout=60)
        else:
            resp = requests.get(f"{url}/api/workbench/policy", auth=auth, timeout=60)
    except requests.RequestException as err:
        raise TeamError(f"the team server {url} did not answer: {err}") from err
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code != 200:
        said = body.get("message") if isinstance(body, dict) else None
        raise TeamError(
            f"the team server {url} refused the policy ({resp.status_code}): "
            f"{said or resp.text[:300]}"
        )
    if "settings" not in body:  # a read: the info route
        body = {
            "policy": body.get("policy"),
            "settings": {"protected_aliases": body.get("protected_aliases")},
        }
    return body


def _server(root: str | os.PathLike) -> tuple[str, tuple[str, str] | None]:
    """The server's address and the login to use: the admin's on the server's own machine."""
    paths = TeamPaths.under(root)
    state = read_json(paths.state) if paths.root.exists() else {}
    url = os.environ.get("MLFLOW_TRACKING_URI", "") if not state else state.get("tracking_uri", "")
    if not url.startswith(("http://", "https://")):
        raise TeamError(
            f"no team server here: {paths.root} has no state.json and MLFLOW_TRACKING_URI is not "
            "a server. Run `workbench team up` first, or point MLFLOW_TRACKING_URI at the server."
        )
    creds = read_json(paths.credentials) if paths.root.exists() else {}
    if creds.get("admin"):
        return url.rstrip("/"), ("admin", creds["admin"])
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    return url.rstrip("/"), (user, password) if user and password else None
