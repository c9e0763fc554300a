"""The guard (:mod:`workbench.team.guard`) wired into the server: what it asks of the store,
answered from the server's own stores, and the hooks that run it on every request.

* :func:`guard_flask` runs after MLflow's auth on the REST API (Flask): it reads the request's
  parameters the way MLflow's handlers read them (a JSON body whatever its content type, a body that
  is a JSON string decoded again, the query string), refuses a body that is neither empty nor an
  object and a query that contradicts the body, and asks the guard about each.
* :func:`guard_asgi` runs before MLflow's auth on what FastAPI serves itself (artifact uploads, the
  OpenTelemetry trace intake): a write into a protected experiment is refused to anyone who does not
  claim to be the service user (whose password MLflow's auth then checks).

Example:
    >>> body_of(b'{"name": "m"}'), body_of(b"")
    ({'name': 'm'}, None)
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from typing import Any

from workbench.team import guard

__all__ = ["SERVICE_USER", "body_of", "guard_asgi", "guard_flask"]

#: The MLflow user the server's own promotions and checks run as (an admin; the guard lets it by).
SERVICE_USER = "workbench-service"
_NOT_AN_OBJECT = object()


class _StoreLookups(guard.Lookups):
    """The guard's questions, answered from the server's stores (in the request's workspace)."""

    _runs: dict[str, str] = {}
    _ids: dict[tuple[str | None, str], str] = {}  # (workspace, name) -> id; renames are refused
    _lock = threading.Lock()

    def protected_experiment_ids(self) -> dict[str, str]:
        from mlflow.server.handlers import _get_tracking_store
        from mlflow.utils.workspace_context import get_request_workspace

        workspace = get_request_workspace()
        known: dict[str, str] = {}
        for name in guard.PROTECTED_EXPERIMENTS:
            with self._lock:
                found_id = self._ids.get((workspace, name))
            if found_id is None:
                found = _get_tracking_store().get_experiment_by_name(name)
                if found is None:
                    continue
                found_id = guard.canonical_id(found.experiment_id)
                with self._lock:
                    self._ids[(workspace, name)] = found_id
            known[found_id] = name
        return known

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

    def experiment_of_resource(self, kind: str, resource_id: str) -> str | None:
        from mlflow.server.handlers import _get_tracking_store

        store = _get_tracking_store()
        try:
            if kind == "logged-models":
                return str(store.get_logged_model(resource_id).experiment_id)
            if kind == "traces":
                location = store.get_trace_info(resource_id).trace_location
                return str(location.mlflow_experiment.experiment_id)
        except Exception:
            return None
        return None

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


def body_of(raw: bytes) -> Any:
    """A request body as MLflow's handlers read it: JSON whatever the content type, decoded a
    second time when it is a JSON string; None when empty, a marker when it is not JSON."""
    if not raw.strip():
        return None
    try:
        data = json.loads(raw)
        if isinstance(data, str):
            data = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return _NOT_AN_OBJECT
    return data if isinstance(data, dict) else _NOT_AN_OBJECT


def guard_flask() -> Any:
    """Flask's ``before_request`` hook of the workbench app (after MLflow's auth)."""
    from flask import g, request

    from workbench.team.app import settings

    user = getattr(g, "mlflow_authenticated_user", None)
    if user is None or user == SERVICE_USER or request.method in ("GET", "HEAD", "OPTIONS"):
        return None  # unprotected routes, the server's own service, reads
    if request.path.startswith("/api/workbench/"):
        return None  # the app's own routes decide
    query = dict(request.args.items())
    variants = [query]
    if guard.endpoint_of(request.path) is not None:  # the REST API: its body is its parameters
        body = body_of(request.get_data(cache=True))
        if body is _NOT_AN_OBJECT:
            return _refuse(
                "the workbench team server refuses a request whose body is not a JSON object: "
                "send the parameters as one."
            )
        if body:
            clash = sorted(k for k in set(body) & set(query) if str(body[k]) != query[k])
            if clash:
                return _refuse(
                    f"the workbench team server refuses a request whose query string and body "
                    f"disagree on {', '.join(clash)[:200]}."
                )
            variants += [body, {**query, **body}]
    protected = settings()["protected_aliases"]
    for params in variants:
        why = guard.refusal(request.method, request.path, params, _lookups, protected)
        if why:
            return _refuse(why)
    return None


async def guard_asgi(request: Any, call_next: Any) -> Any:
    """The FastAPI middleware of the workbench app, for the routes FastAPI serves itself (and the
    size of a check's upload, refused before a byte of it is read)."""
    if request.scope.get("path") == "/api/workbench/check":
        from starlette.responses import JSONResponse

        from workbench.team.app import MAX_UPLOAD

        size = request.headers.get("content-length", "")
        if not size.isdigit() or int(size) > MAX_UPLOAD:
            return JSONResponse(
                {
                    "error_class": "DataError",
                    "message": f"check needs an upload with a Content-Length of at most "
                    f"{MAX_UPLOAD >> 20} MB: send a sample of the table.",
                },
                413 if size.isdigit() else 411,
            )
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        claimed = _basic_user(request.headers.get("authorization", ""))
        path = request.scope.get("path", "")
        experiment = request.headers.get("x-mlflow-experiment-id")
        if claimed != SERVICE_USER and ("/mlflow-artifacts/" in path or experiment is not None):
            from starlette.concurrency import run_in_threadpool

            why = await run_in_threadpool(_asgi_refusal, request.method, path, experiment)
            if why:
                from starlette.responses import JSONResponse

                return JSONResponse({"error_code": "PERMISSION_DENIED", "message": why}, 403)
    return await call_next(request)


def _asgi_refusal(method: str, path: str, experiment: str | None) -> str | None:
    """The guard's answer outside Flask's request (MLflow sets the workspace there): in the
    workspace the artifact path names, else the team's."""
    from urllib.parse import unquote

    from mlflow.utils.workspace_context import ServerWorkspaceContext

    from workbench.team.access import WORKSPACE

    parts = [p for p in unquote(unquote(path)).split("/mlflow-artifacts/", 1)[-1].split("/") if p]
    named = parts[2] if len(parts) > 3 and parts[1] == "workspaces" else None
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(ServerWorkspaceContext(named or WORKSPACE))
        except Exception:  # a workspace name MLflow would refuse: judged in the team's
            stack.enter_context(ServerWorkspaceContext(WORKSPACE))
        if experiment is not None:
            ids = _lookups.protected_experiment_ids()
            if guard.canonical_id(experiment) in ids:
                return (
                    f"the workbench team server refuses writes to the experiment "
                    f"{ids[guard.canonical_id(experiment)]!r}: only the server writes it."
                )
        return guard.refusal(method, path, {}, _lookups, ())


def _basic_user(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(value, validate=True).decode().partition(":")[0]
    except (ValueError, UnicodeDecodeError):
        return None


def _refuse(why: str) -> Any:
    from flask import jsonify

    resp = jsonify({"error_code": "PERMISSION_DENIED", "message": why})
    resp.status_code = 403
    return resp
