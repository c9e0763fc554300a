"""What a logged model promises: its signature frame, the types skops may load, its requirements."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
import skops.io

import workbench as wb
from workbench.data import credit_risk, split_xy
from workbench.registry import trust
from workbench.training import build_model, feature_columns


def _double(x):
    return x * 2


def _pipeline(family, n=300, **params):
    frame = credit_risk(n, seed=3).drop(columns="application_date")
    x, y = split_xy(frame, "default")
    numeric, categorical, _ = feature_columns(x)
    model = build_model(family, "classification", numeric, categorical, params).fit(x, y)
    return model, x, y


def test_signature_frame_makes_integers_and_booleans_float():
    x = pd.DataFrame({"n": [1, 2], "b": [True, False], "f": [0.5, 1.0], "s": ["a", "b"]})
    dtypes = trust.signature_frame(x).dtypes.astype(str).tolist()
    assert dtypes == ["float64", "float64", "float64", "object"]
    floats = x[["f", "s"]]
    assert trust.signature_frame(floats) is floats  # nothing to change: no copy


def test_trusted_types_cover_what_skops_reports():
    for family in ("random_forest", "gradient_boosting", "logistic_regression"):
        model, _, _ = (
            _pipeline(family, n_estimators=5)
            if family != "logistic_regression"
            else (_pipeline(family))
        )
        untrusted = set(skops.io.get_untrusted_types(data=skops.io.dumps(model)))
        assert untrusted <= set(trust.trusted_types(model, [])), family


def test_requirements_pin_the_installed_base_packages():
    from importlib.metadata import version

    model, _, _ = _pipeline("logistic_regression")
    reqs = trust.pip_requirements(model)
    assert f"scikit-learn=={version('scikit-learn')}" in reqs
    assert f"skops=={version('skops')}" in reqs
    assert reqs == sorted(reqs, key=str.lower)


def test_a_function_skops_does_not_trust_is_refused_before_anything_is_written(workspace):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    _, x, y = _pipeline("logistic_regression")
    xs = x.select_dtypes("number").fillna(0)
    model = make_pipeline(FunctionTransformer(_double), LogisticRegression(max_iter=500)).fit(xs, y)
    with pytest.raises(wb.UntrustedTypeError, match="_double") as info:
        wb.log_model(model, name="fn", train=(xs, y))
    assert "trusted_types=" in str(info.value)
    client = mlflow.MlflowClient()
    assert client.search_registered_models() == []
    assert client.get_experiment_by_name("fn") is None or not client.search_runs(
        [client.get_experiment_by_name("fn").experiment_id]
    )
    trusted = [t for t in skops.io.get_untrusted_types(data=skops.io.dumps(model))]
    mv = wb.log_model(model, name="fn", train=(xs, y), trusted_types=trusted)
    np.testing.assert_array_equal(
        mlflow.pyfunc.load_model(mv.model_uri).predict(trust.signature_frame(xs)),
        model.predict(xs),
    )
