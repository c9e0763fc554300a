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
    plots = panel.locator(".wb-train-plots .js-plotly-plot")  # drawn by JupyterLab's plotly
    plots.nth(3).wait_for(timeout=60_000)  # ROC, precision-recall, confusion matrix, importance
    assert plots.count() == 4
    assert "ROC curve" in plots.first.inner_text()
    assert_no_cut_labels(panel)
    screenshot(panel, "stage1_train_panel")


def assert_no_cut_labels(panel) -> None:
    """No control's label or button text is cut short ("Model na...") at the default width."""
    cut = panel.evaluate(
        """root => [...root.querySelectorAll('label, button, .widget-label')]
            .filter(el => el.offsetWidth > 0 && el.scrollWidth > el.clientWidth + 1)
            .map(el => el.textContent.trim())"""
    )
    assert cut == [], f"cut labels: {cut}"
