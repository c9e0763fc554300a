"""The training table as the reference (issue 24, part 5): predictions on rows the model learned are
no reference for its predictions on new rows. Monitoring finds the overlap from the row hashes the
version kept and compares the prediction column with the model's held-out predictions instead, so
clean batches stop alarming; a version logged without eval data gets the prediction left untested,
said in a note."""

from __future__ import annotations

import pytest

import workbench as wb
from workbench.data import credit_risk, production_batch, split_xy

FEATURES = ["age", "income", "loan_amount", "loan_term_months", "credit_history_years",
            "num_late_payments"]  # fmt: skip


def _forest():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    return make_pipeline(SimpleImputer(), RandomForestClassifier(n_estimators=60, random_state=0))


@pytest.fixture
def tables():
    train = credit_risk(4000, seed=7)[[*FEATURES, "default"]]
    held = credit_risk(2000, seed=8)[[*FEATURES, "default"]]
    return train, held


def test_clean_batches_do_not_alarm_on_the_prediction_with_the_training_table(tables, tmp_path):
    wb.open_workspace(tmp_path / "ws")
    train, held = tables
    x, y = split_xy(train, "default")
    model = _forest().fit(x, y)
    mv = wb.log_model(model, name="overfit", train=(x, y), eval=split_xy(held, "default"))
    alarms, notes = 0, set()
    for day in range(1, 7):
        batch = production_batch(day, "none", n=1000, seed=3)[[*FEATURES, "default"]]
        result = wb.drift_report(train, batch, model=mv.model_uri, build_report=False)
        verdict = {c.column: c.drifted for c in result.columns}
        alarms += bool(verdict["prediction"])
        notes.update(n for n in result.notes if "trained on" in n)
    assert alarms <= 1, alarms  # the forest's predictions on its own rows would alarm every day
    assert any("held-out eval rows" in n for n in notes), notes
    # against what it was before: the same batch, the predictions on training rows as reference
    from workbench.monitoring.statistics import column_verdicts

    scored = wb.drift_report(held, batch, model=mv.model_uri, build_report=False)
    assert not any("trained on" in n for n in scored.notes), scored.notes  # a held-out reference
    train_pred = train.assign(prediction=model.predict(train[FEATURES]))
    batch_pred = batch.assign(prediction=model.predict(batch[FEATURES]))
    naive = column_verdicts(train_pred, batch_pred, {"prediction": "categorical"})
    assert naive[0].drifted, "the forest's predictions on its training rows should differ"


def test_without_held_out_predictions_the_prediction_is_left_untested(tables, tmp_path):
    wb.open_workspace(tmp_path / "ws")
    train, _ = tables
    x, y = split_xy(train, "default")
    mv = wb.log_model(_forest().fit(x, y), name="no-eval", train=(x, y))
    batch = production_batch(1, "none", n=1000, seed=3)[[*FEATURES, "default"]]
    result = wb.drift_report(train, batch, model=mv.model_uri, build_report=False)
    assert "prediction" not in {c.column for c in result.columns}
    assert "held-out" in result.skipped["prediction"], result.skipped
