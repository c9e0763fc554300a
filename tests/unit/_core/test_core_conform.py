"""One conform rule: the Python side and the server's edge take and refuse the same rows.

Before it, ``data.conform_to_signature`` and ``serving._requests.checked_frame`` disagreed on
optional columns, infinities and gaps in integer columns (issue 24, part 4). Each case below is
run through both; they must agree on whether the rows fit and, when not, on the column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow.types import ColSpec, Schema

import workbench as wb
from workbench._core.conform import ColumnKind, Misfit, conform_frame, text_columns
from workbench.data import conform_to_signature
from workbench.serving._requests import Refused, checked_frame

SCHEMA = Schema(
    [
        ColSpec("long", "age"),
        ColSpec("double", "income", required=False),
        ColSpec("double", "amount"),
        ColSpec("string", "hour"),
        ColSpec("string", "region", required=False),
        ColSpec("boolean", "member"),
    ]
)


def _good() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [30, 41],
            "income": [1.5, 2.5],
            "amount": [10.0, 20.0],
            "hour": ["07", "23"],
            "region": ["north", "south"],
            "member": [True, False],
        }
    )


CASES = {
    "fits": (lambda f: f, None),
    "gap in an optional number column": (lambda f: f.assign(income=[np.nan, 1.0]), None),
    "gap in an optional text column": (lambda f: f.assign(region=[None, "x"]), None),
    "gap in a required number column": (lambda f: f.assign(amount=[np.nan, 1.0]), "amount"),
    "gap in an integer column": (lambda f: f.assign(age=[np.nan, 3.0]), "age"),
    "gap in a required text column": (lambda f: f.assign(hour=[None, "1"]), "hour"),
    "infinity in an optional column": (lambda f: f.assign(income=[np.inf, 1.0]), "income"),
    "1e308 in a number column": (lambda f: f.assign(amount=[1e308, 1.0]), "amount"),
    "fraction in an integer column": (lambda f: f.assign(age=[30.5, 3.0]), "age"),
    "digit codes read as numbers": (lambda f: f.assign(hour=[7, 23]), "hour"),
    "text in a number column": (lambda f: f.assign(amount=["10", "20"]), "amount"),
    "true/false in a number column": (lambda f: f.assign(amount=[True, False]), "amount"),
    "a number in a boolean column": (lambda f: f.assign(member=[1, 0]), "member"),
    "a missing column": (lambda f: f.drop(columns="hour"), "hour"),
    "an unknown column": (lambda f: f.assign(extra=1), "extra"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_python_side_and_the_edge_agree(case):
    change, refused_column = CASES[case]
    frame = change(_good())
    python_error = edge_error = None
    try:
        conform_to_signature(frame, SCHEMA)
    except (wb.SchemaMismatchError, wb.MissingColumnError) as err:
        python_error = str(err)
    try:
        checked_frame(frame, SCHEMA)
    except Refused as err:
        edge_error = err.message
    if refused_column is None:
        assert python_error is None and edge_error is None, (python_error, edge_error)
    else:
        assert python_error and edge_error, (python_error, edge_error)
        assert refused_column in python_error and f"'{refused_column}'" in edge_error


def test_the_edge_never_quotes_the_value_and_the_python_side_does():
    frame = _good().assign(amount=["secret-value", "x"])
    with pytest.raises(Refused) as edge:
        checked_frame(frame, SCHEMA)
    with pytest.raises(wb.SchemaMismatchError) as python:
        conform_to_signature(frame, SCHEMA)
    assert "secret-value" not in edge.value.message and "row 0" in edge.value.message
    assert "secret-value" in str(python.value)


def test_measured_rows_keep_their_gaps_for_the_quality_rules_to_count():
    frame = _good().assign(age=[np.nan, 3.0], amount=[np.nan, 1.0], member=[None, True])
    with pytest.raises(Misfit):
        conform_frame(frame, SCHEMA)
    measured = conform_frame(frame, SCHEMA, missing="keep")
    assert measured["age"].dtype == "float64" and measured["age"].isna().sum() == 1
    assert measured["amount"].isna().sum() == 1 and measured["member"].isna().sum() == 1
    with pytest.raises(Misfit) as info:  # types are still the rule's
        conform_frame(frame.assign(amount=["x", "y"]), SCHEMA, missing="keep")
    assert info.value.column == "amount"


def test_csv_text_is_parsed_by_the_same_rule():
    text = pd.DataFrame(
        {"age": ["30"], "income": [None], "amount": ["1e3"], "hour": ["07"], "region": ["n"],
         "member": ["true"]}
    )  # fmt: skip
    out = conform_frame(text, SCHEMA, from_text=True)
    assert out["age"].tolist() == [30] and out["amount"].tolist() == [1000.0]
    assert out["hour"].tolist() == ["07"] and out["member"].tolist() == [True]
    with pytest.raises(Misfit, match="NaN or Infinity"):
        conform_frame(text.assign(amount=["inf"]), SCHEMA, from_text=True)


def test_every_mlflow_type_has_a_kind_and_text_columns_are_listed():
    assert [ColumnKind.of(s).name for s in SCHEMA.inputs] == [
        "INTEGER", "NUMBER", "NUMBER", "TEXT", "TEXT", "BOOLEAN",
    ]  # fmt: skip
    assert ColumnKind.of("datetime") is ColumnKind.DATETIME
    assert ColumnKind.of("binary") is ColumnKind.OTHER
    assert text_columns(SCHEMA) == ["hour", "region"]
    with pytest.raises(ValueError, match="missing must be"):
        conform_frame(_good(), SCHEMA, missing="ignore")
