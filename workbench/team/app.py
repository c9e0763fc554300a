"""The workbench's own MLflow server app: MLflow's basic-auth app plus the gate, on the server.

Registered under MLflow's ``mlflow.app`` entry-point group as ``workbench``, so ``mlflow server
--app-name workbench`` runs it (``workbench team up`` does). On top of MLflow's authentication and
permissions it:

* refuses, to everyone, the writes only the server may make through MLflow's ordinary REST API
  (:mod:`workbench.team.guard`: protected aliases, the audit experiment, the chain head, the
  server's check runs and the version tags of their verdict);
* serves ``/api/workbench/...``:

  ====================  ==================================================================
  route                 what
  ====================  ==================================================================
  ``GET info``          the server's signer and public key, protected aliases, policy
  ``POST promote``      promote as the login (approvers, gate, signed entry, alias: one step)
  ``POST rollback``     roll back as the login, the same way
  ``POST check``        run the suite on an uploaded eval table; the run that counts
  ``GET|POST policy``   read (anyone logged in) or set (the admin) the server's policy
  ====================  ==================================================================

Promote, rollback and check run in a warm service process (:mod:`workbench.team.service`, kept by
:mod:`workbench.team.worker`) as the server's service user, signing with the server's key, one
promotion at a time (a file lock across the server's workers), with a time limit. The server's files come from ``$WORKBENCH_TEAM_DIR``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from workbench.registry import keys
from workbench.team.app_guard import SERVICE_USER, guard_asgi, guard_flask
from workbench.team.state import TeamPaths, read_json
from workbench.team.worker import ServiceWorker

__all__ = ["SERVICE_USER", "TEAM_DIR_ENV", "TEAM_URL_ENV", "create_app", "settings"]

#: The environment variable that tells the app where its team folder is.
TEAM_DIR_ENV = "WORKBENCH_TEAM_DIR"
#: The environment variable with the server's own address (its service processes call it).
TEAM_URL_ENV = "WORKBENCH_TEAM_URL"
#: Defaults of what ``workbench team policy`` sets besides the gate policy.
DEFAULT_SETTINGS: dict[str, Any] = {"protected_aliases": ["champion"], "check_timeout": 900}
#: The largest eval table a check request may upload.
MAX_UPLOAD = 512 * 1024 * 1024
#: Seconds a promotion or rollback may take in the service process.
ACTION_TIMEOUT = 300

_PREFIX = "/api/workbench"
_STATUS = {
    "GateError": 409,
    "ConflictError": 409,
    "PermissionDeniedError": 403,
    "ModelNotFoundError": 404,
    "DataError": 400,
    "UsageError": 400,
    "MissingColumnError": 400,
    "UnsafeModelError": 400,
    "ArtifactChangedError": 409,
}


def create_app(app: Any = None) -> Any:
    """MLflow's server app with basic auth, the workbench's guard and its routes (the factory
    ``mlflow server --app-name workbench`` calls)."""
    from mlflow.server import app as flask_app
    from mlflow.server import auth

    flask_app = app or flask_app
    routes = [
        ("info", _info, ["GET"]),
        ("promote", _promote, ["POST"]),
        ("rollback", _rollback, ["POST"]),
        ("check", _check, ["POST"]),
        ("policy", _policy, ["GET", "POST"]),
    ]
    for name, view, methods in routes:
        path = f"{_PREFIX}/{name}"
        flask_app.add_url_rule(path, endpoint=f"workbench_{name}", view_func=view, methods=methods)
        for method in methods:  # any logged-in user reaches the view; the view decides
            auth.BEFORE_REQUEST_VALIDATORS[(path, method)] = lambda: True
    flask_app.config["MAX_CONTENT_LENGTH"] = max(
        flask_app.config.get("MAX_CONTENT_LENGTH") or 0, MAX_UPLOAD
    )
    served = auth.create_app(flask_app)
    flask_app.before_request(guard_flask)  # after auth's: the user is known
    if hasattr(served, "middleware"):  # uvicorn: artifact uploads and OTel traces bypass Flask
        served.middleware("http")(guard_asgi)
    return served


_settings_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def settings(paths: TeamPaths | None = None) -> dict[str, Any]:
    """The server's settings: protected aliases and the checks' time limit (read again when the
    file changes)."""
    paths = paths or _paths()
    try:
        stamp = paths.settings.stat().st_mtime_ns
    except OSError:
        stamp = -1
    cached = _settings_cache.get(str(paths.settings))
    if cached is None or cached[0] != stamp:
        cached = (stamp, {**DEFAULT_SETTINGS, **read_json(paths.settings)})
        _settings_cache[str(paths.settings)] = cached
    return dict(cached[1])


# --------------------------------------------------------------------------- the routes


def _info() -> Any:
    from workbench._core.text import VERSION
    from workbench.registry.policy import gate_policy

    paths = _paths()
    public = keys.public_key(keys.SERVER_SIGNER, paths.keys)
    policy = gate_policy(paths.service)
    return _json(
        {
            "app": "workbench",
            "version": VERSION,
            "signer": keys.SERVER_SIGNER,
            "key": keys.line_of(keys.SERVER_SIGNER, public),
            "user": _user(),
            "protected_aliases": settings(paths)["protected_aliases"],
            "policy": policy.to_dict(),
            "policy_hash": policy.hash,
        }
    )


def _promote() -> Any:
    return _act("promote")


def _rollback() -> Any:
    return _act("rollback")


def _act(action: str) -> Any:
    from flask import request

    payload = request.get_json(silent=True)
    problem = _bad_action(payload, action)
    if problem:
        return _error("DataError", problem, 400)
    refused = _may_edit(payload["name"], action)
    if refused is not None:
        return refused
    paths = _paths()
    with _server_lock(paths, "promote"):
        return _run_service(action, {"payload": payload, "user": _user()}, ACTION_TIMEOUT)


def _check() -> Any:
    from flask import request

    size = request.content_length
    if size is None or size > MAX_UPLOAD:
        return _error(
            "DataError",
            f"check needs an upload with a Content-Length of at most {MAX_UPLOAD >> 20} MB "
            f"(this one: {'none' if size is None else f'{size >> 20} MB'}): send a sample.",
            413 if size else 411,
        )
    try:
        payload = json.loads(request.form.get("payload") or "{}")
    except ValueError:
        payload = None
    upload = request.files.get("data")
    if not isinstance(payload, dict) or upload is None:
        return _error("DataError", "check needs a JSON 'payload' field and a 'data' file", 400)
    from workbench._core.refs import parse_model_uri

    ref = parse_model_uri(str(payload.get("model_uri") or ""))
    if ref.kind not in ("version", "alias") or not ref.name:
        return _error(
            "DataError",
            f"the team server checks registered versions (models:/NAME/N or models:/NAME@ALIAS), "
            f"not {ref.uri[:200]!r}",
            400,
        )
    if payload.get("allow_pickle"):
        return _error(
            "UnsafeModelError",
            "the team server never loads a model whose format can run code when loaded (pickle, "
            "untrusted skops types): log the model with the workbench (skops) and check it again.",
            400,
        )
    name = ref.name
    refused = _may_edit(name, "check")
    if refused is not None:
        return refused
    limit = float(settings()["check_timeout"])
    with tempfile.TemporaryDirectory(prefix="wb-server-check-") as tmp:
        path = Path(tmp) / "eval.parquet"
        upload.save(path)
        with open(path, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        job = {"payload": payload, "user": _user(), "data": str(path), "data_sha256": digest}
        return _run_service("check", job, limit)


def _policy() -> Any:
    from flask import request

    if request.method == "GET":
        return _info()
    if not _is_admin():
        return _error(
            "PermissionDeniedError",
            f"only the server's admin sets the team policy ({_user()!r} is not an admin)",
            403,
        )
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return _error("DataError", "policy needs a JSON body", 400)
    from workbench.errors import WorkbenchError
    from workbench.team.service import set_policy

    try:
        with _server_lock(_paths(), "promote"):  # never under a promotion in flight
            return _json(set_policy(_paths().service, payload))
    except WorkbenchError as err:
        return _error(type(err).__name__, str(err), _STATUS.get(type(err).__name__, 400))
    except (TypeError, ValueError) as err:
        return _error("DataError", f"the policy does not read: {err}", 400)


# --------------------------------------------------------------------------- helpers


_workers: dict[str, ServiceWorker] = {}
_workers_lock = threading.Lock()


def _run_service(action: str, job: dict[str, Any], timeout: float) -> Any:
    """Send ``job`` to the warm service process of its kind; its JSON answer as the response."""
    kind = "check" if action == "check" else "gate"  # a long check never holds a promotion up
    with _workers_lock:
        worker = _workers.get(kind)
        if worker is None:
            paths = _paths()
            worker = _workers[kind] = ServiceWorker(_service_env(paths), str(paths.service))
    started = time.monotonic()
    try:
        answer = worker.run(action, job, timeout)
    except TimeoutError:
        return _error(
            "RegistryError",
            f"the team server's {action} took longer than its limit of {timeout:.0f} s and was "
            "stopped; nothing was promoted. Ask the admin to raise `check_timeout`, or send less "
            "data.",
            504,
        )
    if answer is None:
        return _error(
            "RegistryError",
            f"the team server's {action} ended without an answer; its log "
            "(team/logs/mlflow.log) says why. Retry.",
            500,
        )
    answer["server_seconds"] = round(time.monotonic() - started, 3)
    if "error_class" in answer:
        return _json(answer, _STATUS.get(answer["error_class"], 500))
    return _json(answer)


def _service_env(paths: TeamPaths) -> dict[str, str]:
    """The service process's environment: the service user's login on this server, the server's
    key, none of the server's own database settings."""
    secrets = read_json(paths.secrets)
    host = os.environ.get(TEAM_URL_ENV, "")  # never the request's Host header: it is the caller's
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_", "_MLFLOW_", "PG", "WORKBENCH_"))  # the server's own
    }
    env.update(
        MLFLOW_TRACKING_URI=host,
        MLFLOW_TRACKING_USERNAME=SERVICE_USER,
        MLFLOW_TRACKING_PASSWORD=str(secrets.get("service_password", "")),
        WORKBENCH_WORKSPACE=str(paths.service),
        WORKBENCH_KEYS_DIR=str(paths.keys),
        WORKBENCH_SIGN_AS=keys.SERVER_SIGNER,
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
        PYTHONUNBUFFERED="1",
    )
    return env


def _bad_action(payload: Any, action: str) -> str | None:
    """Why a promote or rollback body cannot be acted on (None: it can)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
        return f"{action} needs a JSON object with the model's name"
    version = payload.get("version")
    if action == "promote" and not (
        (isinstance(version, int) and not isinstance(version, bool) and version > 0)
        or (isinstance(version, str) and 0 < len(version) <= 100)
    ):
        return f"promote needs a version number or an alias, not {str(version)[:100]!r}"
    for key in ("alias", "reason"):
        if payload.get(key) is not None and not isinstance(payload[key], str):
            return f"{key} must be text"
    if len(str(payload.get("reason") or "")) > 2000 or len(payload["name"]) > 200:
        return "the model name (200) or the reason (2,000 characters) is too long"
    if not isinstance(payload.get("force", False), bool):
        return "force must be true or false"
    return None


def _may_edit(name: str, action: str) -> Any:
    """None when the login may change registered model ``name`` (EDIT, or admin); a 404 when
    there is no such model, else a 403."""
    from mlflow.server import auth
    from mlflow.server.handlers import _get_model_registry_store

    try:
        _get_model_registry_store().get_registered_model(name)
    except Exception:
        return _error("ModelNotFoundError", f"no registered model {name[:200]!r}", 404)
    if _is_admin():
        return None
    try:
        allowed = auth._get_registered_model_permission(name).can_update  # noqa: SLF001
    except Exception:
        allowed = False
    if allowed:
        return None
    return _error(
        "PermissionDeniedError",
        f"refused user {_user()!r} (403 on {action}): to {action} "
        f"{name[:200]!r} needs EDIT on the registered model. Ask the server's admin for it.",
        403,
    )


def _is_admin() -> bool:
    from mlflow.server import auth

    try:
        return bool(auth.sender_is_admin())
    except Exception:
        return False


def _user() -> str:
    from flask import g

    return str(getattr(g, "mlflow_authenticated_user", "") or "")


@contextlib.contextmanager
def _server_lock(paths: TeamPaths, name: str):
    """One promotion or rollback at a time on this server, across its workers."""
    paths.service.mkdir(parents=True, exist_ok=True)
    with open(paths.service / f".{name}.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _paths() -> TeamPaths:
    folder = os.environ.get(TEAM_DIR_ENV, "").strip()
    if not folder:
        raise RuntimeError(f"{TEAM_DIR_ENV} is not set: start the server with `workbench team up`")
    return TeamPaths(Path(folder))


def _error(kind: str, message: str, status: int) -> Any:
    return _json(
        {"error_class": kind, "error_code": "WORKBENCH_REFUSED", "message": message}, status
    )


def _json(data: dict[str, Any], status: int = 200) -> Any:
    from flask import jsonify

    resp = jsonify(data)
    resp.status_code = status
    return resp
