"""The serving client without a server: encoding, validation, error messages, the form, the launcher."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

import workbench as wb
from workbench import serving
from workbench.apps import free_port


@pytest.fixture
def client():
    schema = Schema(
        [
            ColSpec("double", "income", required=False),
            ColSpec("long", "term"),
            ColSpec("string", "purpose"),
        ]
    )
    server = wb.ModelServer("models:/fake/1")
    server._info = type("Info", (), {"signature": ModelSignature(inputs=schema)})()
    return server


def _row(**changes):
    row = {"income": 1234.5678901234567, "term": 36, "purpose": "car"}
    row.update(changes)
    return pd.DataFrame([row])


def test_encode_frame_is_dataframe_split_with_nulls_and_full_precision():
    frame = pd.DataFrame(
        {"a": [0.1 + 0.2, np.nan], "b": ["x", None], "d": pd.to_datetime(["2026-01-02", None])}
    )
    body = json.loads(serving.encode_frame(frame))["dataframe_split"]
    assert body["columns"] == ["a", "b", "d"]
    assert body["data"][0][0] == 0.1 + 0.2  # every bit of the double survives
    assert body["data"][1] == [None, None, None]
    assert body["data"][0][2].startswith("2026-01-02")


@pytest.mark.parametrize(
    "frame, error, fragment",
    [
        (_row().drop(columns="income"), wb.MissingColumnError, "income"),  # optional, still needed
        (_row(extra=1), wb.SchemaMismatchError, "extra"),
        (_row(term=36.5), wb.SchemaMismatchError, "term"),
        (_row(term="36"), wb.SchemaMismatchError, "term"),
        (_row(income=np.inf), wb.SchemaMismatchError, "income"),
        (_row(purpose=3), wb.SchemaMismatchError, "purpose"),
        (_row().iloc[:0], wb.DataError, "no rows"),
    ],
)
def test_validate_refuses_what_the_server_would_coerce_naming_the_column(
    client, frame, error, fragment
):
    with pytest.raises(error, match=fragment):
        client.validate(frame)


def test_validate_casts_and_can_drop_extra_columns(client):
    out = client.validate(_row(term=36.0, extra="id-1"), allow_extra=True)
    assert list(out.columns) == ["income", "term", "purpose"]
    assert out["term"].dtype == "int64"


def test_server_errors_keep_the_message_and_the_cause_but_not_the_trace():
    body = json.dumps(
        {
            "error_code": "BAD_REQUEST",
            "message": "Encountered an unexpected error while evaluating the model.",
            "stack_trace": 'Traceback (most recent call last):\n  File "/srv/app.py", line 3\n'
            "ValueError: columns are missing: {'income'}\n",
        }
    ).encode()
    with pytest.raises(wb.ServerRequestError) as info:
        serving._predictions(400, body)
    message = str(info.value)
    assert info.value.status_code == 400
    assert "columns are missing: {'income'}" in message and "BAD_REQUEST" in message
    assert "Traceback" not in message and "/srv/app.py" not in message
    assert serving._predictions(200, b'{"predictions": [0, 1]}').tolist() == [0, 1]


def test_form_fields_become_a_typed_row_and_text_in_a_number_names_the_field(client):
    sig = client.signature
    row = serving.frame_from_form({"income": "", "term": "36", "purpose": "car"}, sig)
    assert np.isnan(row.loc[0, "income"]) and row.loc[0, "term"] == 36.0
    with pytest.raises(wb.SchemaMismatchError, match="'term'"):
        serving.frame_from_form({"income": "1", "term": "three", "purpose": "car"}, sig)


def test_unstarted_server_and_remote_load_tests_are_refused(client):
    with pytest.raises(wb.ServingError, match="not started"):
        client.post(b"{}")
    remote = wb.ModelServer(None)
    remote.url = "http://10.0.0.5:5000"
    with pytest.raises(wb.ServingError, match="loopback"):
        wb.load_test(remote, _row())


def test_connect_to_nothing_fails_within_its_timeout():
    started = time.monotonic()
    with pytest.raises(wb.ServingError, match="no model server answers"):
        wb.ModelServer.connect(f"http://127.0.0.1:{free_port()}", timeout=1)
    assert time.monotonic() - started < 5


def test_commands_keep_mlflow_models_serve_flags(client):
    client.port, client.workers = 5123, 2
    tuned = client._command()
    assert tuned[1:3] == ["-m", "workbench._serve_launcher"]
    client.gc_tuned = False
    plain = client._command()
    assert plain[1:5] == ["-m", "mlflow", "models", "serve"] and "--env-manager" in plain
    assert tuned[-8:] == plain[-8:] == ["-h", "127.0.0.1", "-p", "5123", "-w", "2", "-t", "60"]
    from workbench._serve_launcher import parse_args

    args = parse_args(tuned[3:])
    assert (args.model_uri, args.host, args.port, args.workers) == (
        "models:/fake/1",
        "127.0.0.1",
        5123,
        2,
    )


def test_default_workers_is_the_number_of_cores():
    import os

    assert serving.default_workers() == len(os.sched_getaffinity(0))
    assert wb.ModelServer("x").workers == serving.default_workers()


def test_importing_workbench_does_not_import_serving_dependencies():
    import subprocess
    import sys

    code = (
        "import sys, workbench; print('mlflow' in sys.modules, 'workbench.serving' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
