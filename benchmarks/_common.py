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
