"""The model server: :class:`ModelServer` (a managed process and its client) and :func:`serve`.

Starting a server is four steps: resolve the model (a wrong URI fails here, before anything runs),
choose the port, launch the process (:mod:`~workbench.serving.launch` says which command), wait until
``/ping`` answers. Stopping it stops the whole process family and waits until the port is free. A
server nobody stopped is stopped when Python exits (:class:`~workbench._core.process.ManagedProcess`).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from workbench._core.process import HOST, ManagedProcess, free_port
from workbench._core.results import html_table
from workbench.errors import ServingError
from workbench.serving.client import (
    HttpClient,
    curl_command,
    decode_predictions,
    decode_probabilities,
    encode_frame,
    validate_frame,
)
from workbench.serving.launch import default_workers, launch_command, launch_environment, new_log
from workbench.serving.model_info import contract_of, input_example, model_info, resolved_version

__all__ = ["LOG_TAIL_LINES", "ModelServer", "serve"]

#: Lines of the server's log quoted when it fails to start.
LOG_TAIL_LINES = 25


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
        gc_tuned: Run MLflow's app via ``workbench.serving._launcher`` (collector tuned after the
            model loads); ``False`` runs ``mlflow models serve`` itself.
        log_path: File for the server's output; default a temporary file.

    Example:
        >>> import workbench as wb
        >>> with wb.serve("models:/credit-risk@challenger", workers=1) as server:  # doctest: +SKIP
        ...     server.predict(df.head(3))
        array([0, 0, 1])
        >>> server.predict_proba(df.head(1))  # doctest: +SKIP
           prediction   proba_1
        0           0  0.083117
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
        self._process: ManagedProcess | None = None
        self._owned = True
        self._info: Any = None
        self._labels: dict[str, Any] | None = None  # the contract's labels, for the server
        self._tracking_uri: str | None = None
        self._launched_at = 0.0
        self._http: HttpClient | None = None
        self._http_lock = threading.Lock()

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
        if self._launched_here():
            return self
        self.launch()
        self.wait_until_ready()
        return self

    def launch(self) -> ModelServer:
        """Start the server process and return at once; :meth:`wait_until_ready` waits for it.

        Servers launched one after the other load their models in parallel.

        Raises:
            ServingError: the model cannot be resolved or the port is taken (nothing is started).
        """
        if self._launched_here():
            return self
        self._resolve_model()
        self._choose_port()
        self._spawn()
        return self

    def wait_until_ready(self) -> ModelServer:
        """Wait until the launched server answers ``/ping``; sets :attr:`launch_seconds`.

        Raises:
            ServingError: the server exited or stayed silent for ``timeout`` seconds; it is
                stopped and the message carries the tail of its log.
        """
        if self._process is None:
            raise ServingError("the server is not launched: call start() or use wb.serve(...).")
        deadline = time.monotonic() + self.timeout
        try:
            self._process.wait_until(
                lambda: self._answers_by(deadline),
                timeout=self.timeout + 30.0,  # _answers_by raises first, with the serving advice
                error=ServingError,
                what=f"the model server for {self.model_uri}",
                tail=LOG_TAIL_LINES,
            )
        except BaseException:  # Ctrl-C during the wait still stops it
            self.stop(grace=5)
            raise
        self.launch_seconds = round(time.perf_counter() - self._launched_at, 2)
        return self

    def stop(self, grace: float = 15.0) -> int | None:
        """Stop the server: SIGTERM to its process group, wait, SIGKILL after ``grace`` seconds.

        In-flight requests finish first (uvicorn's graceful shutdown). ``mlflow models serve`` exits
        with a traceback on SIGTERM (code -15): that is the intended, clean stop. A server attached
        with :meth:`connect` is left running.

        Returns:
            The exit code of the server process (``None`` when it was never started here).
        """
        if self._http is not None:
            self._http.close()
        if self._process is None or not self._owned:
            return None
        self.returncode = self._process.stop(grace)
        self._wait_port_free(5.0)
        return self.returncode

    @property
    def running(self) -> bool:
        """True while the process started here is alive (or, for a connected server, it pings)."""
        if not self._owned:
            return self._pings()
        return self._launched_here()

    @property
    def pid(self) -> int | None:
        """Process id of the server (its process group leader), when started here."""
        return self._process.pid if self._process is not None else None

    def __enter__(self) -> ModelServer:
        return self.start() if self._owned and self._process is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._launched_here() else "stopped"
        if not self._owned:
            state = "connected"
        return f"<ModelServer {self.model_uri or ''} at {self.url} ({state})>"

    def _repr_html_(self) -> str:
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
        return decode_predictions(status, body)

    def predict_proba(
        self, data: pd.DataFrame, validate: bool = True, allow_extra: bool = False
    ) -> pd.DataFrame:
        """Labels and class probabilities for ``data`` from the server, in one request.

        Returns:
            A table with the rows' index: ``prediction`` (the label, as :meth:`predict` gives it)
            and ``proba_<label>`` columns, named as the model contract names them
            (:meth:`~workbench.contract.ModelContract.probability_columns`): the positive label's
            probability for a binary model, every label's for a multiclass one.

        Raises:
            DataError: the rows do not fit the signature (the message names the column).
            ServerRequestError: the server answered with an error (its message and status code).
            ServingError: the server gives no probabilities (a regressor, a model without
                ``predict_proba``, or plain ``mlflow models serve``), or cannot be reached.
        """
        frame = self.validate(data, allow_extra) if validate else data
        status, body = self.post(encode_frame(frame))
        return decode_probabilities(status, body, index=frame.index)

    def validate(self, data: pd.DataFrame, allow_extra: bool = False) -> pd.DataFrame:
        """``data`` checked against the model's signature and cast to its types.

        Refuses what MLflow's server would silently accept or turn into a stack trace: unknown
        columns, text or fractions in integer columns, infinite values, no rows.

        Raises:
            DataError: the message names the column and the value.
        """
        return validate_frame(data, self.signature, allow_extra)

    def post(
        self, body: bytes, content_type: str = "application/json", path: str = "/invocations"
    ) -> tuple[int, bytes]:
        """Send ``body`` as is and return ``(status, response body)``; no validation, no raising
        on 4xx/5xx. Useful to see what the server does with a bad request."""
        timeout = self.request_timeout + 5.0
        return self._client().request("POST", path, timeout, body, {"Content-Type": content_type})

    def health(self) -> dict[str, Any]:
        """``{"ok", "status_code", "latency_ms", "url"}`` from ``GET /health``; never raises."""
        started = time.perf_counter()
        try:
            status, _ = self._client().request("GET", "/health", timeout=5.0)
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
        return self._process.logs(tail) if self._process is not None else ""

    def curl(self, data: pd.DataFrame, allow_extra: bool = False) -> str:
        """A ``curl`` command line that sends the same request as ``predict(data)``."""
        return curl_command(self.url or "", self.validate(data, allow_extra))

    @property
    def contract(self):
        """The served version's :class:`~workbench.contract.ModelContract` (``None`` when the store
        has none: a local path, a connected server without model URI)."""
        return contract_of(self.model_uri) if self.model_uri else None

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
            return input_example(info)
        except Exception:
            return None

    # ------------------------------------------------------------------ steps of start

    def _resolve_model(self) -> None:
        if not self.model_uri:
            raise ServingError("give a model URI to serve, e.g. models:/credit-risk@champion.")
        from workbench.workspace import current_workspace

        # the child resolves models:/ against the same registry
        self._tracking_uri = current_workspace().tracking_uri
        self._info = model_info(self.model_uri)
        self.version = resolved_version(self.model_uri)
        contract = self.contract if self.gc_tuned else None  # plain MLflow answers labels only
        if contract is not None and contract.labels:
            self._labels = {"labels": contract.labels, "positive_label": contract.positive_label}

    def _choose_port(self) -> None:
        if self.port is None:
            self.port = free_port()
        else:
            with socket.socket() as s:
                try:
                    s.bind((HOST, int(self.port)))
                except OSError as err:
                    raise ServingError(
                        f"port {self.port} on {HOST} is in use ({err.strerror}): choose another "
                        "port or leave it empty to pick a free one."
                    ) from err
            self.port = int(self.port)
        self.url = f"http://{HOST}:{self.port}"

    def _spawn(self) -> None:
        assert self.model_uri is not None and self.port is not None
        command = launch_command(
            self.model_uri, self.port, self.workers, self.request_timeout, self.gc_tuned
        )
        self._process = ManagedProcess(
            "model server",
            command,
            env=launch_environment(self._tracking_uri or "", self._labels),
            log_path=self.log_path or new_log(self.port),
        )
        self.log_path = self._process.log_path
        self.launch_seconds = None
        self._launched_at = time.perf_counter()
        self._process.start()

    def _answers_by(self, deadline: float) -> bool:
        """``/ping`` answers; past ``deadline`` a live, silent server is refused (and stopped by
        :meth:`wait_until_ready`)."""
        if self._pings():
            return True
        if time.monotonic() > deadline and self._launched_here():
            raise ServingError(
                f"the model server for {self.model_uri} did not answer /ping within "
                f"{self.timeout:.0f} s; it was stopped. Give it more time (timeout=...) or read "
                f"the last lines of its log ({self.log_path}):\n{self.logs(LOG_TAIL_LINES)}"
            )
        return False

    # ------------------------------------------------------------------ internals

    def _launched_here(self) -> bool:
        return self._process is not None and self._process.running

    def _model_info(self):
        if self._info is None and self.model_uri:
            self._info = model_info(self.model_uri)
        return self._info

    def _client(self) -> HttpClient:
        """The HTTP client for :attr:`url` (a new one when the address changed)."""
        if self.url is None:
            raise ServingError("the server is not started: call start() or use wb.serve(...).")
        with self._http_lock:
            if self._http is None or self._http.url != self.url:
                if self._http is not None:
                    self._http.close()
                self._http = HttpClient(self.url)
            return self._http

    def _pings(self) -> bool:
        try:
            return self._client().pings()
        except ServingError:
            return False

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
