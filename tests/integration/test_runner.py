"""The papermill runner on tiny real notebooks: archive, failing cell, timeout, the kernel's Python."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

import workbench as wb
from workbench.runner import run_notebook

pytestmark = pytest.mark.notebook


def _notebook(path: Path, *cells: str, params: str = "workspace = None\nvalue = 1") -> Path:
    nb = nbformat.v4.new_notebook()
    first = nbformat.v4.new_code_cell(params)
    first.metadata["tags"] = ["parameters"]
    nb.cells = [first, *(nbformat.v4.new_code_cell(src) for src in cells)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(path))
    return path


def test_runs_in_this_python_with_parameters_and_archives_the_copy(workspace, tmp_path):
    out_file = tmp_path / "out.json"
    source = _notebook(
        tmp_path / "ok.ipynb",
        "import json, sys\n"
        f"json.dump({{'exe': sys.executable, 'value': value, 'ws': workspace}}, open({str(out_file)!r}, 'w'))",
    )
    run = run_notebook(source, {"value": 41})
    seen = json.loads(out_file.read_text())
    assert seen["value"] == 41
    assert Path(seen["exe"]).resolve() == Path(sys.executable).resolve()
    assert seen["ws"] == str(workspace.root)
    out = Path(run.output_path)
    assert out.parent == workspace.runs_dir / "ok" and out.name.endswith("Z.ipynb")
    assert out.exists()


def test_failing_cell_names_the_cell_and_exception_and_keeps_the_output(workspace, tmp_path):
    source = _notebook(tmp_path / "bad.ipynb", "x = 1", "raise ValueError('column income is odd')")
    with pytest.raises(wb.NotebookError) as info:
        run_notebook(source)
    message = str(info.value)
    assert "cell 2 of the notebook" in message
    assert "raise ValueError" in message
    assert "ValueError: column income is odd" in message
    out = Path(info.value.output_path)
    assert out.exists() and str(out) in message
    nb = nbformat.read(str(out), as_version=4)
    errors = [
        c for c in nb.cells if c.get("outputs") and c.outputs[0].get("output_type") == "error"
    ]
    assert errors and errors[0].outputs[0]["ename"] == "ValueError"


def test_timeout_fails_naming_the_cell(workspace, tmp_path):
    source = _notebook(tmp_path / "slow.ipynb", "import time; time.sleep(30)")
    with pytest.raises(wb.NotebookError) as info:
        run_notebook(source, timeout=3)
    message = str(info.value)
    assert "timed out after 3 s" in message and "time.sleep(30)" in message
    assert Path(info.value.output_path).exists()


def test_missing_notebook_is_a_data_file_error(workspace, tmp_path):
    with pytest.raises(wb.DataFileError, match="nope.ipynb"):
        run_notebook(tmp_path / "nope.ipynb")


def test_an_unknown_parameter_is_refused_not_silently_ignored(tmp_path, workspace):
    from tests.conftest import NOTEBOOKS

    with pytest.raises(wb.DataError, match="fail_on_drfit"):
        run_notebook(NOTEBOOKS / "04_monitor_drift.ipynb", {"fail_on_drfit": True})
    assert not list((workspace.root / "runs").glob("04_*/*.ipynb"))  # nothing was run


def test_shared_kernel_runs_several_notebooks_in_one_process_and_exits_gracefully(
    tmp_path, workspace
):
    from workbench.runner import SharedKernel

    pids, done = tmp_path / "pids.txt", tmp_path / "atexit.txt"
    source = _notebook(
        tmp_path / "pid.ipynb",
        f"import os, atexit\nopen({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n')\n"
        f"atexit.register(lambda: open({str(done)!r}, 'w').write('stopped'))",
    )
    with SharedKernel(tmp_path) as kernel:
        run_notebook(source, {"value": 1}, kernel=kernel)
        run_notebook(source, {"value": 2}, kernel=kernel)
    assert len(set(pids.read_text().split())) == 1  # one kernel for both runs
    assert done.read_text() == "stopped"  # atexit hooks ran: servers a notebook started stop


def test_a_file_that_is_not_a_notebook_is_bad_input(workspace, tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    with pytest.raises(wb.DataFileError, match="data.csv is not a notebook"):
        run_notebook(tmp_path / "data.csv")
    (tmp_path / "broken.ipynb").write_text("a,b\n1,2\n")
    with pytest.raises(wb.DataFileError, match="not a valid notebook"):
        run_notebook(tmp_path / "broken.ipynb")


def test_a_notebook_without_a_kernel_is_bad_input(workspace, tmp_path):
    path = _notebook(tmp_path / "nokernel.ipynb", "print(value)")
    nb = nbformat.read(str(path), as_version=4)
    nb.metadata.pop("kernelspec")
    nbformat.write(nb, str(path))
    with pytest.raises(wb.DataFileError, match="names no kernel") as info:
        run_notebook(path)
    assert info.value.exit_code == 2


def test_parameters_are_checked_against_their_defaults(workspace, tmp_path):
    from workbench.runner import parameters_from_text

    path = _notebook(
        tmp_path / "typed.ipynb",
        "print(repr(name), n, share)",
        params="workspace = None\nn = 3\nshare = 0.5\nname = 'x'",
    )
    typed = parameters_from_text(path, {"name": "007", "n": "4", "share": "1"})
    assert typed == {"name": "007", "n": 4, "share": 1}
    with pytest.raises(
        wb.DataError, match="'n' of typed.ipynb takes a whole number.*'abc'"
    ) as info:
        run_notebook(path, {"n": "abc"})
    assert info.value.exit_code == 2
    with pytest.raises(wb.DataError, match="got 2.5"):
        run_notebook(path, {"n": 2.5})
    assert not list((workspace.runs_dir / "typed").glob("*.ipynb"))  # refused before running


def test_the_kernels_own_output_goes_to_a_log_not_the_terminal(workspace, tmp_path, capfd):
    path = _notebook(
        tmp_path / "loud.ipynb", "import sys; print('to the kernel log', file=sys.__stderr__)"
    )
    run_notebook(path)
    captured = capfd.readouterr()
    assert "to the kernel log" not in captured.err + captured.out
    assert "Kernel is running over TCP" not in captured.err
    assert "to the kernel log" in (workspace.runs_dir / "kernels.log").read_text()


def test_the_kernel_talks_over_unix_sockets_and_warns_about_no_transport(workspace, tmp_path):
    out_file = tmp_path / "conn.json"
    path = _notebook(
        tmp_path / "transport.ipynb",
        "import json, ipykernel.connect\n"
        "info = ipykernel.connect.get_connection_info(unpack=True)\n"
        f"json.dump({{k: str(v) for k, v in info.items()}}, open({str(out_file)!r}, 'w'))",
    )
    run_notebook(path)
    info = json.loads(out_file.read_text())
    assert info["transport"] == "ipc", info  # no TCP port open for anyone on the machine
    assert Path(info["ip"]).is_absolute() and not info["ip"].startswith(str(tmp_path)), info
    assert not list(tmp_path.glob("*ipc*"))  # no socket left in the notebook's folder
    log = workspace.runs_dir / "kernels.log"
    assert "without encryption" not in (log.read_text() if log.exists() else "")


def test_paths_the_caller_names_are_read_from_the_callers_folder(workspace, tmp_path, monkeypatch):
    """`-p dataset data/x.csv` means the caller's data/x.csv, not notebooks/data/x.csv; names,
    URIs and numbers reach the notebook as given."""
    caller, notebooks = tmp_path / "caller", tmp_path / "notebooks"
    (caller / "data").mkdir(parents=True)
    (caller / "workbench").mkdir()  # a folder named like a value that is not a path
    (caller / "reports").mkdir()
    (caller / "data" / "x.csv").write_text("a\n1\n")
    notebooks.mkdir()
    out_file = tmp_path / "seen.json"
    source = _notebook(
        notebooks / "paths.ipynb",
        "import json, pathlib\n"
        "seen = {k: globals()[k] for k in ('dataset', 'model_name', 'model', 'out', 'n')}\n"
        "seen['rows'] = pathlib.Path(dataset).read_text()\n"
        f"json.dump(seen, open({str(out_file)!r}, 'w'))",
        params=(
            "workspace = None\n"
            "dataset = 'credit_risk'  # a demo name or a path to a CSV file\n"
            "model_name = 'credit-risk'  # registered model name\n"
            "model = None  # model URI\n"
            "out = None  # folder for the report\n"
            "n = 1"
        ),
    )
    monkeypatch.chdir(caller)
    run_notebook(
        source,
        {
            "dataset": "data/x.csv",
            "model_name": "workbench",
            "model": "models:/credit-risk@champion",
            "out": "reports/today",
            "n": 2,
        },
    )
    seen = json.loads(out_file.read_text())
    assert seen["dataset"] == str(caller / "data" / "x.csv")
    assert seen["rows"] == "a\n1\n"  # the file the caller meant was read
    assert seen["out"] == str(caller / "reports" / "today")  # an output, its folder exists
    assert seen["model_name"] == "workbench" and seen["model"] == "models:/credit-risk@champion"
    assert seen["n"] == 2


def test_relative_values_that_name_nothing_in_the_callers_folder_are_left_alone(tmp_path):
    from workbench._core.paths import from_caller

    (tmp_path / "runs").mkdir()
    given = {
        "dataset": "breast_cancer",  # a demo name
        "data": "missing/table.csv",  # no such folder here: the notebook's folder may have it
        "reason": "runs",  # a folder of that name exists, but the help says nothing of paths
        "version": "2",
        "ignore": ["runs"],
        "home": "~/table.csv",
    }
    helps = {"dataset": "a demo set or a path to a CSV", "data": "eval data as a CSV path"}
    resolved = from_caller(given, helps, cwd=tmp_path)
    assert {k: v for k, v in resolved.items() if k != "home"} == {
        k: v for k, v in given.items() if k != "home"
    }
    assert resolved["home"] == str(Path.home() / "table.csv")
    assert from_caller({"reason": "runs"}, {"reason": "a folder"}, cwd=tmp_path) == {
        "reason": str(tmp_path / "runs")
    }
    # a bare new name for a folder is made in the caller's folder, not beside the notebook
    out = {"out": "folder for report.html", "dataset": "a demo name or a path to a CSV"}
    assert from_caller({"out": "today", "dataset": "credit_risk"}, out, cwd=tmp_path) == {
        "out": str(tmp_path / "today"),
        "dataset": "credit_risk",
    }
