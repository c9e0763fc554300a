"""The plots saved with the runs (real MLflow store, real models): stage 1's evaluation plots
with the training run, stage 2's fairness slices (candidate beside the champion) with the
check run, and both panels showing them."""

from __future__ import annotations

import json
import math

import mlflow
import pytest

import workbench as wb
from workbench.data import credit_risk, demo_dataset
from workbench.training import training_plots

PLOTLY = "application/vnd.plotly.v1+json"


def _files(run_id: str, folder: str = "plots") -> set[str]:
    return {f.path.rsplit("/", 1)[-1] for f in mlflow.MlflowClient().list_artifacts(run_id, folder)}


def test_train_and_log_keeps_the_classifier_plots_with_the_run(workspace):
    mv = wb.train_and_log(
        credit_risk(1500, seed=3), "default", name="plots-clf", params={"n_estimators": 20}
    )
    assert _files(mv.run_id) == {
        "roc.json", "precision_recall.json", "confusion_matrix.json", "importance.json",
        "plots.html",
    }  # fmt: skip
    figures = training_plots(mv)
    auc = figures["roc"].data[0].name
    assert auc == f"ROC (AUC {mv.metrics['roc_auc']:.3f})"  # the same eval rows as the metrics
    counts = figures["confusion_matrix"].data[0].z
    assert sum(map(sum, counts)) == round(1500 * 0.25)  # every held-out row, once
    assert list(figures["confusion_matrix"].data[0].x)[0] == "1"  # the positive label first
    names = set(figures["importance"].data[0].y)
    assert names <= set(wb.model_contract(mv.model_uri).features) and len(names) >= 3


def test_train_and_log_keeps_the_regressor_plots_and_can_skip_them(workspace):
    demo = demo_dataset("diabetes")
    mv = wb.train_and_log(demo.frame, demo.target, name="plots-reg", family="linear_regression")
    figures = training_plots(mv)
    assert set(figures) == {"predicted_vs_actual", "residuals", "importance"}
    assert len(figures["residuals"].data[0].y) == math.ceil(len(demo.frame) * 0.25)  # held out
    bare = wb.train_and_log(
        demo.frame, demo.target, name="plots-reg", family="linear_regression", plots=False
    )
    assert _files(bare.run_id) == set() and training_plots(bare) == {}


def test_train_panel_shows_the_plots_of_the_version_it_logged(workspace):
    panel = wb.ui.TrainPanel(dataset="breast_cancer", family="logistic_regression", name="p")
    mv = panel.train()
    assert mv is not None, panel.status.value
    titles = [o["data"][PLOTLY]["layout"]["title"]["text"] for o in panel.plots.outputs]
    assert len(titles) == 4 and titles[0].startswith("ROC curve")
    assert titles[-1] == "Permutation feature importance"


def test_check_run_keeps_the_fairness_slices_beside_the_champion(workspace, tmp_path):
    frame = credit_risk(2000, seed=1)
    first = wb.train_and_log(frame, "default", name="fair", params={"n_estimators": 20})
    wb.promote("fair", first.version, by="ana", reason="first model", force=True)
    second = wb.train_and_log(frame, "default", name="fair", family="logistic_regression")
    evaluation = credit_risk(1500, seed=9)
    report = wb.run_checks(
        second.model_uri, data=evaluation, target="default", protected="age_band", progress=False
    )
    table = report["fairness_gap"].table
    assert "champion" in table and table["champion"].notna().all()
    assert _files(report.run_id) == {"fairness_gap.json", "plots.html"}

    local = mlflow.artifacts.download_artifacts(
        run_id=report.run_id, artifact_path="plots/fairness_gap.json", dst_path=str(tmp_path)
    )
    fig = json.loads(open(local).read())
    assert [t["name"] for t in fig["data"]] == ["candidate v2", "@champion v1"]
    assert fig["data"][0]["y"] == pytest.approx(table["recall"].tolist())
    best = table.loc[table["judged"], "recall"].max()
    assert fig["layout"]["shapes"][0]["y0"] == pytest.approx(
        best - report["fairness_gap"].threshold
    )

    panel = wb.ui.ChecksPanel("fair", second.version, report=report)
    shown = panel.plots.outputs
    assert len(shown) == 1 and shown[0]["data"][PLOTLY]["data"][1]["name"] == "@champion v1"
    assert panel.detail_choice.layout.display is None

    saved = report.save(tmp_path / "again")
    assert (saved / "plots" / "plots.html").exists()
