"""Stage 4 on a real SQLite store: every demo drift scenario is caught, reports are saved and
logged, the history holds every run, and the retrain policy tags the model version."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest

import workbench as wb
from workbench.data import SCENARIOS, credit_risk, production_batch
from workbench.monitoring import RETRAIN_TAG, apply_retrain_policy, simulate_week

REF = credit_risk(5000)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_drift_scenario_is_caught_and_none_is_quiet(scenario):
    cur = production_batch(3, scenario)
    result = wb.drift_report(REF, cur, target="default", on_invalid="return", build_report=False)
    if scenario == "none":
        assert result.status == "ok" and result.drift_detected is False
        assert result.drifted_columns == []
        return
    assert result.status in ("drift", "invalid")  # never "ok"
    expected = {
        "gradual_shift": {"income", "loan_amount"},
        "new_category": {"purpose"},
        "label_shift": {"default"},
    }
    if scenario == "null_surge":
        assert result.status == "invalid" and "income" in result.reasons[0]
    else:
        assert {c.column for c in result.drifted_columns} == expected[scenario]


def test_with_a_model_prediction_drift_and_performance_are_reported(trained, tmp_path):
    cur = production_batch(3, "label_shift")
    result = wb.drift_report(REF, cur, model="models:/credit-risk@challenger", target="default")
    assert result.model_name == "credit-risk" and result.model_version == "2"
    assert "prediction" in {c.column for c in result.columns}
    assert set(result.performance) >= {"accuracy", "recall"}
    assert result.performance["accuracy"] < result.reference_performance["accuracy"] - 0.1
    folder = result.save(tmp_path / "r")
    assert {p.name for p in folder.iterdir()} == {"report.html", "report.json", "summary.json"}
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "drift" and "default" in summary["drifted_columns"]
    assert summary["model_version"] == "2"
    assert "report.html" in result._repr_html_()
    html = (folder / "report.html").read_text()
    assert "Jensen-Shannon" in html


def test_history_over_three_runs_and_the_retrain_policy(workspace):
    frame = credit_risk(600, seed=4)
    mv = wb.train_and_log(frame, "default", name="risk-mon", family="logistic_regression")
    uri = "models:/risk-mon@challenger"
    for day, scenario in [(1, "none"), (2, "gradual_shift"), (3, "gradual_shift")]:
        result = wb.drift_report(
            REF,
            production_batch(day, scenario),
            model=uri,
            target="default",
            build_report=False,
            data_ids={"current": f"day {day}"},
        )
        result.log()
    history = wb.monitoring_history(uri)
    frame = history.frame
    assert list(frame["current"]) == ["day 1", "day 2", "day 3"]
    assert list(frame["drift_detected"]) == [False, True, True]
    assert set(frame["model_version"]) == {str(mv.version)}
    assert "perf.accuracy" in frame.columns
    assert "<img" in history._repr_html_()
    run = mlflow.MlflowClient().get_run(frame["run_id"].iloc[-1])
    assert run.data.metrics["drift.income"] > 0.1
    assert run.data.tags["workbench.model_name"] == "risk-mon"
    assert "summary.json" in {a.path.split("/")[-1] for a in _artifacts(run.info.run_id)}

    strict = apply_retrain_policy(uri, k=3, n=3)
    assert not strict.requested and strict.drifted == 2
    assert RETRAIN_TAG not in _version_tags("risk-mon", mv.version)
    decision = apply_retrain_policy(uri, k=2, n=3)
    assert decision.requested and decision.drifted == 2 and decision.window == 3
    assert _version_tags("risk-mon", mv.version)[RETRAIN_TAG] == "true"


def test_policy_needs_the_latest_run_to_drift(workspace):
    wb.train_and_log(
        credit_risk(600, seed=5), "default", name="risk-quiet", family="logistic_regression"
    )
    uri = "models:/risk-quiet@challenger"
    week = simulate_week("gradual_shift", model=uri, days=2, k=1, window=3)
    assert [r.status for r in week.results] == ["drift", "drift"]
    assert week.decision.requested
    wb.drift_report(REF, production_batch(3, "none"), model=uri, build_report=False).log()
    decision = apply_retrain_policy(uri, k=2, n=3)
    assert not decision.requested and "not in the latest" in decision.reason


def _artifacts(run_id):
    client = mlflow.MlflowClient()
    return client.list_artifacts(run_id, "drift")


def _version_tags(name, version):
    return mlflow.MlflowClient().get_model_version(name, str(version)).tags


def test_panel_buttons_call_the_stage_functions(workspace):
    from workbench.ui import MonitorPanel

    panel = MonitorPanel(scenario="null_surge", log=False)
    panel.run_button.click()
    assert "wb-warn" in panel.status.value and "income" in panel.status.value
    assert panel.last_result.status == "invalid" and panel.report_view.value == ""
    panel.scenario.value = "none"
    panel.run_button.click()
    assert "wb-ok" in panel.status.value, panel.status.value
    assert "iframe" in panel.report_view.value
    assert (Path(panel.last_result.report_path)).exists()
