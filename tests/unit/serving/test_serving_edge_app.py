"""The server's edge in process (``_edge``): Host and Origin checks, the size cap, the private token route.

The edge wraps a real (tiny) Starlette app for the routes it passes on; ``/invocations`` is the
edge's own, with a predict function that echoes the row count.
"""

from __future__ import annotations

import json

import pytest
from mlflow.types import ColSpec, Schema
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from workbench.serving._edge import Edge
from workbench.serving.options import NONCE_PATH, EdgeSettings

SCHEMA = Schema([ColSpec("double", "x")])
BODY = json.dumps({"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.0]]}}).encode()


def _inner():
    return Starlette(routes=[Route("/ping", lambda request: PlainTextResponse("\n"))])


def _predict(frame) -> bytes:
    if frame["x"].iloc[0] == 13.0:
        raise RuntimeError("/secret/path/model.py failed on 13")
    return json.dumps({"predictions": [len(frame)]}).encode()


def _client(settings=None, nonce="tok-123", client=("127.0.0.1", 40000), base="http://127.0.0.1"):
    edge = Edge(_inner(), _predict, SCHEMA, settings or EdgeSettings(), nonce, timeout=5)
    return TestClient(edge, base_url=base, client=client)


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.1:5001", "localhost", "LOCALHOST:80", "[::1]", "[::1]:5001"]
)
def test_loopback_hosts_are_served(host):
    answer = _client().post("/invocations", content=BODY, headers={"Host": host,
                            "Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code == 200 and answer.json() == {"predictions": [2]}


@pytest.mark.parametrize(
    "host, status",
    [
        ("evil.example", 421),
        ("evil.example:5001", 421),
        ("127.0.0.1.nip.io", 421),
        ("localhost.evil.example", 421),
        ("10.0.0.5", 421),
        ("127.0.0.1:abc", 400),
        ("[::1", 400),
        ("a:b:c", 400),
    ],
)
def test_other_hosts_are_refused_on_every_route(host, status):
    client = _client()
    for method, path in (("POST", "/invocations"), ("GET", "/ping"), ("GET", NONCE_PATH)):
        answer = client.request(method, path, content=BODY, headers={"Host": host})
        assert answer.status_code == status, (host, path)
        assert "tok-123" not in answer.text


def test_a_named_host_is_served_when_allowed():
    client = _client(EdgeSettings.build(["model.internal"]))
    assert client.get("/ping", headers={"Host": "model.internal:5001"}).status_code == 200
    assert client.get("/ping", headers={"Host": "other.internal"}).status_code == 421


@pytest.mark.parametrize(
    "origin, status",
    [
        ("http://evil.example", 403),
        ("https://evil.example:443", 403),
        ("null", 403),
        ("file://", 403),
        ("http://localhost:8888", 200),
        ("http://127.0.0.1:8888", 200),
    ],
)
def test_a_cross_origin_simple_request_is_refused(origin, status):
    answer = _client().post(
        "/invocations",
        content=b"x\n1.0\n",
        headers={"Content-Type": "text/csv", "Origin": origin},
    )
    assert answer.status_code == status, answer.text


def test_a_body_over_the_cap_is_413_by_its_length_or_as_it_streams():
    client = _client(EdgeSettings.build(max_request_mb=0.001))  # 1,048 bytes
    big = json.dumps({"dataframe_split": {"columns": ["x"], "data": [[1.0]] * 400}}).encode()
    answer = client.post("/invocations", content=big, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and "0.001 MB" in answer.json()["message"]
    assert answer.headers["connection"] == "close"

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(50):
            yield b" " * 100

    answer = client.post(
        "/invocations", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413
    small = client.post("/invocations", content=BODY, headers={"Content-Type": "application/json"})
    assert small.status_code == 200


def test_the_token_route_answers_loopback_callers_only():
    assert _client().get(NONCE_PATH).text == "tok-123"
    assert _client(client=("10.1.2.3", 5555)).get(NONCE_PATH).status_code == 404
    assert _client(nonce=None).get(NONCE_PATH).status_code == 404
    assert _client().post(NONCE_PATH).status_code != 200


def test_model_failures_and_wrong_methods_leak_nothing():
    client = _client()
    bad = json.dumps({"dataframe_split": {"columns": ["x"], "data": [[13.0]]}}).encode()
    answer = client.post("/invocations", content=bad, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert set(answer.json()) == {"error_code", "message"}
    assert "RuntimeError" in answer.text and "/secret" not in answer.text
    assert client.get("/invocations").status_code == 405
    assert client.get("/ping").status_code == 200


def test_the_contracts_ids_come_back_and_its_label_is_ignored():
    edge = Edge(_inner(), _predict, SCHEMA, EdgeSettings(), "tok", timeout=5,
                echo=["loan_id", "customer"], ignore=["default"])  # fmt: skip
    client = TestClient(edge, base_url="http://127.0.0.1", client=("127.0.0.1", 40000))
    rows = {"columns": ["loan_id", "x", "default", "customer"],
            "data": [[7, 1.0, 1, "C-01"], [8, 2.0, 0, None]]}  # fmt: skip
    answer = client.post("/invocations", json={"dataframe_split": rows})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "predictions": [2],
        "ids": {"loan_id": [7, 8], "customer": ["C-01", None]},
    }
    # a column that is neither an input, an id nor the label is still refused, by name
    other = {"columns": ["x", "mystery"], "data": [[1.0, 2.0]]}
    refused = client.post("/invocations", json={"dataframe_split": other})
    assert refused.status_code == 400 and "mystery" in refused.json()["message"]
    # without ids in the request, the answer is MLflow's own
    plain = client.post(
        "/invocations", json={"dataframe_split": {"columns": ["x"], "data": [[1.0]]}}
    )
    assert plain.json() == {"predictions": [1]}
