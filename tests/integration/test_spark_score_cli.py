"""`workbench score --engine spark` as a nightly job runs it (a process of its own): a Parquet folder
in, a Parquet folder out with the pandas engine's rows; bad input is one line and exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.data import credit_risk

pytestmark = [pytest.mark.spark, pytest.mark.usefixtures("spark_ready")]


def _batch(n=1200, seed=31):
    frame = credit_risk(n, seed=seed)
    frame.insert(0, "loan_id", np.arange(n, dtype="int64"))
    frame.loc[frame.index[::9], "income"] = np.nan
    return frame


def _workbench(trained, *argv, env=None, timeout=300):
    cmd = [sys.executable, "-m", "workbench.cli", "--workspace", str(trained.ws.root), "score"]
    return subprocess.run(
        [*cmd, *argv], capture_output=True, text=True, env=env or os.environ, timeout=timeout
    )


def test_the_command_scores_a_parquet_folder_into_a_parquet_folder(trained, tmp_path):
    frame = _batch()
    folder = tmp_path / "batch"
    folder.mkdir()
    frame.iloc[:600].to_parquet(folder / "part-0.parquet", index=False)
    frame.iloc[600:].to_parquet(folder / "part-1.parquet", index=False)
    out = tmp_path / "scored"
    done = _workbench(
        trained, trained.linear.model_uri, "--data", str(folder), "--out", str(out),
        "--id-column", "loan_id", "--engine", "spark", "--spark-master", "local[2]", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["rows"] == 1200 and result["output"] == str(out)
    assert result["columns"] == ["loan_id", "prediction", "proba_1"]
    assert (out / "_SUCCESS").exists() and "Traceback" not in done.stderr
    written = pd.read_parquet(out).sort_values("loan_id", ignore_index=True)
    expected = wb.score(trained.linear.model_uri, frame, id_columns=["loan_id"], progress=False)
    pd.testing.assert_frame_equal(written, expected, check_exact=False, rtol=0, atol=1e-12)


def test_a_missing_column_and_a_missing_java_are_one_line_and_exit_2(trained, tmp_path):
    data = tmp_path / "batch.parquet"
    _batch(50).drop(columns="income").to_parquet(data)
    out = tmp_path / "scored"
    done = _workbench(
        trained, trained.linear.model_uri, "--data", str(data), "--out", str(out),
        "--engine", "spark",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "lacks the feature column(s) 'income'" in lines[0], lines
    assert not out.exists()

    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)  # no java on it; the interpreter is called by its full path
    done = _workbench(
        trained, trained.linear.model_uri, "--data", str(data), "--out", str(out),
        "--engine", "spark", env=env,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs a Java runtime" in lines[0], lines
    assert "apt-get install openjdk-17-jre-headless" in lines[0]

    done = _workbench(
        trained, trained.linear.model_uri, "--data", str(data), "--out", str(out),
        "--spark-master", "local[2]",
    )  # fmt: skip
    assert done.returncode == 2 and "--spark-master applies to --engine spark" in done.stderr
