"""The team server's backup (``pg_dump`` of its PostgreSQL, then its artifact root) and restore.

Run on the machine that ran ``workbench team up``, with that workspace's files: the dumps connect
as the databases' owner (the ``mlflow`` role, password from ``team/secrets.json``, mode 0600) to
``127.0.0.1:<port>`` from ``team/state.json``. A promotion on the team server holds the model's
audit lock (a registered model ``_workbench-audit-lock.<name>``, :mod:`workbench.registry
.audit_lock`) while it moves the alias and writes the entry. So the store is read in one
``REPEATABLE READ`` transaction whose snapshot is exported: when it shows a lock held, a promotion
is under way and the transaction is dropped and tried again; when none is, the record (models,
versions, aliases, chain heads) is read from it and ``pg_dump --snapshot`` dumps exactly that state.
The promotion is in the dump whole or not at all. The auth database (users, permissions) is dumped
next, then the artifacts are copied (a superset, as on a local store).

Archive layout on a team server: ``store/mlflow.dump`` and ``store/mlflow_auth.dump`` (PostgreSQL's
custom format, for ``pg_restore``), ``artifacts/`` (the server's proxied artifact root),
``workspace/service/gate_policy.json`` and ``team_settings.json`` (``team policy``), and the
public keys of the workspace and of the server's service workspace; never ``team/keys/`` (the
server's private signing key), ``secrets.json`` or ``credentials.json``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from workbench.backups.archive import ArchiveWriter, manifest_head
from workbench.backups.snapshot import record_from
from workbench.errors import ConflictError, TeamError

__all__ = ["LOCK_WAIT", "dump_team", "restore_team", "team_record"]

#: Seconds the backup waits for promotions under way (audit locks held) before it gives up.
LOCK_WAIT = 60.0


def dump_team(writer: ArchiveWriter, root: Path, staging: Path, *, wait: float = LOCK_WAIT):
    """Add the team server's databases, artifacts, policy and public keys to ``writer``.

    Returns:
        ``(record, manifest fields)`` for the manifest.

    Raises:
        TeamError: the team server is not running here, or ``pg_dump`` failed.
        ConflictError: a promotion held an audit lock for ``wait`` seconds.
    """
    from workbench.team import team_status
    from workbench.team.postgres import DATABASES, ROLE, find_pg_bin
    from workbench.team.state import TeamPaths, read_json

    status = team_status(root)
    paths = TeamPaths.under(root)
    if not status.running or not status.postgres_port:
        raise TeamError(
            f"the team server of {root} is not running: start it (`workbench team up`) to back "
            "it up; a stopped server's data folder can be copied as files instead."
        )
    bin_dir = find_pg_bin()
    if bin_dir is None or not (bin_dir / "pg_dump").exists():
        raise TeamError("pg_dump is not installed here (apt-get install postgresql-client)")
    password = read_json(paths.secrets).get("role_password", "")
    port = int(status.postgres_port)
    env = {**os.environ, "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"}
    base = [str(bin_dir / "pg_dump"), "-h", "127.0.0.1", "-p", str(port), "-U", ROLE, "-Fc"]
    main_db = DATABASES[0]
    with _snapshot(port, ROLE, password, main_db, wait) as (snapshot, record):
        dump = staging / f"{main_db}.dump"
        _run([*base, f"--snapshot={snapshot}", "-d", main_db, "-f", str(dump)], env)
    writer.add_file(dump, f"store/{main_db}.dump")
    for name in DATABASES[1:]:
        other = staging / f"{name}.dump"
        _run([*base, "-d", name, "-f", str(other)], env)
        writer.add_file(other, f"store/{name}.dump")
    if paths.artifacts.is_dir():
        writer.add_tree(paths.artifacts, "artifacts")
    for name in ("gate_policy.json", "team_settings.json"):
        if (paths.service / name).is_file():
            writer.add_file(paths.service / name, f"workspace/service/{name}")
    for folder, prefix in ((root / "keys", "workspace/keys"), (paths.service / "keys", None)):
        prefix = prefix or "workspace/service/keys"
        if folder.is_dir():
            writer.add_tree(
                folder, prefix, keep=lambda rel: rel.endswith(".pub") and "/" not in rel
            )
    fields = {
        "store": {
            "kind": "postgresql",
            "tracking_uri": status.tracking_uri,
            "files": [f"store/{name}.dump" for name in DATABASES],
            "databases": list(DATABASES),
            "owner": ROLE,
        },
        "artifact_root": str(paths.artifacts),
    }
    return record, fields


@contextlib.contextmanager
def _snapshot(port: int, user: str, password: str, dbname: str, wait: float):
    """An exported snapshot of ``dbname`` with no audit lock held, and the record read from it."""
    import psycopg2

    deadline = time.monotonic() + wait
    while True:
        try:
            conn = psycopg2.connect(
                host="127.0.0.1", port=port, user=user, password=password, dbname=dbname,
                connect_timeout=10,
            )  # fmt: skip
        except psycopg2.Error as err:
            raise TeamError(
                f"cannot connect to the team's PostgreSQL on port {port}: {err}"
            ) from err
        try:
            conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
            with conn.cursor() as cur:
                cur.execute("SELECT pg_export_snapshot()")
                (snapshot,) = cur.fetchone()
                record = record_from(_query(cur), _pg_tables(cur))
                if not record["locks"]:
                    yield snapshot, record
                    return
        finally:
            conn.rollback()
            conn.close()
        if time.monotonic() > deadline:
            raise ConflictError(
                f"a promotion held the audit lock ({', '.join(record['locks'])}) for {wait:.0f} "
                "s: the backup waited and wrote nothing. Retry in a moment; a lock older than a "
                "minute is a crashed promoter's (the next promotion clears it)."
            )
        time.sleep(0.5)


def _query(cur: Any):
    def query(sql: str, args: tuple = ()) -> list[Any]:
        cur.execute(sql.replace("?", "%s"), args)
        return cur.fetchall()

    return query


def _pg_tables(cur: Any) -> set[str]:
    cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    return {r[0] for r in cur.fetchall()}


def _run(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        tool = Path(argv[0]).name
        raise TeamError(f"{tool} failed (exit {done.returncode}): {' '.join(tail)}")


def team_manifest(created: str, root: Path, record: dict[str, Any], fields: dict) -> dict:
    """The manifest of a team server's backup (the record as read from the dumped snapshot)."""
    return {**manifest_head(root, created), "record": record, **fields}


def restore_team(staging: Path, manifest: dict[str, Any], root: Path, force: bool) -> list[str]:
    """Put a team server's backup (extracted and verified in ``staging``) into the running team
    server of the workspace at ``root``: the artifacts first, then each database with
    ``pg_restore --clean --single-transaction`` (all of it or none), as the databases' owner.

    The server must run with the secrets of the server that was backed up (``team/secrets.json``
    kept, ``pgdata`` lost): the auth database holds the users' password hashes, the service
    user's among them. Returns notes for the result.

    Raises:
        TeamError: the team server does not run here, or ``pg_restore`` failed.
        StoreNotEmptyError: the server holds models or runs and ``force`` was not given.
    """
    import shutil

    from workbench.backups.archive import StoreNotEmptyError
    from workbench.team import team_status
    from workbench.team.postgres import ROLE, find_pg_bin
    from workbench.team.state import TeamPaths, read_json

    status = team_status(root)
    paths = TeamPaths.under(root)
    if not status.running or not status.postgres_port:
        raise TeamError(
            f"the team server of {root} is not running: start it (`workbench team up`, a fresh "
            "one after a disaster, with the team's secrets.json) and restore again."
        )
    password = read_json(paths.secrets).get("role_password", "")
    port = int(status.postgres_port)
    now = team_record(root)
    if not force and (now["models"] or now["counts"].get("runs")):
        raise StoreNotEmptyError(
            f"refused: the team server of {root} already holds {len(now['models'])} models and "
            f"{now['counts'].get('runs')} runs. Restore into a fresh `team up`, or pass --force "
            "to replace them."
        )
    if (staging / "artifacts").is_dir():  # files before the rows that point at them
        shutil.copytree(staging / "artifacts", paths.artifacts, dirs_exist_ok=True)
    env = {**os.environ, "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"}
    tool = str((find_pg_bin() or Path("/usr/bin")) / "pg_restore")
    for name in manifest["store"]["databases"]:
        dump = staging / "store" / f"{name}.dump"
        argv = [tool, "-h", "127.0.0.1", "-p", str(port), "-U", ROLE, "-d", name]
        _run([*argv, "--clean", "--if-exists", "--single-transaction", str(dump)], env)
    for name in ("gate_policy.json", "team_settings.json"):
        if (staging / "workspace" / "service" / name).is_file():
            shutil.copy2(staging / "workspace" / "service" / name, paths.service / name)
    return [f"restored into the team server {status.tracking_uri} (PostgreSQL port {port})"]


def team_record(root: Path) -> dict[str, Any]:
    """What the running team server of the workspace at ``root`` holds now (as the backup's
    record says it), read from one snapshot with no promotion under way."""
    from workbench.team import team_status
    from workbench.team.postgres import ROLE
    from workbench.team.state import TeamPaths, read_json

    status = team_status(root)
    password = read_json(TeamPaths.under(root).secrets).get("role_password", "")
    with _snapshot(int(status.postgres_port or 0), ROLE, password, "mlflow", LOCK_WAIT) as (_, rec):
        return rec
