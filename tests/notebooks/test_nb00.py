"""The welcome notebook runs headless and its panel drives the journey."""

from __future__ import annotations

import json

import nbformat
import pytest

from tests.notebooks.test_clean_output import assert_beginner_clean
from workbench.runner import run_notebook

pytestmark = pytest.mark.notebook


def test_welcome_notebook_runs_unattended_without_running_the_journey(workspace):
    from tests.conftest import NOTEBOOKS

    run = run_notebook(NOTEBOOKS / "00_welcome.ipynb")
    nb = nbformat.read(run.output_path, as_version=4)
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "Set run_journey = True" in text
    assert_beginner_clean(nb)
    markdown = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for concern in ("Scalability", "Latency", "Reliability", "Security", "Governance", "Fairness",
                    "Monitoring", "Data quality", "Testing", "Documentation", "Rollback"):  # fmt: skip
        assert concern in markdown, concern
    assert not list((workspace.root / "runs").glob("01_*/*.ipynb"))  # nothing else ran


def test_journey_panel_shows_the_step_that_failed(workspace):
    from workbench.ui import JourneyPanel

    (workspace.root / "notebooks").mkdir()  # a workspace whose notebooks folder lacks the stages
    panel = JourneyPanel()
    assert panel.run() is None
    assert "train a baseline" in panel.steps.value
    assert "01_train_and_log.ipynb does not exist" in panel.status.value
    assert not panel.run_button.disabled
