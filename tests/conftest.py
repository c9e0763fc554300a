"""Shared fixtures: every test gets a real MLflow store in a temporary workspace.

* ``workspace``: a fresh, empty workspace for one test (its own SQLite store).
* ``trained``: a session-wide workspace with two credit-risk versions logged once (a 40-tree random
  forest, version 1, and a logistic regression, version 2). Tests that change aliases or log more
  versions there must use their own model names.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.pop("MLFLOW_TRACKING_URI", None)  # tests never touch a real tracking server
os.environ.pop("MLFLOW_REGISTRY_URI", None)
os.environ.pop("WORKBENCH_WORKSPACE", None)
os.environ.setdefault("WORKBENCH_USER", "tester")
os.environ.setdefault("MLFLOW_TRACKING_INSECURE_TLS", "false")
warnings.filterwarnings("ignore", module="mlflow")
logging.getLogger("mlflow").setLevel(logging.ERROR)
logging.getLogger("alembic").setLevel(logging.WARNING)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


@pytest.fixture
def workspace(tmp_path):
    """A fresh workspace (own SQLite store) that the workbench functions use for this test."""
    import workbench as wb

    return wb.open_workspace(tmp_path / "ws")


@dataclass
class Trained:
    """The session-wide workspace and what was logged into it."""

    ws: object
    frame: object  # the credit-risk table the models were trained on
    forest: object  # ModelVersion 1 of "credit-risk": random forest
    linear: object  # ModelVersion 2 of "credit-risk": logistic regression
    target: str = "default"


@pytest.fixture(scope="session")
def _trained_session(tmp_path_factory) -> Trained:
    import workbench as wb
    from workbench.data import credit_risk

    ws = wb.open_workspace(tmp_path_factory.mktemp("trained") / "ws")
    frame = credit_risk(2000, seed=1)
    forest = wb.train_and_log(
        frame, "default", name="credit-risk", family="random_forest", params={"n_estimators": 40}
    )
    linear = wb.train_and_log(frame, "default", name="credit-risk", family="logistic_regression")
    return Trained(ws, frame, forest, linear)


@pytest.fixture
def trained(_trained_session) -> Trained:
    """The session's trained workspace, opened as the current workspace."""
    import workbench as wb

    wb.open_workspace(_trained_session.ws.root)
    return _trained_session
