"""The apps a person opens: JupyterLab with the MLflow UI beside it, the Voila dashboard and the
instructor's class dashboard.

They bind to 127.0.0.1, run in their own process groups, and are stopped together, by PID, when the
command ends (Ctrl-C) or fails.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
import urllib.request
from pathlib import Path

from workbench._core.process import HOST, ManagedProcess, free_port, python_bin_path
from workbench.errors import UsageError, WorkbenchError
from workbench.workspace import UI_FILE, Workspace, current_workspace, telemetry_off

#: The notebooks that come with the workbench (the dashboard's, when a workspace has none).
_PROJECT_NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

__all__ = [
    "AppProcess",
    "free_port",
    "start_class_dashboard",
    "start_dashboard",
    "start_lab",
    "start_mlflow_ui",
    "stop_all",
]


class AppProcess(ManagedProcess):
    """An app the workbench started (JupyterLab, the MLflow UI, Voila): a managed process with the
    address a person opens and the address that says it is ready.

    Attributes:
        url: What to open in a browser.
        ready_url: Answers below 500 once the app is ready.
        extra: App-specific values (JupyterLab's ``token``).
    """

    def __init__(
        self,
        name: str,
        command: list[str],
        ws: Workspace,
        url: str,
        ready_url: str,
        secret_env: dict[str, str] | None = None,
    ):
        telemetry_off()
        env = dict(os.environ, WORKBENCH_WORKSPACE=str(ws.root), **(secret_env or {}))
        env["PATH"] = python_bin_path(env)
        super().__init__(
            name, command, env=env, cwd=ws.root, log_path=ws.runs_dir / f"{name}.log",
            die_with_parent=False,
        )  # fmt: skip
        self.url = url
        self.ready_url = ready_url
        self.extra: dict = {}

    @property
    def process(self):
        """The ``subprocess.Popen`` of the app's leader process."""
        return self.popen

    def stop(self, grace: float = 15.0) -> int | None:
        """Stop the app (its process family), then forget what it recorded in the workspace."""
        try:
            return super().stop(grace)
        finally:
            for forget in self.extra.pop("on_stop", []):
                forget()

    @property
    def log(self) -> Path | None:
        """The app's log file."""
        return self.log_path

    def answers(self) -> bool:
        """True when ``ready_url`` answers with a status below 500."""
        try:
            with urllib.request.urlopen(self.ready_url, timeout=2) as resp:
                return resp.status < 500
        except OSError:
            return False


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
        "--host", HOST, "--port", str(port),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    app = _launch("mlflow-ui", cmd, ws, url, ready_url=f"{url}/health")
    _record_ui(app, ws.root / "mlruns" / UI_FILE)
    return app


def _record_ui(app: AppProcess, record: Path) -> None:
    """Tell every panel, report and dashboard of the workspace where this UI answers (the
    record names the process, so a UI that died is not linked to), until the app stops."""
    import json

    part = record.with_name(f".{record.name}.{os.getpid()}")
    part.write_text(json.dumps({"url": app.url, "pid": app.process.pid}))
    part.replace(record)

    def forget() -> None:
        try:
            if json.loads(record.read_text()).get("pid") == app.process.pid:
                record.unlink()
        except (OSError, ValueError, AttributeError):
            pass

    app.extra.setdefault("on_stop", []).append(forget)


def start_lab(
    ws: Workspace | None = None, port: int = 8888, token: str | None = None
) -> AppProcess:
    """JupyterLab on the workspace (notebooks/ open), at http://127.0.0.1:PORT with a token.

    The token reaches JupyterLab through its environment (``JUPYTER_TOKEN``), never the command
    line, which every local user can read in ``ps``. JupyterLab's news feed and update check are
    off: nothing is fetched from outside.
    """
    ws = ws or current_workspace()
    port, token = free_port(port), token or secrets.token_hex(16)
    cmd = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
        f"--port={port}", "--port-retries=0", f"--ServerApp.root_dir={ws.root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
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
        secret_env={"JUPYTER_TOKEN": token},
    )
    app.extra["token"] = token
    return app


def start_dashboard(
    ws: Workspace | None = None, port: int = 8866, notebook: str = "dashboard.ipynb"
) -> AppProcess:
    """The monitoring dashboard (``notebooks/dashboard.ipynb``: every registered model's live
    version, latest verdict, drift heatmap, performance and retrain flag) as a Voila app (no code
    shown), at http://127.0.0.1:PORT.

    The workspace's own ``notebooks/NOTEBOOK`` is served when it has one, else the project's copy.
    A tracking server in ``MLFLOW_TRACKING_URI`` (with the user's credentials) reaches the app
    through its environment.
    """
    ws = ws or current_workspace()
    path = ws.root / "notebooks" / notebook
    if not path.exists() and (_PROJECT_NOTEBOOKS / notebook).exists():
        path = _PROJECT_NOTEBOOKS / notebook
    if not path.exists():
        raise WorkbenchError(
            f"{ws.root / 'notebooks' / notebook} does not exist: the dashboard shows "
            f"notebooks/{notebook}; copy it from the workbench project into the workspace."
        )
    return _voila(ws, path, port)


#: The instructor's view: where ``workbench class dashboard`` finds it, and the variable that hands
#: the class file (``class.json``) to its kernel.
CLASS_NOTEBOOK = "lesson/instructor.ipynb"
CLASS_ROSTER_ENV = "WORKBENCH_CLASS_ROSTER"


def start_class_dashboard(roster: str | Path, port: int | None = None) -> AppProcess:
    """The instructor's view of a class (``notebooks/lesson/instructor.ipynb``: per learner and
    exercise done / tried / not started, the last hint given, live) as a Voila app on the open
    workspace, at http://127.0.0.1:PORT (8867 when free).

    Args:
        roster: The class file ``class.json`` that ``workbench class up`` wrote; it reaches the
            notebook's kernel as ``$WORKBENCH_CLASS_ROSTER`` (an absolute path).
        port: The port (default: 8867 when free, else any free one).

    Raises:
        UsageError: the class file is missing.
        WorkbenchError: the notebook is missing, or Voila did not start.
    """
    ws = current_workspace()
    roster = Path(roster).expanduser().resolve()
    if not roster.is_file():
        raise UsageError(
            f"{roster} does not exist: the class dashboard reads the class file that "
            "`workbench class up` writes (class/class.json, or team/class.json on a team server)."
        )
    path = ws.root / "notebooks" / CLASS_NOTEBOOK
    if not path.exists():
        path = _PROJECT_NOTEBOOKS / CLASS_NOTEBOOK
    if not path.exists():
        raise WorkbenchError(
            f"{path} does not exist: the class dashboard shows notebooks/{CLASS_NOTEBOOK}; "
            "copy it from the workbench project into the workspace."
        )
    return _voila(ws, path, port or 8867, {CLASS_ROSTER_ENV: str(roster)})


def _voila(ws: Workspace, path: Path, port: int, env: dict[str, str] | None = None) -> AppProcess:
    """Voila serving the notebook ``path`` on 127.0.0.1 (offline template when there is one), with
    ``env`` added to its environment (its kernels inherit it)."""
    port = free_port(port)
    cmd = [
        sys.executable, "-m", "voila", "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}",
        str(path),
    ]  # fmt: skip
    env = dict(env or {})
    templates = _offline_voila_template(ws)
    if templates is not None:
        cmd.insert(-1, f"--template={OFFLINE_TEMPLATE}")
        env["JUPYTER_PATH"] = os.pathsep.join(
            p for p in (str(templates), os.environ.get("JUPYTER_PATH", "")) if p
        )
    url = f"http://127.0.0.1:{port}/"
    # ready when Voila serves its static files: a GET of the page itself would run the notebook
    ready = f"{url}voila/static/voila.js"
    return _launch("voila", cmd, ws, url, ready_url=ready, ready_timeout=120, secret_env=env)


#: Voila's ``lab`` template without its two links to a CDN (Font Awesome, which voila.js bundles).
OFFLINE_TEMPLATE = "workbench-offline"


def _offline_voila_template(ws: Workspace) -> Path | None:
    """A Jupyter data folder (under ``runs/``) holding :data:`OFFLINE_TEMPLATE`: Voila's own lab
    page with every line that loads from ``cdn.jsdelivr.net`` left out, so that the page asks
    nothing of the internet. None when Voila's lab template is not where Voila keeps it."""
    from jupyter_core.paths import jupyter_path

    for folder in jupyter_path("voila", "templates", "lab"):
        source = Path(folder) / "index.html.j2"
        if source.exists():
            break
    else:
        return None
    root = ws.runs_dir / "voila-data"
    target = root / "voila" / "templates" / OFFLINE_TEMPLATE
    target.mkdir(parents=True, exist_ok=True)
    kept = [line for line in source.read_text().splitlines() if "cdn.jsdelivr.net" not in line]
    (target / "index.html.j2").write_text("\n".join(kept) + "\n")
    (target / "conf.json").write_text('{"base_template": "lab"}\n')
    return root


def _launch(
    name: str,
    cmd: list[str],
    ws: Workspace,
    url: str,
    ready_url: str,
    ready_timeout: float = 90,
    secret_env: dict[str, str] | None = None,
) -> AppProcess:
    app = AppProcess(name, cmd, ws, url, ready_url, secret_env)
    app.log_path.write_text("")  # a fresh log per start
    app.start()
    try:
        app.wait_until(app.answers, ready_timeout, WorkbenchError, tail=15, interval=0.3)
    except BaseException:  # Ctrl-C while waiting: the app has its own session, so stop it here
        app.stop(grace=10)
        raise
    return app


def stop_all(apps: list[AppProcess]) -> None:
    """Stop every app, last started first."""
    for app in reversed(apps):
        app.stop(grace=10)


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
