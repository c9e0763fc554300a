"""Concurrency and faults on the team server (real PostgreSQL + authenticated `mlflow server`).

* Four processes log versions of one model while two promote it: every version exists (1..N, READY,
  with its files), every promotion either wrote an entry naming the version it really replaced or
  ended in a conflict error that says to retry; the audit chain verifies.
* The tracking server killed in the middle of `log_model`, and stopped before a call: a clear error
  naming the server within seconds, no version without its files, and the same call succeeds once
  the server is back.
* PostgreSQL restarted under a running journey: the next log, promote and history succeed.

Workers are real OS processes (``subprocess``), each logged in as its own team member.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pandas as pd
import pytest

import workbench as wb
from workbench.team import team_status, team_up

pytestmark = pytest.mark.server

#: What each worker process runs: ``log`` or ``promote`` ``count`` times once ``go`` exists,
#: printing one JSON line per attempt (the outcome) and the time each took.
WORKER = r"""
import json, os, sys, time
from pathlib import Path

role, name, count, root, ready, go = sys.argv[1:7]
import workbench as wb
from workbench.data import credit_risk, split_xy

wb.open_workspace(root)
table = credit_risk(300, seed=len(root))[["age", "income", "default"]].dropna()
x, y = split_xy(table.astype({"age": float}), "default")
models = []
if role == "log":
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression

    models = [DummyClassifier(strategy="prior"), LogisticRegression(max_iter=200)]
    models = [m.fit(x, y) for m in models]
last = None
Path(ready).touch()
while not Path(go).exists():
    time.sleep(0.01)
for i in range(int(count)):
    started = time.monotonic()
    try:
        if role == "log":
            mv = wb.log_model(models[i % len(models)], name=name, train=(x, y))
            out = {"ok": mv.version}
        else:  # the newest version, once the loggers made one this worker did not promote yet
            target = last
            while target == last and time.monotonic() - started < 30:
                target = max(v.version for v in wb.versions(name))
                time.sleep(0.05)
            started = time.monotonic()
            entry = wb.promote(name, target, reason=f"{os.getpid()} try {i}", force=True)
            last = target
            out = {"ok": entry.to_dict()}
    except wb.WorkbenchError as err:
        out = {"error": type(err).__name__, "message": str(err)}
    except Exception as err:  # anything else is a bug the test reports, with where it was raised
        import traceback

        out = {"error": "UNEXPECTED " + type(err).__name__, "message": str(err),
               "where": traceback.format_exc()[-2000:]}
    out["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(out), flush=True)
"""


def _start(team_server, user: str, tmp_path: Path, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "WORKBENCH_SET_"))}
    env.update(team_server.env(user))
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, *args],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _small_table():
    from workbench.data import credit_risk, split_xy

    table = credit_risk(300, seed=11)[["age", "income", "default"]].dropna()
    return split_xy(table.astype({"age": float}), "default")


def _files_of(team_server, mv) -> Path:
    """The folder on the server's disk that holds version ``mv``'s model files."""
    client = mlflow.MlflowClient()
    model_id = mv.source.removeprefix("models:/")
    return _on_disk(team_server, client.get_logged_model(model_id).artifact_location)


def _on_disk(team_server, location: str) -> Path:
    """The folder behind a proxied artifact location (``mlflow-artifacts:/...``)."""
    assert location.startswith("mlflow-artifacts:/"), location
    return Path(team_server.artifacts) / location.removeprefix("mlflow-artifacts:/").lstrip("/")


def _assert_every_version_whole(team_server, name: str) -> list[int]:
    client = mlflow.MlflowClient()
    found = client.search_model_versions(f"name = '{name}'")
    for mv in found:
        assert mv.status == "READY", (mv.version, mv.status)
        folder = _files_of(team_server, mv)
        assert (folder / "MLmodel").is_file() and (folder / "model.skops").is_file(), folder
    return sorted(int(mv.version) for mv in found)


def test_four_loggers_and_two_promoters_keep_every_version_and_audit_entry(
    team_server, as_user, tmp_path
):
    name = f"fault-busy-{time.time_ns()}"
    as_user("ds1")
    wb.open_workspace(tmp_path / "lead")
    x, y = _small_table()
    from sklearn.dummy import DummyClassifier

    wb.log_model(DummyClassifier().fit(x, y), name=name, train=(x, y))  # v1: promotable at once
    go = tmp_path / "go"
    jobs = []
    for i, user in enumerate(["ds1", "ds2", "ds1", "ds2", "approver", "approver"]):
        role = "log" if user != "approver" else "promote"
        count = "2" if role == "log" else "3"
        ready = tmp_path / f"ready-{i}"
        root = tmp_path / f"w{i}"
        jobs.append(
            (role, ready, _start(team_server, user, tmp_path, role, name, count, str(root),
                                 str(ready), str(go)))
        )  # fmt: skip
    deadline = time.monotonic() + 120
    while not all(r.exists() for _, r, _ in jobs) and time.monotonic() < deadline:
        assert all(p.poll() is None for _, _, p in jobs), [p.communicate() for _, _, p in jobs]
        time.sleep(0.05)
    started = time.monotonic()
    go.touch()
    outcomes: dict[str, list[dict]] = {"log": [], "promote": []}
    for role, _, proc in jobs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
        outcomes[role] += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    took = time.monotonic() - started
    print(f"6 workers: {took:.1f} s; outcomes: {json.dumps(outcomes)}")

    # every logged version exists, 1..N without gaps, READY with its files
    logged = [o["ok"] for o in outcomes["log"] if "ok" in o]
    numbers = _assert_every_version_whole(team_server, name)
    assert sorted([1, *logged]) == numbers == list(range(1, len(numbers) + 1)), (logged, numbers)
    # a log or promotion that failed said why and to retry
    for o in outcomes["log"] + outcomes["promote"]:
        if "error" in o:
            assert not o["error"].startswith("UNEXPECTED"), o
            assert "retry" in o["message"].lower(), o
    # every promotion that succeeded is in the log, with the version it really replaced
    promoted = [o["ok"] for o in outcomes["promote"] if "ok" in o]
    assert promoted, outcomes["promote"]
    log = wb.history(name)
    assert sorted(log["run_id"]) == sorted(p["run_id"] for p in promoted), log
    previous = None
    for entry in log.itertuples(index=False):
        old = None if pd.isna(entry.old_version) else int(entry.old_version)
        assert old == previous, log[["seq", "old_version", "new_version"]]
        previous = int(entry.new_version)
    assert list(log["seq"]) == list(range(1, len(log) + 1))
    check = wb.registry.verify_history(name)
    assert check.ok, check.summary()
    holder = mlflow.MlflowClient().get_model_version_by_alias(name, "champion").version
    assert int(holder) == previous


def _wait_for_outcome(proc: subprocess.Popen) -> tuple[dict, str]:
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err[-3000:]
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(lines) == 1, out
    return lines[0], err


def _first_file_under(folder: Path) -> bool:
    return any(files for _, _, files in os.walk(folder))


def test_a_tracking_server_killed_in_the_middle_of_log_model(team_server, as_user, tmp_path):
    name = f"fault-kill-{time.time_ns()}"
    as_user("ds1")
    ws = wb.open_workspace(tmp_path / "lead")
    experiment = mlflow.MlflowClient().get_experiment(ws.experiment_id(name))
    uploads = _on_disk(team_server, experiment.artifact_location)  # where its files will land
    ready, go = tmp_path / "ready", tmp_path / "go"
    proc = _start(
        team_server, "ds1", tmp_path, "log", name, "1", str(tmp_path / "w"), str(ready), str(go)
    )
    deadline = time.monotonic() + 120
    while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    go.touch()
    # the run exists and its first file is landing: kill the whole server family now
    while not _first_file_under(uploads) and proc.poll() is None:
        time.sleep(0.002)
    assert proc.poll() is None, "log_model ended before the server was killed"
    os.killpg(team_server.mlflow_pid, signal.SIGKILL)
    killed = time.monotonic()
    outcome, stderr = _wait_for_outcome(proc)
    in_flight = time.monotonic() - killed
    print(f"killed mid-call: after {in_flight:.1f} s: {outcome}")
    assert outcome.get("error") == "ServerUnavailableError", outcome  # retry by type
    said = outcome["message"]
    assert team_server.tracking_uri in said and "workbench team status" in said, said
    assert "retry" in said and "HTTPConnectionPool" not in said, said
    assert "Traceback" not in stderr, stderr[-3000:]
    assert in_flight < 30, f"the error took {in_flight:.1f} s"

    # stopped before the call: the same clear error, in seconds
    x, y = _small_table()
    from sklearn.dummy import DummyClassifier

    model = DummyClassifier().fit(x, y)
    started = time.monotonic()
    with pytest.raises(wb.ServerUnavailableError) as caught:
        wb.log_model(model, name=name, train=(x, y))
    before_call = time.monotonic() - started
    print(f"stopped before the call: after {before_call:.1f} s: {caught.value}")
    assert team_server.tracking_uri in str(caught.value) and before_call < 15

    # back again: nothing half-made is left, and the same call succeeds
    again = team_up(team_server.workspace)
    assert again.tracking_uri == team_server.tracking_uri
    assert _assert_every_version_whole(team_server, name) == []
    mv = wb.log_model(model, name=name, train=(x, y))
    assert mv.version == 1 and _assert_every_version_whole(team_server, name) == [1]
    assert wb.versions(name)[0].aliases == ["challenger"]


def test_postgres_restarted_under_a_running_journey(team_server, as_user, tmp_path):
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression

    from workbench.team.postgres import PgCluster, find_pg_bin, service_user

    name = f"fault-pg-{time.time_ns()}"
    as_user("ds1")
    wb.open_workspace(tmp_path / "ws")
    x, y = _small_table()
    wb.log_model(DummyClassifier().fit(x, y), name=name, train=(x, y))
    wb.promote(name, 1, reason="before the restart", force=True)
    cluster = PgCluster(
        pgdata=Path(team_server.pgdata),
        log_file=Path(team_server.team_dir) / "logs" / "postgres.log",
        bin_dir=find_pg_bin(),
        user=service_user(),
    )
    old_pid = cluster.pid()
    assert old_pid == team_server.postgres_pid and cluster.stop()
    assert cluster.start(team_server.postgres_port) != old_pid

    started = time.monotonic()
    mv = wb.log_model(LogisticRegression(max_iter=200).fit(x, y), name=name, train=(x, y))
    first_call = time.monotonic() - started
    entry = wb.promote(name, mv.version, reason="after the restart", force=True)
    log = wb.history(name)
    print(f"after the PostgreSQL restart: log_model {first_call:.1f} s")
    assert mv.version == 2 and (entry.old_version, entry.new_version) == (1, 2)
    assert list(log["new_version"]) == [1, 2] and wb.registry.verify_history(name).ok
    assert _assert_every_version_whole(team_server, name) == [1, 2]
    status = team_status(team_server.workspace)
    assert status.running and status.postgres_pid == cluster.pid(), status.stale


def _as_the_server_s_service(team_server, monkeypatch, acting_for: str) -> None:
    """Act as the team server's service process does when it promotes for ``acting_for`` (the
    audit lock is taken there: a client's promotion goes through the server's endpoint)."""
    team = Path(team_server.team_dir)
    secrets = json.loads((team / "secrets.json").read_text())
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "workbench-service")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", secrets["service_password"])
    monkeypatch.setenv("WORKBENCH_KEYS_DIR", str(team / "keys"))
    monkeypatch.setenv("WORKBENCH_SIGN_AS", "workbench-server")
    monkeypatch.setenv("WORKBENCH_ACTING_FOR", acting_for)
    wb.open_workspace(team / "service")


def test_a_held_audit_lock_makes_promote_wait_and_a_dead_holder_s_lock_is_removed(
    team_server, as_user, tmp_path, monkeypatch
):
    import socket

    from sklearn.dummy import DummyClassifier

    from workbench._core.results import utc_now
    from workbench.registry import audit_lock

    name = f"fault-lock-{time.time_ns()}"
    as_user("ds1")
    wb.open_workspace(tmp_path / "ws")
    x, y = _small_table()
    wb.log_model(DummyClassifier().fit(x, y), name=name, train=(x, y))
    _as_the_server_s_service(team_server, monkeypatch, acting_for="approver")
    client = mlflow.MlflowClient()
    lock = audit_lock.lock_name(name)
    note = {
        "what": f"promote {name}@champion to v1",
        "user": "ds2",
        "host": "another-machine",
        "pid": 4242,
        "since": utc_now("microseconds"),
        "token": "theirs",
    }
    client.create_registered_model(lock, description=json.dumps(note))
    monkeypatch.setattr(audit_lock, "WAIT", 1.0)
    started = time.monotonic()
    with pytest.raises(wb.ConflictError) as caught:  # a type a caller can retry on
        wb.promote(name, 1, reason="while another one runs", force=True)
    waited = time.monotonic() - started
    text = str(caught.value)
    print(f"lock held elsewhere: after {waited:.1f} s: {text}")
    assert "under way" in text and "by ds2 on another-machine" in text and "Retry" in text, text
    assert wb.history(name).empty and "champion" not in wb.versions(name)[0].aliases
    assert waited < 10

    # the holder ran on this machine and its process is gone: the lock is stale at once
    gone = subprocess.Popen(["true"])
    gone.wait()
    note.update(host=socket.gethostname(), pid=gone.pid)
    client.update_registered_model(lock, description=json.dumps(note))
    entry = wb.promote(name, 1, reason="after a crash", force=True)
    assert (entry.seq, entry.old_version, entry.new_version) == (1, None, 1)
    assert wb.registry.verify_history(name).ok
    left = [m.name for m in client.search_registered_models(max_results=1000)]
    assert not [n for n in left if n.startswith(lock)], left

    # a request the client retried after a lost answer writes an entry twice: still one entry
    written = client.get_run(entry.run_id)
    client.create_run(written.info.experiment_id, tags=written.data.tags)
    assert list(wb.history(name)["run_id"]) == [entry.run_id]
    assert wb.registry.verify_history(name).ok
