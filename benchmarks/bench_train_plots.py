"""What the evaluation plots add to stage 1 (``wb.train_and_log``), in one process:

* the workbench: ``train_and_log(..., plots=True)`` (the default): fit, ``log_model``, then the
  ROC / precision-recall / confusion-matrix figures and permutation importance on the held-out
  rows, saved as ``plots/`` with the run (one folder upload);
* the baseline: the same call with ``plots=False`` (fit and ``log_model`` only).

Goal: ratio <= 2.0 (the plots cost no more than the training and logging they illustrate). The
two sides alternate, several repetitions, medians; the load is printed in the note.

Run alone with ``python -m benchmarks.bench_train_plots [--smoke]`` (prints JSON rows).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

from benchmarks._common import median, quiet_mlflow, row, timed

GOAL_RATIO = 2.0


def run(smoke: bool = False) -> list[dict]:
    """Rows (name, value, unit, baseline, ratio, goal, met) for the stage-1 plots."""
    quiet_mlflow()
    import workbench as wb
    from workbench.data import credit_risk

    wb.open_workspace(tempfile.mkdtemp(prefix="wb-bench-train-plots-"))
    rows, trees, repeats = (800, 30, 2) if smoke else (2000, 100, 5)
    frame = credit_risk(rows, seed=1)
    params = {"n_estimators": trees}

    def train(plots: bool) -> float:
        return timed(
            lambda: wb.train_and_log(
                frame, "default", name="bench-plots", params=params, plots=plots, progress=None
            )
        )[0]

    train(True)  # warm up imports (plotly, sklearn.metrics) and the store, untimed
    ours, theirs = [], []
    for i in range(repeats):  # alternate who goes first: both share the machine's noise
        for plots in (True, False) if i % 2 == 0 else (False, True):
            (ours if plots else theirs).append(train(plots))
    value, baseline = median(ours), median(theirs)
    load = os.getloadavg()[0]
    return [
        row(
            f"train_and_log forest{trees} on {rows} rows: with plots vs plots=False",
            value,
            "s",
            baseline,
            f"<= {GOAL_RATIO} (plots cost no more than training + logging)",
            value / baseline <= GOAL_RATIO,
            note=(
                f"plots add {value - baseline:.3f} s; median of {repeats}; with "
                f"{', '.join(f'{t:.3f}' for t in ours)} s; without "
                f"{', '.join(f'{t:.3f}' for t in theirs)} s; load {load:.2f}"
            ),
        )
    ]


if __name__ == "__main__":
    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
