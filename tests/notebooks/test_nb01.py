"""Notebook 01 headless (papermill) and its panel clicked inside a real kernel."""

from __future__ import annotations

import ast
import json

import mlflow
import nbformat
import papermill
import pytest
from nbclient import NotebookClient

import workbench as wb
from tests.notebooks.test_clean_output import assert_beginner_clean
from workbench.runner import run_notebook

pytestmark = pytest.mark.notebook


def test_notebook_01_runs_unattended_and_registers_a_version(workspace, tmp_path):
    from tests.conftest import NOTEBOOKS

    run = run_notebook(
        NOTEBOOKS / "01_train_and_log.ipynb",
        {"model_name": "nb01", "dataset": "breast_cancer", "n_estimators": 20},
    )
    assert run.output_path.startswith(str(workspace.runs_dir / "01_train_and_log"))
    nb = nbformat.read(run.output_path, as_version=4)
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells)
    mv = wb.get_version("nb01", "challenger")
    assert mv.version == 1 and mv.metrics["roc_auc"] > 0.9
    text = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert "models:/nb01/1" in text  # the version card is in the output
    assert_beginner_clean(nb)


def test_notebook_has_no_logic_and_is_committed_clean():
    from tests.conftest import NOTEBOOKS

    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: one parameters cell"
        assigned = {
            node.targets[0].id
            for node in ast.parse(tagged[0].source).body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
        }
        assert set(papermill.inspect_notebook(str(path))) == assigned, f"{path.name} parameters"
        assert "workspace" in assigned, f"{path.name}: a workspace parameter"
        for cell in code:
            assert not cell.outputs and cell.execution_count is None, f"{path.name} has outputs"
            for line in cell.source.splitlines():
                assert not line.lstrip().startswith(("def ", "class ")), f"{path.name}: {line}"


def test_train_panel_click_in_a_real_kernel_logs_a_version(workspace):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import workbench as wb\n"
            f"wb.open_workspace({str(workspace.root)!r})\n"
            "panel = wb.ui.TrainPanel(dataset='breast_cancer', family='random_forest', name='clicked')\n"
            "panel.n_estimators.value = 20\n"
            "panel.show()\n"
            "panel.train_button.click()"
        ),
        nbformat.v4.new_code_cell(
            "print(panel.progress.value, panel.last_version.version)\n"
            "print('STATUS', panel.status.value)\n"
            "print('CARD', 'models:/clicked/1' in panel.result.value)"
        ),
    ]
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    out = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert "1.0 1" in out
    assert "logged clicked version 1" in out
    assert "CARD True" in out
    assert mlflow.MlflowClient(workspace.tracking_uri).get_registered_model("clicked")


def test_train_panel_shows_a_bad_file_and_registers_nothing(workspace, tmp_path):
    from workbench.ui import TrainPanel

    panel = TrainPanel(dataset=str(tmp_path / "missing.csv"), name="never")
    panel.target.value = "y"
    assert panel.train() is None
    assert "missing.csv" in panel.status.value and "does not exist" in panel.status.value
    assert mlflow.MlflowClient().search_registered_models() == []
