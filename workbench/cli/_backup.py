"""The ``backup`` and ``restore`` commands (:mod:`workbench.backups`).

``backup`` writes one verified archive of the workspace while it is in use; with ``--every`` it
prints the cron line and systemd timer that run it on a schedule instead. ``restore`` verifies an
archive before it writes anything: exit 0 when the restored store and its audit chains verify,
3 when it restored but the verification found problems (as ``history --verify``), 2 on a damaged
or tampered archive, a store that is not empty (without ``--force``) or a bad argument.
"""

from __future__ import annotations

import argparse

from workbench.cli._conventions import print_json

__all__ = ["backup_arguments", "cmd_backup", "cmd_restore", "restore_arguments"]

EXIT_OK, EXIT_USAGE, EXIT_PROBLEMS = 0, 2, 3


def backup_arguments(p: argparse.ArgumentParser) -> None:
    """The ``backup`` command's arguments."""
    p.add_argument(
        "--out", required=True, metavar="FILE_OR_DIR",
        help="the archive (.tar.gz), or a folder to write workbench-backup-<UTC time>.tar.gz into",
    )  # fmt: skip
    p.add_argument("--keep", type=int, metavar="N", help="then keep only the N newest archives")
    p.add_argument(
        "--every", metavar="PERIOD",
        help="print the cron line and systemd timer that back up every PERIOD (1h..12h, 1d, 1w) "
        "instead of backing up now",
    )  # fmt: skip


def restore_arguments(p: argparse.ArgumentParser) -> None:
    """The ``restore`` command's arguments (the target is the global ``--workspace DIR``)."""
    p.add_argument("archive", help="an archive written by `workbench backup`")
    p.add_argument(
        "--force", action="store_true",
        help="replace a workspace that holds a store (the old one is moved aside, not deleted)",
    )  # fmt: skip
    p.add_argument(
        "--accept-older", action="store_true",
        help="the archive is older than the store you saw (a disaster, the last backup): accept "
        "that the audit entries after it are lost, so the chains verify from it on",
    )  # fmt: skip
    p.set_defaults(opens_workspace=False)  # the target is restored, not opened first


def cmd_backup(args: argparse.Namespace) -> int:
    """Back up the workspace now (or print the schedule with ``--every``)."""
    from workbench.backups import backup, schedule
    from workbench.workspace import current_workspace

    root = current_workspace().root
    if args.every:
        lines = schedule(args.out, keep=args.keep or 7, every=args.every, workspace=root)
        if args.json:
            print_json(args, {"schedule": lines})
        else:
            print(lines)
        return EXIT_OK
    result = backup(args.out, workspace=root, keep=args.keep)
    if args.json:
        print_json(args, result.to_dict())
    else:
        print(result.summary())
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    """Restore an archive into ``--workspace DIR``; 3 when the verification found problems."""
    from workbench.backups import restore
    from workbench.errors import UsageError

    if not args.workspace:
        raise UsageError(
            "name the folder to restore into: workbench --workspace DIR restore ARCHIVE "
            "(a new folder, or an empty one; --force replaces a store, keeping the old aside)."
        )
    result = restore(args.archive, args.workspace, force=args.force, accept_older=args.accept_older)
    code = EXIT_OK if result.intact else EXIT_PROBLEMS
    if args.json:
        print_json(args, {**result.to_dict(), "exit_code": code})
    else:
        print(result.summary())
    return code
