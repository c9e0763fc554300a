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
    elif scenario == "gradual_shift":  # larger loans on lower incomes: more defaults, too
        drifted = {c.column for c in result.drifted_columns}
        assert expected[scenario] <= drifted <= expected[scenario] | {"default"}
    else:
        assert {c.column for c in result.drifted_columns} == expected[scenario]


def test_with_a_model_prediction_drift_and_performance_are_reported(trained, tmp_path):
    cur = production_batch(3, "label_shift")
    result = wb.drift_report(REF, cur, model="models:/credit-risk@challenger", target="default")
    assert result.model_name == "credit-risk" and result.model_version == "2"
    contract = wb.model_contract("models:/credit-risk@challenger")
    tested = [c.column for c in result.columns]
    assert set(tested) == {*contract.features, "default", "prediction"}
    assert result.skipped == {"application_date": "date (model contract): dates always move"}
    assert set(result.performance) >= {"accuracy", "recall"}
    # the comparison is with held-out eval data when the version was logged, not training rows
    assert result.reference_performance["accuracy"] == contract.reference["accuracy"]
    assert "held-out" in result.reference_source
    assert result.reference_table_performance["accuracy"] > 0
    assert result.performance["accuracy"] < result.reference_performance["accuracy"] - 0.1
    folder = result.save(tmp_path / "r")
    assert {p.name for p in folder.iterdir()} == {"report.html", "report.json", "summary.json"}
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "drift" and "default" in summary["drifted_columns"]
    assert summary["model_version"] == "2"
    assert "report.html" in result._repr_html_()
    html = (folder / "report.html").read_text()
    # the page opens with the workbench's verdict; each column's test in it is the decision's
    assert 0 < html.index("Workbench verdict: DRIFT") - html.index("<body") < 1000
    assert "holm-corrected" in html


def test_an_unlabelled_batch_with_a_model_is_valid_and_says_performance_was_skipped(trained):
    cur = production_batch(3, "none", with_target=False)
    result = wb.drift_report(REF, cur, model="models:/credit-risk@challenger", build_report=False)
    assert result.valid and result.status == "ok" and result.target == "default"
    assert result.performance == {} and "no labels" in result.performance_note
    assert "no labels" in result.skipped["default"]
    assert "prediction" in {c.column for c in result.columns}
    assert "not measured" in result.text() and "ignore it" not in result.text()


def _user_shaped(frame, seed):
    """The demo table as users have it: string labels, a text id, an integer id, date strings."""
    out = frame.copy()
    out["outcome"] = out.pop("default").map({1: "defaulted", 0: "repaid"})
    out["customer_id"] = [f"C{seed}-{i:06d}" for i in range(len(out))]
    out["ID"] = range(seed * 100_000, seed * 100_000 + len(out))
    out["application_date"] = out["application_date"].dt.strftime("%Y-%m-%d")
    return out


def test_string_labels_use_the_positive_label_and_keep_evidentlys_classification(workspace):
    train = _user_shaped(credit_risk(1200, seed=6), 1)
    wb.train_and_log(
        train, "outcome", name="loans", family="logistic_regression", positive_label="defaulted"
    )
    cur = _user_shaped(production_batch(3, "label_shift", n=600), 2)
    result = wb.drift_report(train, cur, model="models:/loans@challenger")
    assert {"customer_id", "ID", "application_date"} <= set(result.skipped)
    assert all("model contract" in result.skipped[c] for c in ("customer_id", "ID"))
    assert not any("performance section left out" in n for n in result.notes)
    evidently = {
        m["config"]["type"].split(":")[-1]: m["value"] for m in result.report().dict()["metrics"]
    }
    # recall of the defaulters, not of the alphabetically larger "repaid"
    assert evidently["RecallByLabel"]["defaulted"] == pytest.approx(result.performance["recall"])
    assert evidently["Recall"] == pytest.approx(result.performance["recall"])
    assert evidently["RecallByLabel"]["repaid"] != pytest.approx(result.performance["recall"])
    assert "outcome" in {c.column for c in result.drifted_columns}


def test_without_a_model_ids_and_dates_are_skipped_and_a_clean_split_is_quiet():
    table = _user_shaped(credit_risk(6000, seed=8), 3)
    ref, cur = table.iloc[:5000], table.iloc[5000:]
    result = wb.drift_report(ref, cur, target="outcome", build_report=False)
    assert result.status == "ok", result.text()
    assert set(result.skipped) == {"customer_id", "ID", "application_date"}
    assert "identifier" in result.skipped["customer_id"]
    assert "date" in result.skipped["application_date"]
    summary = result.to_dict()
    assert summary["skipped"] == result.skipped
    assert "customer_id" in result._repr_html_()


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
    assert history._repr_html_().count("width:14px") == 3  # one square per run
    assert list(history.drift_matrix()[1].loc["income"]) == [False, True, True]
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
    panel.ignore.value = "region, purpose"
    panel.run_button.click()
    assert "wb-ok" in panel.status.value, panel.status.value
    assert {"region", "purpose"} <= set(panel.last_result.skipped)
    assert "iframe" in panel.report_view.value
    assert (Path(panel.last_result.report_path)).exists()
