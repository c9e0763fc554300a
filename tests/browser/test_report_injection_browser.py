"""The pages a hostile table leads the workbench to write, opened in real Chromium from disk: no
payload runs and no request leaves (issue 22, part 6).

The table (``tests/integration/test_html_injection.py``) has column names and category values
that are ``<img onerror>``, ``</script><script>``, ``"><svg onload>``, a ``javascript:`` link,
markup that fetches a URL, and a positive label that is a link with an event handler. Each page is opened via
``file://`` with every non-file request recorded and refused; the Evidently report is clicked
through (both tabs, every detail row) and the plots are hovered.
"""

from __future__ import annotations

import pytest

from tests.integration.test_html_injection import build_outputs

pytestmark = pytest.mark.browser

_LOCAL = ("file:", "data:", "blob:", "about:")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    return build_outputs(tmp_path_factory.mktemp("hostile-browser"))


@pytest.mark.parametrize(
    "name",
    [
        "evidently report",
        "drift result card",
        "checks",
        "model card",
        "fairness plots",
        "training plots",
    ],
)
def test_no_script_runs_and_no_request_leaves(page, outputs, name):
    path = outputs.pages[name]
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    page.on("dialog", lambda dialog: (sent.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.route("**/*", _local_only)
    page.goto(path.as_uri(), wait_until="load")
    title = page.title()
    page.wait_for_timeout(1500)
    assert page.evaluate("window.__pwned") is None, f"a payload ran when {name} was opened"
    if name == "evidently report":
        _click_through_evidently(page)
    _hover_plots(page)
    assert page.evaluate("window.__pwned") is None, f"a payload ran while {name} was used"
    assert page.title() == title != "pwned"
    left = [url for url in sent if not url.startswith(_LOCAL)]
    assert not left, f"{name} sent requests off the machine: {left}"
    links = page.evaluate(
        "[...document.querySelectorAll('a')].map(a => a.getAttribute('href') || "
        "a.getAttribute('xlink:href') || '')"
    )
    assert not [h for h in links if h.strip().lower().startswith(("javascript:", "http://127"))]
    assert page.locator("[onerror], [onload], [onmouseover]").count() == 0
    styled = page.evaluate(
        "[...document.querySelectorAll('[style]')].map(e => e.getAttribute('style'))"
        ".filter(s => s.includes('127.0.0.1'))"
    )
    assert not styled, f"{name} holds styles from data: {styled}"


def test_the_evidently_report_still_names_the_columns(page, outputs):
    page.route("**/*", _local_only)
    page.goto(outputs.pages["evidently report"].as_uri(), wait_until="load")
    page.wait_for_timeout(1000)
    assert page.evaluate("window.__pwned") is None
    body = page.locator("body")
    body.get_by_text("Data Drift Summary").first.wait_for(timeout=30_000)
    text = body.inner_text()
    assert "＜img src=x onerror=" in text  # the hostile name, readable and inert
    assert "＜/script＞＜script＞window.__pwned=2" in text
    assert page.evaluate("window.__pwned") is None


def _local_only(route) -> None:
    if route.request.url.startswith(_LOCAL):
        route.continue_()
    else:
        route.abort()


def _click_through_evidently(page) -> None:
    """Open every detail row of the drift table, then the Tests tab: the widgets they draw see
    the names too."""
    toggles = page.get_by_role("button", name="Detail panel visibility toggle")
    assert toggles.count() >= 4  # one per tested column
    for i in range(toggles.count()):
        toggles.nth(i).click()
        page.wait_for_timeout(200)
    page.get_by_role("tab", name="Tests", exact=True).click()
    page.wait_for_timeout(800)
    page.get_by_role("tab", name="Metrics", exact=True).click()
    page.wait_for_timeout(500)


def _hover_plots(page) -> None:
    """Hover the bars and cells of up to 12 plotly plots (labels drawn on hover)."""
    points = page.locator(".plotly .point, .plotly .hm")
    for i in range(min(points.count(), 12)):
        try:
            points.nth(i).hover(timeout=1_000, force=True)
        except Exception:  # a point hidden under another: hovering it is not the test
            continue
        page.wait_for_timeout(100)
