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

Promote, rollback and check run in a subprocess (:mod:`workbench.team.service`) as the server's
service user, signing with the server's key, one promotion at a time (a file lock across the
server's workers), with a time limit. The server's files come from ``$WORKBENCH_TEAM_DIR``.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from workbench.registry import keys
from workbench.team import guard
from workbench.team.state import TeamPaths, read_json

__all__ = ["SERVICE_USER", "TEAM_DIR_ENV", "TEAM_URL_ENV", "create_app", "settings"]

#: The MLflow user the server's own promotions and checks run as (an admin; the guard lets it by).
SERVICE_USER = "workbench-service"
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
    flask_app.before_request(_guard_flask)  # after auth's: the user is known
    if hasattr(served, "middleware"):  # uvicorn: artifact uploads bypass Flask
        served.middleware("http")(_guard_asgi)
    return served


def settings(paths: TeamPaths | None = None) -> dict[str, Any]:
    """The server's settings: protected aliases and the checks' time limit."""
    paths = paths or _paths()
    return {**DEFAULT_SETTINGS, **read_json(paths.settings)}


# --------------------------------------------------------------------------- the guard


class _StoreLookups(guard.Lookups):
    """The guard's questions, answered from the server's own stores (in the request's workspace)."""

    _runs: dict[str, str] = {}
    _ids: dict[str, str] = {}
    _lock = threading.Lock()

    def protected_experiment_ids(self) -> dict[str, str]:
        from mlflow.server.handlers import _get_tracking_store

        with self._lock:
            known = dict(self._ids)
        for name in guard.PROTECTED_EXPERIMENTS:
            if name in known.values():
                continue
            found = _get_tracking_store().get_experiment_by_name(name)
            if found is not None:
                with self._lock:
                    self._ids[found.experiment_id] = name
                known[found.experiment_id] = name
        return known

    def protected_artifact_prefixes(self) -> list[str]:
        from mlflow.server.handlers import _get_tracking_store

        out = []
        for experiment_id in self.protected_experiment_ids():
            location = _get_tracking_store().get_experiment(experiment_id).artifact_location
            rest = location.split(":", 1)[-1].lstrip("/")
            out.append(rest)
            parts = rest.split("/")
            if len(parts) > 2 and parts[0] == "workspaces":
                out.append("/".join(parts[2:]))
        return out

    def experiment_of_run(self, run_id: str) -> str | None:
        from mlflow.server.handlers import _get_tracking_store

        with self._lock:
            if run_id in self._runs:
                return self._runs[run_id]
        try:
            experiment_id = _get_tracking_store().get_run(run_id).info.experiment_id
        except Exception:
            return None
        with self._lock:
            if len(self._runs) > 100_000:
                self._runs.clear()
            self._runs[run_id] = experiment_id  # a run never changes experiment
        return experiment_id

    def _model(self, name: str) -> Any:
        from mlflow.server.handlers import _get_model_registry_store

        try:
            return _get_model_registry_store().get_registered_model(name)
        except Exception:
            return None

    def aliases(self, model: str) -> dict[str, str]:
        found = self._model(model)
        raw = getattr(found, "aliases", None) or {}
        if isinstance(raw, dict):
            return {str(k): str(v) for k, v in raw.items()}
        return {str(a.alias): str(a.version) for a in raw}

    def has_chain(self, model: str) -> bool:
        from workbench._core.names import AUDIT_HEAD_TAG

        found = self._model(model)
        return bool(found is not None and (found.tags or {}).get(AUDIT_HEAD_TAG))


_lookups = _StoreLookups()


def _guard_flask() -> Any:
    from flask import g, request

    user = getattr(g, "mlflow_authenticated_user", None)
    if user is None or user == SERVICE_USER:
        return None  # an unprotected route (health, static files), or the server's own service
    params: dict[str, Any] = dict(request.args.items())
    body = request.get_json(silent=True) if request.is_json else None
    if isinstance(body, dict):
        params.update(body)
    why = guard.refusal(
        request.method, request.path, params, _lookups, settings()["protected_aliases"]
    )
    return _json({"error_code": "PERMISSION_DENIED", "message": why}, 403) if why else None


async def _guard_asgi(request: Any, call_next: Any) -> Any:
    """Artifact uploads served by FastAPI itself: refused under the protected experiments to
    anyone but the service user (whose password MLflow's auth checks next)."""
    if request.method in ("PUT", "POST", "DELETE") and "/mlflow-artifacts/" in request.url.path:
        if _basic_user(request.headers.get("authorization", "")) != SERVICE_USER:
            from starlette.concurrency import run_in_threadpool

            why = await run_in_threadpool(_artifact_refusal, request.method, request.url.path)
            if why:
                from starlette.responses import JSONResponse

                return JSONResponse({"error_code": "PERMISSION_DENIED", "message": why}, 403)
    return await call_next(request)


def _artifact_refusal(method: str, path: str) -> str | None:
    """The guard's answer for an artifact write, in the workspace its path names (FastAPI's own
    routes run outside Flask's request, where MLflow sets it)."""
    from mlflow.utils.workspace_context import ServerWorkspaceContext

    from workbench.team.access import WORKSPACE

    parts = path.split("/mlflow-artifacts/", 1)[-1].split("/")
    named = parts[parts.index("workspaces") + 1] if "workspaces" in parts[:3] else None
    with ServerWorkspaceContext(named if named and len(parts) > 3 else WORKSPACE):
        return guard.refusal(method, path, {}, _lookups, ())


def _basic_user(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(value, validate=True).decode().partition(":")[0]
    except (ValueError, UnicodeDecodeError):
        return None


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
    if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
        return _error("DataError", f"{action} needs a JSON body with the model's name", 400)
    refused = _may_edit(payload["name"], action)
    if refused is not None:
        return refused
    paths = _paths()
    with _server_lock(paths, "promote"):
        return _run_service(action, {"payload": payload, "user": _user()}, ACTION_TIMEOUT)


def _check() -> Any:
    from flask import request

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
    name = ref.name
    refused = _may_edit(name, "check")
    if refused is not None:
        return refused
    limit = float(settings()["check_timeout"])
    with tempfile.TemporaryDirectory(prefix="wb-server-check-") as tmp:
        path = Path(tmp) / "eval.parquet"
        upload.save(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
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


def _run_service(action: str, job: dict[str, Any], timeout: float) -> Any:
    """Run ``python -m workbench.team.service ACTION`` with ``job`` on stdin; its JSON answer."""
    paths = _paths()
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
        WORKBENCH_ACTING_FOR=str(job.get("user") or ""),
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
    )
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "workbench.team.service", action],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            env=env,
            cwd=str(paths.service),
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return _error(
            "RegistryError",
            f"the team server's {action} took longer than its limit of {timeout:.0f} s and was "
            "stopped; nothing was promoted. Ask the admin to raise `check_timeout`, or send less "
            "data.",
            504,
        )
    if done.stderr.strip():
        sys.stderr.write(f"[workbench {action}] {done.stderr[-4000:]}\n")
    answer = _last_json(done.stdout)
    if answer is None:
        return _error(
            "RegistryError",
            f"the team server's {action} ended without an answer (exit {done.returncode}); its "
            "log (team/logs/mlflow.log) says why.",
            500,
        )
    answer["server_seconds"] = round(time.monotonic() - started, 3)
    if "error_class" in answer:
        return _json(answer, _STATUS.get(answer["error_class"], 500))
    return _json(answer)


def _last_json(text: str) -> dict[str, Any] | None:
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                found = json.loads(line)
                if isinstance(found, dict):
                    return found
    return None


def _may_edit(name: str, action: str) -> Any:
    """None when the login may change registered model ``name`` (EDIT, or admin); else a 403."""
    from mlflow.server import auth

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
        f"{name!r} needs EDIT on the registered model. Ask the server's admin for it.",
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
