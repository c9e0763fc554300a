"""Demo monitoring: the demo tables, the two tables a notebook run compares, and a simulated week in
production (one drift report a day, logged, then the retrain policy)."""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from workbench._core.progress import Progress, as_progress
from workbench.monitoring.report import drift_report
from workbench.monitoring.result import DriftResult
from workbench.monitoring.retrain import RetrainDecision, apply_retrain_policy

__all__ = ["WeekSimulation", "batches", "demo_data", "simulate_week"]


def demo_data(
    day: int = 1, scenario: str = "none", n: int = 1000, reference_rows: int = 5000
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo reference (the credit-risk table notebook 01 trains on) and production day ``day``
    of ``scenario`` (see :data:`workbench.data.SCENARIOS`).

    Example:
        >>> ref, cur = demo_data(2, "gradual_shift", n=100, reference_rows=200)
        >>> len(ref), len(cur)
        (200, 100)
    """
    from workbench.data import credit_risk, production_batch

    return credit_risk(reference_rows), production_batch(day, scenario, n=n)


def batches(
    reference: str | os.PathLike | None = None,
    current: str | os.PathLike | None = None,
    day: int = 3,
    scenario: str = "gradual_shift",
    engine: str = "pandas",
    traffic: str | None = None,
    since: str | None = "24h",
    master: str | None = None,
) -> tuple[Any, Any, dict[str, str]]:
    """The two tables to compare and their identifiers: the files when given (passed on as paths:
    :func:`~workbench.monitoring.drift_report` reads them with the model's column kinds, or Spark
    where they live), the served traffic of model ``traffic`` since ``since`` as the current batch
    (:func:`~workbench.monitoring.traffic.traffic_batch`), else the demo reference and demo
    production day ``day`` of ``scenario``. With ``engine="spark"`` the traffic is read on Spark
    (``master``: where it runs).

    Raises:
        DataError: ``traffic`` names a model whose log holds no request in the window.
    """
    demo_ref, demo_cur = (None, None)
    if reference is None or (current is None and not traffic):
        demo_ref, demo_cur = demo_data(day, scenario)
    ref = reference if reference is not None else demo_ref
    if traffic:
        from workbench.monitoring.traffic import traffic_batch

        cur = traffic_batch(traffic, since=since, engine=engine, master=master)
        where = f"traffic of {traffic}" + (f" since {since}" if since else "")
    else:
        cur = current if current is not None else demo_cur
        where = str(current) if current is not None else f"demo day {day} ({scenario})"
    ids = {
        "reference": str(reference) if reference is not None else "demo reference",
        "current": where,
    }
    return ref, cur, ids


@dataclass
class WeekSimulation:
    """Seven (or ``days``) monitoring runs over production batches, and the policy's decision.

    Attributes:
        scenario: The scenario (``none then gradual_shift`` for one scenario per day).
        results: One drift result per day.
        decision: The retrain policy's decision (None when nothing was logged or no model given).
        batches: The production batches, with their labels.

    Example:
        >>> week = WeekSimulation("none", results=[])
        >>> week.to_dict()
        {'scenario': 'none', 'days': [], 'decision': None}
    """

    scenario: str
    results: list[DriftResult]
    decision: RetrainDecision | None = None
    batches: list[pd.DataFrame] = field(default_factory=list, repr=False)

    def save_batches(self, path: str | os.PathLike, last: int | None = None) -> str:
        """Write the production batches (with their labels) to one CSV, e.g. to retrain on them.

        Args:
            path: The CSV file to write.
            last: Only the last ``last`` days; all of them by default.
        """
        chosen = self.batches[-last:] if last else self.batches
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        pd.concat(chosen, ignore_index=True).to_csv(target, index=False)
        return str(target)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        return {
            "scenario": self.scenario,
            "days": [r.to_dict() for r in self.results],
            "decision": self.decision.to_dict() if self.decision else None,
        }

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{day}</td><td>{r.status}</td><td>{r.share:.0%}</td>"
            f"<td>{html.escape(', '.join(c.column for c in r.drifted_columns) or '-')}</td></tr>"
            for day, r in enumerate(self.results, start=1)
        )
        decision = self.decision._repr_html_() if self.decision else ""
        return (
            f"<div class='wb-week'><b>A week in production: {html.escape(self.scenario)}</b>"
            "<table><tr><th>day</th><th>status</th><th>drifted share</th><th>drifted</th></tr>"
            f"{rows}</table>{decision}</div>"
        )


def simulate_week(
    scenario: str | Sequence[str] = "gradual_shift",
    model: str | None = None,
    days: int = 7,
    n: int = 1000,
    reference: pd.DataFrame | None = None,
    target: str | None = "default",
    log: bool = True,
    k: int = 2,
    window: int = 3,
    progress: Progress | None = None,
) -> WeekSimulation:
    """Monitor ``days`` demo production batches of ``scenario`` one after the other, as a nightly
    schedule would, log each run, then apply the retrain policy (``k`` of the last ``window``).

    ``scenario`` may also be a list with one scenario per day (``["none", "none",
    "gradual_shift", ...]``): drift then appears on the day it starts. Invalid batches
    (``null_surge``) are logged as invalid, not as "no drift".

    Args:
        scenario: A scenario of :data:`workbench.data.SCENARIOS`, or one per day.
        model: A model URI to score the batches with (None: data drift only, no policy).
        days: Days to simulate (with one scenario).
        n: Rows per day.
        reference: The reference table (default: the demo training data).
        target: The label column.
        log: Log each day to MLflow (the policy needs the logged runs).
        k: Drifted days needed to ask for retraining...
        window: ... among the last ``window`` days.
        progress: ``progress(step, fraction)`` callback.
    """
    from workbench.data import credit_risk, production_batch

    step = as_progress(progress)
    per_day = [scenario] * days if isinstance(scenario, str) else list(scenario)
    days = len(per_day)
    label = scenario if isinstance(scenario, str) else " then ".join(dict.fromkeys(per_day))
    ref = reference if reference is not None else credit_risk(5000)
    results, produced = [], []
    for day, today in enumerate(per_day, start=1):
        step(f"day {day} of {days}", (day - 1) / days)
        batch = production_batch(day, today, n=n)
        produced.append(batch)
        result = drift_report(
            ref,
            batch,
            model=model,
            target=target,
            on_invalid="return",
            build_report=False,
            data_ids={"current": f"demo day {day} ({today})", "reference": "demo reference"},
        )
        if log:
            result.log()
        results.append(result)
    decision = apply_retrain_policy(model, k=k, n=window) if (model and log) else None
    step("done", 1.0)
    return WeekSimulation(label, results, decision, produced)
