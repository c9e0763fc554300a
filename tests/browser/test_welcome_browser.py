"""The onboarding tour in JupyterLab (the dashboard's Voila test is test_dashboard_browser.py)."""

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
