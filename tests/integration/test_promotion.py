"""The gate, forced promotions, rollback and the audit log, on the session's real SQLite store.
Each test uses its own model names: the aliases it moves are its own."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import mlflow
import pytest

import workbench as wb
from workbench.data import credit_risk, split_xy


def _register_copies(name: str, source_uri: str, count: int) -> None:
    """``count`` versions of ``name`` that reuse an already logged model's files (cheap)."""
    client = mlflow.MlflowClient()
    client.create_registered_model(name)
    info = mlflow.models.get_model_info(source_uri)
    for _ in range(count):
        client.create_model_version(name, info.model_uri, tags={"workbench.task": "classification"})


@pytest.fixture(scope="module")
def gate(_trained_session):
    """Model "gate": version 1 a sound logistic regression, version 2 a model that guesses."""
    from sklearn.dummy import DummyClassifier

    wb.open_workspace(_trained_session.ws.root)
    frame = _trained_session.frame
    wb.train_and_log(frame, "default", name="gate", family="logistic_regression")
    x, y = split_xy(frame.drop(columns="application_date"), "default")
    wb.log_model(DummyClassifier(strategy="prior").fit(x, y), name="gate", train=(x, y))
    return _trained_session


def _champion(name: str) -> int:
    return int(mlflow.MlflowClient().get_model_version_by_alias(name, "champion").version)


def test_gate_promote_refuse_force_and_rollback(gate):
    data = credit_risk(600, seed=7)
    with pytest.raises(wb.GateError, match="no checks on record") as info:
        wb.promote("gate", 1, by="ana", reason="first")
    assert info.value.exit_code == 3 and "version 1" in str(info.value)

    first = wb.run_checks("models:/gate/1", data=data, target="default", progress=False)
    assert first.passed, first.summary()
    entry = wb.promote("gate", 1, by="ana", reason="first champion")
    assert (entry.old_version, entry.new_version, entry.checks_status) == (None, 1, "passed")
    assert _champion("gate") == 1

    second = wb.run_checks("models:/gate@challenger", data=data, target="default", progress=False)
    assert second.version == 2 and second.champion_version == 1
    assert {"metric_roc_auc", "no_regression"} <= set(second.failed)
    with pytest.raises(wb.GateError) as info:
        wb.promote("gate", "challenger", by="bob", reason="looks fine")
    message = str(info.value)
    assert "version 2" in message and "metric_roc_auc" in message and "no_regression" in message
    assert _champion("gate") == 1

    with pytest.raises(wb.DataError, match="needs a reason"):
        wb.promote("gate", 2, by="bob", force=True)
    forced = wb.promote("gate", 2, by="bob", reason="hotfix for a demo", force=True)
    assert forced.forced and forced.checks_status == "failed" and _champion("gate") == 2

    back = wb.rollback("gate", by="carol", reason="forced version misbehaves")
    assert (back.old_version, back.new_version, back.action) == (2, 1, "rollback")
    assert _champion("gate") == 1
    with pytest.raises(wb.RegistryError, match="no earlier holder"):
        wb.rollback("gate", by="carol", reason="again")

    log = wb.history("gate")
    assert list(log["action"]) == ["promote", "promote", "rollback"]
    assert list(log["by"]) == ["ana", "bob", "carol"]
    assert list(log["forced"]) == [False, True, False]
    assert list(log["checks_status"]) == ["passed", "failed", "passed"]
    assert log["old_version"].tolist()[1:] == [1, 2] and log["new_version"].tolist() == [1, 2, 1]
    assert log["time"].is_monotonic_increasing and log["reason"].iloc[1] == "hotfix for a demo"
    audit = mlflow.MlflowClient().get_experiment_by_name("workbench-audit")
    assert audit is not None  # the log lives in the tracking store itself


def test_rollback_walks_back_one_promotion_at_a_time(gate):
    _register_copies("stack", "models:/gate/1", 3)
    for version in (1, 2, 3):
        wb.promote("stack", version, by="ana", reason=f"v{version}", force=True)
    assert wb.rollback("stack", by="ana", reason="bad v3").new_version == 2
    assert wb.rollback("stack", by="ana", reason="bad v2").new_version == 1
    assert _champion("stack") == 1
    with pytest.raises(wb.DataError, match="needs a reason"):
        wb.rollback("stack", by="ana", reason=" ")


_PROMOTER = textwrap.dedent(
    """
    import os, sys, time
    import workbench as wb
    wb.open_workspace(sys.argv[1])
    open(sys.argv[2] + ".ready", "w").close()
    while not os.path.exists(sys.argv[3]):
        time.sleep(0.005)
    wb.promote("race", int(sys.argv[4]), by=sys.argv[5], reason="race", force=True)
    """
)


def test_two_processes_promoting_at_once_keep_both_entries(gate, tmp_path):
    _register_copies("race", "models:/gate/1", 2)
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _PROMOTER,
                str(gate.ws.root),
                str(tmp_path / who),
                str(go),
                str(version),
                who,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for version, who in ((1, "p1"), (2, "p2"))
    ]
    try:
        deadline = time.monotonic() + 120
        while not all((tmp_path / f"{who}.ready").exists() for who in ("p1", "p2")):
            assert time.monotonic() < deadline, "the promoters did not start"
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.05)
        go.touch()  # both promote at the same moment
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0], outputs
    log = wb.history("race")
    assert sorted(log["by"]) == ["p1", "p2"] and set(log["new_version"]) == {1, 2}
    assert log["run_id"].nunique() == 2
    assert _champion("race") in (1, 2)
