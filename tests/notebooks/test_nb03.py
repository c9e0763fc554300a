"""Notebook 03 headless (papermill): start, one request, bounded load test, stop; and the panel's
buttons clicked inside a real kernel. No server outlives its notebook."""

from __future__ import annotations

import json
import re

import nbformat
import psutil
import pytest
from nbclient import NotebookClient

from tests.notebooks.test_clean_output import assert_beginner_clean
from workbench.runner import run_notebook

pytestmark = [pytest.mark.notebook, pytest.mark.server]


def _served_pids(root) -> set[int]:
    """Processes of our launcher or ``mlflow models serve`` alive now that serve from the
    workspace at ``root`` (its store is in their environment): another run's servers on this
    machine are not this test's."""
    found = set()
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if proc.info["status"] == psutil.STATUS_ZOMBIE or not (
            "workbench.serving._launcher" in cmd or "models serve" in cmd
        ):
            continue
        try:
            store = proc.environ().get("MLFLOW_TRACKING_URI", "")
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
        if str(root) in store:
            found.add(proc.pid)
    return found


def _text(nb) -> str:
    return json.dumps([c.get("outputs", []) for c in nb.cells])


def test_notebook_03_serves_requests_load_tests_and_stops(trained):
    from tests.conftest import NOTEBOOKS

    before = _served_pids(trained.ws.root)
    run = run_notebook(
        NOTEBOOKS / "03_serve.ipynb",
        {"requests": 60, "concurrency": 2, "workers": 1, "sample_rows": 50},
    )
    nb = nbformat.read(run.output_path, as_version=4)
    text = _text(nb)
    assert "Load test" in text and "60 of 60" in text  # the load-test card
    assert "curl -s -X POST http://127.0.0.1:" in text
    answer = next(c for c in nb.cells if c.source.startswith("server.predict("))
    assert re.fullmatch(r"\[[01], [01], [01]\]", answer.outputs[0]["data"]["text/plain"])
    assert "application/vnd.jupyter.widget-view+json" in json.dumps(nb.cells[-1].outputs)
    assert _served_pids(trained.ws.root) <= before  # the server was stopped
    stopped = next(c for c in nb.cells if c.source.startswith("server.stop()"))
    assert "stopped" in json.dumps(stopped.outputs)  # its card says so
    assert_beginner_clean(nb)


def test_notebook_03_stops_its_server_even_when_a_cell_fails(trained):
    from tests.conftest import NOTEBOOKS
    from workbench.errors import NotebookError

    before = _served_pids(trained.ws.root)
    with pytest.raises(NotebookError, match="requests must be"):
        run_notebook(NOTEBOOKS / "03_serve.ipynb", {"requests": 0, "workers": 1})
    assert _served_pids(trained.ws.root) <= before  # atexit in the kernel stopped it


def test_serve_panel_buttons_in_a_real_kernel(trained):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import workbench as wb\n"
            f"wb.open_workspace({str(trained.ws.root)!r})\n"
            "panel = wb.ui.ServePanel('credit-risk', alias='challenger', workers=1, requests=40)\n"
            "panel.show()\n"
            "panel.start_button.click()\n"
            "panel.fields['income'].value = ''\n"  # a missing value is allowed
            "panel.send_button.click()\n"
            "answer = panel.response.value\n"
            "panel.load_button.click()\n"
            "panel.fields['age'].value = 'old'\n"
            "panel.send_button.click()\n"
            "error = panel.status.value\n"
            "panel.stop_button.click()"
        ),
        nbformat.v4.new_code_cell(
            "print('PRED', panel.last_prediction.tolist())\n"
            "print('PROBA', panel.last_probabilities.columns.tolist(),\n"
            "      float(panel.last_probabilities.iloc[0, 0]))\n"
            "print('SHOWN', 'wb-probability' in answer, 'probability of 1' in answer)\n"
            "print('CURL', 'curl -s -X POST' in panel.curl_line.value)\n"
            "print('LOAD', panel.last_load_test.completed, 'img' in panel.plot.value)\n"
            "print('ERROR', error)\n"
            "print('LIGHT', panel.light.value)\n"
            "print('SERVER', panel.server)"
        ),
    ]
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    out = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert re.search(r"PRED \[[01]\]", out), out
    proba = re.search(r"PROBA \['proba_1'\] (\S+)", out)
    assert proba and 0.0 <= float(proba.group(1)) <= 1.0, out
    assert "SHOWN True True" in out
    assert "CURL True" in out and "LOAD 40 True" in out
    assert "ERROR" in out and "&#x27;age&#x27;" in out.split("ERROR")[1].splitlines()[0]
    assert "wb-light-off" in out and "SERVER None" in out
