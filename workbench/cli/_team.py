"""The ``team`` command: ``workbench team up|down|status`` around :mod:`workbench.team`.

``up`` starts a private PostgreSQL and MLflow's authenticated tracking server on 127.0.0.1 (or says
they already run) and prints how each person logs in; ``status`` says what runs where; ``down``
stops both and keeps the data. ``--json`` prints the machine-readable state (never a password).
"""

from __future__ import annotations

import argparse
import json

__all__ = ["cmd_team", "team_arguments"]


def team_arguments(p: argparse.ArgumentParser) -> None:
    """The ``team`` command's arguments."""
    p.add_argument("action", choices=["up", "down", "status"], help="start, stop or show it")
    p.add_argument("--port", type=int, help="the MLflow server's port (default: a free one)")
    p.add_argument("--json", action="store_true")


def cmd_team(args: argparse.Namespace) -> int:
    """Run ``team up|down|status`` on the open workspace."""
    from workbench.team import team_down, team_status, team_up
    from workbench.workspace import current_workspace

    root = current_workspace().root
    if args.action == "up":
        server = team_up(root, port=args.port)
        text = server.login_text()
    elif args.action == "down":
        server = team_down(root)
        text = server.summary()
    else:
        server = team_status(root)
        text = server.summary()
    print(json.dumps(server.to_dict(), indent=2, default=str) if args.json else text)
    return 0
