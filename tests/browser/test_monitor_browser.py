"""Stage 4 in a real browser: JupyterLab opens notebook 04, runs all, picks a scenario in the
panel, runs the drift report and reads the Evidently report inline."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_pick_a_scenario_run_and_read_the_report(page, lab, open_notebook):
    open_notebook(page, "04_monitor_drift.ipynb")
    panel = page.locator(".wb-monitor-panel")
    panel.wait_for(timeout=180_000)
    panel.locator(".wb-monitor-scenario select").select_option("new_category")
    panel.locator("button.wb-monitor-run").click()
    status = panel.locator(".wb-status.wb-error")
    status.wait_for(timeout=180_000)
    assert "drift detected in purpose" in status.inner_text()
    card = panel.locator(".wb-result .wb-drift-result")
    assert "DRIFT in 1 of" in card.inner_text()
    report = panel.locator(".wb-monitor-report iframe")
    report.wait_for(timeout=60_000)
    frame = report.content_frame
    frame.get_by_text("purpose").first.wait_for(timeout=60_000)
    screenshot(panel, "stage4_monitor_panel")
