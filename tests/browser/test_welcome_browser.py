"""The onboarding tour in JupyterLab, and the monitoring dashboard as a Voila app."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_welcome_notebook_shows_the_tour_and_the_journey_panel(page, lab, open_notebook):
    open_notebook(page, "00_welcome.ipynb")
    panel = page.locator(".wb-journey-panel")
    panel.wait_for(timeout=180_000)
    assert panel.locator("button.wb-journey-button").is_enabled()
    links = panel.locator("a")
    assert links.count() == 4 and "03_serve.ipynb" in links.nth(2).get_attribute("href")
    page.get_by_text("Governance and compliance").first.wait_for()
    screenshot(panel, "welcome_journey_panel")


def test_dashboard_renders_the_monitoring_notebook_without_code(page, lab):
    import workbench as wb
    from workbench.apps import start_dashboard

    ws = wb.open_workspace(lab.workspace)
    app = start_dashboard(ws)
    try:
        page.set_default_timeout(180_000)
        page.goto(app.url)
        panel = page.locator(".wb-monitor-panel")
        panel.wait_for()
        page.locator(".wb-drift-summary, .wb-drift-result").first.wait_for()
        text = page.locator("body").inner_text()
        assert "wb.drift_report(" not in text and "import workbench" not in text  # no code shown
        assert "drift" in text.lower()
        screenshot(page.locator("body"), "dashboard_monitor")
    finally:
        app.stop()
    assert app.process.poll() is not None
