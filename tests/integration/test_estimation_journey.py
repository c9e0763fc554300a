"""Estimated performance end to end: the calibration table is kept in a logged classifier's
contract, drift_report estimates the batch's metrics from the model's probabilities, and the
estimate reaches summary.json, the MLflow run and the monitoring history; a regressor gets none."""

from __future__ import annotations

import json

import workbench as wb
from workbench.data import credit_risk, diabetes, production_batch
from workbench.registry import model_contract


def test_a_classifiers_estimate_reaches_summary_mlflow_and_history(workspace, tmp_path):
    mv = wb.train_and_log(credit_risk(1500, seed=1), "default", name="est-journey")
    table = model_contract(mv.model_uri).calibration
    assert table["rows"] > 100 and len(table["p"]) == len(table["rate"]) > 2

    batch = production_batch(4, "gradual_shift", n=600, seed=2)
    result = wb.drift_report(credit_risk(1500, seed=3), batch, model=mv.model_uri)
    est = result.estimated_performance
    assert set(est) >= {"accuracy", "precision", "recall", "f1", "roc_auc", "calibrated"}
    acc = est["accuracy"]
    assert acc["low"] <= acc["value"] <= acc["high"]
    assert abs(acc["value"] - result.performance["accuracy"]) < 0.1  # labels came: compare
    assert "estimated performance: accuracy" in result.text()
    assert "concept shift" in result.text()

    folder = result.save(tmp_path / "report")
    saved = json.loads((folder / "summary.json").read_text())
    assert saved["estimated_performance"]["accuracy"]["value"] == acc["value"]
    assert wb.DriftResult.load(folder).estimated_performance == result.estimated_performance

    result.log()
    row = wb.monitoring_history(mv.model_uri).frame.iloc[-1]
    assert abs(row["est.accuracy"] - acc["value"]) < 1e-9
    assert row["est.accuracy.low"] <= row["est.accuracy"] <= row["est.accuracy.high"]


def test_a_regressor_is_measured_not_estimated(workspace):
    frame = diabetes()
    mv = wb.train_and_log(frame, "target", name="est-regressor")
    assert model_contract(mv.model_uri).calibration == {}
    result = wb.drift_report(frame.iloc[:200], frame.iloc[200:], model=mv.model_uri)
    assert result.estimated_performance == {}
    assert "estimated performance" not in result.text()
