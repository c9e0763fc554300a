"""Request bodies made into the model's table at the edge: strict, and no refusal quotes the body.

The edge must refuse what the Python client refuses (``validate_frame``, built on
``conform_to_signature``), and name the column without quoting a value.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

import workbench as wb
from workbench.serving import encode_frame
from workbench.serving._requests import Refused, checked_frame, frame_from_body
from workbench.serving.client import validate_frame

MARKER = "LEAK-MARKER-5150"
SCHEMA = Schema(
    [
        ColSpec("long", "term"),
        ColSpec("double", "income", required=False),
        ColSpec("double", "age"),
        ColSpec("string", "region"),
    ]
)
GOOD = {"term": 36, "income": 1500.5, "age": 41.0, "region": "north"}


def _edge(body, content_type="application/json"):
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    frame, from_text = frame_from_body(body, content_type)
    return checked_frame(frame, SCHEMA, from_text)


def _split(rows, columns=None):
    columns = columns or list(GOOD)
    return {"dataframe_split": {"columns": columns, "data": rows}}


def _row(**changes):
    row = {**GOOD, **changes}
    return [row[c] for c in GOOD]


def _refused(body, content_type="application/json") -> Refused:
    with pytest.raises(Refused) as info:
        _edge(body, content_type)
    assert MARKER not in info.value.message and "Traceback" not in info.value.message
    return info.value


def test_a_good_request_in_every_format_gives_the_same_typed_table():
    frames = [
        _edge(_split([_row(), _row(income=None)])),
        _edge({"dataframe_records": [GOOD, {**GOOD, "income": None}]}),
        _edge({"instances": [GOOD, {**GOOD, "income": None}]}),
        _edge({"inputs": {k: [v, None if k == "income" else v] for k, v in GOOD.items()}}),
        _edge("term,income,age,region\n36,1500.5,41,north\n36,,41,north\n", "text/csv"),
        _edge(encode_frame(pd.DataFrame([GOOD, {**GOOD, "income": np.nan}]))),
    ]
    for frame in frames:
        assert frame.dtypes.astype(str).tolist() == ["int64", "float64", "float64", "object"]
        assert frame["term"].tolist() == [36, 36] and np.isnan(frame["income"].iloc[1])
    assert _edge(_split([_row()]), "application/json; charset=utf-8")["age"].iloc[0] == 41.0


@pytest.mark.parametrize(
    "case, body, column",
    [
        ("quoted number", _split([_row(age="30")]), "age"),
        ("true in a number column", _split([_row(age=True)]), "age"),
        ("fraction in an integer column", _split([_row(), _row(term=30.9)]), "term"),
        ("null in an integer column", _split([_row(term=None)]), "term"),
        ("null in a required column", _split([_row(age=None)]), "age"),
        ("null in a required text column", _split([_row(region=None)]), "region"),
        ("number in a text column", _split([_row(region=7)]), "region"),
        ("text in a number column", _split([_row(age=MARKER)]), "age"),
        ("object in a number column", _split([_row(age={"x": MARKER})]), "age"),
        ("huge integer", _split([_row(age=10**30)]), "age"),
        ("overflow", json.dumps(_split([_row(age=12345.5)])).replace("12345.5", "1e400"), "age"),
        ("extra column", {"dataframe_records": [{**GOOD, "incme": 1}]}, "incme"),
        (
            "missing column",
            {"dataframe_records": [{k: GOOD[k] for k in ("term", "age")}]},
            "region",
        ),
    ],
)
def test_bad_values_are_refused_naming_the_column_and_never_the_value(case, body, column):
    refused = _refused(body)
    assert refused.status == 400 and f"'{column}'" in refused.message, refused.message


@pytest.mark.parametrize(
    "body, fragment",
    [
        (b"", "not valid JSON"),
        (b'{"dataframe_split": {"columns": [', "not valid JSON"),
        (b"[1, 2, 3]", "not a list"),
        (b"42", "not a number"),
        (b'"text"', "not a string"),
        (b"null", "not a null"),
        (json.dumps({**_split([_row()]), "dataframe_records": [GOOD]}), "exactly one field"),
        (json.dumps({**_split([_row()]), "params": {"x": 1}}), "no params"),
        (json.dumps({"rows": [GOOD]}), "exactly one field"),
        (json.dumps(_split([_row(), _row()[:3]])), "row 1"),
        (
            json.dumps(
                {"dataframe_split": {**_split([_row()])["dataframe_split"], "index": [0, 1]}}
            ),
            "index",
        ),
        (json.dumps({"dataframe_records": [GOOD, {"term": 1}]}), "record 1"),
        (json.dumps({"inputs": {"term": [1, 2], "age": [1.0]}}), "different lengths"),
        (json.dumps({"instances": [1, 2]}), "list of records"),
        (json.dumps(_split([])), "no rows"),
        (json.dumps({"dataframe_records": []}), "no rows"),
        (json.dumps(_split([_row()])).replace("41.0", "NaN"), "NaN or Infinity"),
        (json.dumps(_split([_row()])).replace("41.0", "-Infinity"), "NaN or Infinity"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"\xff\xfe" + MARKER.encode(), "not UTF-8"),
        (json.dumps(_split([_row()], ["term", "term", "age", "region"])), "twice"),
    ],
)
def test_malformed_bodies_are_400_with_a_short_message(body, fragment):
    refused = _refused(body)
    assert refused.status == 400 and fragment in refused.message, refused.message
    assert len(refused.message) < 300


@pytest.mark.parametrize(
    "csv, fragment",
    [
        ("", "empty"),
        ("term,income,age,region\n", "no rows"),
        ("term,income,age,region\n36,1,41,north,extra\n", "line 2"),
        ("term,income,age,region\n36,1,thirty,north\n", "'age'"),
        ("term,income,age,region\n36,1,true,north\n", "'age'"),
        ("term,income,age,region\n36.5,1,41,north\n", "'term'"),
        ("term,income,age,region\n36,1,,north\n", "'age'"),
        ("term,income,age,region\n36,1,inf,north\n", "'age'"),
        ("term,income,age,region\n36,NaN,41,north\n", "'income'"),
        (f"term,income,age,region,incme\n36,1,41,north,{MARKER}\n", "does not know: 'incme'"),
        ("term,income,age,age\n36,1,41,41\n", "twice"),
    ],
)
def test_csv_is_held_to_the_same_rules(csv, fragment):
    refused = _refused(csv.encode(), "text/csv")
    assert refused.status == 400 and fragment in refused.message, refused.message


@pytest.mark.parametrize(
    "content_type",
    [None, "", "text/plain", "application/x-www-form-urlencoded", "text/xml",
     "application/json; charset=latin-1", "application/json; format=pandas-split"],
)  # fmt: skip
def test_other_content_types_are_415_without_echoing_them(content_type):
    with pytest.raises(Refused) as info:
        frame_from_body(b"{}", content_type)
    assert info.value.status == 415
    assert "latin" not in info.value.message and "form" not in info.value.message


def test_parquet_bodies_are_read_and_checked(tmp_path):
    frame = pd.DataFrame([GOOD, {**GOOD, "income": np.nan}])
    frame.to_parquet(tmp_path / "ok.parquet")
    body = (tmp_path / "ok.parquet").read_bytes()
    assert len(_edge(body, "application/vnd.apache.parquet")) == 2
    frame.assign(age=True).to_parquet(tmp_path / "bad.parquet")
    assert (
        "'age'"
        in _refused(
            (tmp_path / "bad.parquet").read_bytes(), "application/vnd.apache.parquet"
        ).message
    )
    assert "Parquet" in _refused(b"PAR1 nonsense", "application/vnd.apache.parquet").message


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"age": "30"},
        {"age": True},
        {"term": 30.9},
        {"term": np.nan},
        {"age": np.nan},
        {"income": np.nan},
        {"region": 3},
        {"region": None},
        {"extra": 1.0},
    ],
)
def test_the_edge_refuses_exactly_what_the_python_client_refuses(change):
    frame = pd.DataFrame([GOOD, {**GOOD, **change}])  # pandas types each column as it can
    signature = ModelSignature(inputs=SCHEMA)
    try:
        expected = validate_frame(frame, signature)
    except wb.DataError:
        expected = None
    try:
        got = _edge(encode_frame(frame))
    except Refused:
        got = None
    assert (got is None) == (expected is None), (change, expected, got)
    if got is not None:
        pd.testing.assert_frame_equal(got, expected)


def test_without_a_signature_only_the_row_count_is_checked():
    frame, _ = frame_from_body(
        json.dumps({"dataframe_records": [{"x": 1}]}).encode(), "application/json"
    )
    assert checked_frame(frame, None).shape == (1, 1)
    with pytest.raises(Refused, match="no rows"):
        checked_frame(frame.iloc[:0], None)


@pytest.mark.parametrize("values", [[True, False], [True, None], [1, 0], ["true", "false"]])
def test_boolean_columns_match_the_python_client_too(values):
    schema = Schema([ColSpec("boolean", "flag", required=False), ColSpec("float", "x")])
    frame = pd.DataFrame({"flag": values, "x": [1.5, 2.5]})
    try:
        expected = validate_frame(frame, ModelSignature(inputs=schema))
    except wb.DataError:
        expected = None
    body, _ = frame_from_body(encode_frame(frame), "application/json")
    try:
        got = checked_frame(body, schema)
    except Refused:
        got = None
    assert (got is None) == (expected is None), (values, expected, got)
    if got is not None:
        pd.testing.assert_frame_equal(got, expected)
