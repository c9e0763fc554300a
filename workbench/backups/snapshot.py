"""The SQLite store's consistent copy, what a copy holds, and its artifact locations moved.

A promotion on a local store moves the alias, writes the audit entry and moves the chain's head
while it holds the workspace's audit lock (``mlruns/.audit.lock``, the file lock of
:func:`workbench.registry.gate.promote`). :func:`copy_store` takes that lock and copies the
database through SQLite's online backup API in one step: a promotion is in the copy whole or not
at all, and any other write (a monitoring run's metric) is in it as a committed transaction or not.
A file copy could catch the database between two pages of one write.

Everything else here reads or changes a *copy* with :mod:`sqlite3` alone (no MLflow): the record
of models, versions, aliases and chain heads the manifest keeps, the audit entries of a model as
:func:`workbench.registry.chain.verify_entries` takes them, and the artifact locations rewritten
for a workspace restored elsewhere.

Example:
    >>> rewrite_prefix("file:///a/mlruns/artifacts/x", "file:///a/mlruns/artifacts", "file:///b")
    'file:///b/x'
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from workbench._core.names import AUDIT_EXPERIMENT, AUDIT_HEAD_TAG, AUDIT_PREFIX
from workbench.errors import WorkspaceError

__all__ = [
    "LOCATION_COLUMNS",
    "LOCK_PREFIX",
    "audit_entries",
    "copy_store",
    "integrity_problem",
    "local_path",
    "move_locations",
    "promotions_paused",
    "record_from",
    "rewrite_prefix",
    "store_record",
]

#: Columns of MLflow's schema that hold artifact locations (table, column).
LOCATION_COLUMNS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("model_versions", "source"),
    ("model_versions", "storage_location"),
    ("logged_models", "artifact_location"),
    ("workspaces", "default_artifact_root"),
)
#: Registered models that are audit locks on a shared server, not models.
LOCK_PREFIX = "_workbench-audit-lock."
_TIMEOUT = 120.0


@contextlib.contextmanager
def promotions_paused(root: Path) -> Iterator[None]:
    """Hold the workspace's audit lock (the one every local promotion and rollback holds)."""
    from workbench.registry.audit_lock import workspace_lock

    with workspace_lock(root):
        yield


def copy_store(source: Path, target: Path) -> None:
    """Copy the SQLite database ``source`` into ``target`` through SQLite's online backup API,
    in one step (one consistent state of ``source``, whatever writes around it)."""
    src = sqlite3.connect(source, timeout=_TIMEOUT)
    try:
        dst = sqlite3.connect(target, timeout=_TIMEOUT)
        try:
            src.backup(dst)  # pages=-1: every page in one step, under one read transaction
        finally:
            dst.close()
    except sqlite3.Error as err:
        raise WorkspaceError(f"copying the store {source} to {target} failed: {err}") from err
    finally:
        src.close()


def integrity_problem(db: Path) -> str | None:
    """SQLite's own integrity check of ``db``: None when ``ok``, else what it found."""
    try:
        with contextlib.closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as con:
            rows = [r[0] for r in con.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.Error as err:
        return f"it is not a readable SQLite database ({err})"
    return None if rows == ["ok"] else "; ".join(map(str, rows[:5]))


def store_record(db: Path) -> dict[str, Any]:
    """What the SQLite store ``db`` holds (:func:`record_from`).

    Example:
        >>> import tempfile, pathlib
        >>> store_record(pathlib.Path(tempfile.mkdtemp()) / "none.db")["models"]
        {}
    """
    if not db.exists():
        return record_from(lambda sql, args=(): [], set())
    with contextlib.closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as con:
        return record_from(lambda sql, args=(): con.execute(sql, args).fetchall(), _tables(con))


def record_from(query: Callable[..., list[Any]], tables: set[str]) -> dict[str, Any]:
    """What a store holds, read through ``query(sql, args)`` (``?`` placeholders): per
    registered model its versions (source, files' location, run), aliases, audit-chain head and
    number of audit entries; the runs still running; the audit locks held (a promotion under way
    on a team server); counts."""
    record: dict[str, Any] = {"models": {}, "in_flight_runs": [], "counts": {}, "locks": []}
    if "registered_models" not in tables:
        return record
    models = record["models"]
    for (name,) in query("SELECT name FROM registered_models ORDER BY name"):
        if name.startswith(LOCK_PREFIX):
            record["locks"].append(name)
        else:
            models[name] = {"versions": {}, "aliases": {}, "head": None, "audit_entries": 0}
    logged = {}
    if "logged_models" in tables:
        logged = dict(query("SELECT model_id, artifact_location FROM logged_models"))
    rows = query(
        "SELECT name, version, source, storage_location, run_id, status FROM model_versions "
        "ORDER BY name, version"
    )
    for name, version, source, storage, run_id, status in rows:
        if name in models:
            model_id = str(source or "").removeprefix("models:/").strip("/")
            models[name]["versions"][str(version)] = {
                "source": source,
                "location": storage or logged.get(model_id) or source,
                "run_id": run_id,
                "status": status,
            }
    for alias, version, name in query(
        "SELECT alias, version, name FROM registered_model_aliases ORDER BY name, alias"
    ):
        if name in models:
            models[name]["aliases"][alias] = int(version)
    for name, value in query(
        "SELECT name, value FROM registered_model_tags WHERE key = ?", (AUDIT_HEAD_TAG,)
    ):
        seq, _, digest = str(value).partition(":")
        if name in models and seq.isdigit() and digest:
            models[name]["head"] = [int(seq), digest]
    for name, count in query(
        "SELECT t.value, COUNT(*) FROM tags t JOIN runs r ON r.run_uuid = t.run_uuid "
        "JOIN experiments e ON e.experiment_id = r.experiment_id WHERE e.name = ? AND "
        "t.key = ? AND r.lifecycle_stage = 'active' GROUP BY t.value",
        (AUDIT_EXPERIMENT, AUDIT_PREFIX + "model"),
    ):
        if name in models:
            models[name]["audit_entries"] = int(count)
    record["in_flight_runs"] = [
        r[0]
        for r in query(
            "SELECT run_uuid FROM runs WHERE status = 'RUNNING' AND lifecycle_stage = 'active' "
            "ORDER BY run_uuid"
        )
    ]
    counts = record["counts"]
    counts["experiments"] = int(query("SELECT COUNT(*) FROM experiments")[0][0])
    counts["runs"] = int(query("SELECT COUNT(*) FROM runs")[0][0])
    counts["models"] = len(models)
    counts["versions"] = sum(len(m["versions"]) for m in models.values())
    counts["aliases"] = sum(len(m["aliases"]) for m in models.values())
    counts["audit_entries"] = sum(m["audit_entries"] for m in models.values())
    return record


def audit_entries(db: Path, model: str) -> list[dict[str, Any]]:
    """The audit entries of ``model`` in the store ``db``: each as the dict of its
    ``workbench.audit.*`` tags (the values as stored, which hash as written) plus ``run_id``."""
    with contextlib.closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as con:
        runs = [
            r[0]
            for r in con.execute(
                "SELECT t.run_uuid FROM tags t JOIN runs r ON r.run_uuid = t.run_uuid JOIN "
                "experiments e ON e.experiment_id = r.experiment_id WHERE e.name = ? AND "
                "t.key = ? AND t.value = ? AND r.lifecycle_stage = 'active'",
                (AUDIT_EXPERIMENT, AUDIT_PREFIX + "model", model),
            )
        ]
        entries = []
        for run_id in runs:
            tags = con.execute(
                "SELECT key, value FROM tags WHERE run_uuid = ? AND substr(key, 1, ?) = ?",
                (run_id, len(AUDIT_PREFIX), AUDIT_PREFIX),
            ).fetchall()
            entry: dict[str, Any] = {k[len(AUDIT_PREFIX) :]: v for k, v in tags}
            entry["run_id"] = run_id
            entries.append(entry)
    return entries


def rewrite_prefix(value: str | None, old: str, new: str) -> str | None:
    """``value`` with the leading ``old`` (a whole path segment) replaced by ``new``."""
    if value is None:
        return None
    if value == old:
        return new
    if value.startswith(old.rstrip("/") + "/"):
        return new.rstrip("/") + value[len(old.rstrip("/")) :]
    return value


def move_locations(db: Path, old_root: Path, new_root: Path) -> int:
    """Point every artifact location under ``old_root`` (a ``file://`` URI or a plain path) at
    the same place under ``new_root``, in the store ``db``; returns how many values changed."""
    pairs = [(old_root.as_uri(), new_root.as_uri()), (str(old_root), str(new_root))]
    changed = 0
    with contextlib.closing(sqlite3.connect(db, timeout=_TIMEOUT)) as con:
        tables = _tables(con)
        with con:
            for table, column in LOCATION_COLUMNS:
                if table not in tables or column not in _columns(con, table):
                    continue
                rows = con.execute(f"SELECT rowid, {column} FROM {table}").fetchall()  # noqa: S608
                for rowid, value in rows:
                    new = value
                    for old_prefix, new_prefix in pairs:
                        new = rewrite_prefix(new, old_prefix, new_prefix)
                    if new != value:
                        con.execute(
                            f"UPDATE {table} SET {column} = ? WHERE rowid = ?",  # noqa: S608
                            (new, rowid),
                        )
                        changed += 1
    return changed


def local_path(location: str | None) -> Path | None:
    """The local folder a ``file://`` URI or plain path names (None for other schemes)."""
    if not location:
        return None
    parts = urlsplit(location)
    if parts.scheme == "file" and parts.netloc in ("", "localhost"):
        return Path(unquote(parts.path))
    if parts.scheme == "" and location.startswith("/"):
        return Path(location)
    return None


def _tables(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
