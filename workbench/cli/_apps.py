"""The ``lab`` and ``dashboard`` commands: apps on 127.0.0.1 that run until Ctrl-C
(:mod:`workbench.apps`). They report nothing, so they take no ``--json``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

__all__ = ["cmd_dashboard", "cmd_lab", "dashboard_arguments", "lab_arguments"]


def lab_arguments(p: argparse.ArgumentParser) -> None:
    """The ``lab`` command's arguments."""
    p.add_argument("--port", type=int, default=8888, help="JupyterLab's port (default 8888)")
    p.add_argument("--mlflow-port", type=int, default=5000, help="the MLflow UI's (5000)")
    p.add_argument("--no-mlflow", action="store_true", help="do not start the MLflow UI")


def dashboard_arguments(p: argparse.ArgumentParser) -> None:
    """The ``dashboard`` command's arguments."""
    p.add_argument("--port", type=int, default=8866, help="the dashboard's port (default 8866)")
    p.add_argument(
        "--mlflow-port", type=int, default=5000, help="the MLflow UI's, when none runs (5000)"
    )
    p.add_argument("--no-mlflow", action="store_true", help="do not start the MLflow UI")


def cmd_lab(args: argparse.Namespace) -> int:
    """JupyterLab, and the MLflow UI unless the workspace is a team's; until Ctrl-C."""
    from workbench.apps import start_lab, start_mlflow_ui
    from workbench.workspace import current_workspace

    ws = current_workspace()
    starts = [lambda: start_lab(port=args.port)]
    if ws.shared:  # a team's tracking server has its own UI
        print(f"MLflow UI: {ws.ui_command()}", flush=True)
    elif not args.no_mlflow:
        starts.append(lambda: start_mlflow_ui(port=args.mlflow_port))
    return _run_together(starts)


def cmd_dashboard(args: argparse.Namespace) -> int:
    """The monitoring dashboard as a Voila app, with the MLflow UI its links open: the one that
    runs on the workspace already (``workbench lab``'s), else one started beside it; until
    Ctrl-C."""
    from workbench.apps import start_dashboard, start_mlflow_ui
    from workbench.workspace import UI_FILE, current_workspace, running_ui

    ws = current_workspace()
    starts = []
    running = None if ws.shared else running_ui(ws.root / "mlruns" / UI_FILE)
    if ws.shared or running or args.no_mlflow:
        print(f"MLflow UI: {ws.ui_base()}", flush=True)
    else:  # before the dashboard, so its links point at this UI's port
        starts.append(lambda: start_mlflow_ui(ws, port=args.mlflow_port))
    starts.append(lambda: start_dashboard(port=args.port))
    return _run_together(starts)


def _run_together(starts: list[Callable[[], Any]]) -> int:
    """Start each app in turn (a failure stops those started), say where each answers, then wait
    for Ctrl-C and stop them all."""
    from workbench.apps import stop_all, wait_forever

    apps = []
    try:
        for start in starts:
            apps.append(start())
    except BaseException:
        stop_all(apps)
        raise
    for app in apps:
        print(f"{app.name}: {app.url}", flush=True)
    print("Ctrl-C stops them all.", flush=True)
    return wait_forever(apps)
