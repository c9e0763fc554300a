"""Real JupyterLab in headless Chromium (the recipe in shared/NOTES.md).

``lab`` starts one JupyterLab server for the test session on 127.0.0.1, rooted in a temporary copy of
the project's notebooks with a workspace beside them; ``open_notebook(page, name)`` opens a notebook,
waits for the kernel, and runs all cells. With CI=true a missing browser fails; otherwise it skips.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items):
    for item in items:
        if "browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(
                "chromium is not installed: .ci/run must install it (apt-get install chromium)"
            )
        pytest.skip("chromium is not installed (apt-get install chromium fonts-liberation)")
    return {
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args():
    return {"viewport": {"width": 1400, "height": 1000}}


def _not_notebooks(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if not n.endswith(".ipynb")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    def __init__(self, root: Path, port: int, token: str, proc: subprocess.Popen, log: Path):
        self.root, self.port, self.token, self.proc, self.log = root, port, token, proc, log

    @property
    def workspace(self) -> Path:
        return self.root

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}{sep}token={self.token}"


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 over a temp copy of the project (notebooks + workspace)."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "project"
    (root / "mlruns").mkdir(parents=True)
    # the notebooks only: a running kernel's IPC sockets (kernel-ipc-N) may sit beside them
    shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=_not_notebooks)
    (root / "pyproject.toml").write_text("# a workbench workspace for the browser tests\n")
    settings = base / "settings"
    for plugin, values in {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
            "autoStartDefaultKernel": True
        },
    }.items():
        path = settings / plugin
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        folder = base / name.lower()
        folder.mkdir()
        env[name] = str(folder)
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    env["WORKBENCH_WORKSPACE"] = str(root)
    env.pop("MLFLOW_TRACKING_URI", None)
    port, token = _free_port(), secrets.token_hex(16)
    log = base / "lab.log"
    cmd = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
        f"--port={port}", "--port-retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
    ]  # fmt: skip
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    with log.open("w") as fh:
        proc = subprocess.Popen(
            cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Lab(root, port, token, proc, log)
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(server.url("api/status"), timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            pytest.fail(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
    yield server
    _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


@pytest.fixture
def open_notebook(lab):
    """Open ``notebooks/NAME`` in JupyterLab, wait for the kernel, Run All, and return the page."""

    def _open(page, name: str, timeout_ms: int = 120_000):
        page.set_default_timeout(timeout_ms)
        page.goto(lab.url(f"lab/tree/notebooks/{name}?reset"))
        page.get_by_text("| Idle").first.wait_for(timeout=timeout_ms)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_text("Run All Cells", exact=True).click()
        return page

    return _open


def off_machine(urls: list[str]) -> list[str]:
    """The requests of ``urls`` that left 127.0.0.1 (a page must ask the internet for nothing)."""
    return [u for u in urls if not u.startswith(("http://127.0.0.1:", "data:", "blob:"))]


def screenshot(locator, name: str, max_height: int = 1400) -> Path:
    """Save a PNG of the top of ``locator`` under docs/screenshots/ (the README shows these).

    JupyterLab scrolls the notebook inside its own panel, so an element taller than the window
    screenshots badly; the page is made tall enough and the picture clipped to the panel's top.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page = locator.page
    page.set_viewport_size({"width": 1400, "height": max_height + 200})
    locator.scroll_into_view_if_needed()
    locator.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    box = locator.bounding_box()
    height = min(box["height"], max_height, max_height + 200 - box["y"])
    page.screenshot(
        path=str(path),
        clip={"x": box["x"], "y": box["y"], "width": box["width"], "height": max(height, 50)},
    )
    return path
