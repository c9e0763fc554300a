"""Performance before labels arrive: how close the workbench's estimate comes to the truth.

A random forest is trained and logged on the credit-risk demo table (its calibration table fitted
on the held-out eval rows, as every logged classifier gets). Then, for seven days of each scenario,
``drift_report(reference, batch, model=...)`` runs on labelled batches: the estimate is made from
the model's probabilities alone (``estimated_performance``), the truth from the labels
(``performance``). The naive estimate is the reference metric carried forward (the contract's).

Rows, per scenario: the mean absolute error of the estimate over days and over accuracy,
precision, recall and F1, against the naive estimate's (ratio lower is better):

* ``none``: a stable week (goal: no worse than naive, 1.0);
* ``gradual_shift``: a covariate shift that grows day by day (incomes fall, amounts grow): the
  inputs move and the relation holds, what the estimate is for (goal <= 1.0);
* ``label_shift``: defaults much more common with the same inputs, a concept shift: the estimate
  cannot see it (informational, shown so nobody trusts it there).

A metric the estimate withholds (``withheld``: it says it cannot be believed) has no error to
count; the note says how many were withheld. Coverage of the interval is
``bench_estimation_coverage``'s.

Run alone with ``python -m benchmarks.bench_estimation [--smoke]`` (prints JSON rows).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time

import numpy as np

from benchmarks._common import row

METRICS = ("accuracy", "precision", "recall", "f1")
SCENARIOS = {"none": 1.0, "gradual_shift": 1.0, "label_shift": None}


def _errors(model_uri: str, reference, scenario: str, days: int, n: int) -> dict[str, list]:
    import workbench as wb
    from workbench.data import production_batch

    out: dict[str, list] = {"estimate": [], "naive": [], "per_metric": [], "withheld": []}
    for day in range(1, days + 1):
        batch = production_batch(day, scenario, n=n, seed=11)
        result = wb.drift_report(reference, batch, model=model_uri, build_report=False)
        est, truth, naive = (
            result.estimated_performance,
            result.performance,
            result.reference_performance,
        )
        for metric in METRICS:
            if metric in est and est[metric].get("value") is None:
                out["withheld"].append(metric)  # the estimate says it cannot: no error to count
                continue
            if metric in truth and metric in est and metric in naive:
                out["estimate"].append(abs(est[metric]["value"] - truth[metric]))
                out["naive"].append(abs(naive[metric] - truth[metric]))
                out["per_metric"].append(
                    (
                        metric,
                        abs(est[metric]["value"] - truth[metric]),
                        abs(naive[metric] - truth[metric]),
                    )
                )
    return out


def run(smoke: bool = False) -> list[dict]:
    """Benchmark rows (name, value, unit, baseline, ratio, goal, met)."""
    import workbench as wb
    from workbench.data import credit_risk

    days, n, rows = (2, 400, 1500) if smoke else (7, 1000, 4000)
    out = []
    with tempfile.TemporaryDirectory(prefix="wb-bench-est-") as tmp:
        wb.open_workspace(tmp)
        table = credit_risk(rows, seed=5)
        mv = wb.train_and_log(table, "default", name="bench-estimation", family="random_forest")
        reference = credit_risk(2000, seed=6)
        for scenario, goal in SCENARIOS.items():
            started = time.perf_counter()
            errors = _errors(mv.model_uri, reference, scenario, days, n)
            est, naive = float(np.mean(errors["estimate"])), float(np.mean(errors["naive"]))
            by_metric = {
                m: (
                    np.mean([e for k, e, _ in errors["per_metric"] if k == m]),
                    np.mean([b for k, _, b in errors["per_metric"] if k == m]),
                )
                for m in METRICS
            }
            table_note = "; ".join(f"{m} {e:.3f} vs {b:.3f}" for m, (e, b) in by_metric.items())
            out.append(
                row(
                    f"estimated performance, {scenario}, {days} days x {n} rows: MAE of the "
                    "estimate vs the naive (reference carried forward)",
                    round(est, 4),
                    "MAE",
                    round(naive, 4),
                    f"<= {goal}" if goal else "informational (concept shift: not visible)",
                    (est / naive <= goal) if goal and naive else (True if not goal else None),
                    ratio=round(est / naive, 4) if naive else None,
                    note=f"per metric, estimate vs naive: {table_note}; "
                    f"withheld: {len(errors['withheld'])} metric-days; "
                    f"{time.perf_counter() - started:.1f} s",
                )
            )
    return out


if __name__ == "__main__":
    started = time.perf_counter()
    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
    print(f"# {time.perf_counter() - started:.0f} s", file=sys.stderr)
