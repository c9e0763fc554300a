"""Fuzzing the served edge: bad payloads to one real server, each answered 4xx without a leak.

The list borrows MLflow's own scoring-server tests (malformed JSON, scalars, both format keys,
ragged split data, empty CSV, unknown content types) and adds overflow, booleans, nullability,
NaN and Infinity, deep nesting, an oversized body, foreign Host and Origin headers, and the
types MLflow's server silently coerces ("30", 30.9, true in a number column, an extra column).
Every answer must be 4xx, never 5xx, and its body must hold no traceback, no file path and not
the payload's marker string; ``/ping`` must stay healthy. The test prints the table of payload
kind, status and body length.

The model has a column of each kind the edge types: ``age`` long (required), ``income`` double
(may be missing), ``loan_amount`` double (required) and ``region`` text (required).
"""

from __future__ import annotations

import json
import select
import socket

import numpy as np
import pandas as pd
import pytest

import workbench as wb

pytestmark = pytest.mark.server

MARKER = "WBFUZZ-MARKER-93c1"
COLUMNS = ["age", "income", "loan_amount", "region"]
ROW = [41, 52000.5, 12000.0, "north"]
LEAKS = ("Traceback", 'File "', "site-packages", "/tmp/", "/home/", "/work/", "/root/", MARKER)


@pytest.fixture(scope="module")
def fuzz_server(_trained_session):
    """A skops pipeline logged with plain MLflow (long, nullable double, double, text columns)."""
    import mlflow
    import skops.io
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    wb.open_workspace(_trained_session.ws.root)
    rng = np.random.default_rng(7)
    n = 300
    x = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n).astype("int64"),
            "income": np.where(rng.random(n) < 0.1, np.nan, rng.normal(50_000, 9_000, n)),
            "loan_amount": rng.normal(12_000, 3_000, n),
            "region": rng.choice(["north", "south", "east"], n),
        }
    )
    y = (x["age"] + rng.normal(0, 10, n) > 50).astype(int)
    model = make_pipeline(
        ColumnTransformer(
            [
                ("num", SimpleImputer(), ["age", "income", "loan_amount"]),
                ("cat", OneHotEncoder(handle_unknown="ignore"), ["region"]),
            ]
        ),
        LogisticRegression(max_iter=500),
    ).fit(x, y)
    example = x.head(20).copy()
    example.loc[example.index[0], "income"] = np.nan  # the signature says: income may be missing
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model,
            name="m",
            serialization_format="skops",
            skops_trusted_types=skops.io.get_untrusted_types(data=skops.io.dumps(model)),
            input_example=example,
            registered_model_name="edge-fuzz",
            pip_requirements=["scikit-learn"],
        )
    inputs = {s.name: (str(s.type), s.required) for s in info.signature.inputs.inputs}
    assert inputs == {
        "age": ("DataType.long", True),
        "income": ("DataType.double", False),
        "loan_amount": ("DataType.double", True),
        "region": ("DataType.string", True),
    }
    with wb.serve(f"models:/edge-fuzz/{info.registered_model_version}", workers=1) as server:
        yield server, str(_trained_session.ws.root)


# --------------------------------------------------------------------------- raw HTTP


def _exchange(port, request: bytes, timeout=30.0) -> tuple[int, bytes]:
    """Send ``request`` (head and body) piece by piece, stop sending once the server answers,
    and read the answer to the end (every request says ``Connection: close``)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setblocking(False)
    answer, sent = b"", 0
    try:
        while sent < len(request):
            readable, writable, _ = select.select([sock], [sock], [], timeout)
            if readable:
                break  # answered before the body was sent in full
            try:
                sent += sock.send(request[sent : sent + 65536])
            except (BrokenPipeError, ConnectionResetError, BlockingIOError):
                break
        sock.setblocking(True)
        sock.settimeout(timeout)
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            answer += chunk
    finally:
        sock.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _request(method="POST", path="/invocations", body=b"", content_type="application/json",
             host="127.0.0.1", headers=(), length=True) -> bytes:  # fmt: skip
    if isinstance(body, str):
        body = body.encode()
    lines = [f"{method} {path} HTTP/1.1", "Connection: close"]
    if host is not None:
        lines.append(f"Host: {host}")
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    if length:
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _split(rows, columns=COLUMNS, **extra):
    return json.dumps({"dataframe_split": {"columns": columns, "data": rows}, **extra})


def _with(column, value):
    row = list(ROW)
    row[COLUMNS.index(column)] = value
    return _split([ROW, row])


def _raw_value(column, text):
    return _with(column, "@@").replace('"@@"', text)


def _chunked(total: int) -> bytes:
    piece = b" " * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(total // len(piece)))
    return chunks + b"0\r\n\r\n"


CSV_HEAD = "age,income,loan_amount,region\n"
OVERSIZED = 17 * 1024 * 1024
PAYLOADS = {
    # MLflow's scoring-server test list
    "malformed JSON": _request(body='{"dataframe_split": {"columns": ["age", "' + MARKER),
    "truncated JSON": _request(body=_split([ROW])[:-7]),
    "JSON scalar number": _request(body="42"),
    "JSON scalar string": _request(body=json.dumps(MARKER)),
    "JSON null": _request(body="null"),
    "JSON true": _request(body="true"),
    "JSON list of records, no key": _request(body=json.dumps([dict(zip(COLUMNS, ROW))])),
    "both format keys": _request(body=_split([ROW], dataframe_records=[{"age": MARKER}])),
    "no format key": _request(body=json.dumps({"data": [[MARKER]]})),
    "unknown top-level key": _request(body=_split([ROW], note=MARKER)),
    "params": _request(body=_split([ROW], params={"x": MARKER})),
    "split: ragged rows": _request(body=_split([ROW, [*ROW, MARKER]])),
    "split: columns not a list": _request(
        body=json.dumps({"dataframe_split": {"columns": MARKER, "data": [ROW]}})
    ),
    "split: data not rows": _request(
        body=json.dumps({"dataframe_split": {"columns": COLUMNS, "data": MARKER}})
    ),
    "split: index length": _request(
        body=json.dumps({"dataframe_split": {"columns": COLUMNS, "data": [ROW], "index": [0, 1]}})
    ),
    "split: duplicate columns": _request(
        body=_split([[1, 2, 3, MARKER]], ["age", "age", "loan_amount", "region"])
    ),
    "records: different keys": _request(
        body=json.dumps({"dataframe_records": [dict(zip(COLUMNS, ROW)), {"age": 1, "x": MARKER}]})
    ),
    "records: an object": _request(body=json.dumps({"dataframe_records": {"age": MARKER}})),
    "instances: scalars": _request(body=json.dumps({"instances": [1, 2, MARKER]})),
    "inputs: ragged columns": _request(
        body=json.dumps({"inputs": {"age": [1, 2], "region": [MARKER]}})
    ),
    "empty JSON body": _request(body=""),
    "empty CSV": _request(body="", content_type="text/csv"),
    "CSV header only (zero rows)": _request(body=CSV_HEAD, content_type="text/csv"),
    "CSV ragged row": _request(body=CSV_HEAD + f"41,1,2,north,{MARKER}\n", content_type="text/csv"),
    "CSV text in a number column": _request(
        body=CSV_HEAD + f"{MARKER},1,2,north\n", content_type="text/csv"
    ),
    "CSV inf": _request(body=CSV_HEAD + "41,inf,2,north\n", content_type="text/csv"),
    "CSV fraction in an integer column": _request(
        body=CSV_HEAD + "30.9,1,2,north\n", content_type="text/csv"
    ),
    "content type text/plain": _request(body=MARKER, content_type="text/plain"),
    "content type form": _request(
        body=f"a={MARKER}", content_type="application/x-www-form-urlencoded"
    ),
    "no content type": _request(body=_split([ROW]), content_type=None),
    "charset latin-1": _request(
        body=_split([ROW]), content_type="application/json; charset=latin-1"
    ),
    "unknown content-type parameter": _request(
        body=_split([ROW]), content_type=f"application/json; format={MARKER}"
    ),
    "Parquet garbage": _request(
        body=b"PAR1" + MARKER.encode(), content_type="application/vnd.apache.parquet"
    ),
    "invalid UTF-8": _request(body=b"\xff\xfe\xfd" + MARKER.encode()),
    # values
    "overflow 1e400": _request(body=_raw_value("loan_amount", "1e400")),
    "NaN token": _request(body=_raw_value("loan_amount", "NaN")),
    "Infinity token": _request(body=_raw_value("income", "Infinity")),
    "-Infinity token": _request(body=_raw_value("income", "-Infinity")),
    "bool true in a number column": _request(body=_with("loan_amount", True)),
    '"30" in a number column': _request(body=_with("age", "30")),
    "30.9 in an integer column": _request(body=_with("age", 30.9)),
    "true in an integer column": _request(body=_with("age", True)),
    "huge integer 1e30": _request(body=_with("age", 10**30)),
    "null in an integer column": _request(body=_with("age", None)),
    "null in a required number column": _request(body=_with("loan_amount", None)),
    "null in a required text column": _request(body=_with("region", None)),
    "number in a text column": _request(body=_with("region", 7)),
    "object in a cell": _request(body=_with("loan_amount", {"x": MARKER})),
    "list in a cell": _request(body=_with("region", [MARKER])),
    "text with the marker in a number column": _request(body=_with("income", MARKER)),
    "extra column": _request(body=_split([[*ROW, MARKER]], [*COLUMNS, "incme"])),
    "missing column": _request(body=_split([[41, 1.0, MARKER]], ["age", "income", "region"])),
    "zero rows (split)": _request(body=_split([])),
    "zero rows (records)": _request(body=json.dumps({"dataframe_records": []})),
    "deep nesting": _request(body="[" * 200_000 + "]" * 200_000),
    "deep nesting in a cell": _request(body=_raw_value("income", "[" * 100_000 + "]" * 100_000)),
    # size, hosts, origins, methods
    "oversized body (Content-Length)": _request(
        body=b"[" + b" " * OVERSIZED + MARKER.encode() + b"]"
    ),
    "oversized body (chunked)": _request(
        body=_chunked(OVERSIZED), length=False, headers=[("Transfer-Encoding", "chunked")]
    ),  # fmt: skip
    "Host evil.example": _request(body=_split([ROW]), host="evil.example"),
    "Host rebinding name": _request(body=_split([ROW]), host="127.0.0.1.nip.io:5000"),
    "Host with a bad port": _request(body=_split([ROW]), host="127.0.0.1:" + MARKER),
    "no Host header": _request(body=_split([ROW]), host=None),
    "cross-origin text/csv POST": _request(
        body=CSV_HEAD + "41,1,2,north\n",
        content_type="text/csv",
        headers=[("Origin", "http://evil.example")],
    ),  # fmt: skip
    "Origin null": _request(body=_split([ROW]), headers=[("Origin", "null")]),
    "GET /invocations": _request(method="GET", body=""),
    "PUT /invocations": _request(method="PUT", body=_split([ROW])),
    "bad Content-Length": _request(
        body=_split([ROW]), length=False, headers=[("Content-Length", MARKER)]
    ),
}


def test_every_bad_payload_gets_a_4xx_without_a_leak_and_the_server_stays_healthy(fuzz_server):
    server, workspace = fuzz_server
    assert len(PAYLOADS) >= 40
    good = _exchange(server.port, _request(body=_split([ROW, ROW])))
    assert good[0] == 200 and json.loads(good[1])["predictions"], good
    rows, problems = [], []
    for kind, request in PAYLOADS.items():
        status, body = _exchange(server.port, request)
        text = body.decode("utf-8", "replace")
        rows.append((kind, status, len(body)))
        leaked = [leak for leak in (*LEAKS, workspace) if leak in text]
        if not 400 <= status < 500 or leaked:
            problems.append(f"{kind}: {status} {leaked} {text[:200]}")
    width = max(len(kind) for kind, _, _ in rows)
    print(f"\n{'payload kind':<{width}}  status  body bytes")
    for kind, status, length in rows:
        print(f"{kind:<{width}}  {status:>6}  {length:>10}")
    assert problems == []
    assert server.health()["ok"] and _exchange(server.port, _request("GET", "/ping", b""))[0] == 200
    assert _exchange(server.port, _request(body=_split([ROW])))[0] == 200  # still serving


def test_error_answers_name_the_column(fuzz_server):
    server, _ = fuzz_server
    for column, body in (("age", _with("age", 30.9)), ("region", _with("region", None)),
                         ("loan_amount", _raw_value("loan_amount", "1e400")),
                         ("incme", _split([[*ROW, 1]], [*COLUMNS, "incme"]))):  # fmt: skip
        status, answer = _exchange(server.port, _request(body=body))
        assert status == 400 and f"'{column}'" in json.loads(answer)["message"], answer


def test_a_smaller_cap_and_an_allowed_host_are_the_users_to_choose(fuzz_server):
    server, _ = fuzz_server
    with wb.serve(server.model_uri, workers=1, max_request_mb=0.01,
                  allowed_hosts=["model.internal"]) as small:  # fmt: skip
        big = _split([ROW] * 400)  # about 14 KB
        assert _exchange(small.port, _request(body=big))[0] == 413
        assert _exchange(small.port, _request(body=_split([ROW]), host="model.internal"))[0] == 200
        assert _exchange(small.port, _request(body=_split([ROW]), host="other.internal"))[0] == 421
