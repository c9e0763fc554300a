"""Task and metrics, decided and computed once for every stage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from workbench._core import tasks
from workbench.errors import ModelError


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = pd.Series((x["a"] + rng.normal(scale=0.5, size=n) > 0).astype(int), name="y")
    return x, y


def test_task_of_estimator():
    assert tasks.task_of_estimator(LogisticRegression()) == "classification"
    assert tasks.task_of_estimator(make_pipeline(StandardScaler(), LinearRegression())) == (
        "regression"
    )
    with pytest.raises(ModelError, match="classifier or a regressor"):
        tasks.task_of_estimator(StandardScaler())
    assert tasks.task_of_estimator(StandardScaler(), fallback=True) == "regression"


@pytest.mark.parametrize(
    "values, task",
    [
        (["yes", "no"], "classification"),
        ([True, False], "classification"),
        ([0, 1, 2, 1], "classification"),
        ([0.5, 1.5, 2.25], "regression"),
        (list(range(50)), "regression"),
    ],
)
def test_task_of_values(values, task):
    assert tasks.task_of_values(pd.Series(values)) == task


def test_metrics_match_scikit_learn_and_skip_missing_labels():
    x, y = _data()
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    got = tasks.evaluate(model, x, y, "classification")
    assert got["f1"] == pytest.approx(f1_score(y, model.predict(x)))
    assert got["roc_auc"] == pytest.approx(roc_auc_score(y, model.predict_proba(x)[:, 1]))
    y_missing = y.astype(float).copy()
    y_missing.iloc[:10] = np.nan
    partial = tasks.metrics(y_missing, model.predict(x), task="classification")
    assert partial["accuracy"] == pytest.approx((model.predict(x)[10:] == y[10:]).mean())


def test_forest_predict_uses_one_pass_and_agrees():
    x, y = _data()
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(x, y)
    pred, proba = tasks.predict(forest, x, "classification")
    np.testing.assert_array_equal(pred, forest.predict(x))
    np.testing.assert_allclose(proba, forest.predict_proba(x))


def test_regression_metrics_and_names_filter():
    y = pd.Series([1.0, 2.0, 3.0])
    out = tasks.metrics(y, [1.0, 2.0, 4.0], task="regression", names=["rmse", "mae"])
    assert set(out) == {"rmse", "mae"} and out["mae"] == pytest.approx(1 / 3)
    assert tasks.metrics(pd.Series([np.nan]), [1.0], task="regression") == {}
