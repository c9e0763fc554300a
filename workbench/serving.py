"""Stage 3: serve a registered version with MLflow's model server, call it, and measure it.

* :func:`serve` starts the model server for a model URI (``models:/credit-risk@champion``) on
  127.0.0.1 in its own process group and returns a :class:`ModelServer` once ``/ping`` answers.
  ``ModelServer.connect(url)`` attaches the same client to a server that runs elsewhere.
* ``server.predict(df)`` checks the rows against the model's signature first (MLflow's server silently
  ignores unknown columns and truncates 30.9 into an integer column), then posts ``dataframe_split``
  JSON over a kept-alive connection. Server errors arrive as :class:`ServerRequestError` with the
  server's message and status, without its stack trace.
* :func:`load_test` sends a bounded number of requests from a few threads and reports throughput and
  latency percentiles next to the in-process prediction time of the same rows (the floor).
* :func:`compare_servers` serves two versions (champion and challenger) and replays rows to both.

By default the server is MLflow's own scoring app run by ``python -m workbench._serve_launcher``, which
takes the flags of ``mlflow models serve`` and only tunes the garbage collector after the model loads
(the slowest requests were collector pauses). ``gc_tuned=False`` runs ``mlflow models serve`` itself.
"""

from __future__ import annotations

import atexit
import contextlib
import html
import http.client
import json
import math
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from workbench.errors import (
    DataError,
    SchemaMismatchError,
    ServerRequestError,
    ServingError,
    UsageError,
)

__all__ = [
    "ComparisonResult",
    "LoadTestResult",
    "ModelServer",
    "compare_servers",
    "default_workers",
    "frame_from_form",
    "load_test",
    "serve",
]

HOST = "127.0.0.1"
LOG_TAIL_LINES = 25
Progress = Callable[[str, float], None]


def default_workers() -> int:
    """Workers per server by default: the machine's cores (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------- the server


class ModelServer:
    """A model server process (or a server elsewhere) and a client for it.

    Construct it with the settings, then :meth:`start` it, or call :func:`serve`, which does both.
    Use it as a context manager so the process is always stopped.

    Args:
        model_uri: What to serve: ``models:/name@alias``, ``models:/name/3``, ``runs:/...`` or a path.
        port: Port on 127.0.0.1; ``None`` picks a free one.
        workers: Server processes; ``None`` means one per core (:func:`default_workers`).
        timeout: Seconds to wait for the server to answer ``/ping`` before giving up.
        request_timeout: Seconds one request may take before the server answers 504 (MLflow's ``-t``).
        gc_tuned: Run MLflow's app via ``workbench._serve_launcher`` (collector tuned after the
            model loads); ``False`` runs ``mlflow models serve`` itself.
        log_path: File for the server's output; default a temporary file.

    Example:
        >>> import workbench as wb
        >>> with wb.serve("models:/credit-risk@challenger", workers=1) as server:  # doctest: +SKIP
        ...     server.predict(df.head(3))
        array([0, 0, 1])
    """

    def __init__(
        self,
        model_uri: str | None,
        port: int | None = None,
        workers: int | None = None,
        timeout: float = 120.0,
        request_timeout: int = 60,
        gc_tuned: bool = True,
        log_path: str | os.PathLike | None = None,
    ):
        self.model_uri = model_uri
        self.port = port
        self.workers = int(workers or default_workers())
        self.timeout = float(timeout)
        self.request_timeout = int(request_timeout)
        self.gc_tuned = gc_tuned
        self.log_path = Path(log_path) if log_path else None
        self.url: str | None = None
        self.version: str | None = None  # the registry version the URI resolved to, when it did
        self.launch_seconds: float | None = None
        self.returncode: int | None = None
        self._proc: subprocess.Popen | None = None
        self._owned = True
        self._local = threading.local()
        self._info: Any = None

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def connect(cls, url: str, model_uri: str | None = None, timeout: float = 10.0) -> ModelServer:
        """Attach to a server that already runs (a container, another host); never stops it.

        Args:
            url: Base address such as ``http://127.0.0.1:5001``.
            model_uri: The model it serves, to validate requests against its signature.
            timeout: Seconds to wait for ``/ping``.

        Raises:
            ServingError: the server does not answer ``/ping`` in time.
        """
        server = cls(model_uri, timeout=timeout)
        server._owned = False
        server.url = url.rstrip("/")
        parts = urlsplit(server.url)
        if parts.scheme != "http" or not parts.hostname:
            raise ServingError(f"cannot connect to {url!r}: give an http://host:port address.")
        server.port = parts.port or 80
        deadline = time.monotonic() + timeout
        while not server._pings():
            if time.monotonic() > deadline:
                raise ServingError(
                    f"no model server answers /ping at {server.url} after {timeout:.0f} s: "
                    "check the address and that the server runs."
                )
            time.sleep(0.2)
        return server

    def start(self) -> ModelServer:
        """Launch the server and wait until ``/ping`` answers.

        Raises:
            ServingError: the model cannot be resolved, the port is taken, or the server died or
                stayed silent at start; the message carries the tail of its log.
        """
        if self._proc is not None and self._proc.poll() is None:
            return self
        self._resolve_model()
        self.port = self._choose_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = self.log_path or _new_log(self.port)
        started = time.perf_counter()
        self._launch()
        _live_servers.add(self)  # tracked from launch: Ctrl-C during the wait still stops it
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop(grace=5)
            raise
        self.launch_seconds = round(time.perf_counter() - started, 2)
        return self

    def stop(self, grace: float = 15.0) -> int | None:
        """Stop the server: SIGTERM to its process group, wait, SIGKILL after ``grace`` seconds.

        In-flight requests finish first (uvicorn's graceful shutdown). ``mlflow models serve`` exits
        with a traceback on SIGTERM (code -15): that is the intended, clean stop. A server attached
        with :meth:`connect` is left running.

        Returns:
            The exit code of the server process (``None`` when it was never started here).
        """
        self._close_connections()
        proc = self._proc
        if proc is None or not self._owned:
            return None
        _live_servers.discard(self)
        if proc.poll() is None:
            family = _family(proc.pid)
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            _wait_gone(family, grace)
        self.returncode = proc.returncode
        self._wait_port_free(5.0)
        return self.returncode

    @property
    def running(self) -> bool:
        """True while the process started here is alive (or, for a connected server, it pings)."""
        if not self._owned:
            return self._pings()
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the server (its process group leader), when started here."""
        return self._proc.pid if self._proc is not None else None

    def __enter__(self) -> ModelServer:
        return self.start() if self._owned and self._proc is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._proc is not None and self._proc.poll() is None else "stopped"
        if not self._owned:
            state = "connected"
        return f"<ModelServer {self.model_uri or ''} at {self.url} ({state})>"

    def _repr_html_(self) -> str:
        from workbench._util import html_table

        rows = [
            ("model", self.model_uri or "unknown"),
            ("version", self.version or "-"),
            ("address", self.url),
            ("state", "running" if self.running else "stopped"),
            ("workers", self.workers if self._owned else "-"),
            ("launch to ready", f"{self.launch_seconds} s" if self.launch_seconds else "-"),
            ("log", self.log_path or "-"),
        ]
        return html_table(rows, title="Model server")

    # ------------------------------------------------------------------ client

    def predict(
        self, data: pd.DataFrame, validate: bool = True, allow_extra: bool = False
    ) -> np.ndarray:
        """Predictions for ``data`` from the server (real HTTP, ``dataframe_split`` JSON).

        Args:
            data: The rows to score, with the model's input columns.
            validate: Check the rows against the signature before sending (recommended).
            allow_extra: Drop columns the model does not take (ids, dates, the target) instead
                of refusing them.

        Raises:
            DataError: the rows do not fit the signature (the message names the column).
            ServerRequestError: the server answered with an error (its message and status code).
            ServingError: the server cannot be reached.
        """
        frame = self.validate(data, allow_extra) if validate else data
        status, body = self.post(encode_frame(frame))
        return _predictions(status, body)

    def validate(self, data: pd.DataFrame, allow_extra: bool = False) -> pd.DataFrame:
        """``data`` checked against the model's signature and cast to its types.

        Refuses what MLflow's server would silently accept or turn into a stack trace: unknown
        columns, text or fractions in integer columns, infinite values, no rows.

        Raises:
            DataError: the message names the column and the value.
        """
        if not isinstance(data, pd.DataFrame):
            raise DataError(f"send a pandas DataFrame, got {type(data).__name__}.")
        if len(data) == 0:
            raise DataError("the request has no rows: send at least one row.")
        signature = self.signature
        frame = data
        if signature is not None and signature.inputs is not None:
            from workbench.data import conform_to_signature

            frame = conform_to_signature(
                data, signature, allow_extra=allow_extra, what="the request"
            )
        for name in frame.columns:
            col = frame[name]
            if pd.api.types.is_float_dtype(col.dtype) and np.isinf(col.to_numpy()).any():
                raise SchemaMismatchError(
                    f"column {name!r} in the request holds an infinite value, which JSON cannot "
                    "carry: send a finite number or leave it empty (missing)."
                )
        return frame

    def post(
        self, body: bytes, content_type: str = "application/json", path: str = "/invocations"
    ) -> tuple[int, bytes]:
        """Send ``body`` as is and return ``(status, response body)``; no validation, no raising
        on 4xx/5xx. Useful to see what the server does with a bad request."""
        return self._request("POST", path, body, {"Content-Type": content_type})

    def health(self) -> dict[str, Any]:
        """``{"ok", "status_code", "latency_ms", "url"}`` from ``GET /health``; never raises."""
        started = time.perf_counter()
        try:
            status, _ = self._request("GET", "/health", timeout=5.0)
        except ServingError as err:
            return {"ok": False, "status_code": None, "error": str(err), "url": self.url}
        latency = (time.perf_counter() - started) * 1000
        return {
            "ok": status == 200,
            "status_code": status,
            "latency_ms": round(latency, 2),
            "url": self.url,
        }

    def logs(self, tail: int | None = None) -> str:
        """The server's output (the last ``tail`` lines); empty for a server started elsewhere."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-tail:]) if tail else text

    def curl(self, data: pd.DataFrame, allow_extra: bool = False) -> str:
        """A ``curl`` command line that sends the same request as ``predict(data)``."""
        frame = self.validate(data, allow_extra)
        return (
            f"curl -s -X POST {self.url}/invocations -H 'Content-Type: application/json' "
            f"-d {shlex.quote(encode_frame(frame).decode())}"
        )

    @property
    def signature(self):
        """The model's signature (``None`` when unknown, e.g. a connected server without URI)."""
        info = self._model_info()
        return getattr(info, "signature", None) if info is not None else None

    def input_example(self) -> pd.DataFrame | None:
        """The input example logged with the model, as a DataFrame (``None`` if there is none)."""
        info = self._model_info()
        if info is None:
            return None
        try:
            return _input_example(info)
        except Exception:
            return None

    # ------------------------------------------------------------------ internals

    def _model_info(self):
        if self._info is None and self.model_uri:
            self._info = _model_info(self.model_uri)
        return self._info

    def _resolve_model(self) -> None:
        if not self.model_uri:
            raise ServingError("give a model URI to serve, e.g. models:/credit-risk@champion.")
        from workbench.workspace import current_workspace

        current_workspace()  # the child resolves models:/ against the same registry
        self._info = _model_info(self.model_uri)
        self.version = _registry_version(self.model_uri)

    def _choose_port(self) -> int:
        if self.port is None:
            from workbench.apps import free_port

            return free_port()
        with socket.socket() as s:
            try:
                s.bind((HOST, int(self.port)))
            except OSError as err:
                raise ServingError(
                    f"port {self.port} on {HOST} is in use ({err.strerror}): choose another port "
                    "or leave it empty to pick a free one."
                ) from err
        return int(self.port)

    def _command(self) -> list[str]:
        flags = ["-h", HOST, "-p", str(self.port), "-w", str(self.workers)]
        flags += ["-t", str(self.request_timeout)]
        if self.gc_tuned:
            return [sys.executable, "-m", "workbench._serve_launcher", "-m", self.model_uri, *flags]
        return [
            sys.executable, "-m", "mlflow", "models", "serve", "-m", self.model_uri,
            "--env-manager", "local", *flags,
        ]  # fmt: skip

    def _environment(self) -> dict[str, str]:
        from workbench.workspace import current_workspace

        env = dict(os.environ)
        ws = current_workspace()
        env["MLFLOW_TRACKING_URI"] = ws.tracking_uri
        env.setdefault("MLFLOW_REGISTRY_URI", ws.tracking_uri)
        bin_dir = str(Path(sys.executable).parent)  # uvicorn and mlflow of this environment
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _launch(self) -> None:
        assert self.log_path is not None
        with self.log_path.open("ab") as log:
            log.write(f"$ {shlex.join(self._command())}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                self._command(),
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if _in_main_thread() else None,
                cwd=tempfile.gettempdir(),
            )

    def _wait_until_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.timeout
        while True:
            if self._pings():
                return
            if self._proc.poll() is not None:
                code = self._proc.returncode
                self.stop()
                raise ServingError(
                    f"the model server for {self.model_uri} exited at start (code {code}). "
                    f"Last lines of its log ({self.log_path}):\n{self.logs(LOG_TAIL_LINES)}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise ServingError(
                    f"the model server for {self.model_uri} did not answer /ping within "
                    f"{self.timeout:.0f} s; it was stopped. Give it more time (timeout=...) or read "
                    f"the last lines of its log ({self.log_path}):\n{self.logs(LOG_TAIL_LINES)}"
                )
            time.sleep(0.1)

    def _pings(self) -> bool:
        try:
            status, _ = self._request("GET", "/ping", timeout=2.0, fresh=True)
        except ServingError:
            return False
        return status == 200

    def _connection(self, timeout: float | None) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            assert self.url is not None
            parts = urlsplit(self.url)
            conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
            self._local.conn = conn
            conns = self.__dict__.setdefault("_all_conns", [])
            conns.append(conn)
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def _request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        fresh: bool = False,
    ) -> tuple[int, bytes]:
        if self.url is None:
            raise ServingError("the server is not started: call start() or use wb.serve(...).")
        timeout = timeout or self.request_timeout + 5.0
        if fresh:
            parts = urlsplit(self.url)
            conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
            try:
                conn.request(method, path, body=body, headers=headers or {})
                resp = conn.getresponse()
                return resp.status, resp.read()
            except (OSError, http.client.HTTPException) as err:
                raise ServingError(f"{self.url}{path} is not reachable: {err}") from err
            finally:
                conn.close()
        for attempt in (1, 2):  # a kept-alive connection the server closed is retried once
            conn = self._connection(timeout)
            try:
                conn.request(method, path, body=body, headers=headers or {})
                resp = conn.getresponse()
                return resp.status, resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as err:
                conn.close()
                if attempt == 2:
                    raise ServingError(
                        f"the model server at {self.url} closed the connection ({err}): "
                        "is it still running? See server.logs()."
                    ) from err
            except (OSError, http.client.HTTPException) as err:
                conn.close()
                raise ServingError(
                    f"cannot reach the model server at {self.url}{path}: {err}. "
                    "Is it running? See server.health() and server.logs()."
                ) from err
        raise AssertionError("unreachable")  # pragma: no cover

    def _close_connections(self) -> None:
        for conn in self.__dict__.get("_all_conns", []):
            with contextlib.suppress(Exception):
                conn.close()
        self.__dict__["_all_conns"] = []
        self._local = threading.local()

    def _wait_port_free(self, seconds: float) -> None:
        if self.port is None:
            return
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex((HOST, int(self.port))) != 0:
                    return
            time.sleep(0.05)


def serve(
    model_uri: str,
    port: int | None = None,
    workers: int | None = None,
    timeout: float = 120.0,
    *,
    request_timeout: int = 60,
    gc_tuned: bool = True,
    log_path: str | os.PathLike | None = None,
) -> ModelServer:
    """Start MLflow's model server for ``model_uri`` on 127.0.0.1 and return it once it answers.

    Args:
        model_uri: ``models:/name@alias``, ``models:/name/version``, ``runs:/...`` or a local path.
        port: Port to bind; ``None`` picks a free one.
        workers: Server processes; ``None`` = one per core.
        timeout: Seconds to wait for ``/ping``.
        request_timeout: Seconds a request may take before the server answers 504.
        gc_tuned: See :class:`ModelServer`.
        log_path: File for the server's output.

    Returns:
        A running :class:`ModelServer`; use it in a ``with`` block (or call ``stop()``).

    Raises:
        ServingError: the model cannot be resolved, or the server failed to start (with its log).

    Example:
        >>> import workbench as wb
        >>> with wb.serve("models:/credit-risk@champion", workers=2) as server:  # doctest: +SKIP
        ...     print(server.health()["ok"])
        True
    """
    return ModelServer(
        model_uri,
        port=port,
        workers=workers,
        timeout=timeout,
        request_timeout=request_timeout,
        gc_tuned=gc_tuned,
        log_path=log_path,
    ).start()


# --------------------------------------------------------------------------- helpers: model


def _model_info(model_uri: str):
    """The model's info, cached per tracking store and resolved version: an alias can move."""
    import mlflow

    return _model_info_cached(mlflow.get_tracking_uri(), _pinned(model_uri))


def _pinned(model_uri: str) -> str:
    """``models:/name@alias`` as the version it points at now (other URIs unchanged)."""
    version = _registry_version(model_uri) if "@" in model_uri else None
    return (
        f"models:/{model_uri[len('models:/') :].split('@')[0]}/{version}" if version else model_uri
    )


@lru_cache(maxsize=32)
def _model_info_cached(tracking_uri: str, model_uri: str):
    import mlflow

    try:
        return mlflow.models.get_model_info(model_uri)
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ServingError(
            f"cannot find model {model_uri}: {first}. Check the name, version or alias "
            "(`workbench history NAME`, or the registry in the MLflow UI); nothing was started."
        ) from err


def _registry_version(model_uri: str) -> str | None:
    if not model_uri.startswith("models:/") or model_uri.startswith("models:/m-"):
        return None
    import mlflow

    ref = model_uri[len("models:/") :]
    client = mlflow.MlflowClient()
    try:
        if "@" in ref:
            name, alias = ref.split("@", 1)
            return str(client.get_model_version_by_alias(name, alias).version)
        name, _, version = ref.rpartition("/")
        return version if version.isdigit() else None
    except Exception:
        return None


def _input_example(info) -> pd.DataFrame | None:
    import mlflow

    model = mlflow.models.Model.load(info.model_uri)
    example = model.load_input_example()
    if example is None:
        return None
    return example if isinstance(example, pd.DataFrame) else pd.DataFrame(example)


def _in_process_model(model_uri: str):
    import mlflow

    return _in_process_model_cached(mlflow.get_tracking_uri(), _pinned(model_uri))


@lru_cache(maxsize=4)
def _in_process_model_cached(tracking_uri: str, model_uri: str):
    import mlflow

    return mlflow.pyfunc.load_model(model_uri)


def in_process_predict(model_uri: str, data: pd.DataFrame) -> np.ndarray:
    """Predictions of ``model_uri`` loaded in this process (what the server should return)."""
    return np.asarray(_in_process_model(model_uri).predict(data))


def frame_from_form(values: dict[str, str], schema) -> pd.DataFrame:
    """One row from text fields (the panel's request form), typed by the model's input schema.

    Empty fields become missing values.

    Raises:
        SchemaMismatchError: a numeric field holds text; the message names the column.
    """
    schema = getattr(schema, "inputs", schema)
    row: dict[str, Any] = {}
    for spec in schema.inputs:
        raw = (values.get(spec.name) or "").strip()
        kind = str(spec.type).split(".")[-1].lower()
        if kind in ("double", "float", "long", "integer"):
            try:
                row[spec.name] = float(raw) if raw else np.nan
            except ValueError as err:
                raise SchemaMismatchError(
                    f"field {spec.name!r} holds {raw!r}, but the model expects a number: "
                    "type digits (or leave it empty for a missing value)."
                ) from err
        elif kind == "boolean":
            row[spec.name] = raw.lower() in ("1", "true", "yes")
        else:
            row[spec.name] = raw if raw else None
    return pd.DataFrame([row])


# --------------------------------------------------------------------------- helpers: HTTP


def encode_frame(frame: pd.DataFrame) -> bytes:
    """``dataframe_split`` JSON for ``frame``: missing values as ``null``, dates as ISO text,
    floats with full precision."""
    columns = [str(c) for c in frame.columns]
    data = []
    for row in frame.itertuples(index=False, name=None):
        data.append([_json_value(v) for v in row])
    return json.dumps(
        {"dataframe_split": {"columns": columns, "data": data}}, allow_nan=False
    ).encode()


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    return value


def _predictions(status: int, body: bytes) -> np.ndarray:
    payload = _json_or_none(body)
    if status != 200:
        raise ServerRequestError(_error_message(status, payload, body), status_code=status)
    if not isinstance(payload, dict) or "predictions" not in payload:
        raise ServingError(f"the server answered 200 without predictions: {body[:200]!r}")
    preds = payload["predictions"]
    if preds and isinstance(preds[0], dict):
        return pd.DataFrame(preds).to_numpy()
    return np.asarray(preds)


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _error_message(status: int, payload: Any, body: bytes) -> str:
    if isinstance(payload, dict):
        code = payload.get("error_code") or payload.get("error_class") or ""
        message = str(payload.get("message") or payload.get("detail") or "").strip()
    else:
        code, message = "", body.decode(errors="replace").strip()
    message = message.split("\nInput:")[0].split("Traceback (most recent call last)")[0]
    message = message.strip().rstrip(".")
    trace = payload.get("stack_trace") if isinstance(payload, dict) else None
    if trace:  # the exception's last line says what was wrong; the frames above stay private
        cause = str(trace).strip().splitlines()[-1].strip()
        message = f"{message} (cause: {cause[:300]})"
    if len(message) > 600:
        message = message[:600] + "..."
    hint = {
        400: "fix the request (columns and types of the model's signature)",
        415: "send Content-Type: application/json",
        504: "the prediction took longer than the server's request timeout",
    }.get(status, "see server.logs() for details")
    return f"the server refused the request ({status} {code}): {message or 'no message'}. {hint}."


# --------------------------------------------------------------------------- helpers: processes


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """The server gets SIGTERM if the process that started it dies (a killed kernel)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _family(pid: int) -> list:
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _wait_gone(procs: list, grace: float) -> None:
    """Wait for every process of the server; SIGKILL what outlives ``grace``."""
    import psutil

    def alive(p) -> bool:
        try:
            return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    deadline = time.monotonic() + grace
    while any(alive(p) for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    for p in procs:
        if alive(p):
            with contextlib.suppress(psutil.Error):
                p.kill()


_live_servers: set[ModelServer] = set()  # strong: a server nobody holds is still stopped at exit


@atexit.register
def _stop_all() -> None:  # a notebook kernel that shuts down never leaves a server behind
    for server in list(_live_servers):
        with contextlib.suppress(Exception):
            server.stop(grace=5.0)


# --------------------------------------------------------------------------- load test


@dataclass
class LoadTestResult:
    """Throughput and latency of a bounded load test, next to the in-process floor.

    Attributes:
        url: The server tested.
        model_uri: Its model, when known.
        requests: Requests asked for; ``completed`` were answered (any status) before the bounds.
        concurrency: Parallel connections.
        rows_per_request: Rows in each request.
        seconds: Wall time of the test.
        rps: Answered requests per second.
        p50_ms, p95_ms, p99_ms, max_ms: Latency percentiles of answered requests.
        errors: Requests that failed (non-200 or connection error); ``error_samples`` shows some.
        in_process_p50_ms: Median time of ``model.predict`` on the same rows in this process: the
            floor the HTTP latency is compared against (``None`` without a model URI).
        latencies_ms: Every latency, in the order answers arrived.

    Example:
        >>> result = wb.load_test(server, df, requests=500, concurrency=4)  # doctest: +SKIP
        >>> result.p99_ms < 3 * result.p50_ms                               # doctest: +SKIP
        True
    """

    url: str
    model_uri: str | None
    requests: int
    completed: int
    concurrency: int
    rows_per_request: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    in_process_p50_ms: float | None = None
    stopped_early: bool = False
    error_samples: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def overhead_ratio(self) -> float | None:
        """p50 over the HTTP server divided by the in-process p50 (how much serving adds)."""
        if not self.in_process_p50_ms:
            return None
        return round(self.p50_ms / self.in_process_p50_ms, 2)

    def to_dict(self, with_latencies: bool = False) -> dict[str, Any]:
        """Plain, JSON-ready fields (latencies only when asked: they can be long)."""
        out = asdict(self)
        if not with_latencies:
            out.pop("latencies_ms")
        out["overhead_ratio"] = self.overhead_ratio
        return out

    def save(self, path: str | os.PathLike) -> Path:
        """Write the result as JSON (latencies included) to ``path`` (a file or a folder)."""
        target = Path(path)
        if target.suffix != ".json":
            target = target / "load_test.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_dict(with_latencies=True), indent=2))
        tmp.replace(target)  # nothing half-written
        return target

    def log_to_mlflow(self, run_id: str | None = None) -> None:
        """Log the numbers as metrics of ``run_id`` (default: the active run)."""
        import mlflow

        metrics = {
            f"load_{k}": float(v)
            for k, v in self.to_dict().items()
            if k in ("rps", "p50_ms", "p95_ms", "p99_ms", "errors", "in_process_p50_ms")
            and v is not None
        }
        if run_id:
            client = mlflow.MlflowClient()
            for key, value in metrics.items():
                client.log_metric(run_id, key, value)
        else:
            mlflow.log_metrics(metrics)

    def plot(self):
        """A matplotlib histogram of the latencies, with p50/p99 and the in-process floor."""
        import matplotlib

        if "ipykernel" not in sys.modules:
            matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 3.2))
        ax = fig.subplots()
        values = np.asarray(self.latencies_ms) if self.latencies_ms else np.asarray([0.0])
        top = np.percentile(values, 99.9) if len(values) > 10 else values.max()
        ax.hist(np.clip(values, 0, top), bins=50, color="#4c72b0")
        for x, label, style in (
            (self.p50_ms, f"p50 {self.p50_ms:.1f} ms", "-"),
            (self.p99_ms, f"p99 {self.p99_ms:.1f} ms", "--"),
        ):
            ax.axvline(x, color="#c44e52", linestyle=style, label=label)
        if self.in_process_p50_ms:
            ax.axvline(
                self.in_process_p50_ms,
                color="#55a868",
                linestyle=":",
                label=f"in-process {self.in_process_p50_ms:.1f} ms",
            )
        ax.set_xlabel("latency per request (ms)")
        ax.set_ylabel("requests")
        ax.set_title(
            f"{self.completed} requests, {self.concurrency} connections, {self.rps:.0f} req/s"
        )
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig

    def plot_png(self) -> bytes:
        """The :meth:`plot` as PNG bytes (for panels and reports)."""
        import io

        buf = io.BytesIO()
        self.plot().savefig(buf, format="png", dpi=90)
        return buf.getvalue()

    def _repr_html_(self) -> str:
        import base64

        from workbench._util import html_table

        floor = f"{self.in_process_p50_ms:.2f} ms" if self.in_process_p50_ms else "-"
        rows = [
            ("server", self.url),
            ("requests answered", f"{self.completed} of {self.requests}"),
            ("connections", self.concurrency),
            ("throughput", f"{self.rps:.1f} req/s"),
            (
                "latency p50 / p95 / p99",
                f"{self.p50_ms:.2f} / {self.p95_ms:.2f} / {self.p99_ms:.2f} ms",
            ),
            ("in-process predict (floor)", floor),
            ("errors", self.errors),
        ]
        if self.stopped_early:
            rows.append(("note", "stopped at the time limit before all requests were sent"))
        img = base64.b64encode(self.plot_png()).decode()
        samples = "".join(f"<li>{html.escape(s)}</li>" for s in self.error_samples[:3])
        return (
            html_table(rows, title="Load test")
            + (f"<ul>{samples}</ul>" if samples else "")
            + f"<img src='data:image/png;base64,{img}'/>"
        )


def load_test(
    server: ModelServer,
    data: pd.DataFrame,
    requests: int = 1000,
    concurrency: int = 4,
    max_seconds: float = 60.0,
    rows_per_request: int = 1,
    progress: Progress | bool | None = None,
    floor_samples: int = 200,
    allow_extra: bool = True,
) -> LoadTestResult:
    """Send a bounded number of prediction requests and measure throughput and latency.

    Requests cycle through ``data`` ``rows_per_request`` rows at a time; each of ``concurrency``
    threads keeps its own connection. The test ends after ``requests`` requests or ``max_seconds``,
    whichever comes first. Only loopback servers are load-tested.

    Args:
        server: A running :class:`ModelServer` on 127.0.0.1 / localhost.
        data: Rows to send (validated against the signature once, up front).
        requests: Requests to send (1 to 100,000).
        concurrency: Parallel connections (1 to 64).
        max_seconds: Time limit for the whole test.
        rows_per_request: Rows in each request.
        progress: ``True`` for a tqdm bar, or a ``progress(step, fraction)`` callback (panels).
        floor_samples: In-process predictions timed for the floor.
        allow_extra: Drop columns the model does not take (a production batch with ids or
            dates) instead of refusing them.

    Returns:
        A :class:`LoadTestResult`.

    Raises:
        ServingError: the server is not on this machine, or not running.
        DataError: the rows do not fit the model's signature.
    """
    host = urlsplit(server.url or "").hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ServingError(
            f"load tests run against loopback servers only, not {server.url}: "
            "start the server here with wb.serve(...) or test the remote one with its own tools."
        )
    if not 1 <= requests <= 100_000 or not 1 <= concurrency <= 64 or max_seconds <= 0:
        raise UsageError("requests must be 1-100000, concurrency 1-64, max_seconds above 0")
    frame = server.validate(data, allow_extra)
    bodies = _bodies(frame, rows_per_request)
    floor = _floor(server.model_uri, frame, rows_per_request, floor_samples)
    report = _progress_reporter(progress, requests)
    latencies, errors, seconds, stopped = _hammer(
        server, bodies, requests, concurrency, max_seconds, report
    )
    report(None)
    ok = np.asarray([lat for lat, status in latencies if status == 200], dtype=float)
    pct = (lambda q: float(np.percentile(ok, q))) if len(ok) else (lambda q: float("nan"))
    return LoadTestResult(
        url=server.url or "",
        model_uri=server.model_uri,
        requests=requests,
        completed=len(latencies),
        concurrency=concurrency,
        rows_per_request=rows_per_request,
        seconds=round(seconds, 3),
        rps=round(len(latencies) / seconds, 1) if seconds > 0 else 0.0,
        p50_ms=round(pct(50), 3),
        p95_ms=round(pct(95), 3),
        p99_ms=round(pct(99), 3),
        max_ms=round(float(ok.max()), 3) if len(ok) else float("nan"),
        errors=len(errors) + sum(1 for _, status in latencies if status != 200),
        in_process_p50_ms=floor,
        stopped_early=stopped,
        error_samples=errors[:5],
        latencies_ms=[round(lat, 3) for lat, _ in latencies],
    )


def _bodies(frame: pd.DataFrame, rows: int) -> list[bytes]:
    rows = max(1, int(rows))
    count = min(len(frame), 500 * rows)
    return [
        encode_frame(frame.iloc[i : i + rows]) for i in range(0, max(1, count - rows + 1), rows)
    ]


def _floor(model_uri: str | None, frame: pd.DataFrame, rows: int, samples: int) -> float | None:
    if not model_uri or samples <= 0:
        return None
    try:
        model = _in_process_model(model_uri)
    except Exception:
        return None
    timings = []
    n = max(1, min(len(frame), samples * rows))
    chunks = [frame.iloc[i : i + rows] for i in range(0, n, rows)][:samples]
    model.predict(chunks[0])  # warm up
    for chunk in chunks:
        started = time.perf_counter()
        model.predict(chunk)
        timings.append((time.perf_counter() - started) * 1000)
    return round(float(np.median(timings)), 3)


def _progress_reporter(
    progress: Progress | bool | None, total: int
) -> Callable[[int | None], None]:
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc="load test", unit="req")

        def report(done: int | None) -> None:
            if done is None:
                bar.close()
            else:
                bar.n = done
                bar.refresh()

        return report
    if callable(progress):
        return lambda done: progress(  # type: ignore[misc]
            "load test done" if done is None else f"{done} / {total} requests",
            1.0 if done is None else done / total,
        )
    return lambda done: None


def _hammer(server, bodies, total, concurrency, max_seconds, report):
    """Send ``total`` requests from ``concurrency`` threads; returns latencies, errors, seconds."""
    import gc

    lock = threading.Lock()
    next_index = [0]
    latencies: list[tuple[float, int]] = []
    errors: list[str] = []
    deadline = time.monotonic() + max_seconds
    stopped = [False]

    def take() -> int | None:
        with lock:
            if next_index[0] >= total:
                return None
            if time.monotonic() > deadline:
                stopped[0] = True
                return None
            next_index[0] += 1
            return next_index[0] - 1

    def worker() -> None:
        while (i := take()) is not None:
            body = bodies[i % len(bodies)]
            started = time.perf_counter()
            try:
                status, _ = server.post(body)
            except ServingError as err:
                with lock:
                    errors.append(str(err))
                continue
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append((elapsed, status))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()  # the client's own collector pauses are not the server's latency
    started = time.perf_counter()
    try:
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            report(len(latencies) + len(errors))
            for t in threads:
                t.join(timeout=0.1)
    finally:
        if gc_was_enabled:
            gc.enable()
    seconds = time.perf_counter() - started
    for t in threads:  # the threads' kept-alive connections are closed with the server's
        t.join()
    return latencies, errors, seconds, stopped[0]


# --------------------------------------------------------------------------- champion vs challenger


@dataclass
class ComparisonResult:
    """Two versions of a model answering the same rows, side by side.

    Attributes:
        model_name: The registered model.
        labels: The two versions compared, as given (aliases or numbers).
        versions: The registry versions they resolved to.
        rows: Rows replayed to both.
        disagreement: Share of rows where the predictions differ (0.0 to 1.0).
        disagreeing_rows: Index of up to 20 rows that differ.
        latency: Per label: p50 and p99 latency (ms) of single-row requests.
        prediction_share: Per label: share of each predicted value (class balance).
    """

    model_name: str
    labels: tuple[str, str]
    versions: tuple[str | None, str | None]
    rows: int
    disagreement: float
    disagreeing_rows: list[Any]
    latency: dict[str, dict[str, float]]
    prediction_share: dict[str, dict[str, float]]

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        return json.loads(json.dumps(asdict(self), default=str))

    def save(self, path: str | os.PathLike) -> Path:
        """Write the comparison as JSON to ``path`` (a file or a folder)."""
        target = Path(path)
        if target.suffix != ".json":
            target = target / "comparison.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.to_dict(), indent=2))
        return target

    def table(self) -> pd.DataFrame:
        """The side-by-side table: one column per version."""
        out = {}
        for label, version in zip(self.labels, self.versions):
            lat = self.latency[label]
            shares = ", ".join(f"{k}: {v:.0%}" for k, v in self.prediction_share[label].items())
            out[f"@{label}" if not label.isdigit() else f"v{label}"] = {
                "version": version or "-",
                "p50 latency (ms)": round(lat["p50_ms"], 2),
                "p99 latency (ms)": round(lat["p99_ms"], 2),
                "predictions": shares,
            }
        return pd.DataFrame(out)

    def _repr_html_(self) -> str:
        head = (
            f"<h4 style='margin:4px 0'>{html.escape(self.model_name)}: "
            f"{html.escape(self.labels[0])} vs {html.escape(self.labels[1])}</h4>"
            f"<p class='wb-disagreement'>The two disagree on <b>{self.disagreement:.1%}</b> of "
            f"{self.rows} rows.</p>"
        )
        return head + self.table().to_html(classes="wb-compare-table")


def compare_servers(
    model_name: str,
    data: pd.DataFrame,
    aliases: tuple[str, str] = ("champion", "challenger"),
    rows: int = 200,
    workers: int = 1,
    progress: Progress | None = None,
) -> ComparisonResult:
    """Serve two versions of ``model_name``, replay the same rows to both, and compare.

    Both servers start side by side and are always stopped. Each row goes as a single-row request
    to one server, then the other, so both see the same load.

    Args:
        model_name: Registered model name.
        data: Rows to replay (only the model's input columns are sent; others are dropped).
        aliases: Two aliases or version numbers (``("champion", "challenger")``, ``("1", "2")``).
        rows: Rows replayed (the first ``rows`` of ``data``).
        workers: Workers per server.
        progress: ``progress(step, fraction)`` callback.

    Returns:
        A :class:`ComparisonResult` with the disagreement rate and each one's latency.

    Raises:
        ModelNotFoundError: an alias or version does not exist.
        ServingError: a server failed to start.
    """
    from workbench.registry import get_version

    report = progress or (lambda step, done: None)
    labels = tuple(str(a).lstrip("@") for a in aliases)
    if len(labels) != 2:
        raise UsageError("compare exactly two aliases or versions, e.g. ('champion', 'challenger')")
    found = [get_version(model_name, label) for label in labels]  # ModelNotFoundError names it
    servers = [ModelServer(v.model_uri, workers=workers) for v in found]
    sample = data.head(rows)
    try:
        report("starting both servers", 0.05)
        _start_all(servers)
        frames = [s.validate(_known_columns(sample, s.signature)) for s in servers]
        preds: list[list[Any]] = [[], []]
        latency: list[list[float]] = [[], []]
        for i in range(len(sample)):
            for k, server in enumerate(servers):
                started = time.perf_counter()
                out = server.predict(frames[k].iloc[i : i + 1], validate=False)
                latency[k].append((time.perf_counter() - started) * 1000)
                preds[k].append(out[0].tolist() if hasattr(out[0], "tolist") else out[0])
            if i % 20 == 0:
                report(f"replayed {i + 1} of {len(sample)} rows", 0.2 + 0.75 * i / len(sample))
    finally:
        for server in servers:
            server.stop()
    differ = [idx for idx, a, b in zip(sample.index, preds[0], preds[1]) if a != b]
    report("done", 1.0)
    return ComparisonResult(
        model_name=model_name,
        labels=labels,  # type: ignore[arg-type]
        versions=(str(found[0].version), str(found[1].version)),
        rows=len(sample),
        disagreement=round(len(differ) / max(1, len(sample)), 4),
        disagreeing_rows=[_json_value(i) for i in differ[:20]],
        latency={
            label: {
                "p50_ms": float(np.percentile(lat, 50)),
                "p99_ms": float(np.percentile(lat, 99)),
            }
            for label, lat in zip(labels, latency)
        },
        prediction_share={label: _shares(p) for label, p in zip(labels, preds)},
    )


def _start_all(servers: Iterable[ModelServer]) -> None:
    """Launch every server, then wait for each: they load their models in parallel."""
    servers = list(servers)
    for server in servers:
        server._resolve_model()
        server.port = server._choose_port()
        server.url = f"http://{HOST}:{server.port}"
        server.log_path = _new_log(server.port)
        server._launch()
        _live_servers.add(server)
    try:
        for server in servers:
            started = time.perf_counter()
            server._wait_until_ready()
            server.launch_seconds = round(time.perf_counter() - started, 2)
    except BaseException:
        for server in servers:
            server.stop(grace=5)
        raise
    ports = [s.port for s in servers]
    if len(set(ports)) != len(ports):  # two servers answering on one port would compare one model
        for server in servers:
            server.stop(grace=5)
        raise ServingError(f"servers were given the same port ({ports}): start them again.")


def _new_log(port: int) -> Path:
    fd, path = tempfile.mkstemp(prefix=f"wb-serve-{port}-", suffix=".log")
    os.close(fd)
    return Path(path)


def _known_columns(frame: pd.DataFrame, signature) -> pd.DataFrame:
    if signature is None or signature.inputs is None or not signature.inputs.has_input_names():
        return frame
    names = signature.inputs.input_names()
    return frame[[c for c in frame.columns if c in names]]


def _shares(values: list[Any]) -> dict[str, float]:
    if not values:
        return {}
    series = pd.Series([str(v) for v in values])
    if series.nunique() > 10:  # a regressor: summarise instead
        nums = pd.to_numeric(series, errors="coerce")
        return {"mean": float(nums.mean()), "std": float(nums.std())}
    return {k: float(v) for k, v in series.value_counts(normalize=True).sort_index().items()}
