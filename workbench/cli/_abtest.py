"""The ``abtest`` command: champion against challenger on the logged traffic of a served
experiment (:mod:`workbench.monitoring.abtest`). Exit code 3 when the challenger is worse."""

from __future__ import annotations

import argparse

from workbench.cli._conventions import print_json

__all__ = ["abtest_arguments", "cmd_abtest"]


def abtest_arguments(p: argparse.ArgumentParser) -> None:
    """The ``abtest`` command's arguments."""
    p.add_argument("name", help="the model's name (its inference log) or a models:/ URI")
    p.add_argument("--since", default="7d", help="the window: 7d, 24h, 90m, 2w (default 7d)")
    p.add_argument("--log-dir", metavar="DIR", help="the inference log (default: the workspace's)")
    p.add_argument("--alpha", type=float, default=0.05, help="error rate of the verdict (0.05)")
    p.add_argument(
        "--margin", type=float, default=0.0, help="the loss 'not worse' tolerates (default 0)"
    )
    p.add_argument(
        "--min-effect", type=float, metavar="DIFF",
        help="the smallest difference worth telling (counts the labels still needed)",
    )  # fmt: skip
    p.add_argument(
        "--no-record", action="store_true", help="do not log the verdict to MLflow (the gate)"
    )
    p.add_argument("--by", help="who records it (default: you)")


def cmd_abtest(args: argparse.Namespace) -> int:
    """Compare the arms, print the verdict; 3 when the challenger is worse."""
    from workbench.monitoring.abtest import abtest

    result = abtest(
        args.name, args.since, folder=args.log_dir, alpha=args.alpha, margin=args.margin,
        min_effect=args.min_effect, record=not args.no_record, by=args.by,
    )  # fmt: skip
    if args.json:
        print_json(args, {**result.to_dict(), "exit_code": result.exit_code})
    else:
        print(result.summary())
    return result.exit_code
