"""`workbench lab` starts JupyterLab and the MLflow UI on 127.0.0.1 and stops both together."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from workbench.apps import free_port
from workbench.workspace import UI_FILE, Workspace, running_ui


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purposes
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _pgrep(flag: str, value: int) -> list[int]:
    out = subprocess.run(["pgrep", flag, str(value)], capture_output=True, text=True)
    return [int(pid) for pid in out.stdout.split()]


@pytest.mark.server
def test_lab_and_mlflow_ui_start_and_stop_together(tmp_path):
    (tmp_path / "notebooks").mkdir()
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "rt")
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "data")
    lab_port, ui_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "--workspace", str(tmp_path), "lab",
         "--port", str(lab_port), "--mlflow-port", str(ui_port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        start_new_session=True,
    )  # fmt: skip
    lines, apps = [], []
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and not any("Ctrl-C" in line for line in lines):
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            lines.append(line)
        text = "".join(lines)
        assert "Ctrl-C" in text, text
        lab_url = re.search(r"jupyterlab: (\S+)", text).group(1)
        assert lab_url.startswith(f"http://127.0.0.1:{lab_port}/") and "token=" in lab_url
        token = lab_url.split("token=")[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{lab_port}/api/status?token={token}") as r:
            assert r.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/health") as r:
            assert r.status == 200
        record = tmp_path / "mlruns" / UI_FILE  # every link of the workspace points at this port
        assert running_ui(record) == f"http://127.0.0.1:{ui_port}"
        ws = Workspace(tmp_path, "sqlite:///x", tmp_path, tmp_path, tmp_path)
        with urllib.request.urlopen(ws.experiment_url("0")) as r:  # the training view's address
            assert r.status == 200
        apps[:] = _pgrep("-P", proc.pid)  # JupyterLab and the MLflow UI, each its own session
        assert len(apps) == 2, apps
        for pid in apps:  # the token is not on any command line, which every local user can read
            assert token not in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
        children = [pid for app in apps for pid in _pgrep("-s", app)]  # with their workers
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in children):
            time.sleep(0.2)
        leftovers = [pid for pid in children if _alive(pid)]
        assert leftovers == [], f"processes left behind: {leftovers}"
        assert not record.exists()  # a stopped UI is not linked to
    finally:  # a failed assertion must not leave the apps behind (each has its own session)
        for pgid in [proc.pid, *(apps or _pgrep("-P", proc.pid))]:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()
