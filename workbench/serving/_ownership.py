"""Is the server on the port the one started here, and is all of it gone after a stop?

* :func:`probe_port`: a port is free to bind, with address reuse (as uvicorn binds it), so a port
  that only a closed connection's ``TIME_WAIT`` still holds counts as free;
* :func:`new_nonce` and :func:`answers_nonce`: a token handed to the server at start and read back
  from its private route: the process answering on the port is ours;
* :func:`listens_on`: the same question for plain ``mlflow models serve`` (no private route): one
  of our processes holds the listening socket;
* :func:`family` and :func:`stop_stragglers`: the whole process family recorded once the server is
  ready, and every member still alive after the stop killed, even when the leader died first.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import time

from workbench._core.process import HOST
from workbench.errors import ServingError
from workbench.serving.options import NONCE_PATH

__all__ = [
    "answers_nonce",
    "family",
    "listens_on",
    "new_nonce",
    "probe_port",
    "stop_stragglers",
    "wait_port_free",
]


def probe_port(port: int) -> None:
    """Raise when ``port`` on 127.0.0.1 cannot be bound (another server listens on it).

    Raises:
        ServingError: the port is in use, with what to do.
    """
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, int(port)))
        except OSError as err:
            raise ServingError(
                f"port {port} on {HOST} is in use ({err.strerror}): choose another port or "
                "leave it empty to pick a free one."
            ) from err


def wait_port_free(port: int | None, seconds: float) -> None:
    """Wait until nothing accepts connections on ``port`` (at most ``seconds``)."""
    if port is None:
        return
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex((HOST, int(port))) != 0:
                return
        time.sleep(0.05)


def new_nonce() -> str:
    """A fresh random token for one start."""
    return secrets.token_urlsafe(24)


def answers_nonce(client, nonce: str) -> bool | None:
    """True when the server behind ``client`` answers ``nonce`` on its private route, False when
    it answers something else, None when it cannot be asked now."""
    try:
        status, body = client.request_once("GET", NONCE_PATH, timeout=2.0)
    except ServingError:
        return None
    return status == 200 and secrets.compare_digest(body, nonce.encode())


def family(pid: int | None) -> list:
    """The process ``pid`` and all its descendants (``psutil.Process`` objects), now."""
    import psutil

    if pid is None:
        return []
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def listens_on(procs: list, port: int) -> bool:
    """True when one of ``procs`` holds a listening socket on ``port``."""
    import psutil

    for proc in procs:
        try:
            for conn in proc.net_connections(kind="tcp"):
                if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                    return True
        except psutil.Error:
            continue
    return False


def stop_stragglers(procs: list, grace: float = 5.0) -> list[int]:
    """Kill every process of ``procs`` still alive (psutil checks it is the same process, not a
    reused pid) and wait for them; returns the pids that had to be killed."""
    import psutil

    def alive(p) -> bool:
        try:
            return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    killed = []
    for proc in procs:
        if alive(proc):
            with contextlib.suppress(psutil.Error):
                proc.kill()
                killed.append(proc.pid)
    deadline = time.monotonic() + grace
    while any(alive(p) for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    return killed
