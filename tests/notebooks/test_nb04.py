"""Notebook 04 headless (papermill): a model, a demo scenario with labels, every section shown."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

import workbench as wb
from tests.notebooks.test_clean_output import assert_beginner_clean
from workbench.runner import run_notebook

pytestmark = pytest.mark.notebook


def test_notebook_04_runs_unattended_with_a_model(trained, tmp_path):
    from tests.conftest import NOTEBOOKS

    out = tmp_path / "report"
    run = run_notebook(
        NOTEBOOKS / "04_monitor_drift.ipynb",
        {
            "model": "models:/credit-risk@challenger",
            "demo_scenario": "label_shift",
            "demo_day": 2,
            "out": str(out),
            "retrain_k": 1,
            "retrain_n": 1,
            "ignore": ["region"],
        },
    )
    assert run.output_path.startswith(str(trained.ws.runs_dir / "04_monitor_drift"))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "drift" and "default" in summary["drifted_columns"]
    assert summary["model_version"] == "2" and "accuracy" in summary["performance"]
    assert summary["skipped"]["region"] == "ignored on request"
    assert "model contract" in summary["skipped"]["application_date"]
    assert "held-out" in summary["reference_source"]
    assert {c["score_kind"] for c in summary["columns"]} <= {"p-value", "distance"}
    assert (out / "report.html").stat().st_size > 100_000
    nb = nbformat.read(run.output_path, as_version=4)
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "wb-drift-result" in text  # the summary card
    assert "iframe" in text  # the Evidently report inline
    assert "wb-monitoring-history" in text  # the history plot
    assert "retraining requested" in text
    assert_beginner_clean(nb)
    tags = wb.get_version("credit-risk", 2).tags
    assert tags.get("workbench.retrain_requested") == "true"
    assert Path(run.output_path).exists()
