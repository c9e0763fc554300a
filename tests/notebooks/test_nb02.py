"""Notebook 02 headless (papermill: the gate promotes, or the checks fail and ``workbench run``
exits 3 with the verdict) and its panel clicked inside a real kernel."""

from __future__ import annotations

import json

import mlflow
import nbformat
import pytest
from nbclient import NotebookClient

import workbench as wb
from tests.notebooks.test_clean_output import assert_beginner_clean
from workbench.runner import run_notebook

pytestmark = pytest.mark.notebook


def _copy_model(session, name: str, alias: str | None = "challenger") -> None:
    """Register ``name`` version 1: the session's logistic regression, with its run (profile and
    reference predictions), without training again."""
    wb.open_workspace(session.ws.root)
    client = mlflow.MlflowClient()
    client.create_registered_model(name)
    source = mlflow.models.get_model_info(session.linear.model_uri)
    tags = {"workbench.task": "classification", "workbench.dropped_columns": "application_date"}
    client.create_model_version(name, source.model_uri, run_id=session.linear.run_id, tags=tags)
    if alias:
        client.set_registered_model_alias(name, alias, "1")


def _champion(name: str) -> str | None:
    try:
        return mlflow.MlflowClient().get_model_version_by_alias(name, "champion").version
    except mlflow.exceptions.MlflowException:
        return None


def test_notebook_02_gates_and_promotes_unattended(_trained_session, capsys):
    """``workbench run`` of notebook 02: the verdict printed, exit code 3 when the checks fail."""
    import re

    from tests.conftest import NOTEBOOKS
    from workbench.cli import main

    _copy_model(_trained_session, "nb02")
    argv = ["--workspace", str(_trained_session.ws.root), "run"]
    argv += [str(NOTEBOOKS / "02_predeploy_checks.ipynb"), "-p", "model_name", "nb02"]
    code = main([*argv, "-p", "approve", "true", "-p", "thresholds", '{"roc_auc": 0.99}'])
    out, err = capsys.readouterr()
    assert code == 3, err
    assert "FAIL   metric_roc_auc" in out and "nb02 version 1: FAILED (metric_roc_auc)" in out
    assert "GateError" in err and "failed its pre-deployment checks" in err
    assert _champion("nb02") is None  # refused: nothing moved
    failed = nbformat.read(re.search(r"kept at (\S+\.ipynb)", err).group(1), as_version=4)
    outputs = json.dumps([c.get("outputs", []) for c in failed.cells])
    assert "metric_roc_auc" in outputs and "not promoted: the checks failed" in outputs
    last = [c for c in failed.cells if c.cell_type == "code"][-1]  # the verdict, after the panel
    assert [o.get("ename") for o in last.outputs if o.output_type == "error"] == ["GateError"]
    assert_beginner_clean(failed)

    run = run_notebook(
        NOTEBOOKS / "02_predeploy_checks.ipynb",
        {"model_name": "nb02", "approve": True, "approved_by": "nightly", "reason": "green"},
    )
    assert "nb02 version 1: PASSED" in run.summary
    assert str(_champion("nb02")) == "1"
    log = wb.history("nb02")
    assert list(log["by"]) == ["nightly"] and list(log["checks_status"]) == ["passed"]
    text = json.dumps([c.get("outputs", []) for c in nbformat.read(run.output_path, 4).cells])
    assert "wb-check-report" in text and "PASSED" in text
    assert "promote nb02@champion: none -&gt; v1 by nightly" in text  # the entry, as HTML
    assert_beginner_clean(run.output_path)


def test_checks_panel_click_in_a_real_kernel_runs_promotes_and_rolls_back(_trained_session):
    _copy_model(_trained_session, "clicked-checks", alias=None)
    client = mlflow.MlflowClient()
    source = mlflow.models.get_model_info(_trained_session.linear.model_uri)
    client.create_model_version("clicked-checks", source.model_uri, run_id=_trained_session.linear.run_id)  # fmt: skip
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import workbench as wb\n"
            f"wb.open_workspace({str(_trained_session.ws.root)!r})\n"
            "panel = wb.ui.ChecksPanel('clicked-checks', version=1, data=None, target='default')\n"
            "before = panel.promote_button.disabled\n"
            "panel.run_button.click()\n"
            "after_run = panel.promote_button.disabled\n"
            "panel.reason.value = 'clicked'\n"
            "panel.promote_button.click()\n"
            "first = wb.get_version('clicked-checks', 'champion').version\n"
            "panel.version.value = 2\n"
            "blocked = panel.promote_button.disabled\n"
            "panel.force.value = True\n"
            "panel.promote_button.click()\n"
            "forced = wb.get_version('clicked-checks', 'champion').version\n"
            "panel.rollback_button.click()\n"
            "back = wb.get_version('clicked-checks', 'champion').version"
        ),
        nbformat.v4.new_code_cell(
            "print('STATE', before, after_run, first, blocked, forced, back)\n"
            "print('PROGRESS', panel.progress.value)\n"
            "print('TABLE', 'wb-check-table' in panel.table.value, panel.report.passed)\n"
            "print('DETAIL', panel.detail_choice.value, 'wb-status-' in panel.detail.value)\n"
            "print('COMPARE', 'candidate v1' in panel.compare.value)\n"
            "print('HISTORY', panel.history.value.count('</tr>'))\n"
            "print('STATUS', panel.status.value)"
        ),
    ]
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    out = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert "STATE True False 1 True 2 1" in out, out
    assert "PROGRESS 1.0" in out and "TABLE True True" in out
    assert "DETAIL schema_contract True" in out and "COMPARE True" in out
    assert "HISTORY 4" in out  # header row + promote, forced promote, rollback
    assert "rollback clicked-checks@champion: v2 -&gt; v1" in out
    log = wb.history("clicked-checks")
    assert list(log["forced"]) == [False, True, False]
