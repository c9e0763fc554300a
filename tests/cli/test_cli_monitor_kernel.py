"""`workbench monitor` starts notebook 04's kernel before it opens the workspace, runs the notebook
in it, and leaves no kernel behind; when that early start fails, the run still happens in a
fresh kernel."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import workbench.runner as runner
from workbench.cli import main
from workbench.data import credit_risk, production_batch

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("monitor-kernel")
    credit_risk(1000, seed=1).to_csv(folder / "ref.csv", index=False)
    production_batch(4, "gradual_shift", n=500).to_csv(folder / "cur.csv", index=False)
    return folder


def _kernels(psutil) -> set[int]:
    return {
        p.pid
        for p in psutil.Process().children(recursive=True)
        if p.status() != psutil.STATUS_ZOMBIE and "ipykernel_launcher" in " ".join(p.cmdline())
    }


@pytest.fixture
def kernels_used(monkeypatch):
    """The ``kernel`` each notebook run of the command was given."""
    used = []
    original = runner.run_notebook

    def recording(*args, **kwargs):
        used.append(kwargs.get("kernel"))
        return original(*args, **kwargs)

    monkeypatch.setattr(runner, "run_notebook", recording)
    return used


def _monitor(files, ws, out):
    return main(
        [
            "--workspace",
            str(ws),
            "monitor",
            "--reference",
            str(files / "ref.csv"),
            "--current",
            str(files / "cur.csv"),
            "--out",
            str(out),
            "--json",
        ]
    )


def test_a_kernel_that_fails_to_start_early_is_replaced_by_a_fresh_one(
    files, tmp_path, capsys, kernels_used, monkeypatch
):
    def broken(self):
        raise OSError("no kernel today")

    monkeypatch.setattr(runner.SharedKernel, "start", broken)
    out = tmp_path / "out"
    code = _monitor(files, tmp_path / "ws", out)
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["status"] == "drift"
    assert kernels_used == [None]  # run_notebook started its own kernel
    assert (out / "report.html").exists() and (out / "summary.json").exists()


def test_bad_input_stops_the_early_kernel_at_once(files, tmp_path, capsys, kernels_used):
    psutil = pytest.importorskip("psutil")
    before = _kernels(psutil)
    code = main(
        [
            "--workspace",
            str(tmp_path / "ws"),
            "monitor",
            "--reference",
            str(files / "ref.csv"),
            "--current",
            str(tmp_path / "nope.csv"),
        ]
    )
    assert code == 2 and "nope.csv does not exist" in capsys.readouterr().err
    assert kernels_used == []  # no notebook ran
    assert _kernels(psutil) - before == set()  # the kernel, still importing, was stopped


def test_the_notebook_runs_in_the_early_kernel_the_command_records_it_and_no_kernel_is_left(
    files, tmp_path, capsys, kernels_used
):
    """The notebook runs in the kernel started early, with ``record = False`` (its kernel never
    loads MLflow); the command then logs the saved result with the notebook's own steps, an
    invalid batch included (the history shows it grey), says so in the executed notebook, and
    leaves no kernel behind."""
    import nbformat

    import workbench as wb
    from workbench.workspace import current_workspace, mlflow_client

    psutil = pytest.importorskip("psutil")
    before = _kernels(psutil)
    ws, out = tmp_path / "ws", tmp_path / "a"
    assert _monitor(files, ws, out) == 0
    good = json.loads(capsys.readouterr().out)
    assert good["status"] == "drift"
    assert len(kernels_used) == 1 and kernels_used[0] is not None  # the early kernel
    assert (out / "report.html").stat().st_size > 100_000
    assert Path(good["executed_notebook"]).exists()
    experiment = current_workspace().experiment_id("monitoring/data")
    [logged] = mlflow_client().search_runs([experiment])  # one MLflow run, with its reports
    assert logged.data.metrics["drift_detected"] == 1.0
    assert good["run_id"] == logged.info.run_id  # logged by the command, not the kernel
    assert good["retrain"]["requested"] is False and "no model" in good["retrain"]["reason"]
    assert {a.path for a in mlflow_client().list_artifacts(logged.info.run_id, "drift")} >= {
        "drift/report.html",
        "drift/summary.json",
    }
    nb = nbformat.read(good["executed_notebook"], as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "record = False" in injected.source
    record_cell = next(c for c in nb.cells if c.source.startswith("run_id = result.log()"))
    assert "recorded by workbench monitor" in str(record_cell.outputs)

    broken = tmp_path / "broken.csv"
    production_batch(4, "none", n=500).drop(columns="region").to_csv(broken, index=False)
    code = main(
        ["--workspace", str(ws), "monitor", "--reference", str(files / "ref.csv")]
        + ["--current", str(broken), "--out", str(tmp_path / "b"), "--json"]
    )
    captured = capsys.readouterr()
    bad = json.loads(captured.out)
    assert code == 2 and bad["status"] == "invalid" and "'region'" in captured.err
    history = wb.monitoring_history().frame
    assert list(history["status"]) == ["drift", "invalid"]
    assert list(history["run_id"]) == [good["run_id"], bad["run_id"]]
    deadline = time.monotonic() + 30
    while _kernels(psutil) - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _kernels(psutil) - before == set()


def test_a_tracking_server_that_does_not_answer_is_one_line_and_the_report_stays(
    files, tmp_path, capsys, monkeypatch
):
    """The kernel computes without MLflow, so the report is made; recording it then fails on the
    dead server: one line naming it, the report folder, no traceback."""
    from workbench.errors import ServerUnavailableError

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    out = tmp_path / "out"
    code = _monitor(files, tmp_path / "ws", out)
    err = capsys.readouterr().err
    assert code == ServerUnavailableError.exit_code
    assert "http://127.0.0.1:9 did not answer while recording the monitoring run" in err
    assert f"The report is saved in {out}" in err and "Traceback" not in err
    assert (out / "report.html").exists() and (out / "summary.json").exists()
