"""On the team server: the version's description records the authenticated promoter, and a viewer
who cannot write it gets a warning, the version left as it was."""

from __future__ import annotations

import mlflow
import pytest

import workbench as wb
from workbench.registry.description import DescriptionWarning, refresh_description

pytestmark = pytest.mark.server

MODEL = "story-team"


def test_description_names_the_login_and_a_viewer_only_gets_a_warning(as_user, tmp_path):
    from sklearn.dummy import DummyClassifier

    from workbench.data import credit_risk, split_xy

    as_user("ds1")
    wb.open_workspace(tmp_path / "ws")
    table = credit_risk(200, seed=5)[["age", "income", "default"]].dropna()
    x, y = split_xy(table.astype({"age": float}), "default")
    if MODEL not in wb.model_names():
        wb.log_model(DummyClassifier(strategy="prior").fit(x, y), name=MODEL, train=(x, y))
    version = 1
    as_user("approver")
    wb.promote(MODEL, version, reason="team <b>demo</b>", force=True)
    client = mlflow.MlflowClient()
    text = client.get_model_version(MODEL, str(version)).description or ""
    assert "**FORCED** by approver" in text and "<b>" not in text

    client.update_model_version(MODEL, str(version), description="out of date")
    as_user("viewer")  # the description is stale; a viewer's rebuild may not write it
    with pytest.warns(DescriptionWarning, match=f"{MODEL} version {version}"):
        assert refresh_description(MODEL, version) is None
    assert mlflow.MlflowClient().get_model_version(MODEL, str(version)).description == "out of date"
