"""log_model's evaluation: train and eval rows in one pass give the metrics of two passes."""

from __future__ import annotations

import numpy as np
import pytest

from workbench._core import tasks
from workbench.data import credit_risk, split_xy
from workbench.registry import log, log_inputs
from workbench.training import build_model, feature_columns


def _pipeline(family, n=300, **params):
    frame = credit_risk(n, seed=3).drop(columns="application_date")
    x, y = split_xy(frame, "default")
    numeric, categorical, _ = feature_columns(x)
    model = build_model(family, "classification", numeric, categorical, params).fit(x, y)
    return model, x, y


def test_one_pass_evaluation_equals_two_separate_ones():
    for family in ("random_forest", "logistic_regression"):
        model, x, y = _pipeline(
            family, n=400, **({"n_estimators": 7} if family == "random_forest" else {})
        )
        tr, ev = (x[:300], y[:300]), (x[300:], y[300:])
        metrics, train_metrics, pred, proba, train_pred = log._evaluate(
            model, tr, ev, "classification"
        )
        np.testing.assert_array_equal(train_pred, model.predict(tr[0]))  # the reference rows
        assert metrics == pytest.approx(tasks.evaluate(model, *ev, "classification"), rel=1e-12)
        np.testing.assert_array_equal(proba, model.predict_proba(ev[0]))  # for the calibration
        assert train_metrics == pytest.approx(
            tasks.evaluate(model, *tr, "classification"), rel=1e-12
        )
        np.testing.assert_array_equal(pred, model.predict(ev[0]))


def test_evaluation_without_eval_data_scores_the_training_rows_only():
    model, x, y = _pipeline("logistic_regression")
    metrics, train_metrics, pred, proba, train_pred = log._evaluate(
        model, (x, y), None, "classification"
    )
    assert train_pred is pred
    assert train_metrics == {}
    assert metrics == pytest.approx(tasks.evaluate(model, x, y, "classification"), rel=1e-12)
    np.testing.assert_array_equal(pred, model.predict(x))
    assert proba.shape == (len(x), 2)


def test_a_forest_pipeline_predicts_labels_and_probabilities_exactly():
    model, x, _ = _pipeline("random_forest", n_estimators=9)
    pred, proba = tasks.predict(model, x, "classification")
    np.testing.assert_array_equal(pred, model.predict(x))
    np.testing.assert_array_equal(proba, model.predict_proba(x))


@pytest.mark.parametrize(
    "train, error, words",
    [
        ("not a tuple", "DataError", "must be a tuple"),
        ("empty", "DataError", "no rows"),
        ("no target", "MissingColumnError", "nope"),
    ],
)
def test_bad_inputs_are_named_in_the_error(train, error, words):
    import workbench.errors as errors

    _, x, y = _pipeline("logistic_regression", n=50)
    data = {"not a tuple": x, "empty": (x.iloc[:0], y.iloc[:0]), "no target": (x, "nope")}[train]
    with pytest.raises(getattr(errors, error), match=words):
        log_inputs.as_xy(data, "train")


def test_eval_columns_must_match_train():
    from workbench.errors import SchemaMismatchError

    _, x, _ = _pipeline("logistic_regression", n=50)
    with pytest.raises(SchemaMismatchError, match="missing from eval: income"):
        log_inputs.check_same_columns(x, x.drop(columns="income"))
