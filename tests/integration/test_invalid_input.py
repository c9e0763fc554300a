"""Bad input is invalid, everywhere: infinite or huge numbers and missing labels exit 2, record nothing.

* ``workbench check`` on eval data with ``inf``, ``-inf``, ``1e308`` in a feature or a NaN / inf
  label exits 2, naming the column and the count; the version's tags stay as they were and no
  check run is written (one ``inf`` used to exit 3 and write a false FAILED onto the version).
  NaN in a feature is a missing value, and stays accepted.
* ``workbench score`` and ``wb.score`` on a batch with ``inf``, ``-inf``, ``1e308`` (beyond float32:
  the forest casts to it) or ``1e400`` in a CSV (read as infinity) exit 2 / raise ``DataError``
  naming the column and the count over the whole file, and write nothing.

All of it through the real CLI and API on the session's real MLflow store.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.cli import main
from workbench.data import credit_risk

MODEL = "invalid-input"


@pytest.fixture(scope="module")
def versions(_trained_session):
    """Model "invalid-input": v1 the session's forest, v2 its logistic regression."""
    import mlflow

    wb.open_workspace(_trained_session.ws.root)
    client = mlflow.MlflowClient()
    client.create_registered_model(MODEL)
    for mv in (_trained_session.forest, _trained_session.linear):
        source = mlflow.models.get_model_info(mv.model_uri)
        tags = {"workbench.task": "classification", "workbench.dropped_columns": "application_date"}
        client.create_model_version(MODEL, source.model_uri, run_id=mv.run_id, tags=tags)
    return _trained_session


def _cli(capsys, ws, *argv):
    code = main(["--workspace", str(ws.root), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _recorded(version: int) -> tuple[dict, int]:
    """The version's tags and how many runs the store holds (a check run is one of them)."""
    import mlflow

    client = mlflow.MlflowClient()
    tags = dict(client.get_model_version(MODEL, str(version)).tags)
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, max_results=50_000)
    return tags, len(runs)


# --------------------------------------------------------------------------- check


@pytest.mark.parametrize(
    "case, column, count",
    [
        ("inf in a feature", "income", 1),
        ("-inf and inf in a feature", "loan_amount", 3),
        ("1e308 in a feature", "credit_history_years", 2),
        ("NaN labels", "default", 4),
        ("inf label", "default", 1),
    ],
)
def test_check_refuses_non_finite_eval_data_and_records_nothing(
    capsys, versions, tmp_path, case, column, count
):
    frame = credit_risk(400, seed=7)
    rows = frame.index[10 : 10 + count]
    if case.startswith("inf in"):
        frame.loc[rows, column] = np.inf
    elif case.startswith("-inf"):
        frame.loc[rows, column] = [np.inf, -np.inf, -np.inf]
    elif case.startswith("1e308"):
        frame.loc[rows, column] = [1e308, -1e308]
    elif case == "NaN labels":
        frame[column] = frame[column].astype(float)
        frame.loc[rows, column] = np.nan
    else:
        frame[column] = frame[column].astype(float)
        frame.loc[rows, column] = np.inf
    data = tmp_path / "eval.csv"
    frame.to_csv(data, index=False)
    before = _recorded(1)

    code, _, err = _cli(capsys, versions.ws, "check", f"models:/{MODEL}/1", "--data", str(data),
                        "--target", "default")  # fmt: skip

    assert code == 2, err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert repr(column) in err and f"{count}" in err, err
    assert "Traceback" not in err
    assert _recorded(1) == before  # no tag, no check run


def test_check_api_refuses_inf_before_anything_runs(versions):
    frame = credit_risk(300, seed=8)
    frame.loc[frame.index[:5], "income"] = -np.inf
    before = _recorded(2)
    with pytest.raises(wb.DataError, match=r"'income' \(5 values\)"):
        wb.run_checks(f"models:/{MODEL}/2", data=frame, target="default", progress=False)
    assert _recorded(2) == before


def test_missing_feature_values_stay_accepted(capsys, versions, tmp_path):
    """NaN in a feature is a missing value (the suite checks how the model handles it)."""
    frame = credit_risk(400, seed=9)
    frame.loc[frame.index[:20], "income"] = np.nan
    data = tmp_path / "eval.csv"
    frame.to_csv(data, index=False)
    code, _, err = _cli(capsys, versions.ws, "check", f"models:/{MODEL}/2", "--data", str(data),
                        "--target", "default", "--json")  # fmt: skip
    assert code in (0, 3), err  # the checks ran: a verdict, not a refusal
    assert _recorded(2)[0].get("workbench.checks.status") is not None


# --------------------------------------------------------------------------- score


def _batch(n=300, seed=21) -> pd.DataFrame:
    frame = credit_risk(n, seed=seed).drop(columns="default")
    frame.insert(0, "ref", [f"R{i:04d}" for i in range(n)])
    return frame


@pytest.mark.parametrize("version", [1, 2])  # the forest casts to float32, the regression not
@pytest.mark.parametrize(
    "values, count",
    [([np.inf], 1), ([-np.inf, np.inf], 2), ([1e308], 1), ([1e39, -1e300, 5e38], 3)],
)
def test_score_api_refuses_non_finite_and_overflowing_values(versions, version, values, count):
    frame = _batch()
    frame.loc[frame.index[50 : 50 + len(values)], "loan_amount"] = values
    with pytest.raises(wb.DataError) as caught:
        wb.score(f"models:/{MODEL}/{version}", frame, progress=False)
    message = str(caught.value)
    assert type(caught.value).__name__ == "DataError" and caught.value.exit_code == 2
    assert f"'loan_amount' ({count} value" in message, message


def test_score_cli_counts_over_every_chunk_and_writes_nothing(capsys, versions, tmp_path):
    frame = _batch(1000)
    frame.loc[[3, 700, 999], "income"] = [np.inf, 1e308, -np.inf]
    frame.loc[[5], "loan_amount"] = np.nan  # missing: accepted
    path = tmp_path / "batch.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "scored.csv"
    code, _, err = _cli(capsys, versions.ws, "score", f"models:/{MODEL}/1", "--data", str(path),
                        "--out", str(out), "--chunk-rows", "100")  # fmt: skip
    assert code == 2, err
    assert "'income' (3 values)" in err and str(path) in err and "Traceback" not in err
    assert "loan_amount" not in err
    assert not out.exists() and not list(tmp_path.glob(".scored*"))


def test_score_cli_value_beyond_float64_in_a_csv(capsys, versions, tmp_path):
    frame = _batch(50)
    path = tmp_path / "batch.csv"
    frame.to_csv(path, index=False)
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    at = header.index("credit_history_years")
    for i in (4, 9):  # 1e400 is beyond float64: pandas reads it as infinity
        cells = lines[i].split(",")
        cells[at] = "1e400"
        lines[i] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "scored.parquet"
    code, _, err = _cli(capsys, versions.ws, "score", f"models:/{MODEL}/2", "--data", str(path),
                        "--out", str(out))  # fmt: skip
    assert code == 2, err
    assert "'credit_history_years' (2 values)" in err and "ValueError" not in err
    assert not out.exists()


def test_a_clean_batch_still_scores(versions):
    scored = wb.score(f"models:/{MODEL}/1", _batch(100), progress=False, id_columns=["ref"])
    assert len(scored) == 100 and scored["proba_1"].between(0, 1).all()
