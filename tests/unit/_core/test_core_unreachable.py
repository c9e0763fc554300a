"""A tracking server that does not answer: real requests to a port nobody listens on."""

from __future__ import annotations

import os
import time

import mlflow
import pytest
from mlflow.exceptions import MlflowException

from workbench._core.process import free_port
from workbench._core.remote import speaks_for_server
from workbench._core.unreachable import quick_failures, server_down, unreachable
from workbench.errors import RegistryError, ServerUnavailableError


@pytest.fixture
def nobody(monkeypatch) -> str:
    """A tracking URI on 127.0.0.1 where nothing listens; MLflow does not retry."""
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    return url


def _refused(url: str) -> MlflowException:
    with pytest.raises(MlflowException) as caught:
        mlflow.MlflowClient(url, registry_uri=url).get_experiment_by_name("x")
    return caught.value


def test_a_refused_connection_is_read_as_such(nobody):
    err = _refused(nobody)
    assert unreachable(err) == "connection refused"
    wrapped = RegistryError(f"logging failed: {err}")
    wrapped.__cause__ = err
    assert unreachable(wrapped) == "connection refused"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Max retries exceeded with url: /x (Caused by ResponseError('too many 503 error "
         "responses'))", "it answered 503 to every retry"),
        ("failed with timeout exception ReadTimeout", "it timed out"),
        ("Connection aborted. RemoteDisconnected('Remote end closed connection')",
         "the connection dropped"),
    ],
)  # fmt: skip
def test_other_ways_a_server_fails_to_answer(text, reason):
    err = MlflowException(f"API request to http://h/api/2.0/mlflow/runs/get failed with {text}")
    assert unreachable(err).startswith(reason)


def test_answers_that_are_not_about_reaching_the_server_are_left_alone():
    assert unreachable(MlflowException("Registered model alias x not found.")) is None
    assert unreachable(MlflowException("Waiting for the version timed out")) is None  # no request
    assert unreachable(ValueError("Connection refused")) is None  # not from an HTTP client


def test_a_decorated_step_says_which_server_and_to_retry_and_keeps_the_outer_action(nobody):
    @speaks_for_server("reading the version")
    def inner():
        mlflow.MlflowClient(nobody, registry_uri=nobody).get_registered_model("m")

    @speaks_for_server("promoting")
    def outer():
        inner()

    started = time.monotonic()
    with pytest.raises(ServerUnavailableError) as caught:
        outer()
    text = str(caught.value)
    assert text.startswith(f"the tracking server {nobody} did not answer while promoting ")
    assert "connection refused" in text and "workbench team status" in text and "retry" in text
    assert "HTTPConnectionPool" not in text and time.monotonic() - started < 5


def test_what_a_step_left_behind_survives_the_outer_step(nobody):
    @speaks_for_server("logging a model")
    def step():
        raise server_down("writing files", "connection refused", then="No version was registered.")

    with pytest.raises(
        ServerUnavailableError, match=r"while logging a model .*No version was registered"
    ):
        step()


def test_quick_failures_turn_retries_off_for_the_block_only(monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3")
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    with quick_failures():
        assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "0"
        assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "5"
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "3"
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" not in os.environ


RETRIES = ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR")


def test_a_shared_workspace_sets_short_retries_unless_the_user_chose(tmp_path, monkeypatch):
    import workbench as wb

    for key in (*RETRIES, "MLFLOW_HTTP_REQUEST_TIMEOUT"):
        monkeypatch.delenv(key, raising=False)
    wb.open_workspace(tmp_path / "local")  # a local store: MLflow's own settings stay
    assert not any(key in os.environ for key in RETRIES)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "45")  # the user's choice wins
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    try:
        wb.open_workspace(tmp_path / "shared")
        assert [os.environ[key] for key in RETRIES] == ["3", "1"]
        assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "45"
        started = time.monotonic()
        with pytest.raises(ServerUnavailableError, match="did not answer while listing the versi"):
            wb.versions("m")
        took = time.monotonic() - started
        assert 2 < took < 15, took  # retried (0, 2 and 4 s apart), not for minutes
    finally:
        monkeypatch.delenv("MLFLOW_TRACKING_URI")
        wb.open_workspace(tmp_path / "local")
