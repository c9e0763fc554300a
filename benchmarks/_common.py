"""Small helpers the benchmark modules share: rows, medians, timing, the run's deadline."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

#: Unix time by which the whole run must be over; the runner exports it to every module.
DEADLINE_ENV = "WORKBENCH_BENCH_DEADLINE"


def row(
    name: str,
    value: float | None,
    unit: str,
    baseline: float | None,
    goal: Any,
    met: bool | None,
    *,
    ratio: float | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """One figure. ``ratio`` defaults to ``value / baseline`` (lower is better for times)."""
    if ratio is None and value is not None and baseline:
        ratio = round(value / baseline, 4)
    out = {
        "name": name,
        "value": None if value is None else round(float(value), 4),
        "unit": unit,
        "baseline": None if baseline is None else round(float(baseline), 4),
        "ratio": ratio,
        "goal": goal,
        "met": met if met is None else bool(met),
    }
    if note:
        out["note"] = note
    return out


def not_available(name: str, reason: str, goal: Any = None) -> dict[str, Any]:
    """A figure that could not be measured, and why."""
    return row(name, None, "", None, goal, None, note=f"not available: {reason}")


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall seconds of ``fn()`` and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def seconds_left(default: float) -> float:
    """Seconds until the run's deadline (``default`` when run alone)."""
    deadline = os.environ.get(DEADLINE_ENV)
    if not deadline:
        return default
    return max(0.0, float(deadline) - time.time())


def quiet_mlflow() -> None:
    """Keep MLflow's INFO lines and warnings out of the benchmark's output."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    for name in ("mlflow", "alembic", "skops"):
        logging.getLogger(name).setLevel(logging.ERROR)


def clean_env() -> dict[str, str]:
    """The user's environment for a measured child: without a tracking server or workspace of
    theirs, no telemetry."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "WORKBENCH_WORKSPACE")
    }
    env.update(DO_NOT_TRACK="true", MLFLOW_DISABLE_TELEMETRY="true")
    return env


def store_uri(ws: str | os.PathLike) -> str:
    """A workspace's own store, as :func:`workbench.open_workspace` names it (for plain scripts
    that read the same registry)."""
    from pathlib import Path

    return f"sqlite:///{Path(ws).resolve() / 'mlruns' / 'mlflow.db'}"


def check_exit(proc: Any, what: str) -> None:
    """Raise ``RuntimeError`` with the last lines of a child that exited non-zero."""
    if proc.returncode != 0:
        tail = " | ".join((proc.stderr or proc.stdout or "").strip().splitlines()[-3:])
        raise RuntimeError(f"{what} exited {proc.returncode}: {tail}")


def register_champion(ws: str | os.PathLike, env: dict[str, str], timeout: float) -> None:
    """The demo model (the default family, 5,000 rows) registered as ``credit-risk@champion`` in
    workspace ``ws``, by a child process (the benchmark's own process stays unloaded)."""
    import subprocess
    import sys

    code = (
        "import sys, workbench as wb\n"
        "from workbench.data import credit_risk\n"
        "wb.open_workspace(sys.argv[1])\n"
        "wb.train_and_log(credit_risk(5000, seed=1), 'default', name='credit-risk', "
        "alias='champion')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(ws)], env=env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
    check_exit(proc, "training")
