"""Stage 2 in a real browser: JupyterLab runs notebook 02, the panel's Run checks fills the table,
and Promote moves @champion."""

from __future__ import annotations

import time

import mlflow
import nbformat
import pytest

import workbench as wb
from tests.browser.conftest import screenshot
from tests.browser.test_train_browser import assert_no_cut_labels

pytestmark = pytest.mark.browser

MODEL = "browser-checks"


@pytest.fixture(scope="module")
def checked_notebook(lab):
    """Train a small model into the lab's workspace and write notebook 02 with its name as the
    parameter (what papermill would inject), beside the original."""
    import workbench as wb
    from workbench.data import credit_risk

    wb.open_workspace(lab.workspace)
    wb.train_and_log(
        credit_risk(2000, seed=1),
        "default",
        name=MODEL,
        family="logistic_regression",
        protected=["age_band"],  # the fairness check slices by it (notebook 02: the contract's)
    )
    nb = nbformat.read(lab.root / "notebooks" / "02_predeploy_checks.ipynb", as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert 'model_name = "credit-risk"' in params.source
    params.source = params.source.replace('model_name = "credit-risk"', f'model_name = "{MODEL}"')
    name = "02_checks_browser.ipynb"
    nbformat.write(nb, lab.root / "notebooks" / name)
    return name


@pytest.fixture(scope="module")
def mlflow_ui(lab, checked_notebook):
    """The MLflow UI beside the lab, on a port that is not 5000 (as `workbench lab` starts it
    when 5000 is taken): the panel's links must find it there."""
    from workbench.apps import free_port, start_mlflow_ui

    app = start_mlflow_ui(wb.open_workspace(lab.workspace), port=free_port())
    assert not app.url.endswith(":5000")
    try:
        yield app
    finally:
        app.stop(grace=10)


def _checks_run_id() -> str | None:
    return mlflow.MlflowClient().get_model_version(MODEL, "1").tags.get("workbench.checks.run_id")


def test_run_checks_see_the_table_and_promote(
    page, lab, open_notebook, checked_notebook, mlflow_ui
):
    open_notebook(page, checked_notebook)
    panel = page.locator(".wb-checks-panel")
    panel.wait_for(timeout=180_000)
    run_button = panel.locator("button.wb-run-checks")
    run_button.wait_for()
    deadline = time.monotonic() + 120
    while _checks_run_id() is None:  # Run All ran the suite headlessly (cell "run the checks")
        assert time.monotonic() < deadline, "the notebook did not run the checks"
        time.sleep(0.5)
    headless_run = _checks_run_id()

    run_button.click()
    while _checks_run_id() == headless_run:
        assert time.monotonic() < deadline + 60, "the Run checks button did not run the suite"
        time.sleep(0.5)
    panel.locator(".wb-status.wb-ok", has_text="all checks passed").wait_for(timeout=60_000)
    rows = panel.locator(".wb-check-results tr.wb-check-row")
    assert rows.count() == 11
    assert panel.locator(".wb-check-results tr.wb-check-pass").count() >= 9
    assert "PASSED" in panel.locator(".wb-check-results").inner_text()
    assert "candidate v1" in panel.locator(".wb-compare").inner_text()
    fairness = panel.locator(".wb-check-plots .js-plotly-plot")  # the slices, the limit drawn
    fairness.first.wait_for(timeout=60_000)
    assert "recall by slice" in fairness.first.inner_text()
    assert_no_cut_labels(panel)

    promote = panel.locator("button.wb-promote")
    assert promote.is_enabled()
    promote.click()  # with the reason left empty: refused, nothing moved
    refusal = panel.locator(".wb-status.wb-error", has_text="write a reason before promoting")
    refusal.wait_for(timeout=60_000)
    client = mlflow.MlflowClient()
    assert "champion" not in client.get_registered_model(MODEL).aliases  # nothing moved
    screenshot(panel, "stage2_empty_reason_refused")

    panel.locator(".wb-reason input").fill("passed every check on the browser's eval data")
    promote.click()
    panel.locator(".wb-status.wb-ok", has_text=f"promote {MODEL}@champion").wait_for(timeout=60_000)
    assert client.get_model_version_by_alias(MODEL, "champion").version in (1, "1")
    cell = panel.locator(".wb-history td", has_text="passed every check on the browser")
    cell.first.wait_for(timeout=30_000)
    shortened = panel.locator(".wb-history td.wb-hash").first  # a hash: short, whole on hover
    assert len(shortened.inner_text().strip()) <= 11
    assert len(shortened.get_attribute("title")) == 64
    screenshot(panel, "stage2_checks_panel")

    # every link the panel shows opens the MLflow UI that runs, in its training view
    links = [a.get_attribute("href") for a in panel.locator("a[href^='http://']").all()]
    assert len(links) >= 2, links  # the promoted version, and the versions in the audit table
    for href in links:
        assert href.startswith(f"{mlflow_ui.url}/#/"), href
        assert href.endswith("?workflowType=machine_learning"), href
        opened = page.context.new_page()
        try:
            opened.goto(href)
            opened.get_by_text(MODEL, exact=False).first.wait_for(timeout=60_000)
            assert opened.get_by_text("not found", exact=False).count() == 0, href
        finally:
            opened.close()
