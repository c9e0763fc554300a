"""The model server: :class:`ModelServer` (a managed process and its client) and :func:`serve`.

Starting a server is four steps: resolve and check the model (a wrong URI, or a format that would
run code when loaded, fails here, before anything runs), choose the port, launch the process
(:mod:`~workbench.serving.launch` says which command), wait until ``/ping`` answers *and* the process
answering is the one started here (it answers this start's token on a private route; plain
``mlflow models serve``: one of its processes holds the listening socket). The whole process family
is recorded once it is ready. Stopping it stops every member, even when the leader died first, and
waits until the port is free. A server nobody stopped is stopped when Python exits
(:class:`~workbench._core.process.ManagedProcess`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from workbench._core.process import HOST, ManagedProcess, free_port
from workbench._core.remote import speaks_for_server
from workbench._core.results import html_table
from workbench.errors import ServingError
from workbench.serving import _ownership
from workbench.serving._calls import ServerCalls
from workbench.serving.client import HttpClient
from workbench.serving.inference_log import observe_config, traffic_folder
from workbench.serving.launch import default_workers, launch_command, launch_environment, new_log
from workbench.serving.model_info import checked_model, model_info, resolved_version
from workbench.serving.options import EdgeSettings, check_port, check_workers

__all__ = ["LOG_TAIL_LINES", "ModelServer", "serve"]

#: Lines of the server's log quoted when it fails to start.
LOG_TAIL_LINES = 25


class ModelServer(ServerCalls):
    """A model server process (or a server elsewhere) and a client for it.

    Construct it with the settings, then :meth:`start` it, or call :func:`serve`, which does both.
    Use it as a context manager so the process is always stopped.

    Args:
        model_uri: What to serve: ``models:/name@alias``, ``models:/name/3``, ``runs:/...`` or a path.
        port: Port on 127.0.0.1 (1-65535); ``None`` or ``0`` picks a free one.
        workers: Server processes (at least 1); ``None`` means one per core (:func:`default_workers`).
        timeout: Seconds to wait for the server to answer ``/ping`` before giving up.
        request_timeout: Seconds one request may take before the server answers 504 (MLflow's ``-t``).
        gc_tuned: Run MLflow's app via ``workbench.serving._launcher`` (collector tuned after the
            model loads); ``False`` runs ``mlflow models serve`` itself.
        log_path: File for the server's output; default a temporary file.
        allow_pickle: Serve a model whose format runs code when loaded (pickle, cloudpickle,
            untrusted skops types); refused otherwise, here and in the server process. Recorded on
            the version.
        allowed_hosts: ``Host`` names the server answers besides 127.0.0.1, localhost and [::1].
        max_request_mb: Largest request body in MB (default 16): a larger one gets 413.
        traffic_log: Log every request, its rows, answer and latency, to a Parquet dataset
            partitioned by date and hour (:mod:`~workbench.serving.inference_log`): ``True``
            (default) under the workspace's ``inference/<model name>/``, a folder, or ``False``.
        log_exclude: Input columns kept out of the log, besides the contract's ``personal`` ones.
        arm: The name this server's rows carry in the log (``main``; a challenger's arm).
        metrics: Answer ``GET /metrics`` in Prometheus' text format, summed over the workers.

    Raises:
        UsageError: a port outside 0-65535, fewer than one worker, a bad host name or size.

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
        allow_pickle: bool = False,
        allowed_hosts: list[str] | tuple[str, ...] | None = None,
        max_request_mb: float | None = None,
        traffic_log: bool | str | os.PathLike = True,
        log_exclude: list[str] | tuple[str, ...] = (),
        arm: str = "main",
        metrics: bool = True,
    ):
        self.model_uri = model_uri
        self.traffic_log, self.log_exclude, self.arm = traffic_log, list(log_exclude), str(arm)
        self.metrics = bool(metrics)
        self.traffic_folder: Path | None = None  # where the inference log goes, once started
        self._metrics_dir: str | None = None
        self.port = check_port(port)
        self.workers = check_workers(workers) or default_workers()
        self.allow_pickle = bool(allow_pickle)
        self.edge = EdgeSettings.build(allowed_hosts, max_request_mb)
        self.timeout = float(timeout)
        self.request_timeout = int(request_timeout)
        self.gc_tuned = gc_tuned
        self.log_path = Path(log_path) if log_path else None
        self.url: str | None = None
        self.version: str | None = None  # the registry version the URI resolved to, when it did
        self.digest: str | None = None  # SHA-256 of the files checked before the start
        self.launch_seconds: float | None = None
        self.returncode: int | None = None
        self._process: ManagedProcess | None = None
        self._owned = True
        self._info: Any = None
        self._labels: dict[str, Any] | None = None  # the contract's labels, for the server
        self._observe: dict[str, Any] | None = None  # the edge's log and metrics settings
        self._verdict: dict[str, Any] | None = None  # the safety verdict on the checked files
        self._tracking_uri: str | None = None
        self._launched_at = 0.0
        self._nonce: str | None = None  # this start's token, answered by the server it started
        self._family: list = []  # the process family, recorded once ready
        self._http: HttpClient | None = None
        self._http_lock = threading.Lock()
        # a served experiment (serve(challenger=...)): the route to the challenger's server
        self.route: dict[str, Any] | None = None
        self.challenger: ModelServer | None = None
        self.experiment_state: str | None = None  # the guardrail's cut.json

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
        """Launch the server and wait until ``/ping`` answers from the process started here.

        Raises:
            ModelNotFoundError: the model cannot be found (nothing is started).
            UnsafeModelError: its format could run code when loaded and ``allow_pickle`` is False.
            ServingError: the port is taken, another process answers on it, or the server died or
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
            ModelNotFoundError: the model cannot be found (nothing is started).
            UnsafeModelError: the model's format is refused (nothing is started or loaded).
            ServingError: the port is taken (nothing is started).
        """
        if self._launched_here():
            return self
        self._resolve_model()
        self._choose_port()
        self._spawn()
        return self

    def wait_until_ready(self) -> ModelServer:
        """Wait until the launched server answers ``/ping`` and proves it is the one started here;
        records its process family; sets :attr:`launch_seconds`.

        Raises:
            ServingError: the server exited or stayed silent for ``timeout`` seconds, or another
                process answers on the port; it is stopped and the message says why.
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
        except BaseException as err:  # Ctrl-C during the wait still stops it
            self.stop(grace=5)
            if isinstance(err, ServingError) and "address already in use" in str(err).lower():
                raise ServingError(
                    f"port {self.port} on {HOST} was taken by another process while the server "
                    f"for {self.model_uri} started (two servers started on one port at once?): "
                    f"choose another port, or none to pick a free one. Log: {self.log_path}"
                ) from err
            raise
        self._family = _ownership.family(self.pid)
        self.launch_seconds = round(time.perf_counter() - self._launched_at, 2)
        return self

    def stop(self, grace: float = 15.0) -> int | None:
        """Stop the server: SIGTERM to its process group, wait, SIGKILL after ``grace`` seconds;
        then every member of the family recorded at start that is still alive is killed (workers
        of a leader that died first, or that left the group).

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
        _ownership.stop_stragglers(self._family)
        _ownership.wait_port_free(self.port, 5.0)
        if self.challenger is not None:  # after the champion: no request is forwarded any more
            self.challenger.stop(grace)
            shutil.rmtree(self.experiment_state or "", ignore_errors=True)
        if self._metrics_dir is not None:  # the workers' metrics files: this start's only
            shutil.rmtree(self._metrics_dir, ignore_errors=True)
            self._metrics_dir = None
        return self.returncode

    def _new_metrics_dir(self) -> str | None:
        if not (self.metrics and self.gc_tuned):
            return None
        self._metrics_dir = tempfile.mkdtemp(prefix=f"wb-metrics-{self.port}-")
        return self._metrics_dir

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
            (
                "max request",
                f"{self.edge.max_request_bytes / 1048576:.3g} MB" if self._owned else "-",
            ),
            ("launch to ready", f"{self.launch_seconds} s" if self.launch_seconds else "-"),
            ("log", self.log_path or "-"),
        ]
        return html_table(rows, title="Model server")

    # ------------------------------------------------------------------ steps of start

    def _resolve_model(self) -> None:
        if not self.model_uri:
            raise ServingError("give a model URI to serve, e.g. models:/credit-risk@champion.")
        from workbench.workspace import current_workspace

        # the child resolves models:/ against the same registry
        self._tracking_uri = current_workspace().tracking_uri
        self._info = model_info(self.model_uri)
        self.version = resolved_version(self.model_uri)
        # the launcher checks again, in its process, and loads only files with this digest
        safety, self.digest = checked_model(self.model_uri, self.allow_pickle)
        self._verdict = safety.to_dict()  # the launcher does not audit these files again
        contract = self.contract if self.gc_tuned else None  # plain MLflow answers labels only
        if contract is not None:  # labels for the probabilities; ids echoed, the target ignored
            self._labels = {
                "labels": list(contract.labels or []),
                "positive_label": contract.positive_label,
                "id_columns": list(contract.id_columns or []),
                "target": contract.target,
            }
        if self.gc_tuned and self.traffic_log is not False:
            self.traffic_folder = traffic_folder(self.model_uri, self.traffic_log)
        personal = list(getattr(contract, "personal", None) or [])
        self._observe = observe_config(
            self.model_uri, self.version, self.arm, self.traffic_folder,
            [*personal, *self.log_exclude], self.metrics and self.gc_tuned,
        )  # fmt: skip
        if self.route is not None:  # the champion of an experiment: its own version, its ids
            ids = (self._labels or {}).get("id_columns") or []
            name = (self._observe.get("log") or self._observe.get("metrics") or {}).get("model")
            self._observe["route"] = {
                **self.route, "model": name or str(self.model_uri),
                "main_version": self.version or "", "key_columns": ids,
            }  # fmt: skip

    def _choose_port(self) -> None:
        if self.port is None:
            self.port = free_port()
        else:
            _ownership.probe_port(self.port)
        self.url = f"http://{HOST}:{self.port}"

    def _spawn(self) -> None:
        assert self.model_uri is not None and self.port is not None
        command = launch_command(
            self.model_uri, self.port, self.workers, self.request_timeout, self.gc_tuned
        )
        self._nonce = _ownership.new_nonce() if self.gc_tuned else None
        env = launch_environment(
            self._tracking_uri or "",
            self._labels,
            settings=self.edge,
            nonce=self._nonce,
            allow_pickle=self.allow_pickle,
            digest=self.digest if self.gc_tuned else None,
            observe=self._observe,
            metrics_dir=self._new_metrics_dir(),
            verdict=self._verdict if self.gc_tuned else None,
        )
        self._process = ManagedProcess(
            "model server", command, env=env, log_path=self.log_path or new_log(self.port)
        )
        self.log_path = self._process.log_path
        self.launch_seconds = None
        self._launched_at = time.perf_counter()
        self._process.start()

    def _answers_by(self, deadline: float) -> bool:
        """``/ping`` answers from the process started here; past ``deadline`` a live, silent
        server is refused (and stopped by :meth:`wait_until_ready`)."""
        if self._pings() and self._answering_is_ours():
            return True
        if time.monotonic() > deadline and self._launched_here():
            raise ServingError(
                f"the model server for {self.model_uri} did not answer /ping within "
                f"{self.timeout:.0f} s; it was stopped. Give it more time (timeout=...) or read "
                f"the last lines of its log ({self.log_path}):\n{self.logs(LOG_TAIL_LINES)}"
            )
        return False

    def _answering_is_ours(self) -> bool:
        """The process answering on the port is the one started here (False: cannot tell yet).

        Raises:
            ServingError: another process answers (two servers started on one port at once).
        """
        if self._nonce is not None:
            ours = _ownership.answers_nonce(self._client(), self._nonce)
        else:
            ours = _ownership.listens_on(_ownership.family(self.pid), int(self.port or 0)) or (
                None if not self._launched_here() else False
            )
        if ours is None or ours:
            return bool(ours)
        raise ServingError(
            f"another process answers on port {self.port} of {HOST}, not the server started here "
            f"for {self.model_uri} (two servers started on one port at once?): stop the other one, "
            "or choose another port or none to pick a free one."
        )

    # ------------------------------------------------------------------ internals

    def _launched_here(self) -> bool:
        return self._process is not None and self._process.running


@speaks_for_server("fetching the model to serve")
def serve(
    model_uri: str,
    port: int | None = None,
    workers: int | None = None,
    timeout: float = 120.0,
    *,
    request_timeout: int = 60,
    gc_tuned: bool = True,
    log_path: str | os.PathLike | None = None,
    allow_pickle: bool = False,
    allowed_hosts: list[str] | tuple[str, ...] | None = None,
    max_request_mb: float | None = None,
    traffic_log: bool | str | os.PathLike = True,
    log_exclude: list[str] | tuple[str, ...] = (),
    arm: str = "main",
    metrics: bool = True,
    challenger: str | None = None,
    split: float = 0.0,
    shadow: bool = False,
    guard_errors: float = 0.05,
    guard_p99: float = 1.0,
    notify: list[str] | tuple[str, ...] = (),
) -> ModelServer:
    """Start MLflow's model server for ``model_uri`` on 127.0.0.1 and return it once it answers;
    with a ``challenger``, the champion's server sends it ``split`` percent of requests (or, with
    ``shadow``, mirrors them all) behind one port (:mod:`~workbench.serving.experiment`).

    Args:
        model_uri: ``models:/name@alias``, ``models:/name/version``, ``runs:/...`` or a local path.
        port: Port to bind (1-65535); ``None`` or ``0`` picks a free one.
        workers: Server processes (at least 1); ``None`` = one per core.
        timeout: Seconds to wait for ``/ping``.
        request_timeout: Seconds a request may take before the server answers 504.
        gc_tuned: See :class:`ModelServer`.
        log_path: File for the server's output.
        allow_pickle: Serve a model whose format runs code when loaded (recorded on the version).
        allowed_hosts: ``Host`` names answered besides the loopback ones.
        max_request_mb: Largest request body in MB (default 16).
        traffic_log: The inference log: ``True`` (the workspace's ``inference/<model>/``), a
            folder, or ``False`` (see :class:`ModelServer`).
        log_exclude: Input columns kept out of the log (personal data).
        arm: The name the log gives this server's rows.
        metrics: Answer ``GET /metrics`` (Prometheus' text format).
        challenger: A model URI tried on real traffic beside ``model_uri``.
        split: Percent of requests the challenger answers (sticky by the contract's id).
        shadow: Mirror every request to the challenger; the champion answers all.
        guard_errors: The challenger is cut off above this error rate (0-1), ...
        guard_p99: ... or this p99 latency (seconds); the cut is logged, ...
        notify: ... and sent to these webhook URLs and email addresses.

    Returns:
        A running :class:`ModelServer`; use it in a ``with`` block (or call ``stop()``).

    Raises:
        ModelNotFoundError: the model cannot be found (exit code 2).
        UnsafeModelError: its format could run code when loaded (exit code 2).
        UsageError: a bad port, number of workers, host name or size (exit code 2).
        ServingError: the server failed to start (with its log), or another process answers on
            its port.

    Example:
        >>> import workbench as wb
        >>> with wb.serve("models:/credit-risk@champion", workers=2) as server:  # doctest: +SKIP
        ...     print(server.health()["ok"])
        True
    """
    server = ModelServer(
        model_uri,
        port=port,
        workers=workers,
        timeout=timeout,
        request_timeout=request_timeout,
        gc_tuned=gc_tuned,
        log_path=log_path,
        allow_pickle=allow_pickle,
        allowed_hosts=allowed_hosts,
        max_request_mb=max_request_mb,
        traffic_log=traffic_log,
        log_exclude=log_exclude,
        arm=arm,
        metrics=metrics,
    )
    if challenger is None:
        return server.start()
    from workbench.serving.experiment import Experiment, start_pair

    trial = Experiment(challenger, split, shadow, guard_errors, guard_p99, list(notify))
    return start_pair(server, trial)
