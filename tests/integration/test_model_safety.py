"""No model is deserialised before its format is checked: a pickle that runs code when loaded is
refused before a byte of it is unpickled, in every loading path."""

from __future__ import annotations

import os

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import workbench as wb
from workbench.registry import fetch_model


class Payload(LogisticRegression):
    """A classifier whose unpickling writes a marker file (what a hostile artifact would do)."""

    def __reduce__(self):
        marker = os.environ["WB_PAYLOAD_MARKER"]
        return (
            eval,
            (
                f"open({marker!r}, 'w').write('pwned') and None or __import__('sklearn.linear_model').linear_model.LogisticRegression()",
            ),
        )


@pytest.fixture
def marker(tmp_path, monkeypatch):
    path = tmp_path / "payload-ran"
    monkeypatch.setenv("WB_PAYLOAD_MARKER", str(path))
    return path


def _xy():
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    return x, (x["a"] > 0).astype(int)


def test_a_pickled_model_is_refused_before_it_is_loaded(workspace, tmp_path, marker):
    x, y = _xy()
    model = Payload().fit(x, y)
    with mlflow.start_run():
        mlflow.sklearn.log_model(  # explicit requirements: MLflow would load it to infer them
            model,
            name="m",
            serialization_format="pickle",
            registered_model_name="hostile",
            pip_requirements=["scikit-learn"],
        )
    assert not marker.exists()
    with pytest.raises(wb.UnsafeModelError, match="saved as pickle.*Nothing was loaded") as info:
        fetch_model("models:/hostile/1", tmp_path / "dl")
    assert info.value.exit_code == 2 and not marker.exists()
    local, safety = fetch_model("models:/hostile/1", tmp_path / "dl2", allow_pickle=True)
    assert safety.serialization_format == "pickle" and not marker.exists()  # allowed, not loaded
    frame = x.assign(label=y)
    with pytest.raises(wb.UnsafeModelError):  # monitoring with the model refuses it too
        wb.drift_report(frame, frame, model="models:/hostile/1", target="label", min_rows=10)
    with pytest.raises(wb.UnsafeModelError):
        wb.run_checks("models:/hostile/1", data=frame, target="label", progress=False)
    assert not marker.exists()


def test_a_workbench_model_passes_and_loads(workspace, tmp_path):
    x, y = _xy()
    mv = wb.log_model(LogisticRegression().fit(x, y), name="fine", train=(x, y))
    local, safety = fetch_model(mv.model_uri, tmp_path / "dl")
    assert safety.safe and safety.serialization_format == "skops"
    assert mlflow.pyfunc.load_model(str(local)).predict(x.head(2)).shape == (2,)


def test_a_model_that_whitelists_its_own_types_is_refused(workspace, tmp_path):
    """MLflow hands skops the trusted list from the model's own MLmodel; the workbench does not:
    a foreign type passes only when the logger vouched for it through the workbench."""
    from sklearn.pipeline import make_pipeline

    from tests.integration.safety_types import Doubler

    x, y = _xy()
    model = make_pipeline(Doubler(), LogisticRegression()).fit(x, y)
    foreign = "tests.integration.safety_types.Doubler"
    with mlflow.start_run():
        mlflow.sklearn.log_model(
            model,
            name="m",
            serialization_format="skops",
            skops_trusted_types=[foreign],
            registered_model_name="whitelisted",
            pip_requirements=["scikit-learn"],
        )
    with pytest.raises(wb.UnsafeModelError, match=f"types nobody vouched for: {foreign}"):
        fetch_model("models:/whitelisted/1", tmp_path / "dl")
    mv = wb.log_model(model, name="vouched", train=(x, y), trusted_types=[foreign])
    local, safety = fetch_model(mv.model_uri, tmp_path / "dl2")
    assert safety.safe and foreign in safety.declared_trusted
    local, safety = fetch_model("models:/whitelisted/1", tmp_path / "dl3", trusted_types=[foreign])
    assert safety.safe
