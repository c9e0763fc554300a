"""The MLflow tracking server of a team: ``mlflow server --app-name workbench``, detached.

The server starts in its own session with its output in ``team/logs/mlflow.log`` and keeps running
after the Python process that started it exits (``workbench team up`` returns); its pid is recorded
in ``team/state.json`` with what :func:`identity` says about it, and :func:`stop_pid` stops its
whole process family by that pid: the uvicorn workers too, even when the leader was killed with
SIGKILL and they were left behind, still serving the port (:func:`family`, :func:`orphans`). Users
are created by :mod:`workbench.team.access`.

Example:
    >>> alive(None)
    False
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from workbench._core.process import HOST, python_bin_path
from workbench.team.state import TeamError

__all__ = [
    "alive",
    "describe_orphans",
    "family",
    "identity",
    "launch",
    "listening",
    "orphans",
    "serving",
    "stop_pid",
    "wait_ready",
    "write_auth_config",
]

#: Words of the command line of every process of a tracking server's family: the ``mlflow
#: server`` leader, uvicorn (or gunicorn) and its workers, multiprocessing's helpers, MLflow's jobs,
#: the workbench app's warm service processes.
FAMILY_WORDS = (
    "mlflow",
    "uvicorn",
    "gunicorn",
    "multiprocessing",
    "huey",
    "workbench.team.service",
)

#: The MLflow server app the team server runs (entry point ``mlflow.app`` of this package).
APP_NAME = "workbench"
#: Popen objects of servers started by this process, so that stopping them also reaps them.
_children: dict[int, subprocess.Popen] = {}


def write_auth_config(path: Path, database_uri: str, admin_password: str) -> Path:
    """Write MLflow's ``basic_auth.ini`` (0600): auth users in PostgreSQL, nothing granted by default."""
    text = (
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = {database_uri}\n"
        "admin_username = admin\n"
        f"admin_password = {admin_password}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        "grant_default_workspace_access = false\n"
        "auth_cache_ttl_seconds = 60\n"  # PBKDF2 once a minute per user and worker, not per request
    )
    old = os.umask(0o077)
    try:
        path.write_text(text)
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    return path


def launch(
    *,
    port: int,
    backend_uri: str,
    artifacts: Path,
    auth_config: Path,
    secret_key: str,
    db_password: str,
    log_file: Path,
    workers: int | None = None,
    app_env: dict[str, str] | None = None,
) -> int:
    """Start ``mlflow server`` detached (own session, survives this process); returns its pid.

    ``workers`` (uvicorn processes) defaults to one per core, 2 to 4: a request is CPU-bound in
    the server (MLflow's permission checks and SQLAlchemy), so more workers than cores only
    contend (measured on 2 cores, 8 clients: 66 operations/s with 2 workers, 49 with 4).
    MLflow's job runner is off (``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false``, unless set):
    nothing here uses its GenAI jobs, and it costs eight Python processes.

    The app is the workbench's own (``--app-name workbench``: MLflow's basic auth plus the gate,
    :mod:`workbench.team.app`); ``app_env`` tells it where its team folder is.
    """
    workers = workers or min(4, max(2, os.cpu_count() or 2))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_TRACKING_", "MLFLOW_REGISTRY_URI", "WORKBENCH_SET_", "PG"))
    }
    env.update(
        PATH=python_bin_path(),
        MLFLOW_AUTH_CONFIG_PATH=str(auth_config),
        MLFLOW_FLASK_SERVER_SECRET_KEY=secret_key,
        PGPASSWORD=db_password,
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
        # MLflow's job runner (huey: GenAI scorers, prompt optimisation, trace roll-ups): eight
        # more Python processes (about 2 GB) competing for the CPU and slowing the start.
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION=os.environ.get(
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false"
        ),
        **(app_env or {}),
    )
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    command = [
        str(mlflow_bin) if mlflow_bin.exists() else "mlflow",
        "server",
        "--app-name", APP_NAME,
        "--backend-store-uri", backend_uri,
        "--serve-artifacts",
        "--artifacts-destination", str(artifacts),
        "--host", HOST,
        "--port", str(port),
        "--workers", str(workers),
        "--enable-workspaces",  # creating experiments/models needs a workspace grant (see roles)
    ]  # fmt: skip
    artifacts.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        log.write(f"$ {' '.join(command)}\n".encode())
        log.flush()
        try:
            proc = subprocess.Popen(
                command,
                env=env,
                cwd=str(auth_config.parent),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as err:
            raise TeamError(f"cannot start the MLflow server ({command[0]}): {err}") from err
    _children[proc.pid] = proc
    return proc.pid


def wait_ready(url: str, pid: int, log_file: Path, timeout: float = 120.0) -> None:
    """Wait until ``url``/health answers 200; raise with the log's tail if the server dies or hangs."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            raise TeamError(
                f"the MLflow server exited at start. Last lines of {log_file}:\n{_tail(log_file)}"
            )
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.25)
    stop_pid(pid)
    raise TeamError(
        f"the MLflow server did not answer within {timeout:.0f} s; it was stopped. Last lines of "
        f"{log_file}:\n{_tail(log_file)}"
    )


def alive(pid: int | None) -> bool:
    """True while ``pid`` is a live (not zombie) process."""
    if not pid:
        return False
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        return False
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def stop_pid(
    pid: int | None,
    grace: float = 15.0,
    *,
    pgid: int | None = None,
    created: float | None = None,
    cwd: str | os.PathLike | None = None,
) -> bool:
    """Stop the process family led by ``pid`` (SIGTERM, then SIGKILL after ``grace`` seconds).

    Besides the leader and its children, this stops the processes of its group (``pgid``, default
    ``pid``) that :func:`family` matches with ``created``/``cwd``: the workers a leader killed
    with SIGKILL left behind. ``pid`` may be None (the leader is gone): then only those are
    stopped. Returns True if any of it ran.
    """
    import psutil

    leader = alive(pid)
    procs: dict[int, psutil.Process] = {}
    if leader:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            procs.update((p.pid, p) for p in [root, *root.children(recursive=True)])
    for proc in family(pgid or pid, created=created, cwd=cwd):
        procs.setdefault(proc.pid, proc)
    if not procs:
        _reap(pid)
        return False
    if leader:  # the group of a live leader: also what left its tree
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    for proc in procs.values():
        with contextlib.suppress(psutil.Error):
            proc.terminate()  # psutil checks that the pid was not reused
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_running(p) for p in procs.values()):
        _reap(pid, block=False)
        time.sleep(0.1)
    if leader:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    for proc in procs.values():
        if _running(proc):
            with contextlib.suppress(psutil.Error):
                proc.kill()
    _reap(pid)
    return True


def family(
    pgid: int | None,
    *,
    created: float | None = None,
    cwd: str | os.PathLike | None = None,
) -> list:
    """Every live process of the tracking server whose leader had pid ``pgid``, orphans included.

    The server starts in its own session, so its leader's pid is the process group and session id
    of all its processes; they keep both when the leader is killed and they are re-parented. A
    process counts only when it is in that group and that session, its command line holds one of
    :data:`FAMILY_WORDS`, it started no earlier than the leader (``created``, when known) and it
    runs in the folder ``cwd`` (when given): never a process found by its name alone.

    Returns:
        ``psutil.Process`` objects, by pid.
    """
    if not pgid:
        return []
    import psutil

    folder = os.path.realpath(cwd) if cwd is not None else None
    found = []
    for proc in psutil.process_iter(["cmdline", "create_time", "status"]):
        try:
            if os.getpgid(proc.pid) != pgid or os.getsid(proc.pid) != pgid:
                continue
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if created is not None and (proc.info["create_time"] or 0) < created - 1:
                continue
            words = " ".join(proc.info["cmdline"] or [])
            if not any(word in words for word in FAMILY_WORDS):
                continue
            if folder is not None and os.path.realpath(proc.cwd()) != folder:
                continue
        except (OSError, psutil.Error):
            continue
        found.append(proc)
    return sorted(found, key=lambda p: p.pid)


def orphans(
    pid: int | None,
    *,
    pgid: int | None = None,
    created: float | None = None,
    cwd: str | os.PathLike | None = None,
) -> list:
    """The processes of the family of ``pid`` (see :func:`family`) left alive although their
    leader ``pid`` is gone (killed with SIGKILL, its uvicorn workers keep serving the port);
    ``[]`` while the leader lives."""
    members = family(pgid or pid, created=created, cwd=cwd)
    if any(p.pid == pid for p in members):
        return []
    return members


def identity(pid: int) -> dict:
    """What finds the family of the server ``pid`` again later (for ``state.json``): its process
    group id, when it started (psutil's ``create_time``) and its working folder."""
    import psutil

    found: dict = {"pgid": pid}
    with contextlib.suppress(OSError, psutil.Error):
        proc = psutil.Process(pid)
        found = {"pgid": os.getpgid(pid), "created": proc.create_time(), "cwd": proc.cwd()}
    return found


def serving(procs: list, port: int | None) -> list[int]:
    """The pids among ``procs`` (``psutil.Process``) that listen on TCP ``port``."""
    import psutil

    pids = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            if any(
                c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
                for c in proc.net_connections(kind="inet")
            ):
                pids.append(proc.pid)
    return pids


def describe_orphans(pid: int, port: int | None, left: list) -> str:
    """What ``team status`` says of the processes ``left`` alive by the killed leader ``pid``."""
    listeners = serving(left, port)
    pids = listeners or [p.pid for p in left]
    many = len(pids) > 1
    does = f"serve{'' if many else 's'} port {port}" if listeners else f"run{'' if many else 's'}"
    return (
        f"MLflow server pid {pid} (port {port}) is gone but its worker pid{'s' if many else ''} "
        f"{', '.join(map(str, pids))} still {does}: `workbench team down` (or `team up`) stops them"
    )


def listening(pid: int) -> list[tuple[str, int]]:
    """The (address, port) pairs the family of ``pid`` listens on (TCP)."""
    import psutil

    try:
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []
    found: set[tuple[str, int]] = set()
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            for conn in proc.net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    found.add((conn.laddr.ip, conn.laddr.port))
    return sorted(found)


def _running(proc) -> bool:
    import psutil

    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _reap(pid: int | None, block: bool = True) -> None:
    child = _children.get(pid) if pid else None
    if child is None:
        return
    if block:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=10)
    elif child.poll() is None:
        return
    if child.returncode is not None:
        _children.pop(pid, None)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
