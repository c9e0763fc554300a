"""Team mode on the real thing: PostgreSQL + `mlflow server --app-name basic-auth`, on 127.0.0.1.

One team server starts for the session (`team_server`, in tests/conftest.py); the tests check who may do what through
MLflow's own REST API, that a data scientist logs a model with the workbench against it, and that
`team_down` leaves no process behind (it is also called in the fixture's finalizer, so a failing
test never leaves servers running).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import time
from pathlib import Path

import psutil
import pytest
import requests

import workbench as wb
from workbench.team import team_down, team_status, team_up
from workbench.team.policy import team_policy
from workbench.team.server import listening

pytestmark = pytest.mark.server

_TIMES: dict[str, float] = {}


def _creds(server) -> dict[str, str]:
    return json.loads(Path(server.credentials_file).read_text())


def _call(server, user, method, path, **kwargs):
    auth = (user, _creds(server)[user]) if user else None
    return requests.request(method, server.tracking_uri + path, auth=auth, timeout=60, **kwargs)


def _code(server, user, method, path, **kwargs) -> int:
    return _call(server, user, method, API + path, **kwargs).status_code


API = "/api/2.0/mlflow"


def test_up_prints_uri_and_logins_and_keeps_passwords_private(team_server):
    assert team_server.running and team_server.tracking_uri.startswith("http://127.0.0.1:")
    text = team_server.login_text()
    assert f"export MLFLOW_TRACKING_URI={team_server.tracking_uri}" in text
    creds = _creds(team_server)
    assert set(creds) == {"admin", "ds1", "ds2", "approver", "viewer"}
    if team_server.new_passwords:  # this test started it: the new logins are shown once
        for user, password in creds.items():
            assert f"MLFLOW_TRACKING_USERNAME={user} MLFLOW_TRACKING_PASSWORD={password}" in text
    else:  # started by an earlier test of the session (xdist's order): never shown again
        assert "Passwords are kept in" in text and "credentials.json" in text
        assert not any(password in text for password in creds.values())
    assert len(set(creds.values())) == 5
    for name in ("credentials.json", "secrets.json", "basic_auth.ini", "state.json"):
        mode = stat.S_IMODE((Path(team_server.team_dir) / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))
    assert "new_passwords" not in team_server.to_dict()


def test_second_up_says_it_runs_already_and_status_agrees(team_server):
    again = team_up(team_server.workspace)
    assert again.already_running and not again.new_passwords
    assert (again.mlflow_pid, again.postgres_pid) == (
        team_server.mlflow_pid,
        team_server.postgres_pid,
    )
    status = team_status(team_server.workspace)
    assert status.running and status.stale == []
    assert status.tracking_uri == team_server.tracking_uri


def test_servers_listen_only_on_loopback(team_server):
    for pid, port in (
        (team_server.mlflow_pid, team_server.mlflow_port),
        (team_server.postgres_pid, team_server.postgres_port),
    ):
        sockets = listening(pid)
        assert (("127.0.0.1", port)) in sockets, sockets
        assert all(ip == "127.0.0.1" for ip, _ in sockets), sockets


def test_anonymous_is_refused_and_admin_answered(team_server):
    body = {"max_results": 1}
    assert _code(team_server, None, "POST", "/experiments/search", json=body) == 401
    assert _code(team_server, "admin", "POST", "/experiments/search", json=body) == 200


def test_permission_table(team_server):
    def create_experiment(user):
        body = {"name": f"perm-{user}-{time.time_ns()}"}
        return _call(team_server, user, "POST", "/api/2.0/mlflow/experiments/create", json=body)

    made = create_experiment("ds1")
    assert made.status_code == 200, made.text
    experiment_id = made.json()["experiment_id"]
    assert create_experiment("viewer").status_code == 403
    assert create_experiment("approver").status_code == 200
    # a colleague can log into ds1's experiment; the viewer can read it but not write or delete
    run = {"experiment_id": experiment_id}
    assert _code(team_server, "ds2", "POST", "/runs/create", json=run) == 200
    assert _code(team_server, "viewer", "POST", "/runs/create", json=run) == 403
    got = _call(team_server, "viewer", "GET", "/api/2.0/mlflow/experiments/get", params=run)
    assert got.status_code == 200
    delete = {"experiment_id": experiment_id}
    assert _code(team_server, "viewer", "POST", "/experiments/delete", json=delete) == 403
    assert _code(team_server, "ds2", "POST", "/experiments/delete", json=delete) == 403
    model = {"name": f"perm-model-{time.time_ns()}"}
    assert _code(team_server, "viewer", "POST", "/registered-models/create", json=model) == 403
    assert _code(team_server, "ds2", "POST", "/registered-models/create", json=model) == 200
    alias = {**model, "alias": "champion", "version": "1"}
    assert _code(team_server, "viewer", "POST", "/registered-models/alias", json=alias) == 403


def test_a_data_scientist_logs_a_model_with_the_workbench(team_server, tmp_path, monkeypatch):
    from workbench.data import credit_risk, split_xy
    from workbench.training import build_model, feature_columns

    for key, value in team_server.env("ds1").items():
        monkeypatch.setenv(key, value)
    ws = wb.open_workspace(tmp_path / "ws")
    assert ws.shared and ws.tracking_uri == team_server.tracking_uri
    frame = credit_risk(400, seed=3).drop(columns="application_date")
    x, y = split_xy(frame, "default")
    numeric, categorical, _ = feature_columns(x)
    model = build_model("logistic_regression", "classification", numeric, categorical, {}).fit(x, y)
    started = time.monotonic()
    version = wb.log_model(model, name="team-credit", train=(x, y))
    _TIMES["first_log_model"] = time.monotonic() - started
    assert version.version == 1
    # stored on the server, readable by the viewer, refused to anonymous callers
    params = {"name": "team-credit", "version": "1"}
    got = _call(team_server, "viewer", "GET", "/api/2.0/mlflow/model-versions/get", params=params)
    assert got.status_code == 200 and got.json()["model_version"]["status"] == "READY"
    assert _code(team_server, None, "GET", "/model-versions/get", params=params) == 401
    assert any(Path(team_server.artifacts).rglob("MLmodel")), "artifacts went through the proxy"
    print(f"first log_model against the team server: {_TIMES['first_log_model']:.1f} s")


def test_the_audit_records_the_authenticated_user_and_the_policy_names_approvers(
    team_server, tmp_path, monkeypatch
):
    from sklearn.dummy import DummyClassifier

    from workbench.data import credit_risk, split_xy

    root = tmp_path / "ws"

    def as_user(user):
        for key, value in team_server.env(user).items():
            monkeypatch.setenv(key, value)
        return wb.open_workspace(root)

    as_user("ds1")
    x, y = split_xy(credit_risk(200, seed=4)[["age", "income", "default"]].dropna(), "default")
    wb.log_model(DummyClassifier().fit(x, y), name="team-gate", train=(x, y))
    with pytest.raises(wb.UsageError, match="--by 'someone-else' is refused on a workbench team"):
        wb.promote("team-gate", 1, by="someone-else", reason="typed a name", force=True)
    assert wb.promote("team-gate", 1, reason="first", force=True).by == "ds1"
    # the approvers live on the server: a client's file changes nothing, the admin's policy does
    (root / "gate_policy.json").write_text(json.dumps({"approvers": ["ds1"]}))
    team_policy(team_server.workspace, approvers=["approver"])
    try:
        with pytest.raises(wb.GateError, match="'ds1' may not promote team-gate.*approver"):
            wb.promote("team-gate", 1, reason="again", force=True)
        as_user("approver")
        assert wb.promote("team-gate", 1, reason="approved", force=True).by == "approver"
    finally:
        team_policy(team_server.workspace, approvers=[])
    assert list(wb.history("team-gate")["by"]) == ["ds1", "approver"]
    check = wb.registry.verify_history("team-gate")
    assert check.ok and {s["owner"] for s in check.signers} == {"workbench-server"}, check.signers


def test_a_crashed_tracking_server_is_reported_stale_and_up_restarts_it(team_server):
    os.killpg(team_server.mlflow_pid, signal.SIGKILL)  # the whole server family dies at once
    deadline = time.monotonic() + 10
    while team_status(team_server.workspace).running and time.monotonic() < deadline:
        time.sleep(0.1)
    status = team_status(team_server.workspace)
    assert not status.running and status.mlflow_pid is None
    assert status.postgres_pid == team_server.postgres_pid
    assert any(f"pid {team_server.mlflow_pid}" in line and "gone" in line for line in status.stale)
    again = team_up(team_server.workspace)
    assert again.running and not again.already_running and not again.new_passwords
    assert again.postgres_pid == team_server.postgres_pid  # PostgreSQL kept running
    users = [
        c for c in psutil.net_connections("inet") if c.laddr and c.laddr.port == again.mlflow_port
    ]
    assert again.tracking_uri == team_server.tracking_uri, users  # same port: users keep their URI
    assert _code(again, "ds2", "POST", "/experiments/search", json={"max_results": 5}) == 200


def test_down_stops_every_process_and_keeps_the_data(team_server):
    now = team_status(team_server.workspace)
    assert now.running
    pids = set()
    for leader in (now.mlflow_pid, now.postgres_pid):
        proc = psutil.Process(leader)
        pids |= {proc.pid, *(child.pid for child in proc.children(recursive=True))}
    assert len(pids) > 2
    down = team_down(team_server.workspace)
    assert not down.running and down.mlflow_pid is None and down.postgres_pid is None

    def alive(pid):
        with contextlib.suppress(psutil.Error):
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        return False

    assert [pid for pid in pids if alive(pid)] == []
    assert (Path(team_server.pgdata) / "PG_VERSION").exists()
    assert Path(team_server.credentials_file).exists()
    status = team_status(team_server.workspace)
    assert not status.running and status.stale == []
