"""The version's description in MLflow tells its story after checks, promote and rollback."""

from __future__ import annotations

import mlflow
import pytest

import workbench as wb
from workbench.data import credit_risk, split_xy
from workbench.registry.description import BEGIN


def _description(name: str, version: int) -> str:
    return mlflow.MlflowClient().get_model_version(name, str(version)).description or ""


def test_description_follows_checks_promote_and_rollback(_trained_session):
    from sklearn.dummy import DummyClassifier

    wb.open_workspace(_trained_session.ws.root)
    frame = _trained_session.frame
    wb.train_and_log(frame, "default", name="story", family="logistic_regression")
    x, y = split_xy(frame.drop(columns="application_date"), "default")
    wb.log_model(DummyClassifier(strategy="prior").fit(x, y), name="story", train=(x, y))
    client = mlflow.MlflowClient()
    client.update_model_version("story", "1", description="Hand-written: trained for the demo.")
    data = credit_risk(600, seed=7)

    for _ in range(2):  # two check runs: still one workbench part
        report = wb.run_checks("models:/story/1", data=data, target="default", progress=False)
    text = _description("story", 1)
    assert text.startswith("Hand-written: trained for the demo.") and text.count(BEGIN) == 1
    assert "Checks: PASSED" in text and report.policy_hash in text and report.data_hash in text
    run = client.get_run(report.run_id)
    assert f"#/experiments/{run.info.experiment_id}/runs/{report.run_id}/artifacts/" in text
    assert "model_card.html" in [a.path for a in client.list_artifacts(report.run_id)]

    wb.promote("story", 1, by="ana", reason="first champion")
    assert "Promoted to @champion** by ana" in _description("story", 1)
    wb.run_checks("models:/story/2", data=data, target="default", progress=False)
    assert "Checks: FAILED" in _description("story", 2)
    wb.promote("story", 2, by="bob", reason="<script>x</script> demo", force=True)
    two = _description("story", 2)
    assert "**FORCED** by bob" in two and "replacing v1" in two and "<script>" not in two
    assert "Replaced as @champion** by bob" in _description("story", 1)
    wb.rollback("story", by="carol", reason="forced version misbehaves")
    one = _description("story", 1)
    assert "Rolled back to @champion** by carol" in one and one.count(BEGIN) == 1
    assert "Rolled back from @champion** by carol" in _description("story", 2)


def test_unwritable_description_warns_and_keeps_the_promotion(_trained_session, monkeypatch):
    """The description is a view: a registry that refuses it leaves the promotion standing."""
    from workbench.registry.description import DescriptionWarning

    wb.open_workspace(_trained_session.ws.root)
    frame = _trained_session.frame
    wb.train_and_log(frame, "default", name="story-ro", family="logistic_regression")
    wb.run_checks(
        "models:/story-ro/1", data=credit_risk(600, seed=7), target="default", progress=False
    )

    def refuse(self, *args, **kwargs):
        raise mlflow.exceptions.MlflowException("Permission denied", error_code="PERMISSION_DENIED")

    monkeypatch.setattr(mlflow.MlflowClient, "update_model_version", refuse)
    with pytest.warns(DescriptionWarning, match="story-ro version 1"):
        entry = wb.promote("story-ro", 1, by="ana", reason="first")
    assert entry.new_version == 1
    assert (
        str(mlflow.MlflowClient().get_model_version_by_alias("story-ro", "champion").version) == "1"
    )
    assert list(wb.history("story-ro")["by"]) == ["ana"]
