"""The latency check: one-row predictions within budget, batches fast enough (in-process)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from workbench.checks.base import Check, CheckResult
from workbench.checks.context import CheckContext
from workbench.errors import CheckError

__all__ = ["LatencyBudget"]


class LatencyBudget(Check):
    """Single-row predictions are fast enough (p95, in-process, as served) and batches flow.

    Args:
        p95_ms: Budget for the 95th percentile of one-row predictions, in milliseconds.
        min_rows_per_s: Smallest acceptable batch throughput.
        single_rows: How many one-row predictions to time.
        batch_rows: Size of the timed batch.
        attempts: Timing rounds at most: a round over budget is timed again and the best round
            counts, so a burst of load from other programs does not fail a fast model. A slow
            model is over budget in every round.
    """

    name = "latency"
    protects = "a model too slow for the request budget of the application calling it"

    def __init__(
        self,
        p95_ms: float = 100.0,
        min_rows_per_s: float = 1000.0,
        single_rows: int = 40,
        batch_rows: int = 1000,
        attempts: int = 3,
    ):
        self.p95_ms = p95_ms
        self.min_rows_per_s = min_rows_per_s
        self.single_rows = single_rows
        self.batch_rows = batch_rows
        self.attempts = attempts

    @classmethod
    def failing_example(cls) -> tuple[LatencyBudget, CheckContext]:
        """A budget of a microsecond per row, which no model meets."""
        from workbench.checks.builtin._examples import example_context

        return cls(p95_ms=0.001, single_rows=5, batch_rows=50, attempts=1), example_context()

    def run(self, context: CheckContext) -> CheckResult:
        """Time one-row predictions and a batch, in rounds; the best round counts."""
        x = context.x
        if not len(x):
            raise CheckError("the eval data has no rows to time.")
        for i in range(3):  # warm-up: first calls pay for caches
            context.predict(x.iloc[[i % len(x)]])
        rounds: list[tuple[float, float, float, float, int]] = []
        while len(rounds) < max(1, self.attempts):
            rounds.append(self._time(context, x))
            fastest = min(r[1] for r in rounds)
            if fastest <= self.p95_ms and max(r[3] for r in rounds) >= self.min_rows_per_s:
                break
        p50, p95, p99, _, rows = min(rounds, key=lambda r: r[1])
        throughput = max(r[3] for r in rounds)
        table = pd.DataFrame(
            [
                {"measure": "single-row p50 (ms)", "value": p50},
                {"measure": "single-row p95 (ms)", "value": p95},
                {"measure": "single-row p99 (ms)", "value": p99},
                {"measure": f"batch of {rows} (rows/s)", "value": throughput},
                {"measure": "timing rounds (best counts)", "value": float(len(rounds))},
            ]
        )
        problems = []
        if p95 > self.p95_ms:
            problems.append(f"p95 {p95:.1f} ms is over the {self.p95_ms:g} ms budget")
        if throughput < self.min_rows_per_s:
            problems.append(
                f"batch throughput {throughput:,.0f} rows/s is under {self.min_rows_per_s:,.0f}"
            )
        threshold = f"p95 <= {self.p95_ms:g} ms, >= {self.min_rows_per_s:,.0f} rows/s"
        if problems:
            return self.result(
                "fail",
                p95,
                threshold,
                "; ".join(problems) + ". Use a smaller model (fewer or shallower trees).",
                table,
            )
        return self.result(
            "pass",
            p95,
            threshold,
            f"p95 {p95:.1f} ms per row; {throughput:,.0f} rows/s in a batch",
            table,
        )

    def _time(self, context: CheckContext, x: pd.DataFrame):
        """One timing round: single-row percentiles (ms) and batch throughput (rows/s)."""
        times = []
        for i in range(self.single_rows):
            row = x.iloc[[i % len(x)]]
            started = time.perf_counter()
            context.predict(row)
            times.append((time.perf_counter() - started) * 1000)
        batch = x.head(self.batch_rows)
        started = time.perf_counter()
        context.predict(batch)
        throughput = len(batch) / max(time.perf_counter() - started, 1e-9)
        p50, p95, p99 = np.percentile(times, [50, 95, 99])
        return float(p50), float(p95), float(p99), throughput, len(batch)
