"""`workbench monitor` runs notebook 04 for real and exits 0 / 3 / 2 / 1 from what it found."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

import workbench as wb
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


@pytest.fixture(scope="module")
def shifted(files, tmp_path_factory):
    """One run of the command on the shifted batch: (exit code, --json's summary, --out folder)."""
    folder = tmp_path_factory.mktemp("shifted")
    out, printed = folder / "out", io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = _monitor(
            files, "gradual_shift.csv", "--fail-on-drift", "--json", "--out", str(out), ws=folder
        )
    return code, json.loads(printed.getvalue()), out


def test_drift_exits_3_with_the_flag_and_keeps_the_executed_notebook(shifted):
    code, summary, out = shifted
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


def test_the_text_says_what_each_score_is(shifted):
    """Without ``--json`` the command prints the saved result's ``text()`` as it is (the text
    branch itself runs in the tests below)."""
    from workbench.monitoring import DriftResult

    out = DriftResult.load(shifted[2] / "summary.json").text()
    assert out.startswith("drift detected in ")
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
    # --target default: unlabelled is fine (the notebook's own call)
    result = wb.drift_report(
        files / "ref.csv", files / "unlabelled.csv", target="default", build_report=False
    )
    assert result.status != "invalid"
    assert "default (no labels in the current batch" in result.text()


def test_no_drift_exits_0(files, tmp_path, capsys):
    code = _monitor(files, "none.csv", "--fail-on-drift", ws=tmp_path)
    assert code == 0
    assert "no drift" in capsys.readouterr().out


def test_invalid_input_exits_2_naming_the_column(files, tmp_path, capsys):
    code = _monitor(files, "inf_age.csv", "--fail-on-drift", ws=tmp_path)
    err = capsys.readouterr().err
    assert code == 2
    assert "'age' holds 333 non-finite" in err and "invalid data" in err


@pytest.mark.parametrize(
    "current, column",
    [
        ("no_region.csv", "'region'"),
        ("extra_channel.csv", "'channel'"),
        ("text_loan_amount.csv", "'loan_amount'"),
        ("empty_history.csv", "'credit_history_years'"),
        ("null_surge.csv", "'income'"),
    ],
)
def test_each_invalid_file_is_named_by_the_notebook_s_own_call(files, current, column):
    """What notebook 04 does with the two files (``drift_report`` on the paths, invalid returned):
    the command prints these reasons after "invalid data" and exits 2, as the case above shows
    end to end (a missing file: test_cli_monitor_kernel). One kernel for that case, not six."""
    result = wb.drift_report(
        files / "ref.csv", files / current, target="default", on_invalid="return",
        build_report=False,
    )  # fmt: skip
    assert result.status == "invalid" and column in " | ".join(result.reasons)


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
