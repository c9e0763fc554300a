"""Estimated performance end to end: the calibration table is kept in a logged classifier's
contract, drift_report estimates the batch's metrics from the model's probabilities, and the
estimate reaches summary.json, the MLflow run and the monitoring history; a regressor gets none."""

from __future__ import annotations

import json

import pandas as pd

import workbench as wb
from workbench.data import credit_risk, diabetes, production_batch
from workbench.monitoring import monitoring_dashboard
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


def test_a_rare_positive_tables_withheld_estimate_says_why_in_every_view(workspace, tmp_path):
    """Too few positives in the eval rows: no figure anywhere, the reason everywhere (text, the
    notebook card, summary.json, the MLflow run, the history and the dashboard)."""
    table = credit_risk(1600, seed=7)
    positives = table.index[table["default"] == 1]
    table = table.drop(positives[60:])  # 60 positives: about 15 in the 25% eval rows
    mv = wb.train_and_log(table, "default", name="est-rare")
    calibration = model_contract(mv.model_uri).calibration
    assert calibration["positives"] < 20

    result = wb.drift_report(credit_risk(800, seed=8), credit_risk(500, seed=9), model=mv.model_uri)
    est = result.estimated_performance
    assert est["withheld"] and "positive rows" in est["reason"]
    assert all(est[m]["value"] is None for m in ("accuracy", "precision", "recall", "f1"))
    assert f"estimated performance: withheld: {est['reason']}" in result.text()
    assert "withheld: the eval data held only" in result._repr_html_()

    folder = result.save(tmp_path / "report")
    saved = json.loads((folder / "summary.json").read_text())["estimated_performance"]
    assert saved["withheld"] is True and saved["reason"] == est["reason"]
    assert saved["precision"] == {
        "value": None, "low": None, "high": None, "withheld": True, "reason": est["reason"]
    }  # fmt: skip

    result.log()
    row = wb.monitoring_history(mv.model_uri).frame.iloc[-1]
    assert "est.accuracy" not in row.index or pd.isna(row["est.accuracy"])  # no figure logged
    assert row["estimate_note"] == f"withheld: {est['reason']}"
    card = monitoring_dashboard("est-rare")._repr_html_()
    assert "estimate: withheld: the eval data held only" in card
