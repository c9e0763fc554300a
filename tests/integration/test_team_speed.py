"""``log_model`` against the team server: quiet, few round trips, and everything still stored.

MLflow prints "🏃 View run ... at:" and "🧪 View experiment at:" at every run end against a server and
logs "Waiting up to 300 seconds for model version to finish creation" at every registration; the
workbench switches both off (``MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT``, ``await_creation_for=0``).
The same capture shows MLflow's own calls still print them, so the test can fail. The round trips
are counted at the HTTP client (the requests reach the real server); the second log of a model
takes 21 (MLflow's ``log_model`` + ``register_model`` take 27 for the same files), and what they
store is read back from the server and scored.
"""

from __future__ import annotations

import logging
import re

import mlflow
import numpy as np
import pytest
import requests
from mlflow.entities import LoggedModelStatus

import workbench as wb

pytestmark = pytest.mark.server

_FOREST = {"family": "random_forest", "params": {"n_estimators": 10, "max_depth": 2}}
_QUIET = ("View run", "View experiment", "Waiting up to")


@pytest.fixture
def mlflow_info_logs():
    """MLflow's INFO lines on, as a user's session has them (the test session turns them off)."""
    logger = logging.getLogger("mlflow")
    old = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(old)


def _frame():
    from workbench.data import credit_risk

    return credit_risk(600, seed=5)


def test_log_model_against_the_server_prints_no_run_links_and_no_waiting_line(
    as_user, tmp_path, capfd, monkeypatch, mlflow_info_logs
):
    as_user("ds1")
    ws = wb.open_workspace(tmp_path / "ws")
    assert ws.shared
    frame = _frame()
    capfd.readouterr()
    first = wb.train_and_log(frame, "default", name="speed-quiet", **_FOREST)
    second = wb.train_and_log(frame, "default", name="speed-quiet", **_FOREST)
    out, err = capfd.readouterr()
    assert not [word for word in _QUIET if word in out + err], out + err
    assert [first.version, second.version] == [1, 2]

    # The same capture catches MLflow's lines when MLflow's defaults are left on.
    monkeypatch.setenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "false")
    client = mlflow.MlflowClient()
    with mlflow.start_run(experiment_id=ws.experiment_id("speed-quiet")) as run:
        mlflow.log_param("plain", "mlflow")
    client.create_model_version("speed-quiet", f"{run.info.artifact_uri}/x", run_id=run.info.run_id)
    out, err = capfd.readouterr()
    assert "🏃 View run" in out and "🧪 View experiment at" in out
    assert "Waiting up to 300 seconds for model version to finish creation" in err


def test_log_model_against_the_server_makes_few_requests_and_stores_everything(
    as_user, tmp_path, monkeypatch
):
    from sklearn.model_selection import train_test_split

    from workbench.data import split_xy
    from workbench.training import build_model, feature_columns

    as_user("ds2")
    wb.open_workspace(tmp_path / "ws")
    x, y = split_xy(_frame(), "default")
    numeric, categorical, _ = feature_columns(x)
    x = x[numeric + categorical]
    x_tr, x_ev, y_tr, y_ev = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    model = build_model("random_forest", "classification", numeric, categorical, _FOREST["params"])
    model.fit(x_tr, y_tr)
    wb.log_model(model, name="speed-requests", train=(x_tr, y_tr), eval=(x_ev, y_ev))

    sent: list[str] = []
    send = requests.Session.send

    def counting(self, request, **kwargs):
        sent.append(f"{request.method} {re.sub(r'^https?://[^/]+', '', request.url)}")
        return send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", counting)
    mv = wb.log_model(model, name="speed-requests", train=(x_tr, y_tr), eval=(x_ev, y_ev))
    monkeypatch.setattr(requests.Session, "send", send)
    listing = "\n".join(sent)
    assert len(sent) <= 21, listing
    assert not [s for s in sent if s.startswith("GET /api/2.0/mlflow/runs/get")], listing
    assert not [s for s in sent if "registered-models/get" in s], listing
    assert not [s for s in sent if re.match(r"GET .*/logged-models/m-\w+$", s)], listing
    assert sum(s.startswith("PUT ") for s in sent) == 10, listing  # 7 model files + 3 run files

    # Everything a log stores, read back from the server.
    client = mlflow.MlflowClient()
    run = client.get_run(mv.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["workbench.positive_label"] == "1"
    assert {k: v for k, v in run.data.params.items() if k.endswith("n_estimators")} == {
        "model__n_estimators": "10"
    }
    assert "roc_auc" in run.data.metrics and "train_roc_auc" in run.data.metrics
    assert {"profile.json", "reference.json", "contract.json"} <= {
        f.path for f in client.list_artifacts(mv.run_id)
    }
    assert {i.dataset.name for i in run.inputs.dataset_inputs} == {"train", "eval"}
    version = client.get_model_version("speed-requests", str(mv.version))
    assert version.status == "READY" and version.aliases == ["challenger"]
    model_id = version.source.removeprefix("models:/")  # MLflow's SQL store keeps no model_id
    logged = client.get_logged_model(model_id)
    assert logged.status == LoggedModelStatus.READY and logged.source_run_id == mv.run_id
    assert f'"version": "{mv.version}"' in logged.tags["mlflow.modelVersions"]
    assert [o.model_id for o in run.outputs.model_outputs] == [model_id]
    contract = wb.model_contract(mv.model_uri)
    assert contract.positive_label == 1 and contract.reference == mv.metrics

    # The model comes back through the artifact proxy and scores as the fitted one does.
    loaded = mlflow.sklearn.load_model(mv.model_uri)
    assert np.array_equal(loaded.predict_proba(x_ev), model.predict_proba(x_ev))
