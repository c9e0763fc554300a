"""notebooks/dashboard.ipynb headless (papermill), as `workbench dashboard` serves it: thin (a
parameters cell, then cells that call the package), committed without outputs, and run on a store
with a promoted, monitored model it shows that model's card and plots, with no raw repr."""

from __future__ import annotations

import json

import nbformat
import pytest

import workbench as wb
from tests.notebooks.test_clean_output import assert_beginner_clean
from workbench.runner import run_notebook

pytestmark = pytest.mark.notebook
MODEL = "dash-nb"


def test_the_dashboard_notebook_is_thin_and_committed_without_outputs():
    from tests.conftest import NOTEBOOKS

    nb = nbformat.read(NOTEBOOKS / "dashboard.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert "workspace = None" in code[0].source and "model = None" in code[0].source
    assert len(code) <= 3 and all(c.outputs == [] and c.execution_count is None for c in code)
    assert not [c for c in nb.cells if c.cell_type == "markdown"]  # no teaching text
    for cell in code:
        assert "def " not in cell.source and "class " not in cell.source


def test_the_dashboard_notebook_runs_unattended_and_shows_the_model(workspace):
    from tests.conftest import NOTEBOOKS
    from workbench.data import credit_risk, production_batch

    wb.train_and_log(credit_risk(600, seed=4), "default", name=MODEL, family="logistic_regression")
    wb.promote(MODEL, 1, by="ana", reason="first", force=True)
    for day, scenario in [(1, "none"), (2, "gradual_shift")]:
        wb.drift_report(
            credit_risk(2000), production_batch(day, scenario, n=400),
            model=f"models:/{MODEL}@champion", target="default", build_report=False,
            data_ids={"current": f"day {day} ({scenario})"},
        ).log()  # fmt: skip
    run = run_notebook(
        NOTEBOOKS / "dashboard.ipynb", {"workspace": str(workspace.root), "model": MODEL}
    )
    nb = nbformat.read(run.output_path, as_version=4)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert_beginner_clean(nb)
    shown = json.dumps(outputs)
    assert "application/vnd.jupyter.widget-view+json" in shown and "Workspace(root=" not in shown
    state = json.dumps(nb.metadata.get("widgets", {}))
    assert "wb-dash-card" in state and "version 1" in state and "day 2 (gradual_shift)" in state
    assert "Drift by column: dash-nb" in state  # the heatmap, in the plots' Output widget
