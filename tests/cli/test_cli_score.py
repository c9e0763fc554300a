"""`workbench score`: a file in, a file out, exit 0; bad data, files and models exit 2, write nothing."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from workbench.cli import main
from workbench.data import credit_risk


@pytest.fixture
def batch(tmp_path):
    frame = credit_risk(300, seed=21)
    frame.insert(0, "ref", [f"R{i:04d}" for i in range(300)])
    path = tmp_path / "batch.csv"
    frame.to_csv(path, index=False)
    return frame, path


def _run(capsys, trained, *argv):
    code = main(["--workspace", str(trained.ws.root), "score", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_score_writes_ids_predictions_and_probabilities(capsys, trained, batch, tmp_path):
    frame, path = batch
    out = tmp_path / "scored.parquet"
    code, stdout, err = _run(
        capsys, trained, "models:/credit-risk/2", "--data", str(path), "--out", str(out),
        "--id-column", "ref", "--chunk-rows", "64",
    )  # fmt: skip
    assert code == 0, err
    assert stdout.startswith("scored 300 rows with models:/credit-risk/2") and str(out) in stdout
    scored = pd.read_parquet(out)
    assert scored.columns.tolist() == ["ref", "prediction", "proba_1"]
    assert scored["ref"].tolist() == frame["ref"].tolist()
    assert scored["proba_1"].between(0, 1).all()
    assert set(scored["prediction"]) <= {0, 1}


def test_score_json_is_the_result(capsys, trained, batch, tmp_path):
    _, path = batch
    out = tmp_path / "scored.csv"
    code, stdout, _ = _run(
        capsys, trained, "models:/credit-risk/2", "--data", str(path), "--out", str(out), "--json"
    )
    assert code == 0
    result = json.loads(stdout)
    assert result["rows"] == 300 and result["output"] == str(out) and result["chunks"] == 1
    assert result["columns"] == ["prediction", "proba_1"] and result["rows_per_second"] > 0
    assert len(pd.read_csv(out)) == 300


@pytest.mark.parametrize(
    "case, fragment",
    [
        ("missing feature", "'income'"),
        ("no such file", "does not exist"),
        ("unreadable file", "does not parse"),
        ("unknown model", "credit-risk/42"),
        ("unknown id column", "'nope'"),
    ],
)
def test_bad_input_exits_2_naming_it_and_writes_nothing(
    capsys, trained, batch, tmp_path, case, fragment
):
    frame, path = batch
    model = "models:/credit-risk/2"
    extra = []
    if case == "missing feature":
        path = tmp_path / "short.csv"
        frame.drop(columns="income").to_csv(path, index=False)
    elif case == "no such file":
        path = tmp_path / "nothing.csv"
    elif case == "unreadable file":
        path = tmp_path / "broken.parquet"
        path.write_bytes(b"PAR1 but not really")
    elif case == "unknown model":
        model = "models:/credit-risk/42"
    else:
        extra = ["--id-column", "nope"]
    out = tmp_path / "scored.csv"
    code, stdout, err = _run(capsys, trained, model, "--data", str(path), "--out", str(out), *extra)
    assert code == 2, err
    assert err.startswith("error: ") and fragment in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".scored*"))


def test_a_pickled_model_exits_2_unless_allowed(capsys, trained, tmp_path, monkeypatch):
    from tests.integration.pickled_models import MARKER_ENV, log_pickled

    marker = tmp_path / "payload-ran"
    monkeypatch.setenv(MARKER_ENV, str(marker))
    uri = log_pickled("hostile-cli-score", ["a", "b"])
    data = tmp_path / "rows.csv"
    pd.DataFrame({"a": [0.5, -1.0], "b": [1.0, 2.0]}).to_csv(data, index=False)
    out = tmp_path / "scored.csv"
    code, _, err = _run(capsys, trained, uri, "--data", str(data), "--out", str(out))
    assert code == 2 and "refused to load" in err and "--allow-pickle" in err
    assert not marker.exists() and not out.exists()
    code, _, err = _run(
        capsys, trained, uri, "--data", str(data), "--out", str(out), "--allow-pickle"
    )
    assert code == 0, err
    assert marker.exists() and len(pd.read_csv(out)) == 2
