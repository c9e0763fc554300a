"""``workbench dashboard`` in real Chromium: Voila serves notebooks/dashboard.ipynb on 127.0.0.1; the
page shows the live version, the latest verdict and the drift heatmap, with no code; Refresh reads a
run logged after the page opened. The screenshot goes to docs/screenshots/dashboard.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import off_machine, screenshot

pytestmark = pytest.mark.browser

MODEL = "dash-browser"


def _monitor(day: int, scenario: str, n: int = 400) -> None:
    import workbench as wb
    from workbench.data import credit_risk, production_batch

    wb.drift_report(
        credit_risk(2000),
        production_batch(day, scenario, n=n),
        model=f"models:/{MODEL}@champion",
        target="default",
        on_invalid="return",
        build_report=False,
        data_ids={"current": f"day {day} ({scenario})"},
    ).log()


def test_dashboard_shows_live_version_verdict_heatmap_and_refreshes(page, lab):
    import workbench as wb
    from workbench.apps import free_port, start_dashboard, start_mlflow_ui
    from workbench.data import credit_risk

    ws = wb.open_workspace(lab.workspace)
    wb.train_and_log(credit_risk(600, seed=4), "default", name=MODEL, family="logistic_regression")
    wb.train_and_log(credit_risk(600, seed=5), "default", name=MODEL, family="logistic_regression")
    wb.promote(MODEL, 2, by="ana", reason="beats v1 on recall", force=True)
    for day, scenario in [(1, "none"), (2, "gradual_shift"), (3, "null_surge")]:
        _monitor(day, scenario)

    ui = start_mlflow_ui(ws, port=free_port())  # not 5000: as `workbench lab` when 5000 is taken
    app = start_dashboard(ws)
    try:
        page.set_default_timeout(180_000)
        asked = []
        page.on("request", lambda request: asked.append(request.url))
        page.goto(app.url, wait_until="load")  # nothing external to wait for
        panel = page.locator(".wb-dashboard-panel")
        panel.wait_for()
        page.locator(".wb-dash-model select").select_option(MODEL)
        card = panel.locator(".wb-dash-card")
        # other browser tests' models share the workspace: wait for this model's card to replace
        # the first model's (select_option returns before the panel redraws)
        expect(card).to_contain_text("dash-browser", timeout=120_000)
        expect(card).to_contain_text("version 2", timeout=120_000)
        text = card.inner_text()
        assert "version 2" in text and "promoted by ana" in text and "FORCED" in text
        assert "INVALID" in text  # the latest batch (day 3) was invalid data
        heatmap = panel.locator(".wb-dash-plots .js-plotly-plot").first
        heatmap.wait_for()
        assert "Drift by column" in heatmap.inner_text()
        assert "income" in heatmap.inner_text()
        assert panel.locator(".wb-dash-runs tbody tr").count() == 3
        body = page.locator("body").inner_text()
        assert "import workbench" not in body and "DashboardPanel(" not in body  # no code
        assert "Workspace(root=" not in body  # no raw reprs

        _monitor(4, "gradual_shift")  # logged after the page opened
        assert wb.apply_retrain_policy(f"models:/{MODEL}@champion", k=2, n=3).requested
        panel.locator("button.wb-dash-refresh").click()
        panel.locator(".wb-dash-runs tbody tr").nth(3).wait_for()
        assert panel.locator(".wb-dash-runs tbody tr").count() == 4
        text = panel.locator(".wb-dash-card").inner_text()
        assert "DRIFT" in text and "income" in text and "day 4" in text
        assert "retraining requested" in text
        links = [a.get_attribute("href") for a in panel.locator("a[href^='http://']").all()]
        assert len(links) >= 9, links  # the version page, and each run's report and MLflow run
        assert any("/artifacts/" in href for href in links)
        for href in links:  # each opens the MLflow UI that runs, in its training view
            assert href.startswith(f"{ui.url}/#/"), href
            assert href.endswith("?workflowType=machine_learning"), href
        for href in {links[0], links[-1], next(h for h in links if "/artifacts/" in h)}:
            opened = page.context.new_page()
            try:
                assert opened.goto(href).status == 200
                opened.get_by_text(MODEL, exact=False).first.wait_for(timeout=60_000)
                assert opened.get_by_text("not found", exact=False).count() == 0, href
            finally:
                opened.close()
        _no_cut_labels(panel)
        page.wait_for_timeout(500)
        screenshot(panel, "dashboard", max_height=1600)
        external = off_machine(asked)
        assert external == [], f"the dashboard page asked the internet for {external}"
    finally:
        app.stop()
        ui.stop(grace=10)
    assert app.process.poll() is not None


def _no_cut_labels(panel) -> None:
    """No label, button or dropdown text is cut (ellipsis) at the default width."""
    cut = panel.evaluate(
        """root => [...root.querySelectorAll('label, button, select, .widget-label')]
            .filter(el => el.offsetWidth > 0 && el.scrollWidth > el.clientWidth + 1)
            .map(el => el.textContent.trim())"""
    )
    assert cut == [], f"cut labels: {cut}"
