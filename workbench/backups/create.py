"""``backup``: one archive that holds a workspace's store, artifacts, policy and public keys.

The order is what makes the copy consistent while the workbench is in use:

1. the SQLite store through SQLite's online backup API, holding the workspace's audit lock, so a
   promotion in flight is in the copy whole or not at all (:func:`~.snapshot.copy_store`);
2. the artifacts *after* the store: MLflow writes a model's files before the rows that point at
   them, so a later copy of the files is a superset of what the copied rows need;
3. the gate policy and the registered public keys (``keys/*.pub``; never a private key);
4. the manifest last: every file's size and SHA-256, the versions of the workbench and MLflow,
   the store's kind, and the record of its models, versions (with their files' digests), aliases
   and audit-chain heads, each chain verified on the copy.

The archive is written to a temporary file, synced and renamed: it is whole or absent.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from workbench._core.results import Result, atomic_write, stamp, utc_now
from workbench.backups.archive import ArchiveWriter, folder_digest_of, manifest_head
from workbench.backups.checks import chain_check, version_folder
from workbench.backups.snapshot import copy_store, promotions_paused, store_record
from workbench.errors import UsageError, WorkspaceError
from workbench.workspace import LAST_BACKUP_FILE, last_backup_record

__all__ = [
    "ARCHIVE_PATTERN",
    "LAST_BACKUP_FILE",
    "POLICY_FILES",
    "BackupResult",
    "archive_name",
    "backup",
    "last_backup",
    "prune",
    "schedule",
]

#: Files at the workspace's root that travel with a backup when they exist.
POLICY_FILES = ("gate_policy.json",)
#: The names :func:`backup` gives archives in a folder, and the only ones :func:`prune` deletes.
ARCHIVE_PATTERN = "workbench-backup-*.tar.gz"


@dataclass
class BackupResult(Result):
    """What :func:`backup` wrote.

    Attributes:
        archive: The archive's path.
        workspace: The workspace backed up.
        store: ``sqlite`` (or ``postgresql`` on a team server).
        created: UTC time of the store's snapshot.
        size: The archive's size in bytes.
        seconds: Wall time of the whole backup.
        files: Files in the archive (manifest excluded).
        models, versions, aliases, audit_entries: What the store held.
        in_flight_runs: Runs that were still running at the snapshot (their later writes are not
            in it): a monitoring run that was under way, for instance.
        warnings: What the archive does not hold, or holds broken, in plain words.

    Example:
        >>> r = BackupResult("b.tar.gz", "/w", "sqlite", "2026-12-07T10:00:00+00:00", 2048, 0.5,
        ...                  10, 1, 2, 1, 3)
        >>> r.summary()
        'backup b.tar.gz: 1 models, 2 versions, 1 aliases, 3 audit entries, 10 files, 2.0 kB in 0.5 s'
    """

    archive: str
    workspace: str
    store: str
    created: str
    size: int
    seconds: float
    files: int
    models: int
    versions: int
    aliases: int
    audit_entries: int
    in_flight_runs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)

    FILE_NAME: ClassVar[str] = "backup.json"

    def summary(self) -> str:
        """One line: where, what, how big, how long."""
        line = (
            f"backup {self.archive}: {self.models} models, {self.versions} versions, "
            f"{self.aliases} aliases, {self.audit_entries} audit entries, {self.files} files, "
            f"{_size(self.size)} in {self.seconds:.1f} s"
        )
        if self.in_flight_runs:
            line += f"; {len(self.in_flight_runs)} runs were still running"
        if self.warnings:
            line += f"; {len(self.warnings)} warnings"
        return line

    def __str__(self) -> str:
        return "\n".join([self.summary(), *(f"- {w}" for w in self.warnings)])


def archive_name() -> str:
    """A new archive's file name: ``workbench-backup-<UTC stamp>.tar.gz`` (sorts by time)."""
    return f"workbench-backup-{stamp()}.tar.gz"


def backup(
    out: str | os.PathLike, *, workspace: str | os.PathLike | None = None, keep: int | None = None
) -> BackupResult:
    """Back up a workspace into one archive, consistently, while it is in use.

    Args:
        out: The archive to write (``.tar.gz``), or an existing folder to write
            ``workbench-backup-<stamp>.tar.gz`` into.
        workspace: The workspace folder (default: the open workspace).
        keep: Keep only the ``keep`` newest archives of that folder (:func:`prune`).

    Returns:
        A :class:`BackupResult`; the success is also recorded in the workspace
        (:func:`last_backup`).

    Raises:
        UsageError: ``out`` lies inside the store it backs up, or the open workspace uses a
            tracking server whose files are not in it.
        WorkspaceError: the workspace has no store, or the archive cannot be written.
        TeamError: on a team server: it is not running, or ``pg_dump`` failed.
        ConflictError: on a team server: a promotion held its audit lock for a minute.

    Example:
        >>> import workbench.backups as wbb
        >>> wbb.backup("/backups/", keep=7).summary()  # doctest: +SKIP
        'backup /backups/workbench-backup-20261207T...tar.gz: 1 models, ...'
    """
    started = time.perf_counter()
    root, tracking_uri, team = _workspace(workspace)
    db = root / "mlruns" / "mlflow.db"
    if not team and not db.is_file():
        raise WorkspaceError(
            f"there is no store to back up at {db}: open the workspace once (or pass "
            "--workspace DIR)."
        )
    target = Path(out).expanduser().resolve()
    if target.is_dir() or str(out).endswith(os.sep):
        target = target / archive_name()
    if target.is_relative_to(root / "mlruns") or target.is_relative_to(root / "team"):
        raise UsageError(
            f"the archive {target} would lie inside the store it backs up: write it elsewhere."
        )
    staging = Path(tempfile.mkdtemp(prefix=".wb-backup-", dir=_existing(target.parent)))
    try:
        with ArchiveWriter(target) as writer:
            if team:
                created, record, warnings = _team(writer, root, staging)
            else:
                created, record, warnings = _local(writer, root, db, tracking_uri, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    counts = record["counts"]
    result = BackupResult(
        archive=str(target),
        workspace=str(root),
        store="postgresql" if team else "sqlite",
        created=created,
        size=target.stat().st_size,
        seconds=round(time.perf_counter() - started, 3),
        files=len(writer.files),
        models=counts.get("models", 0),
        versions=counts.get("versions", 0),
        aliases=counts.get("aliases", 0),
        audit_entries=counts.get("audit_entries", 0),
        in_flight_runs=list(record["in_flight_runs"]),
        warnings=warnings,
    )
    if keep is not None:
        result.pruned = prune(target.parent, keep)
    _record_success(root, result)
    return result


def schedule(
    out: str | os.PathLike, *, keep: int = 7, every: str = "1d", workspace: str | os.PathLike = "."
) -> str:
    """The cron line and the systemd service + timer that run ``workbench backup`` every
    ``every`` (``1h`` ... ``12h`` dividing a day, ``1d``, ``1w``), keeping ``keep`` archives.

    Raises:
        UsageError: ``every`` is not one of those.

    Example:
        >>> line = schedule("/backups/", keep=7, every="1d", workspace="/srv/p").splitlines()[0]
        >>> line.startswith("0 2 * * *  cd /srv/p && "), line.endswith("backup --out /backups/ --keep 7")
        (True, True)
    """
    text = str(every).strip().lower()
    number, unit = text[:-1], text[-1:]
    hours = {"h": 1, "d": 24, "w": 168}.get(unit, 0) * (int(number) if number.isdigit() else 0)
    calendars = {24: ("0 2 * * *", "daily"), 168: ("0 2 * * 0", "weekly")}
    if hours in calendars:
        cron, calendar = calendars[hours]
    elif 0 < hours < 24 and 24 % hours == 0:
        cron = "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
        calendar = "hourly" if hours == 1 else f"*-*-* 00/{hours}:00:00"
    else:
        raise UsageError(f"--every {every}: use 1h, 2h, 3h, 4h, 6h, 8h, 12h, 1d or 1w.")
    if int(keep) < 1:
        raise UsageError(f"--keep {keep}: keep at least 1 backup.")
    import sys

    root = Path(workspace).expanduser().resolve()
    command = f"{sys.executable} -m workbench.cli backup --out {out} --keep {int(keep)}"
    return "\n".join(
        [
            f"{cron}  cd {root} && {command}",
            "",
            "# workbench-backup.service",
            "[Unit]\nDescription=Workbench backup\n[Service]\nType=oneshot",
            f"WorkingDirectory={root}\nExecStart={command}",
            "",
            "# workbench-backup.timer",
            "[Unit]\nDescription=Workbench backup timer\n[Timer]",
            f"OnCalendar={calendar}\nPersistent=true\nRandomizedDelaySec=15m",
            "[Install]\nWantedBy=timers.target",
        ]
    )


def prune(folder: str | os.PathLike, keep: int) -> list[str]:
    """Delete all but the ``keep`` newest backup archives (``workbench-backup-*.tar.gz``) in
    ``folder``; other files are never touched. Returns the paths deleted, oldest first.

    Raises:
        UsageError: ``keep`` is below 1.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> for s in ("20261201", "20261202", "20261203"):
        ...     _ = (d / f"workbench-backup-{s}T000000Z.tar.gz").write_bytes(b"")
        >>> [pathlib.Path(p).name[17:25] for p in prune(d, 2)]
        ['20261201']
    """
    if int(keep) < 1:
        raise UsageError(f"--keep {keep}: keep at least 1 backup.")
    archives = sorted(Path(folder).glob(ARCHIVE_PATTERN), key=lambda p: p.name)
    gone = []
    for path in archives[: max(0, len(archives) - int(keep))]:
        path.unlink(missing_ok=True)
        gone.append(str(path))
    return gone


def last_backup(workspace: str | os.PathLike | None = None) -> dict[str, Any] | None:
    """The workspace's last successful backup (archive, time, size, counts), for the dashboard;
    None when it was never backed up."""
    if workspace is None:
        from workbench.workspace import current_workspace

        workspace = current_workspace().root
    return last_backup_record(Path(workspace).expanduser().resolve())


def _local(
    writer: ArchiveWriter, root: Path, db: Path, tracking_uri: str, staging: Path
) -> tuple[str, dict[str, Any], list[str]]:
    """The local store: snapshot under the audit lock, then artifacts, policy, public keys."""
    artifacts = root / "mlruns" / "artifacts"
    snapshot = staging / "mlflow.db"
    with promotions_paused(root):
        created = utc_now("microseconds")
        copy_store(db, snapshot)
    record = store_record(snapshot)
    writer.add_file(snapshot, "store/mlflow.db")
    skipped = writer.add_tree(artifacts, "artifacts") if artifacts.is_dir() else []
    for name in POLICY_FILES:
        if (root / name).is_file():
            writer.add_file(root / name, f"workspace/{name}")
    if (root / "keys").is_dir():
        writer.add_tree(root / "keys", "workspace/keys", keep=_public_key)
    warnings = _complete_record(record, writer.files, artifacts, snapshot, root)
    warnings += [f"not archived (a link or special file): artifacts/{s}" for s in skipped]
    writer.finish(_manifest(root, tracking_uri, artifacts, created, record))
    return created, record, warnings


def _team(
    writer: ArchiveWriter, root: Path, staging: Path
) -> tuple[str, dict[str, Any], list[str]]:
    """The team server: its PostgreSQL dumped from one snapshot, then artifacts, policy, keys."""
    from workbench.backups.team import dump_team, team_manifest

    created = utc_now("microseconds")
    record, fields = dump_team(writer, root, staging)
    warnings = []
    for model, info in record["models"].items():
        for version, meta in info["versions"].items():
            folder = version_folder(meta, fields["artifact_root"])
            meta["digest"] = folder_digest_of(writer.files, folder) if folder else None
            if meta["digest"] is None:
                warnings.append(f"the files of {model} v{version} are not in the archive")
    writer.finish(team_manifest(created, root, record, fields))
    return created, record, warnings


def _workspace(workspace: str | os.PathLike | None) -> tuple[Path, str, bool]:
    """``(root, tracking URI, team server?)`` of the workspace to back up."""
    if workspace is not None:
        root = Path(workspace).expanduser().resolve()
        return root, f"sqlite:///{root / 'mlruns' / 'mlflow.db'}", False
    from workbench.registry.keys import store_id
    from workbench.team.state import TeamPaths, read_json
    from workbench.workspace import current_workspace

    ws = current_workspace()
    if not ws.shared:
        return ws.root, ws.tracking_uri, False
    state = read_json(TeamPaths.under(ws.root).state)
    ours = store_id(str(state.get("tracking_uri") or "")).rstrip("/")
    if not ours or ours != store_id(ws.tracking_uri).rstrip("/"):
        raise UsageError(
            f"the open workspace uses the tracking server {ws.tracking_uri}, whose files are not "
            f"in {ws.root}: back it up on the machine that runs it, from the workspace where "
            "`workbench team up` ran."
        )
    return ws.root, ws.tracking_uri, True


def _existing(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _public_key(rel: str) -> bool:
    return rel.endswith(".pub") and "/" not in rel


def _complete_record(
    record: dict[str, Any], files: dict[str, Any], artifacts: Path, db: Path, root: Path
) -> list[str]:
    """Add each version's files' digest and each model's chain check to ``record``; returns
    warnings for versions whose files are not archived and chains that did not verify."""
    warnings = []
    for model, info in record["models"].items():
        digests: dict[str, str | None] = {}
        for version, meta in info["versions"].items():
            folder = version_folder(meta, artifacts)
            meta["digest"] = digests[version] = folder_digest_of(files, folder) if folder else None
            if meta["digest"] is None:
                where = meta.get("location") or meta.get("source")
                warnings.append(f"the files of {model} v{version} are not in the archive ({where})")
        info["chain"] = chain_check(db, root, model, info, digests)
        if not info["chain"]["ok"]:
            warnings += [f"{model}: {p}" for p in info["chain"]["problems"]]
    return warnings


def _manifest(
    root: Path, tracking_uri: str, artifacts: Path, created: str, record: dict[str, Any]
) -> dict[str, Any]:
    return {
        **manifest_head(root, created),
        "store": {"kind": "sqlite", "tracking_uri": tracking_uri, "file": "store/mlflow.db"},
        "artifact_root": str(artifacts),
        "record": record,
    }


def _record_success(root: Path, result: BackupResult) -> None:
    data = {k: v for k, v in result.to_dict().items() if k not in ("in_flight_runs", "pruned")}
    data["finished"] = utc_now()
    try:
        atomic_write(root / "mlruns" / LAST_BACKUP_FILE, json.dumps(data, indent=1))
    except OSError as err:
        result.warnings.append(f"the backup's record could not be written in {root}: {err}")


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
