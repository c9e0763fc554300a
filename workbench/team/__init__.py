"""Team mode: a shared, authenticated MLflow tracking server on a private PostgreSQL, on 127.0.0.1.

``team_up()`` starts PostgreSQL (data under ``<workspace>/team/pgdata``) and ``mlflow server
--app-name basic-auth`` on it (tracking store in database ``mlflow``, MLflow's auth users in
``mlflow_auth``, artifacts proxied into ``<workspace>/team/artifacts``), creates the team's users with
random passwords (``team/credentials.json``, mode 0600) and returns while both servers keep running.
``team_status()`` says what runs where; ``team_down()`` stops both and keeps the data.

Example:
    >>> import workbench.team as team
    >>> server = team.team_up("/tmp/ws")            # doctest: +SKIP
    >>> print(server.login_text())                 # doctest: +SKIP
    >>> team.team_down("/tmp/ws").running          # doctest: +SKIP
    False
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from workbench._core.process import HOST, free_port
from workbench._core.results import Result, utc_now
from workbench.registry import keys
from workbench.team import access, postgres, server
from workbench.team.app import SERVICE_USER, TEAM_DIR_ENV, TEAM_URL_ENV
from workbench.team.guard import PROTECTED_EXPERIMENTS
from workbench.team.state import TeamError, TeamPaths, new_password, read_json, write_private_json
from workbench.workspace import find_root

__all__ = ["TEAM", "TeamError", "TeamPaths", "TeamServer", "team_down", "team_status", "team_up"]

#: The team's users and what each one is for (the admin comes from ``basic_auth.ini``).
TEAM: dict[str, str] = {
    "admin": "administrator: manages users and permissions, can do everything",
    "ds1": "data scientist",
    "ds2": "data scientist",
    "approver": "approver: promotes and rolls back",
    "viewer": "read-only viewer",
}


@dataclass
class TeamServer(Result):
    """Where a workspace's team server runs (or ran).

    Attributes:
        workspace: The workspace folder.
        tracking_uri: What every team member sets as ``MLFLOW_TRACKING_URI``.
        mlflow_port: The tracking server's port on 127.0.0.1.
        mlflow_pid: Its pid (leader of its process group), or None.
        postgres_port: PostgreSQL's port on 127.0.0.1.
        postgres_pid: The postmaster's pid, or None.
        team_dir: ``<workspace>/team``.
        pgdata: PostgreSQL's data directory.
        artifacts: The proxied artifact store.
        credentials_file: The 0600 file with each user's password.
        users: User name -> role.
        running: True when both servers run and the tracking server answers.
        already_running: ``team_up`` found it running and started nothing.
        stale: What the recorded state claimed but is no longer true (dead pids).
        started_at: When the servers were started (UTC).
        new_passwords: Passwords created by this call (shown once; never saved in results).
    """

    FILE_NAME: ClassVar[str] = "team.json"

    workspace: str
    tracking_uri: str | None = None
    mlflow_port: int | None = None
    mlflow_pid: int | None = None
    postgres_port: int | None = None
    postgres_pid: int | None = None
    team_dir: str = ""
    pgdata: str = ""
    artifacts: str = ""
    credentials_file: str = ""
    users: dict[str, str] = field(default_factory=dict)
    running: bool = False
    already_running: bool = False
    stale: list[str] = field(default_factory=list)
    started_at: str | None = None
    new_passwords: dict[str, str] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        """Plain fields, passwords left out."""
        data = super().to_dict()
        data.pop("new_passwords", None)
        return data

    def summary(self) -> str:
        """One paragraph: what runs where."""
        if not self.running:
            lines = [f"team server of {self.workspace}: not running."]
            lines += [f"  stale: {s}" for s in self.stale]
            return "\n".join(lines)
        head = "already running" if self.already_running else "running"
        return (
            f"team server {head}: MLflow {self.tracking_uri} (pid {self.mlflow_pid}), "
            f"PostgreSQL {HOST}:{self.postgres_port} (pid {self.postgres_pid}, data {self.pgdata}), "
            f"artifacts {self.artifacts}."
        )

    def login_text(self) -> str:
        """How each person logs in; new passwords are shown here once."""
        lines = [
            self.summary(),
            "",
            f"export MLFLOW_TRACKING_URI={self.tracking_uri}",
            "Each person logs in with MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD:",
        ]
        for name, role in self.users.items():
            secret = self.new_passwords.get(name)
            shown = (
                f"MLFLOW_TRACKING_PASSWORD={secret}"
                if secret
                else "password in the credentials file"
            )
            lines.append(f"  {name:<9} {role}\n            MLFLOW_TRACKING_USERNAME={name} {shown}")
        lines.append(f"Passwords are kept in {self.credentials_file} (mode 0600).")
        if self.new_passwords:
            lines.append("They are printed this once; read them from that file later.")
        return "\n".join(lines)

    def env(self, user: str) -> dict[str, str]:
        """The environment that makes MLflow (and the workbench) act as ``user`` on this server."""
        creds = read_json(Path(self.credentials_file))
        if user not in creds:
            raise TeamError(f"no user {user!r} in {self.credentials_file}; known: {sorted(creds)}")
        return {
            "MLFLOW_TRACKING_URI": self.tracking_uri or "",
            "MLFLOW_TRACKING_USERNAME": user,
            "MLFLOW_TRACKING_PASSWORD": creds[user],
        }


def team_up(
    root: str | os.PathLike | None = None,
    port: int | None = None,
    pg_port: int | None = None,
) -> TeamServer:
    """Start the workspace's team server (PostgreSQL + authenticated MLflow) unless it runs already.

    Args:
        root: The workspace folder (default: ``WORKBENCH_WORKSPACE`` or the nearest project root).
        port: The tracking server's port on 127.0.0.1 (default: the last one used, else a free one).
        pg_port: PostgreSQL's port on 127.0.0.1 (default: the last one used, else a free one).

    Returns:
        A :class:`TeamServer`; ``new_passwords`` holds the passwords created by this call.

    Raises:
        TeamError: PostgreSQL is not installed, a server failed to start (the log's tail is in
            the message; what started is stopped again), a port asked for is taken, or PostgreSQL
            already runs on another port than ``pg_port``.
    """
    paths = _paths(root)
    bin_dir = postgres.find_pg_bin()
    if bin_dir is None:
        raise TeamError(
            "PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin or on PATH). "
            "Install it: `apt-get install -y postgresql` (Debian/Ubuntu)."
        )
    paths.root.mkdir(parents=True, exist_ok=True)
    with _locked(paths):
        status = _status(paths)
        if status.postgres_pid and status.postgres_port:
            _refuse_pg_move(pg_port, status.postgres_port, status.postgres_pid)
        if status.running:
            status.already_running = True
            return status
        secrets = read_json(paths.secrets)
        for key in (
            "superuser_password", "role_password", "flask_secret_key", "admin_password",
            "service_password",
        ):  # fmt: skip
            secrets.setdefault(key, new_password(32 if key == "flask_secret_key" else 18))
        write_private_json(paths.secrets, secrets)
        cluster = _cluster(paths, bin_dir)
        state = read_json(paths.state)
        cluster.init(secrets["superuser_password"])
        pg_pid, pg_port = _start_postgres(cluster, state.get("postgres") or {}, pg_port)
        mlflow_pid = None
        try:
            postgres.prepare_databases(
                pg_port, secrets["superuser_password"], secrets["role_password"]
            )
            server.write_auth_config(
                paths.auth_config,
                postgres.database_uri(pg_port, "mlflow_auth"),
                secrets["admin_password"],
            )
            old_mlflow = state.get("mlflow") or {}
            _stop_mlflow(paths, old_mlflow)  # a half-alive leftover, or a killed leader's workers
            mlflow_port = _pick_port(port or old_mlflow.get("port"))
            if port and mlflow_port != port:
                raise TeamError(
                    f"port {port} on {HOST} is taken: choose another port or leave it out (the "
                    "last port used, else a free one)."
                )
            url = f"http://{HOST}:{mlflow_port}"
            log_file = paths.logs / "mlflow.log"
            mlflow_pid = server.launch(
                port=mlflow_port,
                backend_uri=postgres.database_uri(pg_port, "mlflow"),
                artifacts=paths.artifacts,
                auth_config=paths.auth_config,
                secret_key=secrets["flask_secret_key"],
                db_password=secrets["role_password"],
                log_file=log_file,
                app_env=_app_env(paths, url),
            )
            server.wait_ready(url, mlflow_pid, log_file)
            new = _create_users(paths, url, secrets["admin_password"])
            service = (SERVICE_USER, secrets["service_password"])
            access.create_service_user(url, ("admin", secrets["admin_password"]), *service)
            access.create_experiments(url, service, PROTECTED_EXPERIMENTS)  # only it may
        except BaseException:
            server.stop_pid(mlflow_pid)
            with contextlib.suppress(TeamError):
                cluster.stop()
            raise
        write_private_json(
            paths.state,
            {
                "tracking_uri": url,
                "started_at": utc_now(),
                "mlflow": {"pid": mlflow_pid, "port": mlflow_port, **server.identity(mlflow_pid)},
                "postgres": {"pid": pg_pid, "port": pg_port},
            },
        )
        result = _status(paths)
        result.new_passwords = new
        return result


def team_status(root: str | os.PathLike | None = None) -> TeamServer:
    """What runs where: the recorded pids and ports, checked against live processes.

    Args:
        root: The workspace folder (default as in :func:`team_up`).

    Returns:
        A :class:`TeamServer`; ``running`` is True only when both servers live and MLflow answers,
        ``stale`` lists recorded processes that are gone.
    """
    return _status(_paths(root))


def team_down(root: str | os.PathLike | None = None) -> TeamServer:
    """Stop the tracking server and PostgreSQL (by recorded pid; ``pg_ctl stop``); keep the data.

    Args:
        root: The workspace folder (default as in :func:`team_up`).

    Returns:
        The :class:`TeamServer` after stopping (``running`` False).
    """
    paths = _paths(root)
    if not paths.root.exists():
        return _status(paths)
    with _locked(paths):
        state = read_json(paths.state)
        _stop_mlflow(paths, state.get("mlflow") or {})  # its orphaned workers too
        bin_dir = postgres.find_pg_bin()
        if bin_dir is not None and paths.pgdata.exists():
            _cluster(paths, bin_dir).stop()
        pg_pid = (state.get("postgres") or {}).get("pid")
        if pg_pid and server.alive(pg_pid) and _is_postgres(pg_pid):  # pg_ctl could not stop it
            server.stop_pid(pg_pid)
        if state:
            state["stopped_at"] = utc_now()
            write_private_json(paths.state, state)
        return _status(paths)


# --------------------------------------------------------------------------- helpers


def _paths(root: str | os.PathLike | None) -> TeamPaths:
    if root is None:
        root = os.environ.get("WORKBENCH_WORKSPACE") or find_root()
    return TeamPaths.under(root)


@contextlib.contextmanager
def _locked(paths: TeamPaths):
    with open(paths.root / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _cluster(paths: TeamPaths, bin_dir: Path) -> postgres.PgCluster:
    return postgres.PgCluster(
        pgdata=paths.pgdata,
        log_file=paths.logs / "postgres.log",
        bin_dir=bin_dir,
        user=postgres.service_user(),
    )


def _pick_port(preferred: int | None, wait: float = 10.0) -> int:
    """``preferred`` when a server could bind it (with SO_REUSEADDR, as uvicorn and PostgreSQL do:
    connections of a crashed server in TIME_WAIT do not block it), else a free port."""
    deadline = time.monotonic() + wait  # a killed server's sockets take a moment to close
    while preferred:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, int(preferred)))
                return int(preferred)
            except OSError:
                if time.monotonic() > deadline:
                    break
        time.sleep(0.25)
    return free_port()


def _start_postgres(
    cluster: postgres.PgCluster, recorded: dict, requested: int | None
) -> tuple[int, int]:
    """PostgreSQL's pid and port: the running cluster's, else it is started on ``requested``
    (else the last port used, else a free one)."""
    pid, port = cluster.pid(), recorded.get("port")
    if pid is not None and port:
        _refuse_pg_move(requested, port, pid)
        return pid, port
    if requested:
        if _pick_port(requested, wait=2.0) != requested:
            raise TeamError(
                f"port {requested} on {HOST} is taken: PostgreSQL cannot listen there. Choose "
                "another --pg-port or leave it out (the last port used, else a free one)."
            )
        port = requested
    else:
        port = _pick_port(port)
    return cluster.start(port), port


def _refuse_pg_move(requested: int | None, port: int, pid: int) -> None:
    if requested and int(requested) != int(port):
        raise TeamError(
            f"PostgreSQL already runs on {HOST}:{port} (pid {pid}), not on port {requested}: stop "
            f"it first with `workbench team down` (the data is kept), then `workbench team up "
            f"--pg-port {requested}`."
        )


def _family_of(paths: TeamPaths, recorded: dict) -> dict:
    """How :mod:`server` finds the processes of the recorded tracking server (``state.json``):
    its process group (the leader's pid), start time and folder (older states: the team folder)."""
    return {
        "pgid": recorded.get("pgid") or recorded.get("pid"),
        "created": recorded.get("created"),
        "cwd": recorded.get("cwd") or str(paths.root),
    }


def _stop_mlflow(paths: TeamPaths, recorded: dict) -> bool:
    """Stop the recorded tracking server and every process of its family, the workers that a
    leader killed with SIGKILL left serving its port included. True if any of it ran."""
    pid = recorded.get("pid")
    if not pid:
        return False
    leader = pid if _is_mlflow(pid) else None  # a reused pid is not ours: only the group's
    return server.stop_pid(leader, **_family_of(paths, recorded))


def _is_postgres(pid: int) -> bool:
    import psutil

    with contextlib.suppress(psutil.Error):
        return "postgres" in psutil.Process(pid).name()
    return False


def _is_mlflow(pid: int) -> bool:
    """The recorded pid is still our ``mlflow server`` (not a reused pid)."""
    import psutil

    with contextlib.suppress(psutil.Error):
        return "server" in psutil.Process(pid).cmdline() and server.alive(pid)
    return False


def _app_env(paths: TeamPaths, url: str) -> dict[str, str]:
    """What the workbench's server app needs: its team folder and its own address; its signing
    key is made here (0600) and registered in its service workspace, before it serves."""
    paths.service.mkdir(parents=True, exist_ok=True)
    public = keys.public_key(keys.SERVER_SIGNER, paths.keys)
    keys.pin(keys.SERVER_SIGNER, public, paths.service)
    return {TEAM_DIR_ENV: str(paths.root), TEAM_URL_ENV: url}


def _create_users(paths: TeamPaths, url: str, admin_password: str) -> dict[str, str]:
    creds = read_json(paths.credentials)
    new: dict[str, str] = {}
    if creds.get("admin") != admin_password:
        creds["admin"] = admin_password
        new["admin"] = admin_password
    for name in TEAM:
        if name == "admin" or name in creds:
            continue
        password = new_password()
        access.create_user(url, ("admin", admin_password), name, password)
        creds[name] = password
        new[name] = password
        write_private_json(paths.credentials, creds)  # after each: a failure loses no password
    write_private_json(paths.credentials, creds)
    access.grant_roles(url, ("admin", admin_password))
    return new


def _status(paths: TeamPaths) -> TeamServer:
    import requests

    state = read_json(paths.state) if paths.root.exists() else {}
    mlflow = state.get("mlflow") or {}
    pg = state.get("postgres") or {}
    stopped = "stopped_at" in state
    mlflow_pid = mlflow.get("pid") if mlflow.get("pid") and _is_mlflow(mlflow["pid"]) else None
    pg_pid = pg.get("pid") if server.alive(pg.get("pid")) and _is_postgres(pg["pid"]) else None
    if pg_pid is None and pg.get("port") and not stopped:  # restarted by hand: a new pid
        pg_pid = postgres.postmaster_pid(paths.pgdata, pg["port"])
    stale = []
    left = []
    if mlflow.get("pid") and mlflow_pid is None:  # a killed leader's workers may still serve
        left = server.orphans(None, **_family_of(paths, mlflow))
    if left:
        stale.append(server.describe_orphans(mlflow["pid"], mlflow.get("port"), left))
    elif mlflow.get("pid") and not mlflow_pid and not stopped:
        stale.append(f"MLflow server pid {mlflow['pid']} (port {mlflow.get('port')}) is gone")
    if pg.get("pid") and not pg_pid and not stopped:
        stale.append(f"PostgreSQL pid {pg['pid']} (port {pg.get('port')}) is gone")
    answers = False
    if mlflow_pid and pg_pid and state.get("tracking_uri"):
        with contextlib.suppress(requests.RequestException):
            answers = requests.get(f"{state['tracking_uri']}/health", timeout=5).status_code == 200
        if not answers:
            stale.append(
                f"MLflow server pid {mlflow_pid} does not answer at {state['tracking_uri']}"
            )
    return TeamServer(
        workspace=str(paths.root.parent),
        tracking_uri=state.get("tracking_uri"),
        mlflow_port=mlflow.get("port"),
        mlflow_pid=mlflow_pid,
        postgres_port=pg.get("port"),
        postgres_pid=pg_pid,
        team_dir=str(paths.root),
        pgdata=str(paths.pgdata),
        artifacts=str(paths.artifacts),
        credentials_file=str(paths.credentials),
        users=dict(TEAM),
        running=bool(answers),
        stale=stale,
        started_at=state.get("started_at"),
    )
