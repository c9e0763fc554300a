"""The serving client without a server: encoding, validation, error messages, the form, HTTP."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

import workbench as wb
from workbench.serving.client import (
    HttpClient,
    curl_command,
    decode_predictions,
    encode_frame,
    frame_from_form,
    validate_frame,
)


@pytest.fixture
def signature():
    schema = Schema(
        [
            ColSpec("double", "income", required=False),
            ColSpec("long", "term"),
            ColSpec("string", "purpose"),
        ]
    )
    return ModelSignature(inputs=schema)


def _row(**changes):
    row = {"income": 1234.5678901234567, "term": 36, "purpose": "car"}
    row.update(changes)
    return pd.DataFrame([row])


def test_encode_frame_is_dataframe_split_with_nulls_and_full_precision():
    frame = pd.DataFrame(
        {"a": [0.1 + 0.2, np.nan], "b": ["x", None], "d": pd.to_datetime(["2026-01-02", None])}
    )
    body = json.loads(encode_frame(frame))["dataframe_split"]
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
    signature, frame, error, fragment
):
    with pytest.raises(error, match=fragment):
        validate_frame(frame, signature)


def test_validate_casts_and_can_drop_extra_columns(signature):
    out = validate_frame(_row(term=36.0, extra="id-1"), signature, allow_extra=True)
    assert list(out.columns) == ["income", "term", "purpose"]
    assert out["term"].dtype == "int64"


def test_validate_without_a_signature_still_refuses_infinity_and_non_frames():
    with pytest.raises(wb.SchemaMismatchError, match="income"):
        validate_frame(_row(income=np.inf), None)
    with pytest.raises(wb.DataError, match="DataFrame"):
        validate_frame([1, 2], None)


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
        decode_predictions(400, body)
    message = str(info.value)
    assert info.value.status_code == 400
    assert "columns are missing: {'income'}" in message and "BAD_REQUEST" in message
    assert "Traceback" not in message and "/srv/app.py" not in message
    assert decode_predictions(200, b'{"predictions": [0, 1]}').tolist() == [0, 1]
    with pytest.raises(wb.ServingError, match="without predictions"):
        decode_predictions(200, b"{}")


def test_form_fields_become_a_typed_row_and_text_in_a_number_names_the_field(signature):
    row = frame_from_form({"income": "", "term": "36", "purpose": "car"}, signature)
    assert np.isnan(row.loc[0, "income"]) and row.loc[0, "term"] == 36.0
    with pytest.raises(wb.SchemaMismatchError, match="'term'"):
        frame_from_form({"income": "1", "term": "three", "purpose": "car"}, signature)


def test_curl_command_posts_the_encoded_frame():
    line = curl_command("http://127.0.0.1:5001", _row())
    assert line.startswith("curl -s -X POST http://127.0.0.1:5001/invocations ")
    assert '"dataframe_split"' in line


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - the standard library's name
        body = b"ok" if self.path == "/ping" else b"{}"
        self.send_response(200 if self.path == "/ping" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_url():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_http_client_keeps_one_connection_per_thread_and_closes_them_all(http_url):
    client = HttpClient(http_url)
    assert client.pings()
    assert client.request("GET", "/ping", timeout=5.0) == (200, b"ok")
    assert client.request("GET", "/nothing", timeout=5.0)[0] == 404
    other = threading.Thread(target=lambda: client.request("GET", "/ping", timeout=5.0))
    other.start()
    other.join()
    assert len(client._connections) == 2
    client.close()
    assert client._connections == []
    assert client.request("GET", "/ping", timeout=5.0)[0] == 200  # a new connection


def test_http_client_names_the_address_it_cannot_reach():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = HttpClient(f"http://127.0.0.1:{port}")
    assert not client.pings()
    with pytest.raises(wb.ServingError, match=f"cannot reach the model server at .*:{port}/x"):
        client.request("GET", "/x", timeout=1.0)
