"""The server's app in process (Starlette's test client): MLflow's answers plus the probabilities,
behind the workbench's edge.

The models are real scikit-learn models saved with MLflow and loaded as pyfunc models, as the server
process loads them; the app is MLflow's own, built by ``_scoring_app.scoring_app``. The test client
calls it as ``http://127.0.0.1`` (the edge answers loopback ``Host`` values only).
"""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow.pyfunc import scoring_server
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import FixedThresholdClassifier

from workbench.serving import encode_frame
from workbench.serving._scoring_app import contract_from_env, scoring_app
from workbench.serving.launch import CONTRACT_ENV, launch_environment


def _frame(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})


def _saved(tmp_path, model, x, name="m"):
    path = tmp_path / name
    mlflow.sklearn.save_model(
        model,
        path,
        input_example=x.head(2),
        pip_requirements=["scikit-learn"],
        serialization_format="skops",
    )
    return mlflow.pyfunc.load_model(str(path))


@pytest.fixture(scope="module")
def string_binary(tmp_path_factory):
    x = _frame(200)
    y = np.where(x["a"] + 0.5 * x["b"] > 0, "defaulted", "repaid")
    return _saved(tmp_path_factory.mktemp("sa"), LogisticRegression().fit(x, y), x), x


def _client(app):
    return TestClient(app, base_url="http://127.0.0.1")


def _post(client, body, content_type="application/json"):
    answer = client.post("/invocations", content=body, headers={"Content-Type": content_type})
    return answer.status_code, answer.json()


def test_json_and_csv_answers_carry_the_positive_class_probability(string_binary):
    model, x = string_binary
    raw = model.get_raw_model()
    client = _client(scoring_app(model, {"positive_label": "defaulted"}))
    rows = x.head(7)
    expected = raw.predict_proba(rows)
    bodies = [
        (encode_frame(rows), "application/json"),
        (rows.to_csv(index=False).encode(), "text/csv"),
    ]
    for body, kind in bodies:
        status, payload = _post(client, body, kind)
        assert status == 200, payload
        assert payload["predictions"] == raw.predict(rows).tolist()
        assert payload["labels"] == ["defaulted", "repaid"]
        assert payload["positive_label"] == "defaulted"
        np.testing.assert_allclose(payload["probabilities"], expected[:, 0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(
            np.asarray(payload["probabilities"]) + expected[:, 1], 1.0, rtol=0, atol=1e-12
        )


def test_without_a_positive_label_every_class_is_answered(string_binary):
    model, x = string_binary
    client = _client(scoring_app(model, {}))
    status, payload = _post(client, encode_frame(x.head(2)))
    assert status == 200 and payload["positive_label"] is None
    assert np.asarray(payload["probabilities"]).shape == (2, 2)


def test_errors_keep_mlflows_status_and_code_but_no_trace_and_no_echo(string_binary):
    model, x = string_binary
    ours = _client(scoring_app(model, {"positive_label": "defaulted"}))
    plain = TestClient(scoring_server.init(model))
    marker = "ECHO-MARKER-7731"
    missing = x.head(2).drop(columns="b").assign(a=[1.0, 2.0])
    for body in (encode_frame(missing), b'{"dataframe_split": {"col' + marker.encode()):
        got, want = _post(ours, body), _post(plain, body)
        assert got[0] == want[0] == 400
        assert got[1]["error_code"] == want[1]["error_code"]
        assert set(got[1]) == {"error_code", "message"}  # MLflow adds stack_trace
        assert marker not in got[1]["message"] and "Traceback" not in got[1]["message"]
    assert "'b'" in _post(ours, encode_frame(missing))[1]["message"]  # names the column
    answer = ours.post("/invocations", content=b"a,b\n1,2", headers={"Content-Type": "text/xml"})
    assert answer.status_code == 415 and "text/xml" not in answer.text
    assert ours.get("/ping").status_code == 200
    assert ours.get("/version").status_code == 200


def test_a_threshold_classifier_answers_its_own_labels(tmp_path):
    x = _frame(200, seed=1)
    y = (x["a"] > 0.3).astype(int)
    tuned = FixedThresholdClassifier(LogisticRegression(), threshold=0.1).fit(x, y)
    model = _saved(tmp_path, tuned, x)
    status, payload = _post(_client(scoring_app(model, None)), encode_frame(x))
    assert status == 200
    assert payload["predictions"] == tuned.predict(x).tolist()
    np.testing.assert_allclose(payload["probabilities"], tuned.predict_proba(x)[:, 1], atol=1e-12)


def test_a_regressor_gets_mlflows_app_unchanged(tmp_path):
    x = _frame(50)
    reg = LinearRegression().fit(x, x["a"] * 2 + 1)
    model = _saved(tmp_path, reg, x)
    status, payload = _post(_client(scoring_app(model, None)), encode_frame(x.head(3)))
    assert status == 200 and set(payload) == {"predictions"}
    np.testing.assert_allclose(payload["predictions"], reg.predict(x.head(3)))


def test_the_launcher_hands_the_contract_to_the_server_through_the_environment(monkeypatch):
    env = launch_environment("sqlite:///x.db", {"labels": ["a", "b"], "positive_label": "b"})
    assert json.loads(env[CONTRACT_ENV]) == {"labels": ["a", "b"], "positive_label": "b"}
    monkeypatch.setenv(CONTRACT_ENV, "inherited from the caller")
    assert CONTRACT_ENV not in launch_environment("sqlite:///x.db")  # never a stale one
    assert contract_from_env() is None  # and garbage reads as none
    monkeypatch.setenv(CONTRACT_ENV, env[CONTRACT_ENV])
    assert contract_from_env()["positive_label"] == "b"
