"""``workbench monitor --plan PLAN.yaml [-j N]``: the nightly fleet (:func:`workbench.fleet.monitor_plan`).

A line per job on stderr as it is recorded (``[3/20] credit-risk: DRIFT in income (exit 3, 1.2 s)``),
then the table on stdout, or with ``--json`` the whole :class:`~workbench.monitoring.nightly.
FleetResult` as JSON. The exit code is the worst job's (1 failed > 2 invalid > 3 drift > 0); a plan
that cannot be read exits 2 before any job runs.
"""

from __future__ import annotations

import argparse
import sys

from workbench.cli._conventions import print_json

__all__ = ["cmd_plan"]

#: ``monitor`` options that describe one batch: a plan's jobs say these themselves.
_ONE_BATCH = ("reference", "current", "traffic", "model", "target", "ignore")


def cmd_plan(args: argparse.Namespace) -> int:
    """Run the plan's jobs; print each as it is recorded, then all of them."""
    from workbench.errors import UsageError
    from workbench.fleet import monitor_plan

    given = [f"--{name}" for name in _ONE_BATCH if getattr(args, name, None)]
    if given:
        raise UsageError(
            f"--plan takes each job's data from the plan: drop {', '.join(given)} (or set them "
            "in the plan's jobs or defaults)."
        )
    if getattr(args, "engine", "pandas") not in (None, "pandas"):
        raise UsageError("--plan runs its jobs on pandas; run a Spark job with its own command.")
    if args.drift_share:
        raise UsageError("--plan: set drift_share in the plan's jobs or defaults.")

    def shown(outcome, done: int, total: int) -> None:
        print(f"[{done}/{total}] {outcome.text()}", file=sys.stderr, flush=True)
        for note in outcome.notifications:
            if not note.get("delivered"):
                print(f"  warning: alert not delivered to {note.get('target')}: "
                      f"{note.get('reason')}", file=sys.stderr)  # fmt: skip

    result = monitor_plan(
        args.plan,
        workers=args.jobs,
        notify=tuple(args.notify or ()),
        notify_always=args.notify_always,
        fail_on_drift=args.fail_on_drift,
        out=args.out,
        timeout=args.timeout,
        progress=shown,
    )
    if args.json:
        print_json(args, result.to_dict())
    else:
        print(result.text().splitlines()[-1])
        print(f"summary: {result.folder}/{result.FILE_NAME}")
    return result.exit_code
