"""``restore``: verify a backup archive whole, then put its store, artifacts and keys in place.

Nothing is written to the workspace before the archive has been verified in full, in a staging
folder beside it (:func:`~.archive.extract_verified`, then :mod:`~.checks`): a damaged or tampered
archive is refused with :class:`~.archive.DamagedArchiveError` (exit code 2) naming the archive
and the member. A workspace that already holds a store is refused with
:class:`~.archive.StoreNotEmptyError` unless ``force``; then its store, artifacts, policy and keys
are moved aside (``mlruns/before-restore-<stamp>/``), not deleted.

Restored into another folder, the store's artifact locations are rewritten to the new artifact
root, so every version loads from its new place. Then the restored workspace is opened and
verified through the registry itself: each model's audit chain (:func:`~workbench.registry
.verify_history`: signatures against the restored ``keys/``, this account's witness of *that*
store) and each version's files against the digest the backup recorded.

The witness matters when an older backup is restored to the *same* store path: this account saw
entries the backup does not have, and the chain's verification says so (the promotions made after
the backup are lost). The restore is done, but the result is not intact and says why; a new
workspace folder is a new store, with no witness yet.

A team server's backup (PostgreSQL dumps) restores into the workspace of a running team server
(:func:`~.team.restore_team`: artifacts, then ``pg_restore --clean --single-transaction`` per
database); it is verified the same way through the server, as the user ``MLFLOW_TRACKING_URI`` and
the login name.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from workbench._core.results import Result, stamp
from workbench.backups.archive import (
    DamagedArchiveError,
    StoreNotEmptyError,
    extract_verified,
    mlflow_version,
)
from workbench.backups.checks import chain_check, record_problems, versions_problems
from workbench.backups.snapshot import (
    copy_store,
    integrity_problem,
    move_locations,
    promotions_paused,
    store_record,
)
from workbench.errors import DataFileError, UsageError, WorkspaceError

__all__ = ["RestoreResult", "restore", "store_is_empty"]


@dataclass
class RestoreResult(Result):
    """What :func:`restore` restored and what its verification found.

    Attributes:
        archive: The archive restored.
        workspace: The workspace restored into.
        tracking_uri: The restored store.
        created: When the backup was taken (UTC).
        seconds: Wall time of the whole restore, verification included.
        models, versions, aliases, audit_entries: What the restored store holds.
        relocated: Artifact locations rewritten for the new folder (0: same folder).
        replaced: The folder where the previous store was moved (``force``), if any.
        chains: Per model, what the audit chain's verification found (``ok``, ``summary``).
        problems: Everything the verification found wrong (empty: intact).
        notes: What the on-call person should know (runs that were running at the backup, a
            different MLflow version, the replaced store kept).

    Example:
        >>> r = RestoreResult("b.tar.gz", "/w", "sqlite:////w/mlruns/mlflow.db", "2026-12-07", 1.5,
        ...                   1, 2, 1, 3)
        >>> r.intact, r.summary().startswith("restored b.tar.gz into /w: 1 models, 2 versions")
        (True, True)
    """

    archive: str
    workspace: str
    tracking_uri: str
    created: str
    seconds: float
    models: int
    versions: int
    aliases: int
    audit_entries: int
    relocated: int = 0
    replaced: str | None = None
    chains: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    FILE_NAME: ClassVar[str] = "restore.json"

    @property
    def intact(self) -> bool:
        """True when every chain verified and every version's files are the backed-up ones."""
        return not self.problems

    def summary(self) -> str:
        """One line: what was restored where, and the verification's verdict."""
        verdict = (
            "verified: every audit chain intact, every version's files present and unchanged"
            if self.intact
            else f"NOT INTACT: {len(self.problems)} problems"
        )
        return (
            f"restored {self.archive} into {self.workspace}: {self.models} models, "
            f"{self.versions} versions, {self.aliases} aliases, {self.audit_entries} audit "
            f"entries (backup of {self.created}) in {self.seconds:.1f} s; {verdict}"
        )

    def __str__(self) -> str:
        lines = [self.summary(), *(f"- {p}" for p in self.problems)]
        return "\n".join([*lines, *(f"note: {n}" for n in self.notes)])

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields, with ``intact``."""
        return {**super().to_dict(), "intact": self.intact}


def store_is_empty(root: Path) -> bool:
    """Whether the workspace at ``root`` holds no store worth keeping: no database, or one with no
    registered model and no run, and no artifact files."""
    artifacts = root / "mlruns" / "artifacts"
    if artifacts.is_dir() and any(p.is_file() for p in artifacts.rglob("*")):
        return False
    db = root / "mlruns" / "mlflow.db"
    if not db.is_file() or db.stat().st_size == 0:
        return True
    try:
        record = store_record(db)
    except sqlite3.Error:
        return False  # unreadable: not ours to call empty
    return not record["models"] and not record["counts"].get("runs")


def restore(
    archive: str | os.PathLike,
    workspace: str | os.PathLike,
    *,
    force: bool = False,
    accept_older: bool = False,
) -> RestoreResult:
    """Restore a backup archive into the workspace folder ``workspace``, verified.

    Args:
        archive: An archive written by :func:`~workbench.backups.backup`.
        workspace: The folder to restore into (made when missing); for a team server's archive,
            the workspace where its ``team up`` ran. It becomes the open workspace.
        force: Replace a workspace that already holds a store (the old one is moved aside).
        accept_older: The archive is older than what this account saw of the same store (a
            disaster restored from the last backup): accept that the audit entries after it are
            lost, so each chain verifies from the restored head on. The result's notes name each
            model's witness before and after. Without it, such a restore is done but not intact.

    Returns:
        A :class:`RestoreResult`; ``intact`` is False when the verification after the restore
        found a problem (an older backup restored over a store this account saw further, for
        one): ``problems`` says what.

    Raises:
        DataFileError: ``archive`` does not exist.
        StoreNotEmptyError: the workspace holds a store and ``force`` was not given (exit 2).
        DamagedArchiveError: the archive is damaged or tampered with (exit 2); nothing written.
        UsageError: a team server's archive (PostgreSQL) and no team server runs in ``workspace``.
        TeamError: the team server is not running, or ``pg_restore`` failed.
        WorkspaceError: the workspace cannot be written.

    Example:
        >>> import workbench.backups as wbb
        >>> print(wbb.restore("b.tar.gz", "/srv/ws-restored"))  # doctest: +SKIP
        restored b.tar.gz into /srv/ws-restored: 1 models, ... verified: ...
    """
    started = time.perf_counter()
    source = Path(archive).expanduser().resolve()
    if not source.is_file():
        raise DataFileError(f"the backup archive {source} does not exist: check the path.")
    root = Path(workspace).expanduser().resolve()
    team_here = (root / "team" / "state.json").is_file()
    if not force and not team_here and not store_is_empty(root):
        raise _not_empty(root)
    parent = root.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".wb-restore-", dir=parent))
    moved, replaced, notes, record = 0, None, [], None
    try:
        manifest = extract_verified(source, staging)
        kind = (manifest.get("store") or {}).get("kind")
        if kind == "postgresql":
            if not team_here:
                raise UsageError(
                    f"{source} is a team server's backup (PostgreSQL): restore it into the "
                    f"workspace of a running team server (`workbench team up` there first), not {root}."
                )
            from workbench.backups.team import restore_team, team_record

            notes = restore_team(staging, manifest, root, force)
            record = team_record(root)
            found = record_problems(record, manifest.get("record") or {})
            notes += [f"the restored store differs from the backup's record: {p}" for p in found]
        else:
            if team_here and not force and not store_is_empty(root):
                raise _not_empty(root)
            _verify_staged(source, staging, manifest)
            old_artifacts = Path(manifest["artifact_root"])
            new_artifacts = root / "mlruns" / "artifacts"
            if old_artifacts != new_artifacts:
                moved = move_locations(
                    staging / "store" / "mlflow.db", old_artifacts, new_artifacts
                )
            replaced = _put_in_place(staging, root, force)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if accept_older:
        notes += _accept_older(root, manifest)
    result = _verify_restored(source, root, manifest, record)
    result.relocated, result.replaced = moved, replaced
    result.notes = notes + result.notes
    if replaced:
        result.notes.append(f"the replaced store was moved to {replaced}; delete it when satisfied")
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _not_empty(root: Path) -> StoreNotEmptyError:
    return StoreNotEmptyError(
        f"refused: the workspace {root} already holds a store (mlruns/). Restore into an "
        "empty folder, or pass --force to replace it (the old store is moved aside)."
    )


def _verify_staged(archive: Path, staging: Path, manifest: dict[str, Any]) -> None:
    """Everything the staged copy must agree with before a byte is written to the workspace."""
    db = staging / "store" / "mlflow.db"
    if not db.is_file():
        raise DamagedArchiveError(archive, "store/mlflow.db", "the archive holds no store")
    problem = integrity_problem(db)
    if problem:
        raise DamagedArchiveError(archive, "store/mlflow.db", f"SQLite's check failed: {problem}")
    record = manifest.get("record") or {}
    found = record_problems(db, record)
    if found:
        why = "the store disagrees with the backup's record (" + "; ".join(found[:3]) + ")"
        raise DamagedArchiveError(archive, "store/mlflow.db", why)
    for folder, problem in versions_problems(manifest["files"], record, manifest["artifact_root"]):
        if "not in the archive" in problem and _known_missing(record, problem):
            continue  # missing when the backup was taken: reported after the restore
        raise DamagedArchiveError(archive, folder, problem)
    for model, info in sorted(record.get("models", {}).items()):
        digests = {v: m.get("digest") for v, m in info["versions"].items()}
        now = chain_check(db, staging / "workspace", model, info, digests)
        then = info.get("chain") or {}
        if then.get("ok") and not now["ok"]:
            why = f"the audit chain of {model} verified at backup time but not now: "
            raise DamagedArchiveError(archive, "store/mlflow.db", why + now["problems"][0])


def _known_missing(record: dict[str, Any], problem: str) -> bool:
    for model, info in record.get("models", {}).items():
        for version, meta in info.get("versions", {}).items():
            if meta.get("digest") is None and problem.endswith(
                f"{model} v{version} are not in the archive"
            ):
                return True
    return False


def _put_in_place(staging: Path, root: Path, force: bool) -> str | None:
    """Move the verified staging copy into the workspace; returns the folder of the replaced
    store when there was one."""
    mlruns = root / "mlruns"
    replaced = None
    try:
        mlruns.mkdir(parents=True, exist_ok=True)
        with promotions_paused(root):
            if force and not store_is_empty(root):
                replaced = mlruns / f"before-restore-{stamp()}"
                replaced.mkdir()
                if (mlruns / "mlflow.db").is_file():
                    copy_store(mlruns / "mlflow.db", replaced / "mlflow.db")
                for name in ("artifacts",):
                    if (mlruns / name).exists():
                        os.replace(mlruns / name, replaced / name)
                for name in ("gate_policy.json", "keys"):
                    if (root / name).exists():
                        shutil.copytree(root / name, replaced / name) if (
                            root / name
                        ).is_dir() else shutil.copy2(root / name, replaced / name)
            elif (mlruns / "artifacts").exists():
                shutil.rmtree(mlruns / "artifacts")  # empty folders only (store_is_empty)
            staged_artifacts = staging / "artifacts"
            if not staged_artifacts.is_dir():
                staged_artifacts.mkdir()
            os.replace(staged_artifacts, mlruns / "artifacts")
            # Into the database file through SQLite: connections open on it see the restored
            # store; those still on a file deleted with the workspace are closed next.
            copy_store(staging / "store" / "mlflow.db", mlruns / "mlflow.db")
            _close_stale_connections(mlruns / "mlflow.db")
        _restore_workspace_files(staging / "workspace", root)
    except OSError as err:
        raise WorkspaceError(f"restoring into {root} failed: {err}") from err
    return str(replaced) if replaced else None


def _close_stale_connections(db: Path) -> None:
    """Close this process's pooled MLflow connections on the database file ``db``. When the
    workspace was deleted before the restore (the disaster), a connection MLflow opened earlier
    still holds the deleted file: this process would read the lost store, and write into it, with
    the restored one at the same path. The next call opens the restored file."""
    import sys

    modules = (
        "mlflow.store.tracking.sqlalchemy_store",
        "mlflow.store.model_registry.sqlalchemy_store",
    )
    if not any(name in sys.modules for name in modules):
        return  # MLflow's stores were never opened in this process: no connection to close
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingStore

    target = db.resolve()
    vendor_private = (TrackingStore._engine_map, RegistryStore._engine_map)  # noqa: SLF001
    for engines in vendor_private:  # pinned in tests/unit/test_vendor_private.py
        for engine in list(engines.values()):
            database = engine.url.database
            if database and Path(database).expanduser().resolve() == target:
                engine.dispose()  # the store keeps its engine: new connections, the new file


def _restore_workspace_files(folder: Path, root: Path) -> None:
    """The policy (replaced) and the public keys (lines the workspace lacks are added)."""
    policy = folder / "gate_policy.json"
    if policy.is_file():
        shutil.copy2(policy, root / "gate_policy.json")
    keys = folder / "keys"
    if not keys.is_dir():
        return
    (root / "keys").mkdir(exist_ok=True)
    for pub in sorted(keys.glob("*.pub")):
        target = root / "keys" / pub.name
        have = target.read_text().splitlines() if target.is_file() else []
        lines = [line for line in pub.read_text().splitlines() if line and line not in have]
        if lines:
            with open(target, "a", encoding="utf-8") as out:
                out.write("".join(line + "\n" for line in lines))


def _accept_older(root: Path, manifest: dict[str, Any]) -> list[str]:
    """Lower this account's witness of each restored model to the backup's chain head."""
    from workbench.registry import keys
    from workbench.workspace import open_workspace

    store = keys.store_id(open_workspace(root).tracking_uri)
    notes = []
    for model, info in sorted(((manifest.get("record") or {}).get("models") or {}).items()):
        head = info.get("head")
        if not head:
            continue
        before = keys.accept_restored(store, model, int(head[0]), str(head[1]))
        if before is not None and before[0] > int(head[0]):
            notes.append(
                f"{model}: accepted the backup's audit entry #{head[0]} as the head; entries "
                f"#{head[0] + 1} to #{before[0]}, seen by this account, are lost"
            )
    return notes


def _verify_restored(
    archive: Path, root: Path, manifest: dict[str, Any], record_now: dict[str, Any] | None
) -> RestoreResult:
    """Open the restored workspace and verify it through the registry."""
    from workbench.registry import verify_history
    from workbench.registry.resolved import version_digest
    from workbench.workspace import open_workspace

    ws = open_workspace(root)
    record = manifest.get("record") or {}
    counts = (record_now or store_record(root / "mlruns" / "mlflow.db"))["counts"]
    result = RestoreResult(
        archive=str(archive),
        workspace=str(root),
        tracking_uri=ws.tracking_uri,
        created=str(manifest.get("created")),
        seconds=0.0,
        models=counts.get("models", 0),
        versions=counts.get("versions", 0),
        aliases=counts.get("aliases", 0),
        audit_entries=counts.get("audit_entries", 0),
    )
    if record_now is not None and not ws.shared:
        result.problems.append(
            "not verified: set MLFLOW_TRACKING_URI (and your login) to the team server, then run "
            "`workbench history NAME --verify` for each model"
        )
        return result
    for model, info in sorted(record.get("models", {}).items()):
        if info.get("audit_entries"):
            check = verify_history(model)
            result.chains[model] = {"ok": check.ok, "summary": check.summary()}
            result.problems += [f"{model}: {p}" for p in [*check.problems, *check.moved]]
        for version, meta in sorted(info["versions"].items(), key=lambda kv: int(kv[0])):
            try:
                now = version_digest(model, version)
            except Exception as err:
                now = f"unreadable ({type(err).__name__}: {err})"
            if meta.get("digest") is None:
                result.problems.append(f"{model} v{version}: its files were not in the backup")
            elif now != meta["digest"]:
                result.problems.append(
                    f"{model} v{version}: its restored files hash to {now[:12]}, the backup "
                    f"recorded {meta['digest'][:12]}"
                )
    runs = record.get("in_flight_runs") or []
    if runs:
        result.notes.append(
            f"{len(runs)} runs were still running when the backup was taken; their later "
            f"writes are not in it: {', '.join(runs[:5])}"
        )
    mlflow_then = manifest.get("mlflow")
    if mlflow_then and mlflow_then != mlflow_version():
        result.notes.append(
            f"the backup was made with MLflow {mlflow_then}, this is {mlflow_version()}: run "
            "`mlflow db upgrade` on the store if MLflow refuses it"
        )
    return result
