"""Consistent backups and verified restores of a workspace: store, artifacts, audit log, keys.

What lives where:

* :mod:`~workbench.backups.create`   :func:`backup` -> :class:`BackupResult`, :func:`prune`,
  :func:`last_backup`: one archive, written while the workbench is in use
* :mod:`~workbench.backups.restore`  :func:`restore` -> :class:`RestoreResult`: verify first, then
  restore, then verify the audit chains and every version's files
* :mod:`~workbench.backups.archive`  the archive's layout, its manifest of SHA-256 digests, atomic
  writing and refusing extraction (:class:`DamagedArchiveError`, exit code 2)
* :mod:`~workbench.backups.snapshot` SQLite's online backup under the audit lock, the record of
  models, versions, aliases and chain heads, artifact locations moved
* :mod:`~workbench.backups.checks`   a staged store held to its record and its signed chain

Layering: a stage above the registry (it reads the registry's chain, keys and digests); the CLI
and the dashboard call it.

Example:
    >>> import workbench.backups as wbb
    >>> result = wbb.backup("/backups/", keep=7)  # doctest: +SKIP
    >>> wbb.restore(result.archive, "/srv/ws-restored").intact  # doctest: +SKIP
    True
"""

from __future__ import annotations

from workbench.backups.archive import DamagedArchiveError, StoreNotEmptyError
from workbench.backups.create import BackupResult, backup, last_backup, prune, schedule
from workbench.backups.restore import RestoreResult, restore

__all__ = [
    "BackupResult",
    "DamagedArchiveError",
    "RestoreResult",
    "StoreNotEmptyError",
    "backup",
    "last_backup",
    "prune",
    "restore",
    "schedule",
]
