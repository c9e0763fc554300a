"""``workbench dashboard`` in headless Chromium that prefers a dark colour scheme: the Voila page,
the panel and the plotly figures turn dark with no kernel round trip (plot text light on a dark
background, read from the computed styles); the new champion with no monitoring run yet is said
in words, and the move of @champion is marked on the plots. The screenshot goes to
docs/screenshots/dashboard_dark.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

MODEL = "dash-dark"

#: The luminance (0 black .. 1 white) of an element's text fill and of the first opaque
#: background behind it.
_COLOURS = """el => {
    const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
    const lum = c => { const [r, g, b] = rgb(c); return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255; };
    let node = el, bg = null;
    while (node && node.nodeType === 1) {
        const c = getComputedStyle(node).backgroundColor;
        const parts = rgb(c);
        if (c && c !== 'transparent' && (parts.length < 4 || parts[3] > 0.5)) { bg = c; break; }
        node = node.parentNode;
    }
    bg = bg || getComputedStyle(document.documentElement).backgroundColor;
    const fill = getComputedStyle(el).fill;
    return {fill, bg, text: lum(fill), background: lum(bg)};
}"""


def _monitor(day: int, scenario: str) -> None:
    import workbench as wb
    from workbench.data import credit_risk, production_batch

    wb.drift_report(
        credit_risk(2000),
        production_batch(day, scenario, n=400),
        model=f"models:/{MODEL}@champion",
        target="default",
        on_invalid="return",
        build_report=False,
        data_ids={"current": f"day {day} ({scenario})"},
    ).log()


def test_the_dashboard_follows_a_dark_browser_and_says_the_live_version_is_unmonitored(page, lab):
    import workbench as wb
    from workbench.apps import start_dashboard
    from workbench.data import credit_risk

    ws = wb.open_workspace(lab.workspace)
    for seed in (6, 7):
        wb.train_and_log(credit_risk(600, seed=seed), "default", name=MODEL,
                         family="logistic_regression")  # fmt: skip
    wb.promote(MODEL, 1, by="ana", reason="first model", force=True)
    for day, scenario in [(1, "none"), (2, "gradual_shift"), (3, "none")]:
        _monitor(day, scenario)
    wb.promote(MODEL, 2, by="ana", reason="retrained on recent data", force=True)

    app = start_dashboard(ws)
    try:
        page.set_default_timeout(180_000)
        page.emulate_media(color_scheme="dark")
        page.goto(app.url, wait_until="load")
        panel = page.locator(".wb-dashboard-panel")
        panel.wait_for()
        page.locator(".wb-dash-model select").select_option(MODEL)
        card = panel.locator(".wb-dash-card")
        expect(card).to_contain_text(MODEL, timeout=120_000)
        expect(card).to_contain_text("has no monitoring run yet", timeout=120_000)
        text = card.inner_text()
        assert "v2 (live since" in text and "the latest batch shown is v1's" in text
        assert "Latest batch (v1, not live)" in text
        expect(panel.locator(".wb-status.wb-warn")).to_contain_text("has no monitoring run yet")

        plots = panel.locator(".wb-dash-plots .js-plotly-plot")
        expect(plots).to_have_count(2, timeout=120_000)
        heatmap, lines = plots.nth(0), plots.nth(1)
        expect(heatmap).to_contain_text(f"Drift by column: {MODEL}")  # not the first model's
        expect(lines).to_contain_text(f"Monitoring history: {MODEL}")
        for fig in (heatmap, lines):
            assert "v1 -> v2" in fig.inner_text()  # the move of @champion, after the last run
        assert "drifted share" in lines.inner_text() and "accuracy" in lines.inner_text()

        for fig in (heatmap, lines):
            for selector in (".gtitle", ".xaxislayer-above text", ".annotation text"):
                found = fig.locator(selector).first.evaluate(_COLOURS, timeout=10_000)
                assert found["text"] > 0.75, f"{selector} is not light: {found}"
                assert found["background"] < 0.2, f"{selector} is not on a dark page: {found}"
        body = page.locator("body").evaluate(
            _COLOURS.replace("getComputedStyle(el).fill", "'rgb(0,0,0)'")
        )
        assert body["background"] < 0.2, body

        # the filters: one version, then a period; the plots and the runs follow
        rows = panel.locator(".wb-dash-runs tbody tr")
        expect(rows).to_have_count(3)
        version = panel.locator(".wb-dash-version select")
        options = [t.replace("\xa0", " ") for t in version.locator("option").all_inner_texts()]
        assert options == ["all versions", "v1"]
        panel.locator(".wb-dash-period select").select_option(label="last 7 days")
        expect(rows).to_have_count(3)
        page.wait_for_timeout(500)
        screenshot(panel, "dashboard_dark", max_height=1800)
    finally:
        app.stop()
    assert app.process.poll() is not None
