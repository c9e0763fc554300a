"""`workbench check / promote / rollback / history`: exit codes 0, 2 and 3, JSON, one-line errors.

The promote test relies on the check test before it (file order): it promotes what that test checked;
the tests after it check again (the last check of a version is what the gate reads).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

from workbench.cli import main
from workbench.data import credit_risk


@pytest.fixture(scope="module")
def cli_model(_trained_session, tmp_path_factory):
    """Model "cli-model" (two copies of the session's logistic regression) and an eval CSV."""
    import workbench as wb

    wb.open_workspace(_trained_session.ws.root)
    client = mlflow.MlflowClient()
    client.create_registered_model("cli-model")
    source = mlflow.models.get_model_info(_trained_session.linear.model_uri)
    run_id = _trained_session.linear.run_id  # same run: its profile and reference predictions
    tags = {"workbench.task": "classification", "workbench.dropped_columns": "application_date"}
    for _ in range(2):
        client.create_model_version("cli-model", source.model_uri, run_id=run_id, tags=tags)
    csv = tmp_path_factory.mktemp("cli") / "eval.csv"
    credit_risk(500, seed=7).to_csv(csv, index=False)
    return _trained_session, csv


def _run(capsys, *argv):
    code = main(["--workspace", str(_workspace_root()), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _workspace_root() -> Path:
    from workbench.workspace import current_workspace

    return current_workspace().root


def test_check_exit_codes_and_json(cli_model, capsys):
    _, csv = cli_model
    code, out, _ = _run(capsys, "check", "models:/cli-model/1", "--data", str(csv), "--target", "default", "--json")  # fmt: skip
    report = json.loads(out)
    assert code == 0, report["failed"]
    assert report["status"] == "passed" and report["version"] == 1

    code, out, _ = _run(capsys, "check", "models:/cli-model/2", "--data", str(csv), "--target", "default", "--threshold", "roc_auc", "0.99", "--json")  # fmt: skip
    assert code == 3
    assert "metric_roc_auc" in json.loads(out)["failed"]

    code, _, err = _run(capsys, "check", "models:/cli-model/1", "--data", str(csv) + ".missing", "--target", "default")  # fmt: skip
    assert code == 2 and err.startswith("error: ") and "does not exist" in err
    code, _, err = _run(capsys, "check", "models:/cli-model/1", "--data", str(csv), "--target", "label")  # fmt: skip
    assert code == 2 and "'label'" in err and len(err.strip().splitlines()) == 1


def test_promote_refused_forced_rollback_and_history(cli_model, capsys):
    code, _, err = _run(capsys, "promote", "cli-model", "2", "--by", "ana", "--reason", "try")
    assert code == 3 and "refused" in err and "metric_roc_auc" in err
    code, out, _ = _run(capsys, "promote", "cli-model", "1", "--by", "ana", "--reason", "passed")
    assert code == 0 and "none -> v1" in out
    code, out, _ = _run(capsys, "promote", "cli-model", "2", "--by", "bob", "--reason", "demo", "--force")  # fmt: skip
    assert code == 0 and "FORCED" in out
    code, out, _ = _run(capsys, "rollback", "cli-model", "--by", "carol", "--reason", "undo")
    assert code == 0 and "v2 -> v1" in out
    code, out, _ = _run(capsys, "history", "cli-model", "--json")
    log = json.loads(out)["entries"]
    assert [e["action"] for e in log] == ["promote", "promote", "rollback"]
    assert log[0]["old_version"] is None and log[1]["forced"] is True
    code, out, _ = _run(capsys, "history", "cli-model")
    assert code == 0 and "carol" in out and "undo" in out


def test_the_installed_command_exits_3_when_the_suite_fails(cli_model, tmp_path):
    trained, csv = cli_model
    exe = Path(sys.executable).with_name("workbench")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    argv = [str(exe), "--workspace", str(trained.ws.root), "check", "models:/cli-model/1"]
    argv += ["--data", str(csv), "--target", "default", "--threshold", "roc_auc", "0.99"]
    done = subprocess.run(
        [*argv, "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env
    )
    assert done.returncode == 3, done.stderr[-2000:]
    assert "FAILED (metric_roc_auc)" in done.stdout
    assert json.loads((tmp_path / "out" / "checks.json").read_text())["status"] == "failed"
    assert "Traceback" not in done.stderr


def test_a_mistyped_protected_attribute_exits_2_before_anything_runs(cli_model, capsys):
    import time

    _, csv = cli_model
    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name("cli-model")
    runs_before = len(client.search_runs([experiment.experiment_id])) if experiment else 0
    started = time.perf_counter()
    code, out, err = _run(capsys, "check", "models:/cli-model/1", "--data", str(csv), "--target", "default", "--protected", "age_bnd")  # fmt: skip
    seconds = time.perf_counter() - started
    assert code == 2 and "'age_bnd'" in err and "Did you mean 'age_band'" in err, err
    assert len(err.strip().splitlines()) == 1 and out == ""
    assert seconds < 5, f"refusing a typo took {seconds:.1f} s"
    experiment = client.get_experiment_by_name("cli-model")
    assert (len(client.search_runs([experiment.experiment_id])) if experiment else 0) == runs_before

    code, out, _ = _run(capsys, "check", "models:/cli-model/1", "--data", str(csv), "--target", "default", "--protected", "age_band", "--protected", "region", "--json")  # fmt: skip
    fairness = next(r for r in json.loads(out)["results"] if r["name"] == "fairness_gap")
    assert {row["attribute"] for row in fairness["table"]} == {"age_band", "region"}
