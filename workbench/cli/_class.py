"""The ``class`` command: ``workbench class up|dashboard`` around :mod:`workbench.lesson.roster`.

``up`` makes a workspace per learner: on the workspace's team server (``workbench team up``
first) one login each, or with ``--local`` one folder each under ``--root`` (default ``./class``);
it prints the sheet to hand out (new passwords shown once) and, with ``--json``, the roster
(never a password). Running it again keeps every learner and adds the new ones. ``dashboard``
opens the instructor's view of a class (Ctrl-C stops it).
"""

from __future__ import annotations

import argparse

from workbench.cli._conventions import print_json

__all__ = ["class_arguments", "cmd_class"]

EXIT_OK = 0


def class_arguments(p: argparse.ArgumentParser) -> None:
    """The ``class`` command's arguments."""
    p.add_argument(
        "action",
        choices=["up", "dashboard"],
        help="`up`: a workspace per learner; `dashboard`: the instructor's view of the class",
    )
    p.add_argument(
        "--learners", type=int, metavar="N", help="up: how many learners (learner-01 ...)"
    )
    p.add_argument("--names", help="up: the learners' names, comma-separated (instead of N)")
    p.add_argument(
        "--local",
        action="store_true",
        help="up: one folder per learner on this machine instead of logins on the team server",
    )
    p.add_argument(
        "--root", metavar="DIR", help="a local class's folder (default ./class; with --local)"
    )
    p.add_argument(
        "--class-file", metavar="F", help="dashboard: the class's class.json (instead of --root)"
    )
    p.add_argument("--port", type=int, help="dashboard: its port on 127.0.0.1 (default: free)")
    p.set_defaults(opens_workspace=False)  # a local class opens no workspace of its own


def cmd_class(args: argparse.Namespace) -> int:
    """Run ``class up`` or ``class dashboard``."""
    from workbench.errors import UsageError

    if args.action == "dashboard":
        return _dashboard(args)
    if args.class_file or args.port is not None:
        raise UsageError("--class-file and --port are for `workbench class dashboard`")
    if args.root and not args.local:
        raise UsageError("--root DIR is a local class's folder: add --local")
    learners = _learners(args)
    from workbench.lesson.roster import class_up

    room = class_up(
        learners,
        local=args.local,
        root=args.root,
        workspace=None if args.local else _workspace(args),
    )
    if args.json:
        print_json(args, room.to_dict())
    else:
        print(room.sheet())
    return EXIT_OK


def _learners(args: argparse.Namespace) -> int | list[str]:
    from workbench.errors import UsageError

    if args.names is not None:
        names = [n.strip() for n in args.names.split(",") if n.strip()]
        if args.learners is not None and args.learners != len(names):
            raise UsageError(
                f"--learners {args.learners} but --names lists {len(names)}: give one of them"
            )
        return names
    if args.learners is None:
        raise UsageError("class up needs --learners N or --names a,b,c")
    return args.learners


def _workspace(args: argparse.Namespace):
    from workbench.workspace import find_root

    return args.workspace or find_root()


def _dashboard(args: argparse.Namespace) -> int:
    from pathlib import Path

    from workbench.errors import UsageError
    from workbench.lesson.roster import CLASS_FILE, load_class

    if args.learners is not None or args.names is not None or args.local:
        raise UsageError("--learners, --names and --local are for `workbench class up`")
    if args.class_file and args.root:
        raise UsageError("give --class-file F or --root DIR, not both")
    if args.class_file:
        source = Path(args.class_file)
    elif args.root:
        source = Path(args.root)
    else:  # a local class in ./class, else the team class of the workspace
        local = Path("class") / CLASS_FILE
        source = local if local.exists() else Path(_workspace(args))
    room = load_class(source)  # a clear error when there is no class there
    import workbench.apps as apps

    start = getattr(apps, "start_class_dashboard", None)
    if start is None:
        from workbench.errors import WorkbenchError

        raise WorkbenchError(
            "this version of the workbench has no class dashboard yet "
            f"(workbench.apps.start_class_dashboard); the roster is {room.class_file}."
        )
    from workbench.workspace import open_workspace

    open_workspace(args.workspace)  # the dashboard's notebook runs on the open workspace
    app = start(room.class_file, port=args.port)
    print(f"{app.name}: {app.url}", flush=True)
    print("Ctrl-C stops it.", flush=True)
    return apps.wait_forever([app])
