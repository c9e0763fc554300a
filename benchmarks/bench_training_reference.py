"""The training table as the drift reference: how often clean batches alarm.

A random forest (60 trees, credit risk, 4,000 training rows, 2,000 held-out eval rows) is logged
in a temporary workspace; its training table is then used as the monitoring reference, as a user
who follows "compare with what the model was trained on" would. Each clean batch (1,000 rows from
the same distribution, ``production_batch(..., "none")``) is judged by ``drift_report(train,
batch, model=...)``: the workbench finds the overlap from the row hashes the version kept and
compares the prediction column with the model's held-out predictions.

Rows: the share of clean batches that alarm (any column) and that alarm on the prediction, with
the training table as reference (goal <= 0.05), beside the naive rule the workbench used before:
the prediction column compared with the forest's predictions on its own training rows (baseline).
``run(smoke=True)`` judges 4 batches. Run alone with ``python -m benchmarks.bench_training_reference``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time

from benchmarks._common import quiet_mlflow, row

FEATURES = ["age", "income", "loan_amount", "loan_term_months", "credit_history_years",
            "num_late_payments"]  # fmt: skip
GOAL = 0.05


def run(smoke: bool = False) -> list[dict]:
    """Rows: clean-batch alarm rates with the training table as reference."""
    quiet_mlflow()
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    import workbench as wb
    from workbench.data import credit_risk, production_batch, split_xy
    from workbench.monitoring.statistics import column_verdicts

    batches = 4 if smoke else 40
    wb.open_workspace(tempfile.mkdtemp(prefix="wb-bench-trainref-"))
    train = credit_risk(4000, seed=7)[[*FEATURES, "default"]]
    held = credit_risk(2000, seed=8)[[*FEATURES, "default"]]
    x, y = split_xy(train, "default")
    model = make_pipeline(SimpleImputer(), RandomForestClassifier(n_estimators=60, random_state=0))
    model.fit(x, y)
    mv = wb.log_model(model, name="bench-trainref", train=(x, y), eval=split_xy(held, "default"))
    train_pred = train.assign(prediction=model.predict(train[FEATURES]))
    any_alarm = prediction_alarm = naive_alarm = 0
    for i in range(batches):
        batch = production_batch(1 + i % 7, "none", n=1000, seed=100 + i)[[*FEATURES, "default"]]
        result = wb.drift_report(train, batch, model=mv.model_uri, build_report=False)
        any_alarm += bool(result.drift_detected)
        prediction_alarm += any(c.drifted for c in result.columns if c.column == "prediction")
        batch_pred = batch.assign(prediction=model.predict(batch[FEATURES]))
        naive = column_verdicts(train_pred, batch_pred, {"prediction": "categorical"})
        naive_alarm += bool(naive[0].drifted)
    rate, pred_rate, naive_rate = (v / batches for v in (any_alarm, prediction_alarm, naive_alarm))
    judged = None if smoke else True
    note = f"{batches} clean batches of 1,000 rows; reference: the 4,000 training rows"
    return [
        row("training table as reference: clean batches alarming (any column)", rate, "share",
            naive_rate, GOAL, None if judged is None else rate <= GOAL, note=note),
        row("training table as reference: clean batches alarming on the prediction", pred_rate,
            "share", naive_rate, GOAL, None if judged is None else pred_rate <= GOAL,
            note="baseline: the prediction compared with predictions on the training rows"),
    ]  # fmt: skip


if __name__ == "__main__":
    started = time.perf_counter()
    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
    print(f"# {time.perf_counter() - started:.0f} s", file=sys.stderr)
