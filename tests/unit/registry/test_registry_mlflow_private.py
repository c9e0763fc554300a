"""The fast path of log_model keeps MLflow's format: the files, the logged model, the skops file.

``workbench.registry._mlflow_private`` writes the sklearn flavor itself (an audit of skops' own
file instead of a reload). These tests pin it to what ``mlflow.sklearn.save_model`` and
``mlflow.sklearn.log_model`` write for the same model, so an MLflow or skops upgrade that changes
the format fails here rather than at serving time. The log_model benchmark measures this path.
"""

from __future__ import annotations

import io
import os

import mlflow
import numpy as np
import pytest
import skops.io
import yaml

import workbench as wb
from workbench.data import credit_risk, split_xy
from workbench.registry import _mlflow_private, trust
from workbench.training import build_model, feature_columns


def _pipeline(family, n=300, **params):
    frame = credit_risk(n, seed=3).drop(columns="application_date")
    x, y = split_xy(frame, "default")
    numeric, categorical, _ = feature_columns(x)
    model = build_model(family, "classification", numeric, categorical, params).fit(x, y)
    return model, x, y


@pytest.mark.parametrize("family", ["random_forest", "logistic_regression", "gradient_boosting"])
def test_flavor_files_and_mlmodel_match_mlflow_save_model(tmp_path, family):
    from mlflow.models import infer_signature

    model, x, _ = (
        _pipeline(family, n_estimators=5) if family != "logistic_regression" else _pipeline(family)
    )
    frame = trust.signature_frame(x)
    signature = infer_signature(frame, model.predict(x.head(50)))
    data, trusted = trust.trusted_skops_bytes(model, trust.trusted_types(model, []))
    reqs = trust.pip_requirements(model)
    ours_dir, theirs_dir = str(tmp_path / "ours"), str(tmp_path / "theirs")
    ours = _mlflow_private.save_sklearn_flavor(
        data,
        ours_dir,
        signature=signature,
        input_example=frame.head(5),
        trusted=trusted,
        requirements=reqs,
    )
    ours.save(os.path.join(ours_dir, "MLmodel"))
    mlflow.sklearn.save_model(
        model,
        theirs_dir,
        signature=signature,
        input_example=frame.head(5),
        pip_requirements=reqs,
        skops_trusted_types=trusted,
    )
    assert sorted(os.listdir(ours_dir)) == sorted(os.listdir(theirs_dir))
    mine, theirs = (
        yaml.safe_load(open(os.path.join(d, "MLmodel"))) for d in (ours_dir, theirs_dir)
    )
    volatile = {"utc_time_created", "model_uuid", "model_size_bytes"}
    assert {k: v for k, v in mine.items() if k not in volatile} == {
        k: v for k, v in theirs.items() if k not in volatile
    }
    for name in ("requirements.txt", "conda.yaml", "python_env.yaml", "input_example.json"):
        assert (
            open(os.path.join(ours_dir, name)).read() == open(os.path.join(theirs_dir, name)).read()
        )
    loaded = mlflow.pyfunc.load_model(ours_dir)
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(x))


def test_the_skops_file_is_skops_own_dump_and_loads_to_the_same_model():
    model, x, _ = _pipeline("random_forest", n_estimators=5)
    data, needed = trust.trusted_skops_bytes(model, trust.trusted_types(model, []))
    assert needed == sorted(skops.io.get_untrusted_types(data=skops.io.dumps(model)))
    assert needed == sorted(skops.io.get_untrusted_types(data=data))
    reloaded = skops.io.load(io.BytesIO(data), trusted=needed or None)
    np.testing.assert_array_equal(reloaded.predict_proba(x), model.predict_proba(x))


def test_logged_model_is_linked_like_mlflows_own_log_model(workspace):
    model, x, y = _pipeline("random_forest", n_estimators=5)
    mv = wb.log_model(model, name="linked", train=(x[:200], y[:200]), eval=(x[200:], y[200:]))
    client = mlflow.MlflowClient()
    run = client.get_run(mv.run_id)
    [output] = run.outputs.model_outputs
    logged = client.get_logged_model(output.model_id)
    assert str(logged.status).endswith("READY")
    assert logged.source_run_id == mv.run_id
    assert client.get_model_version("linked", mv.version).source == f"models:/{logged.model_id}"
    assert {m.key for m in logged.metrics} == set(run.data.metrics)
    assert logged.params == run.data.params
    assert "linked" in logged.tags["mlflow.modelVersions"]
    files = sorted(a.path for a in client.list_logged_model_artifacts(logged.model_id))
    assert files == sorted(
        ["MLmodel", "conda.yaml", "input_example.json", "model.skops", "python_env.yaml",
         "requirements.txt", "serving_input_example.json"]
    )  # fmt: skip
    assert not [p for p in os.listdir(workspace.artifact_root) if p.startswith(".staging-")]
    np.testing.assert_array_equal(
        mlflow.sklearn.load_model(mv.model_uri).predict(x), model.predict(x)
    )


def test_environment_files_are_what_mlflow_writes(tmp_path):
    from mlflow.utils.environment import _process_pip_requirements, _PythonEnv

    requirements = ["mlflow==3.1.0", "scikit-learn==1.5.2", "skops==0.10.0"]
    _mlflow_private.environment_files(str(tmp_path), requirements)
    conda, pins, constraints = _process_pip_requirements(None, list(requirements), None)
    assert yaml.safe_load((tmp_path / "conda.yaml").read_text()) == conda
    assert (tmp_path / "requirements.txt").read_text() == "\n".join(pins)
    _PythonEnv.current().to_yaml(str(tmp_path / "expected.yaml"))
    assert (tmp_path / "python_env.yaml").read_text() == (tmp_path / "expected.yaml").read_text()
    assert not constraints and not (tmp_path / "constraints.txt").exists()
    again = tmp_path / "again"
    again.mkdir()
    _mlflow_private.environment_files(str(again), requirements)  # from the cache: the same files
    assert (again / "conda.yaml").read_text() == (tmp_path / "conda.yaml").read_text()
