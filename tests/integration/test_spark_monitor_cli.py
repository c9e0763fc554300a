"""`workbench monitor --engine spark` in a subprocess, as a scheduler runs it: notebook 04 with the
engine parameter, a Parquet reference file and Spark-written Parquet folders as batches; exit 3 on a
shifted batch with --fail-on-drift, 2 on invalid data: the pandas path's codes. A clean batch's 0 is
the same mapping from the same summary (test_cli_monitor), and the Spark verdict of a clean batch is
the pandas one (test_spark_drift): a third JVM and kernel here would add a minute, not a check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import workbench as wb
from workbench.data import credit_risk, production_batch

pytestmark = [pytest.mark.spark, pytest.mark.notebook]

EXPECTED = {"drift": 3, "invalid": 2}


def test_monitor_engine_spark_exits_as_the_pandas_path_does(spark, tmp_path):
    reference = credit_risk(20_000, seed=1)
    ref_file = tmp_path / "reference.parquet"
    reference.to_parquet(ref_file, index=False)
    batches = {
        "gradual_shift": production_batch(3, "gradual_shift", n=20_000),
        "null_surge": production_batch(3, "null_surge", n=20_000),
    }
    runs = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    env["PYSPARK_PYTHON"] = sys.executable
    for name, batch in batches.items():  # both runs at once: each starts a JVM and a kernel
        folder = tmp_path / name
        spark.createDataFrame(batch).repartition(2).write.parquet(str(folder))
        command = [
            *(sys.executable, "-m", "workbench.cli"),
            *("--workspace", str(tmp_path / f"ws-{name}")),
            *("monitor", "--reference", str(ref_file), "--current", str(folder)),
            *("--target", "default", "--engine", "spark", "--fail-on-drift", "--json"),
            *("--out", str(tmp_path / f"out-{name}"), "--timeout", "600"),
        ]
        runs[name] = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    for name, proc in runs.items():
        out, err = proc.communicate(timeout=600)
        pandas = wb.drift_report(reference, batches[name], target="default", on_invalid="return",
                                 build_report=False)  # fmt: skip
        assert proc.returncode == EXPECTED[pandas.status], (name, err[-2000:])
        summary = json.loads(out[out.index("{") :])
        assert summary["engine"] == "spark" and summary["status"] == pandas.status
        assert summary["exit_code"] == proc.returncode
        assert sorted(summary["drifted_columns"]) == sorted(
            c.column for c in pandas.drifted_columns
        )
        assert summary["reasons"] == pandas.reasons
        if pandas.status != "invalid":
            assert Path(summary["report_folder"], "report.html").stat().st_size > 100_000
            assert summary["rows_current"] == 20_000
    assert "null surge" in summary["reasons"][0]


def test_monitor_spark_master_needs_engine_spark(tmp_path, capsys):
    from workbench.cli import main

    ref = tmp_path / "r.csv"
    credit_risk(100).to_csv(ref, index=False)
    args = ["--workspace", str(tmp_path), "monitor", "--reference", str(ref), "--current"]
    code = main([*args, str(ref), "--spark-master", "local[1]"])
    assert code == 2 and "--spark-master applies to --engine spark" in capsys.readouterr().err
