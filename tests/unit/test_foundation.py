"""Unit tests of the foundation: import cost, public surface, workspace, demo data, tables, errors."""

from __future__ import annotations

import os
import subprocess
import sys

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


def test_import_is_light_and_does_nothing(tmp_path):
    code = (
        "import sys, time; t=time.perf_counter(); import workbench; "
        "print(time.perf_counter()-t); "
        "print(any(m.split('.')[0] in ('mlflow','evidently','sklearn','pandas','ipywidgets') "
        "for m in sys.modules))"
    )
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    seconds, heavy = out.stdout.split()
    assert heavy == "False", "import workbench pulled in a heavy library"
    assert float(seconds) < 0.3
    assert list(tmp_path.iterdir()) == [], "import workbench created files"
    assert "MLFLOW_TRACKING_URI" not in env


def test_every_public_name_resolves_and_is_documented():
    for name in wb.__all__:
        value = getattr(wb, name)
        if callable(value):
            assert value.__doc__, f"{name} has no docstring"


def test_errors_form_one_tree_with_cli_exit_codes():
    for name in wb.errors.__all__:
        assert issubclass(getattr(wb.errors, name), wb.WorkbenchError)
    assert wb.DataError.exit_code == 2 and wb.GateError.exit_code == 3
    assert issubclass(wb.MissingColumnError, wb.DataError)


def test_open_workspace_makes_the_layout_and_sets_the_store(tmp_path):
    import mlflow

    ws = wb.open_workspace(tmp_path)
    assert (tmp_path / "mlruns" / "artifacts").is_dir()
    assert (tmp_path / "reports").is_dir() and (tmp_path / "runs").is_dir()
    assert ws.tracking_uri == f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    assert mlflow.get_tracking_uri() == ws.tracking_uri
    assert not ws.shared
    assert "--backend-store-uri" in ws.ui_command()


def test_workspace_is_found_from_a_notebook_folder(tmp_path, monkeypatch):
    (tmp_path / "mlruns").mkdir()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert wb.workspace.find_root() == tmp_path.resolve()
    assert wb.open_workspace().root == tmp_path.resolve()


def test_a_users_tracking_uri_wins_but_ours_does_not_stick(tmp_path, monkeypatch):
    first = wb.open_workspace(tmp_path / "a")
    second = wb.open_workspace(tmp_path / "b")  # the URI MLflow exported for "a" is not a user's
    assert second.tracking_uri != first.tracking_uri and not second.shared
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'team.db'}")
    shared = wb.open_workspace(tmp_path / "c")
    assert shared.shared and shared.tracking_uri.endswith("team.db")


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
        (lambda f: f.assign(k=[np.nan, 2.0]), wb.SchemaMismatchError, "missing values"),
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
