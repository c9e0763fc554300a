"""A child process the workbench manages: the model server, JupyterLab, the MLflow UI, Voila.

:class:`ManagedProcess` starts a command in its own session with its output in a log file, waits
until a readiness probe says yes (or the process dies, or time runs out: then it stops it and raises
with the log's tail), stops the whole process family (SIGTERM to the group, SIGKILL to what outlives
the grace period, workers that left the group included), and stops itself when the Python process
that started it exits.

Example:
    >>> import sys
    >>> proc = ManagedProcess("sleeper", [sys.executable, "-c", "import time; time.sleep(30)"])
    >>> proc.start().running
    True
    >>> proc.stop() is not None and not proc.running
    True
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from workbench.errors import WorkbenchError

__all__ = ["HOST", "ManagedProcess", "environment", "free_port", "python_bin_path"]

#: Every server the workbench starts binds here.
HOST = "127.0.0.1"


def free_port(preferred: int | None = None) -> int:
    """``preferred`` when it is free on 127.0.0.1, else any free port."""
    if preferred:
        with socket.socket() as s:
            try:
                s.bind((HOST, preferred))
                return preferred
            except OSError:
                pass
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class ManagedProcess:
    """One child process (and its children) that the workbench started and will stop.

    Args:
        name: What it is, for messages (``"model server"``, ``"jupyterlab"``).
        command: The argv to run.
        env: Its environment (default: this process's).
        cwd: Its working folder (default: the temp folder).
        log_path: File that receives its stdout and stderr (default: a new temp file).
        die_with_parent: Ask the kernel to SIGTERM it if this process dies (Linux).
    """

    def __init__(
        self,
        name: str,
        command: list[str],
        env: dict[str, str] | None = None,
        cwd: str | os.PathLike | None = None,
        log_path: str | os.PathLike | None = None,
        die_with_parent: bool = True,
    ):
        self.name = name
        self.command = list(command)
        self.env = env
        self.cwd = cwd
        self.log_path = Path(log_path) if log_path else None
        self.die_with_parent = die_with_parent
        self.popen: subprocess.Popen | None = None
        self.returncode: int | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> ManagedProcess:
        """Launch the command in its own session; returns at once (see :meth:`wait_until`)."""
        if self.running:
            return self
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix=f"workbench-{self.name.replace(' ', '-')}-")
            os.close(fd)
            self.log_path = Path(name)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"$ {shlex.join(self.command)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=self.cwd or tempfile.gettempdir(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if self.die_with_parent and _main_thread() else None,
            )
        _live.add(self)  # tracked from launch: Ctrl-C during a wait still stops it
        return self

    def wait_until(
        self,
        ready: Callable[[], bool],
        timeout: float,
        error: type[WorkbenchError] = WorkbenchError,
        what: str | None = None,
        tail: int = 25,
        interval: float = 0.1,
    ) -> None:
        """Poll ``ready()`` until it is true; stop the process and raise ``error`` (with the log's
        last ``tail`` lines) when it exits first or ``timeout`` seconds pass."""
        what = what or self.name
        deadline = time.monotonic() + timeout
        while True:
            if ready():
                return
            if self.popen is None or self.popen.poll() is not None:
                code = None if self.popen is None else self.popen.returncode
                self.stop(grace=5)
                raise error(
                    f"{what} exited at start (code {code}). Last lines of its log "
                    f"({self.log_path}):\n{self.logs(tail)}"
                )
            if time.monotonic() > deadline:
                self.stop(grace=5)
                raise error(
                    f"{what} did not become ready within {timeout:.0f} s; it was stopped. Give it "
                    f"more time or read the last lines of its log ({self.log_path}):\n"
                    f"{self.logs(tail)}"
                )
            time.sleep(interval)

    def stop(self, grace: float = 15.0) -> int | None:
        """Stop the process family: SIGTERM to the group, wait up to ``grace`` seconds, SIGKILL
        whatever is left (children that left the group included). Returns the exit code, or None
        when it was never started."""
        proc = self.popen
        if proc is None:
            return None
        _live.discard(self)
        if proc.poll() is None:
            family = _family(proc.pid)
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
            _wait_gone(family, grace)
        else:
            _signal_group(proc.pid, signal.SIGKILL)  # orphaned workers of a dead leader
        self.returncode = proc.returncode
        return self.returncode

    # ------------------------------------------------------------------ state

    @property
    def running(self) -> bool:
        """True while the leader process is alive."""
        return self.popen is not None and self.popen.poll() is None

    @property
    def pid(self) -> int | None:
        """The leader's process id (it is also the process group id)."""
        return self.popen.pid if self.popen is not None else None

    def logs(self, tail: int | None = None) -> str:
        """The process's output so far (the last ``tail`` lines when given)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-tail:] if tail else lines)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<ManagedProcess {self.name} pid={self.pid} ({state})>"


# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` set in ``os.environ`` for the block, and what was there before put back after."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def python_bin_path(env: dict[str, str] | None = None) -> str:
    """``PATH`` with this interpreter's folder first (its mlflow, uvicorn, jupyter)."""
    env = os.environ if env is None else env
    return f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """The child gets SIGTERM if the process that started it dies (a killed kernel)."""
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
    """Wait for every process of the family; SIGKILL what outlives ``grace``."""
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


_live: set[ManagedProcess] = set()  # strong: a process nobody holds is still stopped at exit


@atexit.register
def _stop_all() -> None:  # a notebook kernel that shuts down never leaves a server behind
    for proc in list(_live):
        with contextlib.suppress(Exception):
            proc.stop(grace=5.0)
