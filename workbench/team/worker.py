"""A warm service process of the team server: imports paid once, one job at a time, a time limit.

Starting ``python -m workbench.team.service`` for every promotion costs about 2 s of imports (MLflow
alone is 1.5 s) against a promotion's own fraction of a second. A :class:`ServiceWorker` keeps one
``python -m workbench.team.service --serve`` process per kind of job (promotions and checks apart, so
a long check never holds a promotion up) in each of the server's workers, started on first use. It
sends one JSON job per line and reads the answer line, marked with :data:`MARK` (anything else the
process prints goes to the server's log). A job that outlives its limit, or a process that died,
costs the process: it is killed and the next job starts a fresh one.

Example:
    >>> ServiceWorker({}, ".").alive
    False
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from typing import Any

__all__ = ["MARK", "ServiceWorker"]

#: The prefix of the answer line (so that a library's stray print cannot pass for an answer).
MARK = "@@workbench-service-answer@@ "


class ServiceWorker:
    """One warm service process.

    Args:
        env: The process's environment (the service user's login, the signing identity).
        cwd: Its working folder (the service workspace).
    """

    def __init__(self, env: dict[str, str], cwd: str) -> None:
        self.env = env
        self.cwd = cwd
        self._proc: subprocess.Popen | None = None
        self._buffer = b""
        self._lock = threading.Lock()

    @property
    def alive(self) -> bool:
        """Whether the process runs now."""
        return self._proc is not None and self._proc.poll() is None

    def run(self, action: str, job: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """The answer to ``job``, or None when the process died or ``timeout`` passed (it is
        stopped then).

        Raises:
            TimeoutError: the job took longer than ``timeout`` seconds.
        """
        with self._lock:
            proc = self._start()
            try:
                assert proc.stdin is not None
                proc.stdin.write((json.dumps({"action": action, "job": job}) + "\n").encode())
                proc.stdin.flush()
            except OSError:
                self.stop()
                return None
            line = self._answer(time.monotonic() + timeout)
            if line is None:
                timed_out = self.alive
                self.stop()
                if timed_out:
                    raise TimeoutError(f"{action} took longer than {timeout:.0f} s")
                return None
            try:
                found = json.loads(line)
            except ValueError:
                return None
            return found if isinstance(found, dict) else None

    def stop(self) -> None:
        """Stop the process (the next job starts another)."""
        proc, self._proc, self._buffer = self._proc, None, b""
        if proc is None:
            return
        proc.kill()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def _start(self) -> subprocess.Popen:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._buffer = b""
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "workbench.team.service", "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # the server's log
            env=self.env,
            cwd=self.cwd,
        )
        return self._proc

    def _answer(self, deadline: float) -> str | None:
        """The next answer line; other lines go to the log. None at EOF or the deadline."""
        proc = self._proc
        if proc is None or proc.stdout is None:
            return None
        fd = proc.stdout.fileno()
        while True:
            while b"\n" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\n", 1)
                text = raw.decode(errors="replace")
                if text.startswith(MARK):
                    return text[len(MARK) :]
                sys.stderr.write(f"[workbench service] {text}\n")
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None  # the process ended
            self._buffer += chunk
