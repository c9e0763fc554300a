"""Stage 1 in a real browser: JupyterLab opens notebook 01, runs all, clicks Train & log."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_train_and_log_from_the_panel(page, lab, open_notebook):
    open_notebook(page, "01_train_and_log.ipynb")
    panel = page.locator(".wb-train-panel")
    panel.wait_for(timeout=180_000)
    # Run All already registered version 1 headlessly (cell 3); the click makes version 2.
    panel.locator(".widget-slider input, .widget-readout").first.wait_for()
    panel.locator("button.wb-train-button").click()
    status = panel.locator(".wb-status.wb-ok")
    status.wait_for(timeout=180_000)
    assert re.search(r"logged credit-risk version 2", status.inner_text())
    assert "models:/credit-risk/2" in panel.locator(".wb-result").inner_text()
    screenshot(panel, "stage1_train_panel")
