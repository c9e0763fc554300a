"""MLflow's own UI tells the version's story: the verdict and the promotion in the description,
and the model card link opens the card (real MLflow UI, real Chromium)."""

from __future__ import annotations

import pytest

import workbench as wb
from tests.browser.conftest import screenshot
from workbench.apps import start_mlflow_ui
from workbench.data import credit_risk


@pytest.fixture(scope="module")
def mlflow_ui(tmp_path_factory):
    ws = wb.open_workspace(tmp_path_factory.mktemp("mlflow_ui") / "ws")
    frame = credit_risk(800, seed=3)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_USER", "dana")  # the logger "Created by" names
        wb.train_and_log(frame, "default", name="story-ui", family="logistic_regression")
    wb.run_checks(
        "models:/story-ui/1", data=credit_risk(400, seed=4), target="default", progress=False
    )
    wb.promote("story-ui", 1, by="ana", reason="beats the baseline on recall")
    app = start_mlflow_ui(ws, port=5077)
    try:
        yield app
    finally:
        app.stop(grace=10)


def test_version_page_shows_verdict_promotion_and_card(page, mlflow_ui):
    page.set_viewport_size({"width": 1400, "height": 1200})
    page.goto(f"{mlflow_ui.url}/#/models/story-ui/versions/1")
    verdict = page.get_by_text("Checks: PASSED", exact=False).first
    verdict.wait_for(timeout=60_000)
    assert page.get_by_text("Promoted to @champion", exact=False).first.is_visible()
    assert page.get_by_text("beats the baseline on recall", exact=False).first.is_visible()
    # MLflow's own field, filled: "Creator" on the version page ("Created by" in the list)
    page.get_by_text("Creator", exact=True).first.wait_for(timeout=30_000)
    assert page.get_by_text("dana", exact=True).first.is_visible()
    screenshot(page.locator("body"), "mlflow_version", max_height=1000)
    link = page.get_by_role("link", name="Model card").first
    href = link.get_attribute("href") or ""
    assert "/artifacts/model_card.html" in href, href
    assert link.get_attribute("target") == "_blank"  # MLflow opens description links in a tab
    with page.context.expect_page() as opened:
        link.click()
    card = opened.value
    card.wait_for_load_state()
    assert "/runs/" in card.url and card.url.endswith("/artifacts/model_card.html"), card.url
    card.get_by_text("model_card.html", exact=False).first.wait_for(timeout=30_000)
    body = card.frame_locator("iframe").first.locator("body")  # the artifact viewer's frame
    body.get_by_text("story-ui", exact=False).first.wait_for(timeout=30_000)
    card.close()
