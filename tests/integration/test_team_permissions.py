"""What a viewer (and an anonymous caller) meets on the team server: one clear error naming the
MLflow permission, exit code 3 in the CLI, and nothing written to the store or the audit log."""

from __future__ import annotations

import os
import subprocess
import sys

import mlflow
import pytest

import workbench as wb

pytestmark = pytest.mark.server

MODEL = "perm-credit"


def _store_snapshot() -> dict:
    client = mlflow.MlflowClient()
    experiments = client.search_experiments()
    runs = client.search_runs([e.experiment_id for e in experiments], max_results=1000)
    found = {}
    for model in client.search_registered_models():
        found[model.name] = (
            sorted(int(v.version) for v in client.search_model_versions(f"name='{model.name}'")),
            dict(model.aliases),
        )
    return {
        "experiments": sorted(e.name for e in experiments),
        "runs": sorted(r.info.run_id for r in runs),
        "models": found,
    }


@pytest.fixture
def logged(team_server, as_user, tmp_path):
    """As ds1: two versions of MODEL, v1 then v2 promoted (so a rollback has somewhere to go)."""
    from sklearn.dummy import DummyClassifier

    from workbench.data import credit_risk, split_xy

    as_user("ds1")
    ws = wb.open_workspace(tmp_path / "ws")
    table = credit_risk(200, seed=5)[["age", "income", "default"]].dropna()
    x, y = split_xy(table.astype({"age": float}), "default")
    if not wb.model_names() or MODEL not in wb.model_names():
        for strategy in ("prior", "stratified"):
            wb.log_model(DummyClassifier(strategy=strategy).fit(x, y), name=MODEL, train=(x, y))
        wb.promote(MODEL, 1, reason="first", force=True)
        wb.promote(MODEL, 2, reason="second", force=True)
    return ws, x, y


def test_a_viewer_reads_but_cannot_log_promote_roll_back_or_record_checks(logged, as_user):
    from sklearn.dummy import DummyClassifier

    ws, x, y = logged
    before = _store_snapshot()
    audit_before = wb.history(MODEL)
    as_user("viewer")
    assert [v.version for v in wb.versions(MODEL)] == [2, 1]  # reading is allowed
    refused = {
        "log": lambda: wb.log_model(DummyClassifier().fit(x, y), name=MODEL, train=(x, y)),
        "log new": lambda: wb.log_model(DummyClassifier().fit(x, y), name="perm-new", train=(x, y)),
        "promote": lambda: wb.promote(MODEL, 1, reason="viewer tries", force=True),
        "rollback": lambda: wb.rollback(MODEL, reason="viewer tries"),
        "checks": lambda: wb.run_checks(
            f"models:/{MODEL}/1", data=x.assign(default=y), target="default", progress=False
        ),
    }
    needs = {
        "log": "EDIT on the experiment",
        "log new": "USE on the workspace",
        "promote": "EDIT on the registered model",
        "rollback": "EDIT on the registered model",
        "checks": "EDIT on the registered model",  # the server runs them
    }
    for what, call in refused.items():
        with pytest.raises(wb.PermissionDeniedError) as caught:
            call()
        text = str(caught.value)
        assert "refused user 'viewer'" in text and needs[what] in text, (what, text)
        assert ws.tracking_uri in text and "Response body" not in text
    as_user("ds1")
    assert _store_snapshot() == before, "a refused step left something behind"
    assert wb.history(MODEL).equals(audit_before)
    assert wb.registry.verify_history(MODEL).ok


def test_the_cli_says_it_in_one_line_with_exit_code_3(logged, team_server):
    ws, _, _ = logged
    env = {**os.environ, **team_server.env("viewer"), "WORKBENCH_WORKSPACE": str(ws.root)}
    done = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "rollback", MODEL, "--reason", "viewer tries"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "EDIT on the registered model" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_an_anonymous_caller_is_told_to_log_in(logged, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
    with pytest.raises(wb.PermissionDeniedError, match="anonymous user.*MLFLOW_TRACKING_USERNAME"):
        wb.versions(MODEL)


def test_a_wrong_password_is_told_to_log_in(logged, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "not-the-password")
    with pytest.raises(wb.PermissionDeniedError, match="did not accept the login of 'ds1'"):
        wb.history(MODEL)
