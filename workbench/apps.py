"""The apps a person opens: JupyterLab with the MLflow UI beside it, and the Voila dashboard.

Both bind to 127.0.0.1, run in their own process groups, and are stopped together, by PID, when the
command ends (Ctrl-C) or fails.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.workspace import Workspace, current_workspace

__all__ = ["AppProcess", "start_dashboard", "start_lab", "start_mlflow_ui", "stop_all"]


@dataclass
class AppProcess:
    """A server the workbench started: its process, address and log file."""

    name: str
    url: str
    process: subprocess.Popen
    log: Path
    ready_url: str = ""
    extra: dict = field(default_factory=dict)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the process group, then SIGKILL after ``grace`` seconds; returns when every
        process of the group (workers included) is gone."""
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                self.process.poll()  # reap the leader
                try:
                    os.killpg(self.process.pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.1)


def free_port(preferred: int | None = None) -> int:
    """``preferred`` when it is free on 127.0.0.1, else any free port."""
    if preferred:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", preferred))
                return preferred
            except OSError:
                pass
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mlflow_ui(ws: Workspace | None = None, port: int = 5000) -> AppProcess:
    """The MLflow UI on the workspace's store, at http://127.0.0.1:PORT."""
    ws = ws or current_workspace()
    if ws.shared:
        raise WorkbenchError(
            f"the tracking store is a shared server ({ws.tracking_uri}): open it in a browser."
        )
    port = free_port(port)
    cmd = [
        sys.executable, "-m", "mlflow", "ui",
        "--backend-store-uri", ws.tracking_uri,
        "--default-artifact-root", ws.artifact_root.as_uri(),
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    return _launch("mlflow-ui", cmd, ws, url, ready_url=f"{url}/health")


def start_lab(
    ws: Workspace | None = None, port: int = 8888, token: str | None = None
) -> AppProcess:
    """JupyterLab on the workspace (notebooks/ open), at http://127.0.0.1:PORT with a token."""
    ws = ws or current_workspace()
    port, token = free_port(port), token or secrets.token_hex(16)
    cmd = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
        f"--port={port}", "--port-retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={ws.root}",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    base = f"http://127.0.0.1:{port}"
    app = _launch(
        "jupyterlab",
        cmd,
        ws,
        f"{base}/lab/tree/notebooks?token={token}",
        f"{base}/api/status?token={token}",
    )
    app.extra["token"] = token
    return app


def start_dashboard(
    ws: Workspace | None = None, port: int = 8866, notebook: str = "04_monitor_drift.ipynb"
) -> AppProcess:
    """The monitoring notebook as a Voila app (no code shown), at http://127.0.0.1:PORT."""
    ws = ws or current_workspace()
    path = ws.root / "notebooks" / notebook
    if not path.exists():
        raise WorkbenchError(f"{path} does not exist: the dashboard shows notebooks/{notebook}.")
    port = free_port(port)
    cmd = [
        sys.executable, "-m", "voila", "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}",
        str(path),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    return _launch("voila", cmd, ws, url, ready_url=url, ready_timeout=120)


def _launch(
    name: str, cmd: list[str], ws: Workspace, url: str, ready_url: str, ready_timeout: float = 90
) -> AppProcess:
    log = ws.runs_dir / f"{name}.log"
    env = dict(os.environ, WORKBENCH_WORKSPACE=str(ws.root))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    with log.open("w") as fh:
        proc = subprocess.Popen(
            cmd, cwd=ws.root, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
    app = AppProcess(name, url, proc, log, ready_url)
    try:
        _wait_ready(app, ready_timeout)
    except BaseException:  # Ctrl-C while waiting: the app has its own session, so stop it here
        app.stop()
        raise
    return app


def _wait_ready(app: AppProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(app.ready_url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except OSError:
            time.sleep(0.3)
    app.stop()
    tail = "\n".join(app.log.read_text(errors="replace").splitlines()[-15:])
    raise WorkbenchError(f"{app.name} did not start within {timeout:.0f} s; its log ends:\n{tail}")


def stop_all(apps: list[AppProcess]) -> None:
    """Stop every app, last started first."""
    for app in reversed(apps):
        app.stop()


def wait_forever(apps: list[AppProcess]) -> int:
    """Block until Ctrl-C or until one app exits; stop them all. Returns the exit code."""
    stopping = {"flag": False}

    def _on_term(signum, frame):  # SIGTERM to the CLI stops the apps too
        stopping["flag"] = True

    signal.signal(signal.SIGTERM, _on_term)
    try:
        while not stopping["flag"]:
            for app in apps:
                if app.process.poll() is not None:
                    print(
                        f"{app.name} exited ({app.process.returncode}); see {app.log}",
                        file=sys.stderr,
                    )
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop_all(apps)
    return 0
