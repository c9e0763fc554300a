"""``workbench.log_model`` against MLflow's default ``mlflow.sklearn.log_model`` of the same model.

Two credit-risk pipelines (2,000 rows: 1,500 to train, 500 to evaluate): a logistic regression and a
100-tree random forest. In one temporary workspace (SQLite store), alternating the two sides:

* the workbench: ``wb.log_model(model, name=..., train=..., eval=...)`` end to end: evaluation on
  both sets, params, metrics, lineage, signature, input example, the logged model, a registered
  version and the ``@challenger`` alias;
* the baseline: only the call ``mlflow.sklearn.log_model(model, name="model", input_example=X[:5],
  skops_trusted_types=...)`` inside an already started run (what a user writes; the run's creation
  is not counted, which favours the baseline).

Both sides get one untimed warm-up each. Goal: the workbench >= 20x faster (ratio <= 0.05).
``run(smoke=True)``: 400 rows, only a 10-tree forest, one timed call per side, no warm-up
(the first call pays the imports: smoke figures say the harness works, not how fast).
Run alone with ``python -m benchmarks.bench_log_model [--smoke]`` (prints JSON rows).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time

from benchmarks._common import median, quiet_mlflow, row, timed

GOAL_RATIO = 0.05  # >= 20x faster


def _models(smoke: bool):
    from sklearn.model_selection import train_test_split

    from workbench.data import credit_risk, split_xy
    from workbench.training import build_model, feature_columns

    frame = credit_risk(400 if smoke else 2000, seed=1)
    x, y = split_xy(frame, "default")
    numeric, categorical, _ = feature_columns(x)
    x = x[numeric + categorical]
    x_tr, x_ev, y_tr, y_ev = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    trees = 10 if smoke else 100
    specs = [] if smoke else [("logreg", "logistic_regression", {})]
    specs.append((f"forest{trees}", "random_forest", {"n_estimators": trees}))
    for label, family, params in specs:
        model = build_model(family, "classification", numeric, categorical, params).fit(x_tr, y_tr)
        yield label, model, (x_tr, y_tr), (x_ev, y_ev)


def _trusted(model) -> list[str]:
    """What a user passes to MLflow: the types skops reports for this model."""
    import skops.io

    return skops.io.get_untrusted_types(data=skops.io.dumps(model))


def _mlflow_default(model, x_train, trusted, experiment_id) -> float:
    import mlflow

    with mlflow.start_run(experiment_id=experiment_id):
        seconds, _ = timed(
            lambda: mlflow.sklearn.log_model(
                model, name="model", input_example=x_train[:5], skops_trusted_types=trusted
            )
        )
    return seconds


def _bench_one(label, model, train, evaluation, repeats, warmup, experiment_id):
    import workbench as wb

    trusted = _trusted(model)
    name = f"bench-{label}"

    def ours() -> float:
        return timed(lambda: wb.log_model(model, name=name, train=train, eval=evaluation))[0]

    def theirs() -> float:
        return _mlflow_default(model, train[0], trusted, experiment_id)

    if warmup:
        ours()
        theirs()
    wb_times, ml_times = [], []
    for i in range(repeats):  # alternate who goes first: both sides share the machine's noise
        for side in (ours, theirs) if i % 2 == 0 else (theirs, ours):
            (wb_times if side is ours else ml_times).append(side())
    value, baseline = median(wb_times), median(ml_times)
    ratio = value / baseline
    return [
        row(
            f"log_model {label}: workbench vs mlflow.sklearn.log_model default",
            value,
            "s",
            baseline,
            f"<= {GOAL_RATIO} (>= {1 / GOAL_RATIO:.0f}x faster)",
            ratio <= GOAL_RATIO,
            note=(
                f"{1 / ratio:.1f}x faster; median of {repeats}; workbench "
                f"{', '.join(f'{t:.3f}' for t in wb_times)} s; mlflow "
                f"{', '.join(f'{t:.2f}' for t in ml_times)} s"
            ),
        )
    ]


def run(smoke: bool = False) -> list[dict]:
    """Rows (name, value, unit, baseline, ratio, goal, met) for log_model."""
    quiet_mlflow()
    import workbench as wb

    ws = wb.open_workspace(tempfile.mkdtemp(prefix="wb-bench-log-model-"))
    experiment_id = ws.experiment_id("bench-mlflow-default")
    repeats, warmup = (1, False) if smoke else (5, True)
    rows = []
    for label, model, train, evaluation in _models(smoke):
        rows += _bench_one(label, model, train, evaluation, repeats, warmup, experiment_id)
    return rows


if __name__ == "__main__":
    started = time.perf_counter()
    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
    print(f"# {time.perf_counter() - started:.0f} s", file=sys.stderr)
