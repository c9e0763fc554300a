"""Monitoring reports the same metric keys as before the shared metrics: rmse and mae for
regression; accuracy, precision, recall and f1 for classification."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.monitoring.scoring import performance
from workbench.monitoring.tracking import experiment_name


def test_performance_keys_and_missing_labels():
    y = pd.Series([0, 1, 1, None])
    m = performance(y, pd.Series([0, 1, 0, 1]), "classification")
    assert list(m) == ["accuracy", "precision", "recall", "f1"]
    assert m["accuracy"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(0.5)
    r = performance(pd.Series([1.0, 2.0]), pd.Series([1.5, 2.0]), "regression")
    assert r == {"rmse": pytest.approx(0.125**0.5), "mae": pytest.approx(0.25)}
    assert performance(pd.Series([None, None]), pd.Series([1, 0]), "classification") == {}


def test_experiment_names():
    assert experiment_name("models:/credit-risk/3") == "monitoring/credit-risk"
    assert experiment_name("risk") == "monitoring/risk"
    assert experiment_name(None) == "monitoring/data"
