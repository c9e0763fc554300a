"""'Passed' means the workspace's gate policy, not whatever suite someone chose to run."""

from __future__ import annotations

import json

import mlflow
import pytest

import workbench as wb
from workbench.checks import SafeArtifact
from workbench.data import credit_risk
from workbench.registry.policy import POLICY_FILE, gate_policy


@pytest.fixture(scope="module")
def policy_model(_trained_session):
    wb.open_workspace(_trained_session.ws.root)
    frame = _trained_session.frame
    mv = wb.train_and_log(frame, "default", name="policy", family="logistic_regression")
    return _trained_session, mv


@pytest.fixture
def eval_data():
    return credit_risk(800, seed=11)


def test_a_hand_picked_suite_does_not_pass_the_gate(policy_model, eval_data):
    trained, mv = policy_model
    wb.open_workspace(trained.ws.root)
    report = wb.run_checks(mv.model_uri, data=eval_data, target="default", suite=[SafeArtifact()])
    assert report.passed  # the suite it ran passed...
    with pytest.raises(wb.GateError, match="required check schema_contract did not run") as info:
        wb.promote("policy", mv.version, by="ana", reason="it passed")  # ...the policy's did not
    assert info.value.exit_code == 3
    forced = wb.promote("policy", mv.version, by="ana", reason="demo only", force=True)
    assert forced.forced and forced.checks_status == "passed, not by the policy"


def test_a_looser_bar_is_judged_by_its_number(policy_model, eval_data):
    """A run held to ``roc_auc >= 0`` passes its own bar; the gate holds the measured value to
    the policy's bar, whatever bar the run was held to (its text is never read)."""
    trained, mv = policy_model
    wb.open_workspace(trained.ws.root)
    report = wb.run_checks(
        mv.model_uri, data=eval_data, target="default", thresholds={"roc_auc": 0.0}, progress=False
    )
    measured = report["metric_roc_auc"].value
    assert report.passed and report["metric_roc_auc"].bar == 0.0 and 0.65 < measured < 0.999
    path = trained.ws.root / POLICY_FILE
    try:
        path.write_text(json.dumps({"thresholds": {"classification": {"roc_auc": 0.999}}}))
        with pytest.raises(
            wb.GateError, match=r"metric_roc_auc is 0\.\d+, the policy requires >= 0.999"
        ):
            wb.promote("policy", mv.version, by="ana", reason="no champion yet")
    finally:
        path.unlink()
    entry = wb.promote("policy", mv.version, alias="judged", by="ana", reason="meets 0.65")
    assert entry.checks_status == "passed"


def test_the_policys_suite_passes_and_the_entry_records_the_policy(policy_model, eval_data):
    trained, mv = policy_model
    wb.open_workspace(trained.ws.root)
    report = wb.run_checks(mv.model_uri, data=eval_data, target="default", progress=False)
    assert report.passed, report.summary()
    recorded = mlflow.artifacts.load_dict(f"runs:/{report.run_id}/checks.json")
    assert recorded["policy_hash"] == gate_policy().hash and len(recorded["data_hash"]) == 16
    entry = wb.promote("policy", mv.version, by="ana", reason="passes the policy")
    assert not entry.forced and entry.checks_status == "passed"
    assert entry.policy_hash == gate_policy().hash


def test_a_team_may_tighten_the_policy_but_not_loosen_it(policy_model, eval_data):
    trained, mv = policy_model
    wb.open_workspace(trained.ws.root)
    path = trained.ws.root / POLICY_FILE
    try:
        path.write_text(json.dumps({"thresholds": {"classification": {"roc_auc": 0.999}}}))
        report = wb.run_checks(mv.model_uri, data=eval_data, target="default", progress=False)
        assert "metric_roc_auc" in report.failed  # the default suite takes the policy's bars
        assert report["metric_roc_auc"].threshold == ">= 0.999"
        path.write_text(json.dumps({"thresholds": {"classification": {"roc_auc": 0.3}}}))
        with pytest.raises(wb.UsageError, match="looser than the default 0.65") as info:
            wb.promote("policy", mv.version, by="ana", reason="loose")
        assert info.value.exit_code == 2
        path.write_text("{not json")
        with pytest.raises(wb.UsageError, match="does not parse"):
            gate_policy()
    finally:
        path.unlink(missing_ok=True)
