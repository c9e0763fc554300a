"""The checked load builds the pyfunc model MLflow's own loader builds, without its private
wrapper and without following the artifact's ``loader_module``."""

from __future__ import annotations

import mlflow
import numpy as np
import skops.io

from workbench.data import credit_risk, split_xy
from workbench.registry._mlflow_loading import SklearnPyfunc, sklearn_pyfunc
from workbench.training import build_model, feature_columns


def test_checked_load_matches_mlflow_pyfunc_load_model(tmp_path):
    frame = credit_risk(200, seed=5).drop(columns="application_date")
    x, y = split_xy(frame, "default")
    numeric, categorical, _ = feature_columns(x)
    model = build_model("logistic_regression", "classification", numeric, categorical, {})
    model.fit(x, y)
    folder = tmp_path / "m"
    trusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    mlflow.sklearn.save_model(
        model, str(folder), serialization_format="skops", skops_trusted_types=trusted
    )

    ours = sklearn_pyfunc(folder, folder / "model.skops", trusted)
    theirs = mlflow.pyfunc.load_model(str(folder))

    assert isinstance(ours._model_impl, SklearnPyfunc)
    np.testing.assert_array_equal(ours.predict(x), theirs.predict(x))
    raw = ours.get_raw_model()
    np.testing.assert_allclose(raw.predict_proba(x), theirs.get_raw_model().predict_proba(x))
    impl = ours._model_impl
    for name in SklearnPyfunc.COPIED:
        assert hasattr(impl, name) == hasattr(theirs._model_impl, name), name
    assert ours.metadata.get_input_schema() == theirs.metadata.get_input_schema()


def test_wrapper_ignores_params_and_copies_only_what_the_estimator_has():
    class Only:
        def predict(self, data):
            return [len(data)]

    wrapped = SklearnPyfunc(Only())
    assert wrapped.predict([1, 2], params={"x": 1}) == [2]
    assert not any(hasattr(wrapped, name) for name in SklearnPyfunc.COPIED)
    assert isinstance(wrapped.get_raw_model(), Only)
