"""`workbench demo` end to end on a fresh workspace, then again on the same one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

import workbench as wb

pytestmark = [pytest.mark.notebook, pytest.mark.server]
ROOT = Path(__file__).resolve().parents[2]


def _demo(workspace: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "WORKBENCH_SET_"))}
    return subprocess.run(
        [sys.executable, "-m", "workbench.cli", "--workspace", str(workspace), "demo", *extra],
        capture_output=True,
        text=True,
        env=env,
        cwd=workspace,
        timeout=600,
    )


def test_demo_runs_the_whole_journey_and_reruns(tmp_path):
    first = _demo(tmp_path, "--quick")
    assert first.returncode == 0, first.stderr[-3000:]
    out = first.stdout
    assert "Champion: version 3; retrain requested after the week: True" in out
    assert "mlflow ui --backend-store-uri" in out

    wb.open_workspace(tmp_path)
    versions = {v.version: v for v in wb.versions("credit-risk")}
    assert sorted(versions) == [1, 2, 3]
    assert versions[2].metrics["roc_auc"] > versions[1].metrics["roc_auc"]  # a better challenger
    assert "champion" in versions[3].aliases
    assert versions[2].tags.get("workbench.retrain_requested") == "true"
    history = wb.history("credit-risk")
    assert list(history["new_version"]) == [1, 2, 3]
    runs = sorted((tmp_path / "runs").glob("0*/*.ipynb"))
    assert len(runs) == 8, runs  # every step's executed notebook is kept
    monitoring = mlflow.search_runs(experiment_names=["monitoring/credit-risk"])
    assert len(monitoring) == 7  # six days before today, and today

    second = _demo(tmp_path, "--quick")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Champion: version 6" in second.stdout
