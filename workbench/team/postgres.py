"""A private PostgreSQL cluster for the team server: a data directory under the workspace, 127.0.0.1 only.

PostgreSQL refuses to run as root, so when the workbench runs as root ``initdb`` and ``pg_ctl`` run
as the ``postgres`` user (Debian's package creates it; ``nobody`` otherwise) through ``runuser``,
with the data directory owned by that user. Unix sockets are off: the cluster answers on
``127.0.0.1:<port>`` with password (SCRAM) authentication only.

Example:
    >>> find_pg_bin().joinpath("pg_ctl").exists()  # doctest: +SKIP
    True
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from workbench._core.process import HOST
from workbench.team.state import TeamError

__all__ = [
    "PgCluster",
    "database_uri",
    "find_pg_bin",
    "postmaster_pid",
    "prepare_databases",
    "service_user",
]

SUPERUSER = "workbench"
ROLE = "mlflow"
DATABASES = ("mlflow", "mlflow_auth")


def find_pg_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (the newest under /usr/lib/postgresql), or None."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found and Path(found).resolve().with_name("pg_ctl").exists():
        return Path(found).resolve().parent
    return None


def service_user() -> str | None:
    """The user PostgreSQL runs as: None (this user) unless we are root, then ``postgres``/``nobody``."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise TeamError(
        "running as root and no non-root user exists to run PostgreSQL as: create one "
        "(`useradd postgres`) or run the workbench as a normal user."
    )


@dataclass
class PgCluster:
    """One PostgreSQL data directory and how to run it.

    Attributes:
        pgdata: The data directory.
        log_file: Where the server writes its log.
        bin_dir: Folder of ``initdb``/``pg_ctl``.
        user: The user to run as (None: the current user).
    """

    pgdata: Path
    log_file: Path
    bin_dir: Path
    user: str | None = None

    # ------------------------------------------------------------------ commands

    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        command = [*prefix, str(self.bin_dir / argv[0]), *argv[1:]]
        try:
            return subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd="/",
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise TeamError(f"PostgreSQL's {argv[0]} failed to run: {err}") from err

    def _own(self, *paths: Path) -> None:
        """Hand ``paths`` to the service user (when running as root)."""
        if not self.user:
            return
        entry = pwd.getpwnam(self.user)
        for path in paths:
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _check_reachable(self) -> None:
        """The service user must be able to walk down to the team folder."""
        if not self.user:
            return
        probe = self.pgdata.parent
        result = subprocess.run(
            ["runuser", "-u", self.user, "--", "test", "-x", str(probe)],
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            blocked = next(
                (
                    p
                    for p in [probe, *probe.parents]
                    if p.exists() and not os.stat(p).st_mode & 0o001
                ),
                probe,
            )
            raise TeamError(
                f"PostgreSQL runs as the user {self.user!r}, which cannot enter {blocked}. Put the "
                f"workspace where other users can pass through (`chmod o+x {blocked}`), or run the "
                "workbench as a non-root user."
            )

    # ------------------------------------------------------------------ lifecycle

    @property
    def initialised(self) -> bool:
        """True when the data directory holds a cluster."""
        return (self.pgdata / "PG_VERSION").exists()

    def init(self, superuser_password: str) -> None:
        """Create the cluster (once): SCRAM password authentication, no trust, UTF-8."""
        if self.initialised:
            return
        team = self.pgdata.parent
        team.mkdir(parents=True, exist_ok=True)
        os.chmod(team, 0o711)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._check_reachable()
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise TeamError(
                f"{self.pgdata} holds files but no PostgreSQL cluster (no PG_VERSION): a half-made "
                "cluster. Delete that folder and run `workbench team up` again."
            )
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        pwfile = team / ".pgpass.init"
        pwfile.write_text(superuser_password + "\n")
        os.chmod(pwfile, 0o600)
        self._own(self.pgdata, pwfile)
        try:
            done = self._run(
                "initdb", "-D", str(self.pgdata), "-U", SUPERUSER, f"--pwfile={pwfile}",
                "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-instructions",
            )  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)
        if done.returncode != 0:
            shutil.rmtree(self.pgdata, ignore_errors=True)
            raise TeamError(
                f"initdb failed ({done.returncode}):\n{(done.stderr or done.stdout)[-2000:]}"
            )
        conf = self.pgdata / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write("\n# workbench team server\ninclude_if_exists = 'workbench.conf'\n")

    def start(self, port: int) -> int:
        """Start the cluster on 127.0.0.1:``port`` (no Unix socket) and wait; returns its pid."""
        extra = self.pgdata / "workbench.conf"
        extra.write_text(
            f"listen_addresses = '{HOST}'\nport = {port}\nunix_socket_directories = ''\n"
            "password_encryption = 'scram-sha-256'\nmax_connections = 200\n"
        )
        self._own(extra)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.touch()
        self._own(self.log_file)
        done = self._run(
            "pg_ctl", "-D", str(self.pgdata), "-l", str(self.log_file), "-w", "-t", "60", "start"
        )
        if done.returncode != 0:
            tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-20:])
            raise TeamError(
                f"PostgreSQL did not start (pg_ctl {done.returncode}): {done.stderr.strip()}\n"
                f"Last lines of {self.log_file}:\n{tail}"
            )
        pid = self.pid()
        if pid is None:
            raise TeamError(
                f"PostgreSQL started but wrote no pid into {self.pgdata}/postmaster.pid"
            )
        return pid

    def stop(self) -> bool:
        """Stop the cluster (fast shutdown: sessions are closed, data kept). True if it was running."""
        if self.pid() is None:
            return False
        done = self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "60", "stop")
        if done.returncode != 0 and self.pid() is not None:
            raise TeamError(f"pg_ctl stop failed ({done.returncode}): {done.stderr.strip()}")
        return True

    def pid(self) -> int | None:
        """The postmaster's pid while it runs, else None."""
        return postmaster_pid(self.pgdata)


def postmaster_pid(pgdata: Path, port: int | None = None) -> int | None:
    """The pid of the postmaster running on ``pgdata`` (and listening on ``port``, when given),
    from its ``postmaster.pid``; None when none runs. A cluster restarted by hand (``pg_ctl
    restart``) has a new pid: this finds it."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid = int(lines[0])
        if port is not None and int(lines[3]) != int(port):
            return None
    except (OSError, ValueError, IndexError):
        return None
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE or "postgres" not in proc.name():
            return None
    except psutil.Error:
        return None
    return pid


def prepare_databases(port: int, superuser_password: str, role_password: str) -> None:
    """Create (once) the login role the tracking server uses and its two databases."""
    import psycopg2
    from psycopg2 import sql

    try:
        conn = psycopg2.connect(
            host=HOST, port=port, user=SUPERUSER, password=superuser_password,
            dbname="postgres", connect_timeout=10,
        )  # fmt: skip
    except psycopg2.Error as err:
        raise TeamError(f"cannot connect to PostgreSQL on {HOST}:{port}: {err}".strip()) from err
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,))
            verb = "ALTER" if cur.fetchone() else "CREATE"
            cur.execute(
                sql.SQL(verb + " ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(ROLE)),
                (role_password,),
            )
            for name in DATABASES:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if not cur.fetchone():
                    cur.execute(
                        sql.SQL("CREATE DATABASE {} OWNER {}").format(
                            sql.Identifier(name), sql.Identifier(ROLE)
                        )
                    )
    finally:
        conn.close()


def database_uri(port: int, dbname: str) -> str:
    """A SQLAlchemy URI for ``dbname`` without the password (it travels as ``PGPASSWORD``)."""
    return f"postgresql+psycopg2://{ROLE}@{HOST}:{port}/{dbname}"
