"""Stage 3 in a real browser: JupyterLab runs notebook 03 (headless cells start, call, load-test and
stop a server), then the panel's Start lights up, Send shows the prediction and the curl line, and
Stop turns the light off and leaves no server process."""

from __future__ import annotations

import re
import time

import nbformat
import psutil
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.server]

MODEL = "browser-serve"


@pytest.fixture(scope="module")
def serve_notebook(lab):
    """Train a small model into the lab's workspace and write notebook 03 with its name and a small
    load test as parameters (what papermill would inject), beside the original."""
    import workbench as wb
    from workbench.data import credit_risk

    wb.open_workspace(lab.workspace)
    wb.train_and_log(credit_risk(1000, seed=1), "default", name=MODEL, family="logistic_regression")
    nb = nbformat.read(lab.root / "notebooks" / "03_serve.ipynb", as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    for old, new in {
        'model_name = "credit-risk"': f'model_name = "{MODEL}"',
        "requests = 300 ": "requests = 40 ",
        "workers = None ": "workers = 1 ",
    }.items():
        assert old in params.source, old
        params.source = params.source.replace(old, new)
    name = "03_serve_browser.ipynb"
    nbformat.write(nb, lab.root / "notebooks" / name)
    return name


def _servers() -> list[int]:
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if f"models:/{MODEL}/" in cmd and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc.pid)
    return found


def test_start_send_see_the_prediction_and_stop(page, lab, open_notebook, serve_notebook):
    open_notebook(page, serve_notebook)
    panel = page.locator(".wb-serve-panel")
    panel.wait_for(timeout=240_000)  # after the headless cells: start, request, load test, stop
    assert not _servers(), "the notebook's own server should be stopped before the panel"
    panel.locator(".wb-light-off").wait_for()

    panel.locator("button.wb-serve-start").click()
    panel.locator(".wb-light-on").wait_for(timeout=120_000)
    assert "running" in panel.locator(".wb-serve-light").inner_text()
    income = panel.locator(".wb-field-income input")
    assert income.input_value() != ""  # pre-filled from the input example
    assert len(_servers()) >= 1

    panel.locator("button.wb-serve-send").click()
    prediction = panel.locator(".wb-serve-response code.wb-prediction")
    prediction.wait_for(timeout=60_000)
    assert re.fullmatch(r"\[[01]\]", prediction.inner_text().strip())
    # the same answer's curl line: a widget update of its own (CI-like run: read empty once)
    expect(panel.locator(".wb-serve-curl")).to_contain_text(
        "curl -s -X POST http://127.0.0.1:", timeout=30_000
    )
    screenshot(panel, "stage3_serve_panel")

    panel.locator("button.wb-serve-stop").click()
    panel.locator(".wb-light-off").wait_for(timeout=60_000)
    deadline = time.monotonic() + 10
    while _servers():
        assert time.monotonic() < deadline, f"server processes left: {_servers()}"
        time.sleep(0.2)
