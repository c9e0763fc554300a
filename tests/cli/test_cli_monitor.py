"""`workbench monitor` runs notebook 04 for real and exits 0 / 3 / 2 / 1 from what it found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.data import credit_risk, production_batch

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("monitor-data")
    credit_risk(5000).to_csv(folder / "ref.csv", index=False)
    for scenario in ("none", "gradual_shift", "null_surge"):
        production_batch(3, scenario, n=1000).to_csv(folder / f"{scenario}.csv", index=False)
    base = production_batch(3, "none", n=1000)
    base.drop(columns="region").to_csv(folder / "no_region.csv", index=False)
    base.assign(channel="web").to_csv(folder / "extra_channel.csv", index=False)
    text = base.astype({"loan_amount": object})
    text.loc[text.index[:5], "loan_amount"] = "unknown"
    text.to_csv(folder / "text_loan_amount.csv", index=False)
    base.assign(credit_history_years=None).to_csv(folder / "empty_history.csv", index=False)
    base.drop(columns="default").to_csv(folder / "unlabelled.csv", index=False)
    broken = base.astype({"age": float})
    broken.loc[broken.index[: len(broken) // 3], "age"] = float("inf")  # written as "inf"
    broken.to_csv(folder / "inf_age.csv", index=False)
    return folder


def _monitor(files, current, *extra, ws, target="default"):
    return main(
        [
            "--workspace",
            str(ws),
            "monitor",
            "--reference",
            str(files / "ref.csv"),
            "--current",
            str(files / current),
            *(["--target", target] if target else []),
            *extra,
        ]
    )


def test_drift_exits_3_with_the_flag_and_keeps_the_executed_notebook(files, tmp_path, capsys):
    out = tmp_path / "out"
    code = _monitor(
        files, "gradual_shift.csv", "--fail-on-drift", "--json", "--out", str(out), ws=tmp_path
    )
    summary = json.loads(capsys.readouterr().out)
    assert code == 3 and summary["exit_code"] == 3
    assert summary["status"] == "drift"
    # larger loans on lower incomes: the default rate moves too (by about 10 points)
    assert {"income", "loan_amount"} <= set(summary["drifted_columns"])
    assert set(summary["drifted_columns"]) <= {"income", "loan_amount", "default"}
    kinds = {c["column"]: c["score_kind"] for c in summary["columns"]}
    assert kinds["income"] == "distance" and summary["skipped"]["application_date"]
    assert Path(summary["executed_notebook"]).exists()
    assert (out / "report.html").exists() and (out / "summary.json").exists()
    assert summary["model_uri"] is None  # no model registered: data drift only
    # the kept notebook names the report instead of carrying a second copy of it (5 MB a run)
    kept = Path(summary["executed_notebook"]).read_text()
    assert "iframe" not in kept and f"the Evidently report: {out / 'report.html'}" in kept
    assert Path(summary["executed_notebook"]).stat().st_size < 500_000


def test_the_text_says_what_each_score_is(files, tmp_path, capsys):
    code = _monitor(files, "gradual_shift.csv", ws=tmp_path)
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("drift detected in ")
    income = next(line for line in out.splitlines() if line.strip().startswith("income:"))
    assert "K-S p-value" in income and "distance" in income and "corrected" in income
    assert "not tested: application_date (date" in out and "Holm" in out


def test_an_unlabelled_batch_needs_a_target_or_ignore_and_then_runs(files, tmp_path, capsys):
    code = _monitor(files, "unlabelled.csv", ws=tmp_path, target=None)
    err = capsys.readouterr().err
    assert code == 2 and "'default'" in err and "--ignore default" in err
    code = _monitor(files, "unlabelled.csv", "--ignore", "default", ws=tmp_path, target=None)
    out = capsys.readouterr().out
    assert code == 0 and "no drift" in out and "default (ignored on request)" in out
    code = _monitor(files, "unlabelled.csv", ws=tmp_path)  # --target default: unlabelled is fine
    out = capsys.readouterr().out
    assert code == 0 and "default (no labels in the current batch" in out


def test_no_drift_exits_0(files, tmp_path, capsys):
    code = _monitor(files, "none.csv", "--fail-on-drift", ws=tmp_path)
    assert code == 0
    assert "no drift" in capsys.readouterr().out


@pytest.mark.parametrize(
    "current, column",
    [
        ("no_region.csv", "'region'"),
        ("extra_channel.csv", "'channel'"),
        ("text_loan_amount.csv", "'loan_amount'"),
        ("empty_history.csv", "'credit_history_years'"),
        ("null_surge.csv", "'income'"),
        ("inf_age.csv", "'age' holds 333 non-finite"),
    ],
)
def test_invalid_input_exits_2_naming_the_column(files, tmp_path, capsys, current, column):
    code = _monitor(files, current, "--fail-on-drift", ws=tmp_path)
    err = capsys.readouterr().err
    assert code == 2
    assert column in err and "invalid data" in err


def test_missing_file_exits_2_naming_it(files, tmp_path, capsys):
    code = _monitor(files, "nope.csv", ws=tmp_path)
    assert code == 2 and "nope.csv" in capsys.readouterr().err


def test_a_folder_without_the_spark_engine_says_which_engine_reads_folders(files, tmp_path, capsys):
    (tmp_path / "batch").mkdir()
    code = _monitor(files, str(tmp_path / "batch"), ws=tmp_path)
    err = capsys.readouterr().err
    assert code == 2 and "is a folder" in err and "--engine spark" in err


def test_a_failing_cell_exits_1_and_keeps_the_output(files, tmp_path, capsys):
    code = _monitor(files, "none.csv", "--timeout", "1", ws=tmp_path)
    err = capsys.readouterr().err
    assert code == 1
    assert "timed out" in err and "cell" in err
    kept = err.split("kept at ")[-1].split()[0]
    assert Path(kept).exists() and kept.endswith(".ipynb")
