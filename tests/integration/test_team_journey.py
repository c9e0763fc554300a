"""`workbench demo --tracking-uri` on the team server: the whole journey (train, check, promote, serve
through the artifact proxy, monitor, retrain) as a data scientist and an approver, each in a kernel of
their own; the audit names the approver; no password lands in a file; the policy's approvers hold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

import workbench as wb
from workbench.team.policy import team_policy

pytestmark = [pytest.mark.notebook, pytest.mark.server]
MODEL = "credit-risk"


def _demo(workspace: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "WORKBENCH_SET_"))}
    return subprocess.run(
        [sys.executable, "-m", "workbench.cli", "--workspace", str(workspace), "demo", *extra],
        capture_output=True, text=True, env=env, cwd=workspace, timeout=600,
    )  # fmt: skip


def test_the_journey_runs_as_a_data_scientist_and_an_approver(team_server, as_user, tmp_path):
    ws = Path(team_server.workspace)
    done = _demo(ws, "--quick", "--tracking-uri", team_server.tracking_uri)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert f"Tracking server {team_server.tracking_uri}, as ds1 (scientist), approver" in out
    assert out.count("[approver]") == 3 and out.count("[ds1]") == 5, out
    as_user("viewer")  # the viewer reads what the two of them did
    wb.open_workspace(tmp_path / "viewer")
    log = wb.history(MODEL)
    assert list(log["action"]) == ["promote"] * 3 and set(log["by"]) == {"approver"}, log
    check = wb.registry.verify_history(MODEL)
    assert check.ok, check.summary()
    # every promotion went through the server's endpoint: the server's key signed each entry
    assert {s["owner"] for s in check.signers} == {"workbench-server"}, check.signers
    runs = mlflow.MlflowClient().search_runs(
        [mlflow.MlflowClient().get_experiment_by_name("workbench-server-checks").experiment_id]
    )
    assert {r.data.tags["workbench.model"] for r in runs} >= {MODEL}, "the server ran the checks"
    found = {v.version: v.aliases for v in wb.versions(MODEL)}
    assert set(found) == {1, 2, 3} and "champion" in found[3], found
    reports = list((ws / "reports").rglob("*.html"))
    assert reports, "the monitoring reports stay in the workspace"
    secrets = [p for p in json.loads(Path(team_server.credentials_file).read_text()).values()]
    for folder in ("runs", "reports"):
        for path in (ws / folder).rglob("*"):
            if path.is_file():
                text = path.read_bytes()
                leaked = [s for s in secrets if s.encode() in text]
                assert not leaked, f"a password is written in {path}"


def test_the_policy_s_approvers_hold_in_the_journey(team_server, as_user):
    ws = Path(team_server.workspace)
    team_policy(ws, approvers=["approver"])  # the server's policy, set by its admin
    try:
        as_user("ds1")
        wb.open_workspace(ws)
        before = wb.history(MODEL) if MODEL in wb.model_names() else None
        done = _demo(ws, "--quick", "--tracking-uri", team_server.tracking_uri, "--approver", "ds2")
        assert done.returncode != 0
        assert "'ds2' may not promote" in done.stderr and "approver" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        if before is not None:
            assert wb.history(MODEL).equals(before), "a refused promotion left an audit entry"
    finally:
        team_policy(ws, approvers=[])


@pytest.mark.parametrize(
    ("extra", "code", "says"),
    [
        (["--user", "nobody"], 2, "no password for scientist 'nobody'"),
        (["--approver", "ghost"], 2, "no password for approver 'ghost'"),
        (["--tracking-uri", "sqlite:///x.db"], 2, "is not a tracking server"),
    ],
)
def test_logins_the_demo_cannot_use_are_refused_before_any_step(
    team_server, extra, code, says, tmp_path
):
    extra = (
        extra if "--tracking-uri" in extra else ["--tracking-uri", team_server.tracking_uri, *extra]
    )
    done = _demo(Path(team_server.workspace), *extra)
    assert done.returncode == code and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_wrong_password_is_refused_before_any_step(team_server, tmp_path):
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps({"ds1": "wrong", "approver": "wrong"}))
    done = _demo(
        Path(team_server.workspace), "--tracking-uri", team_server.tracking_uri,
        "--credentials", str(creds),
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert "did not accept the login of 'ds1'" in done.stderr
