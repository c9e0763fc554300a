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
    assert "/runs/" in card.url and "/artifacts/model_card.html?" in card.url, card.url
    assert card.url.endswith("workflowType=machine_learning"), card.url  # the training view
    card.get_by_text("model_card.html", exact=False).first.wait_for(timeout=30_000)
    body = card.frame_locator("iframe").first.locator("body")  # the artifact viewer's frame
    body.get_by_text("story-ui", exact=False).first.wait_for(timeout=30_000)
    card.close()


def test_the_experiment_opens_in_the_training_view(page, mlflow_ui):
    """The workbench's links open MLflow's training view (the runs table, each run named for what
    it is), not the GenAI overview (traces, "Detect Issues") MLflow 3.17 opens by default; the
    links point at the UI that runs (its port is recorded), not at a fixed 5000."""
    import mlflow

    experiment = mlflow.MlflowClient().get_experiment_by_name("story-ui")
    assert experiment.tags.get("mlflow.experimentKind") == "custom_model_development"
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(wb.current_workspace().experiment_url(experiment.experiment_id))
    training = page.get_by_text("train-story-ui-20", exact=False).first
    training.wait_for(timeout=60_000)
    assert page.get_by_text("check-v1-", exact=False).first.is_visible()
    assert "/traces" not in page.url and "overview" not in page.url.lower(), page.url
    assert page.get_by_text("Detect Issues", exact=False).count() == 0
    screenshot(page.locator("body"), "mlflow_experiment", max_height=900)
