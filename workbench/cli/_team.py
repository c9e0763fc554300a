"""The ``team`` command: ``workbench team up|down|status|policy`` around :mod:`workbench.team`.

``up`` starts a private PostgreSQL and MLflow's authenticated tracking server on 127.0.0.1 (or says
they already run) and prints how each person logs in; ``status`` says what runs where; ``down``
stops both and keeps the data; ``policy`` shows the server's gate policy or, as its admin, sets
approvers, protected aliases and bars. ``--json`` prints the machine-readable state (never a password).
"""

from __future__ import annotations

import argparse

from workbench.cli._conventions import print_json

__all__ = ["cmd_team", "team_arguments"]


def team_arguments(p: argparse.ArgumentParser) -> None:
    """The ``team`` command's arguments."""
    p.add_argument(
        "action",
        choices=["up", "down", "status", "policy"],
        help="start, stop or show it; `policy` shows or (as admin) sets the server's policy",
    )
    p.add_argument("--port", type=int, help="the MLflow server's port (default: a free one)")
    p.add_argument(
        "--pg-port",
        type=int,
        help="PostgreSQL's port on 127.0.0.1 (default: the last one used, else a free one)",
    )
    p.add_argument(
        "--approvers", help="policy: who may promote and roll back, comma-separated ('' = anyone)"
    )
    p.add_argument("--protect", help="policy: aliases only the gate moves, comma-separated")
    p.add_argument("--gate-policy", help="policy: a gate_policy.json the server adopts")
    p.add_argument(
        "--check-timeout", type=float, help="policy: seconds a server-run suite may take"
    )


def cmd_team(args: argparse.Namespace) -> int:
    """Run ``team up|down|status`` on the open workspace."""
    from workbench.team import team_down, team_status, team_up
    from workbench.workspace import current_workspace

    root = current_workspace().root
    if args.action == "policy":
        return _policy(root, args)
    if args.action == "up":
        server = team_up(root, port=args.port, pg_port=args.pg_port)
        text = server.login_text()
    elif args.action == "down":
        server = team_down(root)
        text = server.summary()
    else:
        server = team_status(root)
        text = server.summary()
    if args.json:
        print_json(args, server.to_dict())
    else:
        print(text)
    return 0


def _policy(root, args: argparse.Namespace) -> int:
    from workbench.team.policy import team_policy

    def names(text: str | None) -> list[str] | None:
        return None if text is None else [n.strip() for n in text.split(",") if n.strip()]

    held = team_policy(
        root,
        approvers=names(args.approvers),
        protected_aliases=names(args.protect),
        gate_policy_file=args.gate_policy,
        check_timeout=args.check_timeout,
    )
    if args.json:
        print_json(args, held)
        return 0
    policy, settings = held.get("policy") or {}, held.get("settings") or {}
    print(
        f"team policy {policy.get('hash')}: approvers {', '.join(policy.get('approvers') or []) or 'anyone with EDIT on the model'}; protected aliases @{', @'.join(settings.get('protected_aliases') or ['champion'])}"
    )
    for task, bars in (policy.get("thresholds") or {}).items():
        print(f"  {task}: " + ", ".join(f"{m} {v}" for m, v in bars.items()))
    return 0
