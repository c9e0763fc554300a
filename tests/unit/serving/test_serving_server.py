"""ModelServer without a model server: validation through the signature, refusals, connecting."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pandas as pd
import pytest
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

import workbench as wb


@pytest.fixture
def client():
    schema = Schema([ColSpec("double", "income", required=False), ColSpec("long", "term")])
    server = wb.ModelServer("models:/fake/1")
    server._info = type("Info", (), {"signature": ModelSignature(inputs=schema)})()
    return server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_validate_uses_the_models_signature(client):
    with pytest.raises(wb.SchemaMismatchError, match="extra"):
        client.validate(pd.DataFrame([{"income": 1.0, "term": 36, "extra": 1}]))
    out = client.validate(pd.DataFrame([{"income": 1.0, "term": 36.0}]))
    assert out["term"].dtype == "int64"


def test_unstarted_server_refuses_requests_and_stops_quietly(client):
    with pytest.raises(wb.ServingError, match="not started"):
        client.post(b"{}")
    assert client.health()["ok"] is False
    assert not client.running and client.pid is None and client.logs() == ""
    assert client.stop() is None
    with pytest.raises(wb.ServingError, match="not launched"):
        client.wait_until_ready()
    assert "stopped" in repr(client)


def test_serving_without_a_model_uri_is_refused_before_anything_starts():
    with pytest.raises(wb.ServingError, match="give a model URI"):
        wb.ModelServer(None).start()


def test_remote_load_tests_are_refused(client):
    remote = wb.ModelServer(None)
    remote.url = "http://10.0.0.5:5000"
    with pytest.raises(wb.ServingError, match="loopback"):
        wb.load_test(remote, pd.DataFrame([{"income": 1.0, "term": 36}]))


def test_connect_to_nothing_fails_within_its_timeout():
    started = time.monotonic()
    with pytest.raises(wb.ServingError, match="no model server answers"):
        wb.ModelServer.connect(f"http://127.0.0.1:{_free_port()}", timeout=1)
    assert time.monotonic() - started < 5
    with pytest.raises(wb.ServingError, match="http://host:port"):
        wb.ModelServer.connect("ftp://example.org")


def test_a_busy_port_is_refused_with_advice():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = wb.ModelServer("models:/fake/1", port=port)
        with pytest.raises(wb.ServingError, match=f"port {port}.*in use"):
            server._choose_port()


def test_importing_workbench_does_not_import_serving_dependencies():
    code = (
        "import sys, workbench; print('mlflow' in sys.modules, 'workbench.serving' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
