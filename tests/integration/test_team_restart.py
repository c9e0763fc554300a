"""Issue 23, part 2: a team server that stops cleanly, on the real thing (PostgreSQL + `mlflow server`).

`kill -9` of the `mlflow server` leader leaves its uvicorn workers alive and serving the port:
`team_status` names them, `team_down` stops every process of the family, and `team_up` starts
again on the same port. `team up --pg-port N` puts PostgreSQL on port N, refuses a taken port (and
starts nothing), and refuses to move a PostgreSQL that already runs on another port.

The tests stop or kill the session's server (`team_server`, in tests/conftest.py); the fixture
starts it again for the next test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from workbench.team import TeamError, team_down, team_status, team_up
from workbench.team import server as team_server_module
from workbench.team.postgres import postmaster_pid

pytestmark = pytest.mark.server

HOST = "127.0.0.1"


def _alive(pid: int) -> bool:
    with contextlib.suppress(psutil.Error):
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    return False


def _free(port: int) -> bool:
    """A server could listen on ``port`` now (SO_REUSEADDR, as uvicorn and PostgreSQL bind)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
        return True


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _health(uri: str) -> int | None:
    with contextlib.suppress(requests.RequestException):
        return requests.get(f"{uri}/health", timeout=10).status_code
    return None


def _kill_leader(server) -> tuple[int, list[int]]:
    """SIGKILL the `mlflow server` leader alone (not its group); its workers live on."""
    leader = server.mlflow_pid
    workers = [child.pid for child in psutil.Process(leader).children(recursive=True)]
    assert workers, "the tracking server has no worker processes"
    os.kill(leader, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while team_server_module.alive(leader) and time.monotonic() < deadline:  # reaps it when ours
        time.sleep(0.05)
    assert not team_server_module.alive(leader)
    return leader, workers


def _serving(port: int) -> list[int]:
    return sorted(
        {
            c.pid
            for c in psutil.net_connections("inet")
            if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid
        }
    )


def _orphan_line(status, leader: int, port: int) -> str:
    lines = [s for s in status.stale if f"MLflow server pid {leader} " in s]
    assert len(lines) == 1, status.stale
    line = lines[0]
    assert "is gone but its worker" in line and f"port {port}" in line, line
    assert "team down" in line, line
    return line


def test_up_after_kill_9_of_the_leader_replaces_its_orphaned_workers_on_the_same_port(
    team_server,
):
    port, uri = team_server.mlflow_port, team_server.tracking_uri
    leader, workers = _kill_leader(team_server)
    assert any(_alive(pid) for pid in workers)
    assert _health(uri) == 200  # the orphans still answer: what made `team up` fail before

    status = team_status(team_server.workspace)
    assert not status.running and status.mlflow_pid is None
    assert status.postgres_pid == team_server.postgres_pid
    line = _orphan_line(status, leader, port)
    listeners = [pid for pid in _serving(port) if pid in workers]
    assert listeners and all(str(pid) in line for pid in listeners), (line, listeners)
    assert "not running" in status.summary() and line in status.summary()

    started = time.monotonic()
    again = team_up(team_server.workspace)
    print(f"team up after kill -9 of the leader: {time.monotonic() - started:.1f} s")
    assert again.running and not again.already_running and not again.new_passwords
    assert again.mlflow_port == port and again.tracking_uri == uri  # users keep their URI
    assert again.postgres_pid == team_server.postgres_pid  # PostgreSQL kept running
    assert [pid for pid in workers if _alive(pid)] == []
    new_family = {
        again.mlflow_pid,
        *(c.pid for c in psutil.Process(again.mlflow_pid).children(True)),
    }
    assert set(_serving(port)) <= new_family
    assert _health(uri) == 200
    assert team_status(team_server.workspace).stale == []


def test_down_after_kill_9_stops_the_whole_family_and_up_starts_on_the_same_port_and_pg_port(
    team_server,
):
    workspace, port, uri = team_server.workspace, team_server.mlflow_port, team_server.tracking_uri
    pgdata = Path(team_server.pgdata)
    leader, workers = _kill_leader(team_server)
    _orphan_line(team_status(workspace), leader, port)

    down = team_down(workspace)
    assert not down.running and down.mlflow_pid is None and down.postgres_pid is None
    assert [pid for pid in [leader, *workers] if _alive(pid)] == []
    assert _serving(port) == [] and _free(port)
    assert team_status(workspace).stale == []

    # --pg-port on a taken port: a clear error naming it, and nothing started
    with socket.socket() as holder:
        holder.bind((HOST, 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with pytest.raises(TeamError) as refused:
            team_up(workspace, pg_port=taken)
        message = str(refused.value)
        assert f"port {taken}" in message and "taken" in message and "--pg-port" in message
        after = team_status(workspace)
        assert not after.running and after.mlflow_pid is None and after.postgres_pid is None
        assert postmaster_pid(pgdata) is None
        assert _serving(taken) == [os.getpid()]  # only the test's own socket
        assert _serving(port) == []

    # --pg-port on a free port: PostgreSQL listens there; MLflow is back on its port
    wanted = _unused_port()
    started = time.monotonic()
    up = team_up(workspace, pg_port=wanted)
    print(f"team up --pg-port after team down: {time.monotonic() - started:.1f} s")
    assert up.running and up.mlflow_port == port and up.tracking_uri == uri
    assert up.postgres_port == wanted
    assert (HOST, wanted) in team_server_module.listening(up.postgres_pid)
    with socket.create_connection((HOST, wanted), timeout=5):
        pass
    status = team_status(workspace)
    assert status.running and status.postgres_port == wanted and status.stale == []
    assert f"PostgreSQL {HOST}:{wanted}" in status.summary()
    assert _health(uri) == 200


def test_a_different_pg_port_while_postgres_runs_is_refused_and_nothing_stops(team_server):
    other = _unused_port()
    with pytest.raises(TeamError) as refused:
        team_up(team_server.workspace, pg_port=other)
    message = str(refused.value)
    assert f"already runs on {HOST}:{team_server.postgres_port}" in message
    assert f"port {other}" in message and "team down" in message
    assert team_up(team_server.workspace, pg_port=team_server.postgres_port).already_running
    # the CLI's --pg-port says the same in one line
    out = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "--workspace", team_server.workspace,
         "team", "up", "--pg-port", str(other)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode != 0 and "already runs on" in out.stderr, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    status = team_status(team_server.workspace)
    assert status.running
    assert (status.mlflow_pid, status.postgres_pid) == (
        team_server.mlflow_pid,
        team_server.postgres_pid,
    )
