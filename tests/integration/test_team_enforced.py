"""The team server enforces the gate (issue 23): as ds1, ds2, approver, viewer and anonymous, against
the real PostgreSQL-backed server running the workbench's own MLflow app.

* the attacks of the hostile trial are refused with 403 (or flagged by ``--verify``): moving
  ``@champion`` or writing the audit experiment with the plain MLflow client, a hash-less audit entry
  posted through MLflow's REST API, rewriting the chain head, a check run that says "passed";
* a check run written by a client is shown but does not count; the server's does;
* the approvers are the server's policy, the audit names the login (also one written in the URL),
  every entry is signed by the server's key, and one that is not is flagged.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import mlflow
import pytest
import requests

import workbench as wb
from workbench.team.policy import team_policy

pytestmark = pytest.mark.server


def _eval_table():
    from workbench.data import credit_risk, split_xy

    table = credit_risk(600, seed=21)[["age", "income", "loan_amount", "default"]]
    return split_xy(table.astype({"age": float}), "default")


def _pipeline(x, y):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(SimpleImputer(), LogisticRegression(max_iter=300)).fit(x, y)


@pytest.fixture
def model(team_server, as_user, tmp_path):
    """As ds1: a fresh model with one version, checked by the server, and the eval table."""
    name = f"enforced-{time.time_ns()}"
    as_user("ds1")
    wb.open_workspace(tmp_path / "ds1")
    x, y = _eval_table()
    mv = wb.log_model(_pipeline(x, y), name=name, train=(x, y))
    return name, mv, x.assign(default=y)


def _raw(team_server, user, method, path, **kwargs):
    creds = json.loads(Path(team_server.credentials_file).read_text())
    auth = (user, creds[user]) if user else None
    return requests.request(
        method, f"{team_server.tracking_uri}{path}", auth=auth, timeout=60, **kwargs
    )


def test_no_one_moves_champion_or_writes_the_audit_through_mlflow_s_api(
    model, as_user, team_server
):
    name, mv, data = model
    report = wb.run_checks(f"models:/{name}/1", data=data, target="default", progress=False)
    assert report.passed and report.gate == [], report.summary()
    entry = wb.promote(name, 1, reason="checked by the server")  # ds1 may: no approvers set
    log_before = wb.history(name)
    audit = mlflow.MlflowClient().get_experiment_by_name("workbench-audit").experiment_id
    for user in ("ds1", "ds2", "approver", "admin"):
        as_user(user)
        client = mlflow.MlflowClient()
        attacks = {
            "move @champion": lambda c=client: c.set_registered_model_alias(name, "champion", "1"),
            "move @Champion": lambda c=client: c.set_registered_model_alias(name, "Champion", "1"),
            "remove @champion": lambda c=client: c.delete_registered_model_alias(name, "champion"),
            "write an audit run": lambda c=client: c.create_run(audit, tags={"x": "y"}),
            "tag an audit entry": lambda c=client: c.set_tag(
                entry.run_id, "workbench.audit.by", "x"
            ),
            "delete an audit entry": lambda c=client: c.delete_run(entry.run_id),
            "publish a key": lambda c=client: c.set_experiment_tag(audit, "workbench.key.ab", "x"),
            "rename the audit": lambda c=client: c.rename_experiment(audit, "elsewhere"),
            "rewrite the head": lambda c=client: c.set_registered_model_tag(
                name, "workbench.audit.head", "9:" + "0" * 64
            ),
            "say checks passed": lambda c=client: c.set_model_version_tag(
                name, "1", "workbench.checks.status", "passed"
            ),
            "point at another run": lambda c=client: c.set_model_version_tag(
                name, "1", "workbench.checks.run_id", report.run_id
            ),
            "tag the server's check run": lambda c=client: c.set_tag(report.run_id, "x", "y"),
            "take the promotion lock": lambda c=client: c.create_registered_model(
                f"_workbench-audit-lock.{name}"
            ),
            "delete the champion's version": lambda c=client: c.delete_model_version(name, "1"),
            "rename the model": lambda c=client: c.rename_registered_model(name, name + "-x"),
        }
        for what, attack in attacks.items():
            with pytest.raises(mlflow.exceptions.MlflowException) as caught:
                attack()
            text = str(caught.value)
            assert caught.value.error_code == "PERMISSION_DENIED", (user, what, text)
            if user != "ds2" or what not in ("rename the model",):  # ds2 is refused by MLflow too
                assert "workbench team server refuses" in text or "Permission" in text, (what, text)
    # ds2 posts a hash-less audit entry straight to MLflow's REST API
    forged = _raw(
        team_server, "ds2", "POST", "/api/2.0/mlflow/runs/create",
        json={"experiment_id": audit, "tags": [{"key": "workbench.audit.model", "value": name}]},
    )  # fmt: skip
    assert forged.status_code == 403 and "workbench team server refuses" in forged.text
    as_user("viewer")
    assert wb.history(name).equals(log_before)
    assert wb.registry.verify_history(name).ok
    assert "champion" in wb.versions(name)[0].aliases


def test_a_check_run_written_by_a_client_does_not_count(model, as_user):
    from workbench.checks.presets import default_suite

    name, mv, data = model
    mine = wb.run_checks(
        f"models:/{name}/1",
        data=data,
        target="default",
        progress=False,
        suite=default_suite("classification"),
    )  # fmt: skip: a suite of the client's own runs on the client, and is kept as a run
    assert mine.passed and mine.run_id
    assert any("only the checks the server runs count" in g for g in mine.gate), mine.gate
    assert mlflow.MlflowClient().get_run(mine.run_id).data.tags["workbench.kind"] == "checks"
    with pytest.raises(wb.GateError, match="no checks on record"):
        wb.promote(name, 1, reason="my own run said passed")
    server = wb.run_checks(f"models:/{name}/1", data=data, target="default", progress=False)
    run = mlflow.MlflowClient().get_run(server.run_id)
    assert run.data.tags["workbench.checks.signer"] == "workbench-server"
    assert run.data.tags["workbench.user"] == "ds1"  # run by the server, for the login
    assert len(run.data.tags["workbench.checks.data_sha256"]) == 64
    assert wb.promote(name, 1, reason="the server's run").checks_status == "passed"


def test_the_approver_promotes_through_the_endpoint_and_the_entry_names_the_login(
    model, as_user, team_server, monkeypatch
):
    name, mv, data = model
    wb.run_checks(f"models:/{name}/1", data=data, target="default", progress=False)
    team_policy(team_server.workspace, approvers=["approver"])
    try:
        with pytest.raises(wb.GateError, match="'ds1' may not promote"):
            wb.promote(name, 1, reason="not mine to do")
        viewer = _raw(team_server, "viewer", "POST", "/api/workbench/promote",
                      json={"name": name, "version": "1", "reason": "viewer"})  # fmt: skip
        assert (
            viewer.status_code == 403 and "EDIT on the registered model" in viewer.json()["message"]
        )
        anonymous = _raw(team_server, None, "POST", "/api/workbench/promote", json={"name": name})
        assert anonymous.status_code == 401
        # the approver logs in with credentials in the URL only: the entry names that login
        creds = json.loads(Path(team_server.credentials_file).read_text())
        host = team_server.tracking_uri.removeprefix("http://")
        monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
        monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://approver:{creds['approver']}@{host}")
        wb.open_workspace(Path(team_server.workspace) / "approver-url")
        with pytest.raises(wb.UsageError, match="--by 'ds1' is refused"):
            wb.promote(name, 1, by="ds1", reason="typed someone else")
        entry = wb.promote(name, 1, reason="approved")
    finally:
        team_policy(team_server.workspace, approvers=[])
    assert entry.by == "approver" and entry.checks_status == "passed"
    check = wb.registry.verify_history(name)
    assert check.ok and [s["owner"] for s in check.signers] == ["workbench-server"], check.signers


def test_an_entry_not_signed_by_the_server_is_flagged(model, as_user, team_server, monkeypatch):
    """What someone with the server's database (or its service password) could still write: an
    entry signed by a user's own key. ``--verify`` flags it on a team server."""
    from workbench.registry.audit import AuditEntry, chain_head, record

    name, mv, data = model
    wb.promote(name, 1, reason="first", force=True)
    team = Path(team_server.team_dir)
    secrets = json.loads((team / "secrets.json").read_text())
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "workbench-service")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", secrets["service_password"])
    client = mlflow.MlflowClient()
    forged = AuditEntry(
        time="2999-01-01T00:00:00.000000+00:00", action="promote", model=name, alias="champion",
        old_version=1, new_version=1, by="ds1", reason="signed by my own key", forced=False,
        checks_status="passed",
    )  # fmt: skip
    record(client, forged, chain_head(client, name))  # ds1's own key signs it
    as_user("viewer")
    wb.open_workspace(Path(team_server.workspace) / "viewer-verify")
    check = wb.registry.verify_history(name)
    assert not check.ok
    assert any("not written through the team server" in p for p in check.problems), check.problems


def test_the_policy_is_the_admin_s_and_is_validated(team_server, as_user):
    before = team_policy(team_server.workspace)
    as_user("ds1")
    ds1 = _raw(team_server, "ds1", "POST", "/api/workbench/policy", json={"approvers": ["ds1"]})
    assert ds1.status_code == 403 and "only the server's admin" in ds1.json()["message"]
    bad = {"gate_policy": {"thresholds": {"classification": {"roc_auc": "NaN"}}}}
    refused = _raw(team_server, "admin", "POST", "/api/workbench/policy", json=bad)
    assert refused.status_code == 400, refused.text
    bad_alias = _raw(team_server, "admin", "POST", "/api/workbench/policy",
                     json={"protected_aliases": ["../x"]})  # fmt: skip
    assert bad_alias.status_code == 400, bad_alias.text
    assert team_policy(team_server.workspace) == before  # nothing changed


def test_the_check_endpoint_refuses_what_it_cannot_judge(model, team_server):
    name, mv, data = model
    payload = {"model_uri": f"models:/{name}/1", "target": "default"}
    junk = _raw(
        team_server, "ds1", "POST", "/api/workbench/check",
        data={"payload": json.dumps(payload)}, files={"data": ("x.parquet", b"not parquet")},
    )  # fmt: skip
    assert junk.status_code == 400 and "Parquet" in junk.json()["message"], junk.text
    path = _raw(
        team_server, "ds1", "POST", "/api/workbench/check",
        data={"payload": json.dumps({**payload, "model_uri": "/etc/passwd"})},
        files={"data": ("x.parquet", b"x")},
    )  # fmt: skip
    assert path.status_code == 400 and "registered versions" in path.json()["message"]
    viewer = _raw(
        team_server, "viewer", "POST", "/api/workbench/check",
        data={"payload": json.dumps(payload)}, files={"data": ("x.parquet", b"x")},
    )  # fmt: skip
    assert viewer.status_code == 403
    assert (
        mlflow.MlflowClient().get_model_version(name, "1").tags.get("workbench.checks.status")
        is None
    ), "a refused check left a verdict"


def test_the_hostile_trial_s_ways_around_the_guard_are_refused(model, as_user, team_server):
    """Each way a hostile trial got past the first version of the guard (issue 23's review)."""
    name, mv, data = model
    wb.run_checks(f"models:/{name}/1", data=data, target="default", progress=False)
    entry = wb.promote(name, 1, reason="first")
    client = mlflow.MlflowClient()
    audit = client.get_experiment_by_name("workbench-audit").experiment_id
    checks = client.get_experiment_by_name("workbench-server-checks").experiment_id
    text = {"Content-Type": "text/plain"}
    decoy = f"decoy-{time.time_ns()}"  # ds2 creates it, so holds MANAGE on it: MLflow lets it by
    assert _raw(team_server, "ds2", "POST", "/api/2.0/mlflow/registered-models/create",
                json={"name": decoy}).ok  # fmt: skip
    attempts = {
        "DELETE alias: a decoy in the query, the real one in a text/plain body": _raw(
            team_server, "ds1", "DELETE",
            f"/api/2.0/mlflow/registered-models/alias?name={name}&alias=nothere",
            headers=text, data=json.dumps({"name": name, "alias": "champion"}),
        ),
        "DELETE a model: a decoy in the query": _raw(
            team_server, "ds2", "DELETE", f"/api/2.0/mlflow/registered-models/delete?name={decoy}",
            headers=text, data=json.dumps({"name": name}),
        ),
        "the admin's body as a JSON string": _raw(
            team_server, "admin", "POST", "/api/2.0/mlflow/registered-models/alias",
            json=json.dumps({"name": name, "alias": "champion", "version": "1"}),
        ),
        "the admin's camelCase field names": _raw(
            team_server, "admin", "POST", "/api/2.0/mlflow/runs/create",
            json={"experimentId": audit},
        ),
        "the audit experiment's id written 0N": _raw(
            team_server, "ds1", "POST", "/api/2.0/mlflow/runs/create",
            json={"experiment_id": "0" + audit},
        ),
        "a version number written 01": _raw(
            team_server, "ds1", "DELETE", "/api/2.0/mlflow/model-versions/delete",
            json={"name": name, "version": "01"},
        ),
        "a dataset listing the audit experiment": _raw(
            team_server, "ds1", "POST", "/api/3.0/mlflow/datasets/create",
            json={"name": "evil", "experiment_ids": [audit]},
        ),
        "an OpenTelemetry trace into the audit experiment": _raw(
            team_server, "ds1", "POST", "/v1/traces",
            headers={"x-mlflow-experiment-id": "0" + audit, "Content-Type": "application/x-protobuf"},
            data=b"",
        ),
        "an artifact path encoded twice": _raw(
            team_server, "ds2", "PUT",
            f"/api/2.0/mlflow-artifacts/artifacts/workspaces/default/%25{ord(checks[0]):X}"
            f"{checks[1:]}/x/artifacts/checks.json",
            data=b'{"forged": true}',
        ),
    }  # fmt: skip
    for what, resp in attempts.items():
        assert resp.status_code == 403 and "workbench team server refuses" in resp.text, (
            what, resp.status_code, resp.text[:300],
        )  # fmt: skip
    pickled = _raw(
        team_server, "ds1", "POST", "/api/workbench/check",
        data={"payload": json.dumps({"model_uri": f"models:/{name}/1", "target": "default",
                                     "allow_pickle": True})},
        files={"data": ("eval.parquet", b"x")},
    )  # fmt: skip
    assert pickled.status_code == 400 and pickled.json()["error_class"] == "UnsafeModelError"
    as_user("viewer")
    assert "champion" in wb.versions(name)[0].aliases
    assert list(wb.history(name)["run_id"]) == [entry.run_id]
    assert wb.registry.verify_history(name).ok
    written = [p for p in Path(team_server.artifacts).rglob("checks.json") if "/x/" in str(p)]
    assert not written, written
