"""Shared fixtures: every test gets a real MLflow store in a temporary workspace.

* ``workspace``: a fresh, empty workspace for one test (its own SQLite store).
* ``trained``: a session-wide workspace with two credit-risk versions logged once (a 40-tree random
  forest, version 1, and a logistic regression, version 2). Tests that change aliases or log more
  versions there must use their own model names.
* ``team_server``: the session's team server (real PostgreSQL + authenticated ``mlflow server`` on
  127.0.0.1), started once and started again for the next test when a test stopped or killed it;
  ``as_user(name)`` points MLflow and the workbench at it as that team member. Skipped without
  PostgreSQL, unless CI=true: then a missing PostgreSQL is a failure.
* ``spark``: a real local SparkSession for the session (skipped without PySpark/Java unless CI=true).

Under pytest-xdist (``make test`` runs ``-n auto --dist loadgroup``) each worker has its own
temporary folders, keys and session workspace, and tests pick free ports. Tests that share a
session-wide service run on one worker, so it is started once: the browser tests (one JupyterLab),
the team-server tests (one PostgreSQL and MLflow server) and the tests on the session's
SparkSession (one JVM); the others run a module at a time (see
:func:`pytest_collection_modifyitems`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.pop("MLFLOW_TRACKING_URI", None)  # tests never touch a real tracking server
os.environ.pop("MLFLOW_REGISTRY_URI", None)
os.environ.pop("MLFLOW_TRACKING_USERNAME", None)  # a login is given per test (as_user)
os.environ.pop("MLFLOW_TRACKING_PASSWORD", None)
os.environ.pop("WORKBENCH_WORKSPACE", None)
os.environ.setdefault("WORKBENCH_USER", "tester")
os.environ.setdefault("MLFLOW_TRACKING_INSECURE_TLS", "false")
warnings.filterwarnings("ignore", module="mlflow")
logging.getLogger("mlflow").setLevel(logging.ERROR)
logging.getLogger("alembic").setLevel(logging.WARNING)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


#: Session fixtures (by name) whose tests run on one xdist worker, so each starts once.
SHARED_SERVICES = {"lab": "browser", "_team_root": "team", "spark": "spark"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups into the node ids
def pytest_collection_modifyitems(config, items):
    """Group the tests of one shared service on one xdist worker (``--dist loadgroup``), and the
    other tests by module: a module's tests share its fixtures (built once) and may build on each
    other in file order, as they do in a serial run."""
    service: dict[str, str] = {}  # module -> the shared service one of its tests uses
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        names = getattr(item, "fixturenames", ())
        found = next((g for fixture, g in SHARED_SERVICES.items() if fixture in names), None)
        if found is None and module.startswith("tests/browser/"):
            found = "browser"
        if found is not None:
            service.setdefault(module, found)
    for item in items:  # a module stays whole, with its service's group when it uses one
        module = item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(service.get(module, module)))


@pytest.fixture(scope="session", autouse=True)
def _keys_dir(tmp_path_factory):
    """Signing keys and witnesses of the session in a temp folder, never in ``~/.config``."""
    saved = os.environ.get("WORKBENCH_KEYS_DIR")
    os.environ["WORKBENCH_KEYS_DIR"] = str(tmp_path_factory.mktemp("keys"))
    yield
    if saved is None:
        os.environ.pop("WORKBENCH_KEYS_DIR", None)
    else:
        os.environ["WORKBENCH_KEYS_DIR"] = saved


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


@pytest.fixture(scope="session")
def _team_root():
    from workbench.team import team_down
    from workbench.team.postgres import find_pg_bin

    if find_pg_bin() is None:
        message = "PostgreSQL is not installed (apt-get install postgresql)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " and CI=true: the team-server tests must run")
        pytest.skip(message)
    # Not under pytest's tmp folder: that one is 0700 and PostgreSQL runs as another user.
    root = Path(tempfile.mkdtemp(prefix="wb-team-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        with contextlib.suppress(Exception):
            team_down(root)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def team_server(_team_root):
    """The session's running team server (started again if an earlier test stopped it)."""
    from workbench.team import team_status, team_up

    status = team_status(_team_root)
    return status if status.running else team_up(_team_root)


@pytest.fixture
def as_user(team_server, monkeypatch):
    """``as_user("ds1")`` sets MLFLOW_TRACKING_URI/USERNAME/PASSWORD for this test; returns the env."""

    def switch(user: str) -> dict[str, str]:
        env = team_server.env(user)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return env

    return switch


@pytest.fixture(scope="session")
def spark_ready():
    """PySpark and Java 17+ are here (for tests that start Spark in a subprocess). Skipped
    without them, unless CI=true: then that is a failure."""
    from workbench.errors import UsageError
    from workbench.spark import check_spark

    try:
        check_spark()
    except UsageError as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{err} (CI=true: the Spark tests must run)")
        pytest.skip(str(err))


@pytest.fixture(scope="session")
def spark(spark_ready):
    """A real local SparkSession (``local[2]``, UI off, on 127.0.0.1) for the session; stopped at
    the end."""
    from workbench.spark import spark_session

    session = spark_session("local[2]")
    session.conf.set("spark.sql.shuffle.partitions", "4")
    yield session
    session.stop()
