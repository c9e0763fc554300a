"""The latency check: one-row predictions within budget, batches fast enough (in-process).

Timing on a shared machine is noisy: another program's burst of work can slow a few calls, or a
whole round of them. So the check times several rounds and judges their **median**: the median of
the rounds' 95th percentiles for single rows, and the median of the rounds' batch throughputs. One
disturbed round, however slow, moves neither; a slow model is slow in most rounds. Rounds stop as
soon as a majority of the planned ones has settled the verdict.
"""

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
        single_rows: One-row predictions timed per round.
        batch_rows: Size of the batch timed once per round.
        rounds: Timing rounds planned; the median over rounds is judged, and timing stops once
            more than half of them agree (at least ``rounds // 2 + 1`` are run).
    """

    name = "latency"
    protects = "a model too slow for the request budget of the application calling it"

    def __init__(
        self,
        p95_ms: float = 100.0,
        min_rows_per_s: float = 1000.0,
        single_rows: int = 20,
        batch_rows: int = 1000,
        rounds: int = 5,
    ):
        self.p95_ms = p95_ms
        self.min_rows_per_s = min_rows_per_s
        self.single_rows = single_rows
        self.batch_rows = batch_rows
        self.rounds = rounds

    @classmethod
    def failing_example(cls) -> tuple[LatencyBudget, CheckContext]:
        """A budget of a microsecond per row, which no model meets."""
        from workbench.checks.builtin._examples import example_context

        return cls(p95_ms=0.001, single_rows=5, batch_rows=50, rounds=1), example_context()

    def run(self, context: CheckContext) -> CheckResult:
        """Time one-row predictions and a batch, round after round; judge the medians."""
        x = context.x
        if not len(x):
            raise CheckError("the eval data has no rows to time.")
        for i in range(3):  # warm-up: first calls pay for caches
            context.predict(x.iloc[[i % len(x)]])
        planned = max(1, self.rounds)
        majority = planned // 2 + 1
        rounds: list[tuple[float, float, float, float, int]] = []
        while len(rounds) < planned:
            rounds.append(self._time(context, x))
            fast = [r[1] <= self.p95_ms for r in rounds]
            flowing = [r[3] >= self.min_rows_per_s for r in rounds]
            if _settled(fast, majority) and _settled(flowing, majority):
                break
        p50, p95, p99, throughput = (float(np.median([r[i] for r in rounds])) for i in range(4))
        per_round = ", ".join(f"{r[1]:.1f}" for r in rounds)
        table = pd.DataFrame(
            [
                {"measure": "single-row p50 (ms), median of rounds", "value": p50},
                {"measure": "single-row p95 (ms), median of rounds", "value": p95},
                {"measure": "single-row p99 (ms), median of rounds", "value": p99},
                {
                    "measure": f"batch of {rounds[0][4]} (rows/s), median of rounds",
                    "value": throughput,
                },
                {"measure": "worst round's p95 (ms)", "value": max(r[1] for r in rounds)},
                {"measure": "timing rounds", "value": float(len(rounds))},
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
        rounds_text = f" (median of {len(rounds)} rounds; p95 per round: {per_round} ms)"
        if problems:
            return self.result(
                "fail",
                p95,
                threshold,
                "; ".join(problems)
                + rounds_text
                + ". Use a smaller model (fewer or shallower trees).",
                table,
            )
        return self.result(
            "pass",
            p95,
            threshold,
            f"p95 {p95:.1f} ms per row; {throughput:,.0f} rows/s in a batch{rounds_text}",
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


def _settled(ok: list[bool], majority: int) -> bool:
    """True when a majority of the planned rounds already agree, so the median cannot change side."""
    return sum(ok) >= majority or len(ok) - sum(ok) >= majority
