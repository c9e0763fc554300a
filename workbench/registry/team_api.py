"""The client side of a workbench team server: is the store one, and ask it to promote, roll back,
run checks and set its policy.

A workbench team server is MLflow's tracking server run with the workbench's own server app
(:mod:`workbench.team.app`): it refuses moving a protected alias, writing the audit experiment and
the chain head through MLflow's ordinary REST API, and promotes, rolls back and runs the checks
that count itself, under its own signing key, for the login that asked. :func:`server_info` says
whether the current workspace's store is such a server (``GET /api/workbench/info``, asked once per
process and server); the gate, the audit and the checks route through :func:`call` when it is.

Errors come back as the workbench error the server raised (same class, same message), so a refusal
reads the same through the server as on a local store.

Example:
    >>> server_info() is None  # a local SQLite workspace is no team server  # doctest: +SKIP
    True
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from workbench import errors
from workbench.registry import keys
from workbench.workspace import current_workspace

__all__ = ["INFO_PATH", "allowed_signers", "call", "routed", "server_info", "server_signer"]

#: The app's routes (under the tracking server's address).
INFO_PATH = "/api/workbench/info"

_cache: dict[str, dict[str, Any] | None] = {}
_lock = threading.Lock()


def server_info() -> dict[str, Any] | None:
    """What the workspace's tracking server says of itself when it runs the workbench's app
    (signer, public key, protected aliases, policy); ``None`` for any other store.

    The server's key is pinned in the workspace's ``keys/`` on first sight (as ssh's
    ``known_hosts``): a server whose key later differs has its entries flagged.
    """
    ws = current_workspace()
    uri = ws.tracking_uri
    if not ws.shared or not uri.startswith(("http://", "https://")):
        return None
    with _lock:
        if uri in _cache:
            return _cache[uri]
    info, settled = _ask_info(uri)
    if info is not None:
        parsed = keys.parse_line(str(info.get("key") or ""))
        if parsed is None or parsed[1] != info.get("signer"):
            raise errors.RegistryError(
                f"the team server {uri} names no valid signing key ({info.get('key')!r}): ask its "
                "admin to run `workbench team up` again."
            )
        keys.pin(parsed[1], parsed[2], ws.root)
    if settled:  # a login the server refused is asked again once it is fixed
        with _lock:
            _cache[uri] = info
    return info


def routed() -> bool:
    """True when promote, rollback and the checks that count must go through the team server:
    the store is a workbench team server and this is not the server's own service process."""
    return not os.environ.get(keys.SIGN_AS_ENV, "").strip() and server_info() is not None


def server_signer() -> str | None:
    """The identity whose key must sign audit entries and check runs here: the team server's
    (``workbench-server``) on a workbench team server, else ``None`` (each user signs their own)."""
    info = server_info()
    return str(info["signer"]) if info else None


def allowed_signers(by: str) -> set[str]:
    """Whose key may sign an entry or a check run that names ``by``: the server's alone on a team
    server; ``by``'s own, or a team server's, elsewhere (a log copied off a team server)."""
    required = server_signer()
    return {required} if required else {by, keys.SERVER_SIGNER}


def call(
    path: str, payload: dict[str, Any], *, files: dict[str, Any] | None = None, timeout: float = 900
) -> dict[str, Any]:
    """POST ``payload`` to the team server's ``path`` as the logged-in user; the answer's JSON.

    Raises:
        WorkbenchError: the server's refusal, as the class it raised (``GateError``,
            ``PermissionDeniedError``, ``DataError``...), with its message.
        RegistryError: the server did not answer, or answered something else than JSON.
    """
    from mlflow.utils.rest_utils import http_request

    uri = current_workspace().tracking_uri
    kwargs: dict[str, Any] = (
        {"data": {"payload": json.dumps(payload)}, "files": files} if files else {"json": payload}
    )
    try:
        resp = http_request(
            _creds(uri),
            path,
            "POST",
            max_retries=0,
            timeout=timeout,
            raise_on_status=False,
            **kwargs,
        )
    except Exception as err:
        raise errors.RegistryError(
            f"the team server {uri} did not answer {path} ({type(err).__name__}: {err}); nothing "
            "was changed by this call unless `workbench history --verify` shows it. Retry once it "
            "answers."
        ) from err
    return _answer(resp, uri, path)


def _answer(resp: Any, uri: str, path: str) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code == 200 and isinstance(body, dict):
        return body
    if resp.status_code == 401:
        from workbench._core.text import tracking_login

        who = tracking_login()
        raise errors.PermissionDeniedError(
            f"the tracking server {uri} did not accept the login of "
            f"{repr(who) if who else 'an anonymous user'} (401 on {path}): set "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD."
        )
    if isinstance(body, dict) and body.get("message"):
        kind = getattr(errors, str(body.get("error_class") or ""), None)
        if not (isinstance(kind, type) and issubclass(kind, errors.WorkbenchError)):
            kind = errors.PermissionDeniedError if resp.status_code == 403 else errors.RegistryError
        message = str(body["message"])
        if message.startswith("refused user"):  # the server does not know the address you used
            message = f"the tracking server {uri} {message}"
        raise kind(message)
    raise errors.RegistryError(
        f"the team server {uri} answered {resp.status_code} to {path}: {resp.text[:300]}"
    )


def _ask_info(uri: str) -> tuple[dict[str, Any] | None, bool]:
    """The server's answer, and whether it settles the question for this process."""
    from mlflow.utils.rest_utils import http_request

    try:
        resp = http_request(
            _creds(uri), INFO_PATH, "GET", max_retries=0, timeout=30, raise_on_status=False
        )
    except Exception:
        return None, False  # unreachable: the step that needs the store says so in its words
    if resp.status_code != 200:  # 404: plain MLflow; 401/403: the login is wrong, said later
        return None, resp.status_code == 404
    try:
        info = resp.json()
    except ValueError:
        return None, True
    return (info if isinstance(info, dict) and info.get("app") == "workbench" else None), True


def _creds(uri: str) -> Any:
    from mlflow.utils.credentials import get_default_host_creds

    return get_default_host_creds(uri)
