"""Demo data, drift scenarios, tables read from files, conforming to a signature."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.data import (
    SCENARIOS,
    conform_to_signature,
    credit_risk,
    demo_dataset,
    load_table,
    production_batch,
)


def test_credit_risk_is_deterministic_with_signal_and_missing_values():
    a, b = credit_risk(1000, seed=3), credit_risk(1000, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert 0.1 < a["default"].mean() < 0.4
    assert a["income"].isna().mean() > 0.01
    assert set(a["age_band"]) <= {"18-25", "26-40", "41-60", "60+"}
    late = a.groupby(a["num_late_payments"].fillna(0) >= 2)["default"].mean()
    assert late[True] > late[False] + 0.1, "late payments should predict default"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_production_batches_carry_their_scenario(scenario):
    base = production_batch(5, "none", n=2000)
    batch = production_batch(5, scenario, n=2000)
    assert list(batch.columns) == list(base.columns)
    if scenario == "gradual_shift":
        assert batch["income"].median() < 0.8 * base["income"].median()
    elif scenario == "new_category":
        assert (batch["purpose"] == "crypto").mean() > 0.2
    elif scenario == "null_surge":
        assert batch["income"].isna().mean() > 0.5
    elif scenario == "label_shift":
        assert batch["default"].mean() > base["default"].mean() + 0.2
    else:
        assert abs(batch["default"].mean() - credit_risk(2000)["default"].mean()) < 0.05


def test_production_batch_refuses_unknown_scenarios():
    with pytest.raises(ValueError, match="gradual_shift"):
        production_batch(1, "tsunami")


def test_bundled_sklearn_datasets():
    assert demo_dataset("breast_cancer").task == "classification"
    diab = demo_dataset("diabetes")
    assert diab.task == "regression" and diab.target in diab.frame


def test_load_table_reads_csv_and_parquet(tmp_path):
    frame = credit_risk(50)
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    assert load_table(tmp_path / "t.csv").shape == frame.shape
    pd.testing.assert_frame_equal(load_table(tmp_path / "t.parquet"), frame)


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("missing.csv", None, "does not exist"),
        ("empty.csv", "", "empty"),
        ("header.csv", "a,b\n", "no data rows"),
        ("bad.parquet", "not parquet", "does not parse"),
        ("table.xlsx", "x", "unsupported format"),
    ],
)
def test_load_table_errors_name_the_file(tmp_path, name, content, words):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(wb.DataFileError) as info:
        load_table(path)
    assert name in str(info.value) and words in str(info.value)


def _schema():
    from mlflow.models import infer_signature

    frame = pd.DataFrame({"n": [1.0, 2.0], "k": np.array([1, 2], dtype="int64"), "c": ["a", "b"]})
    return infer_signature(frame).inputs


@pytest.mark.parametrize(
    "change, error, words",
    [
        (lambda f: f.drop(columns="c"), wb.MissingColumnError, "c"),
        (lambda f: f.assign(extra=1), wb.SchemaMismatchError, "extra"),
        (lambda f: f.assign(k=[30.9, 2.0]), wb.SchemaMismatchError, "30.9"),
        (lambda f: f.assign(k=["30", "2"]), wb.SchemaMismatchError, "'k'"),
        (lambda f: f.assign(k=[np.nan, 2.0]), wb.SchemaMismatchError, "missing value"),
        (lambda f: f.assign(n=[np.inf, 2.0]), wb.SchemaMismatchError, "infinite"),
        (lambda f: f.assign(n=[np.nan, 2.0]), wb.SchemaMismatchError, "row 0"),
        (lambda f: f.assign(c=["07", 7]), wb.SchemaMismatchError, "astype(str)"),
        (lambda f: f.assign(n=["x", "y"]), wb.SchemaMismatchError, "'n'"),
        (lambda f: f.assign(c=[1, 2]), wb.SchemaMismatchError, "text"),
        (lambda f: f.assign(n=[True, False]), wb.SchemaMismatchError, "true/false"),
    ],
)
def test_conform_to_signature_refuses_what_the_server_would_coerce(change, error, words):
    good = pd.DataFrame({"n": [1, 2], "k": [1, 2], "c": ["a", "b"]})
    conformed = conform_to_signature(good, _schema())
    assert conformed["n"].dtype == "float64" and conformed["k"].dtype == "int64"
    with pytest.raises(error) as info:
        conform_to_signature(change(good), _schema())
    assert words in str(info.value)
