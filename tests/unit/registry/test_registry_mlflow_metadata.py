"""The fast metadata of ``log_model`` is MLflow's own: schemas equal to ``_infer_schema`` on
frames of every column kind, environment files equal to what MLflow writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.models import infer_signature
from mlflow.types.utils import _infer_schema

from workbench.data import credit_risk
from workbench.registry import _mlflow_metadata as meta

N = 6


def _frames() -> dict[str, pd.DataFrame]:
    nan, none = float("nan"), None
    return {
        "floats": pd.DataFrame({"a": np.arange(N, dtype=float), "b": [1.0, nan, 2, 3, 4, 5]}),
        "float32": pd.DataFrame({"a": np.array([1, 2, nan, 4, 5, 6], dtype="float32")}),
        "ints and bools": pd.DataFrame({"i": np.arange(N), "b": [True, False] * 3}),
        "text": pd.DataFrame({"s": list("abcdef"), "t": ["x", none, "y", nan, "z", "w"]}),
        "text with pd.NA and NaT": pd.DataFrame({"s": ["a", pd.NA, "b", pd.NaT, "c", "d"]}),
        "text with a float32 NaN": pd.DataFrame(
            {"s": pd.Series(["a", np.float32("nan"), "b", "c", "d", "e"], dtype=object)}
        ),
        "mixed objects": pd.DataFrame({"m": ["a", 1, "b", 2.5, "c", "d"]}),
        "ints as objects": pd.DataFrame({"o": pd.Series(range(N), dtype=object)}),
        "bytes": pd.DataFrame({"b": [b"a", b"b", b"c", b"d", b"e", b"f"]}),
        "all missing": pd.DataFrame({"n": pd.Series([none] * N, dtype=object)}),
        "categories": pd.DataFrame({"c": pd.Categorical(["a", "b", none, "a", "b", "a"])}),
        "dates": pd.DataFrame({"d": pd.to_datetime(["2026-01-01"] * 5 + [none])}),
        "string dtype": pd.DataFrame({"s": pd.array(["a", pd.NA, "b", "c", "d", "e"], "string")}),
        "nullable ints": pd.DataFrame({"i": pd.array([1, pd.NA, 3, 4, 5, 6], "Int64")}),
        "lists": pd.DataFrame({"l": [["a"], ["b", "c"], [], ["d"], ["e"], ["f"]]}),
        "no rows": pd.DataFrame(
            {"a": pd.Series([], dtype=float), "s": pd.Series([], dtype=object)}
        ),
        "demo table": credit_risk(300, seed=4),
    }


@pytest.mark.parametrize("kind", list(_frames()))
def test_frame_schema_is_mlflows_own(kind):
    frame = _frames()[kind]
    try:
        expected = _infer_schema(frame)
    except Exception as err:  # MLflow refuses it: so must the fast path
        with pytest.raises(type(err)):
            meta.frame_schema(frame)
        return
    assert meta.frame_schema(frame).to_json() == expected.to_json()


def test_the_signature_and_the_dataset_schema_are_mlflows_own():
    import mlflow

    frame = credit_risk(200, seed=5).assign(score=np.linspace(0, 1, 200))
    outputs = np.array(["yes", "no"] * 100)
    assert meta.signature_of(frame, outputs).to_dict() == infer_signature(frame, outputs).to_dict()
    dataset = meta.dataset_with_schema(mlflow.data.from_pandas(frame, name="d"), frame)
    plain = mlflow.data.from_pandas(frame, name="d")
    assert dataset.to_dict() == plain.to_dict()


def test_environment_files_are_what_mlflow_writes(tmp_path):
    from mlflow.utils.environment import _process_pip_requirements, _PythonEnv

    requirements = ["mlflow==3.1.0", "scikit-learn==1.5.2", "skops==0.10.0"]
    meta.environment_files(str(tmp_path), requirements)
    conda, pins, constraints = _process_pip_requirements(None, list(requirements), None)
    assert yaml.safe_load((tmp_path / "conda.yaml").read_text()) == conda
    assert (tmp_path / "requirements.txt").read_text() == "\n".join(pins)
    _PythonEnv.current().to_yaml(str(tmp_path / "expected.yaml"))
    assert (tmp_path / "python_env.yaml").read_text() == (tmp_path / "expected.yaml").read_text()
    assert not constraints and not (tmp_path / "constraints.txt").exists()
    again = tmp_path / "again"
    again.mkdir()
    meta.environment_files(str(again), requirements)  # from the cache: the same files
    assert (again / "conda.yaml").read_text() == (tmp_path / "conda.yaml").read_text()
