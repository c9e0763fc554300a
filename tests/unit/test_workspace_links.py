"""Live links: one setting for the MLflow UI address, the UI the workbench started on this
workspace while it runs, the tracking server without its login; every link opens MLflow's training
view (3.17's UI opens the GenAI overview unless the address asks)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from workbench.workspace import TRAINING_VIEW, UI_ENV, UI_FILE, Workspace


def _ws(tmp_path, uri: str | None = None) -> Workspace:
    (tmp_path / "mlruns").mkdir(exist_ok=True)
    uri = uri or f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    return Workspace(
        tmp_path, uri, tmp_path / "a", tmp_path / "r", tmp_path / "x", uri[:4] == "http"
    )


@pytest.fixture(autouse=True)
def _no_setting(monkeypatch):
    monkeypatch.delenv(UI_ENV, raising=False)


def test_the_default_is_the_mlflow_ui_port(tmp_path):
    ws = _ws(tmp_path)
    assert ws.ui_base() == "http://127.0.0.1:5000"
    assert (
        ws.run_url("3", "abc") == f"http://127.0.0.1:5000/#/experiments/3/runs/abc?{TRAINING_VIEW}"
    )


def test_a_running_ui_is_linked_and_a_dead_one_is_not(tmp_path):
    ws = _ws(tmp_path)
    record = tmp_path / "mlruns" / UI_FILE
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        record.write_text(json.dumps({"url": "http://127.0.0.1:5123", "pid": alive.pid}))
        assert ws.ui_base() == "http://127.0.0.1:5123"
    finally:
        alive.kill()
        alive.wait()
    assert ws.ui_base() == "http://127.0.0.1:5000"  # its process is gone: not linked to
    for broken in ("", "{", '{"url": "x"}', '{"url": "x", "pid": "seven"}', "[]"):
        record.write_text(broken)
        assert ws.ui_base() == "http://127.0.0.1:5000", broken


def test_the_setting_wins_and_a_server_loses_its_login(tmp_path, monkeypatch):
    server = _ws(tmp_path, "http://ana:secret@10.0.0.5:5005/")
    assert server.ui_base() == "http://10.0.0.5:5005"
    assert "secret" not in server.model_url("m", 1)
    monkeypatch.setenv(UI_ENV, "https://mlflow.example.org/")
    assert server.ui_base() == "https://mlflow.example.org"


def test_links_quote_names_and_point_into_the_training_view(tmp_path):
    ws = _ws(tmp_path)
    url = ws.model_url("credit risk/#?", 12)
    assert url.endswith(f"/#/models/credit%20risk%2F%23%3F/versions/12?{TRAINING_VIEW}")
    report = ws.run_url("1", "r9", artifact="monitoring/report.html")
    assert report.endswith(f"/runs/r9/artifacts/monitoring/report.html?{TRAINING_VIEW}")
    assert ws.experiment_url("4").endswith(f"/#/experiments/4?{TRAINING_VIEW}")
