"""``workbench class up`` on the team server: ten learners, each a login of their own, log a model and
promote it to @champion at the same time (separate processes, separate logins); ten audit chains
that verify, each entry by its learner; one learner can neither promote nor read another's model.
The ten concurrent promotions are timed (printed)."""

from __future__ import annotations

import json
import multiprocessing
import os
import time

import mlflow
import pytest

import workbench as wb
from workbench.cli import main

pytestmark = pytest.mark.server

LEARNERS = 10


def _learner(name: str, env: dict[str, str], folder: str, go, answers) -> None:
    """One learner's session, in a process of its own (forked: the imports are done) with its
    own login: log a small model, wait for the word, promote it (forced: no checks were run)."""
    try:
        os.environ.clear()
        os.environ.update(env)
        # MLflow keys its HTTP sessions by process id: no connection of the parent's is reused
        from sklearn.linear_model import LogisticRegression

        from workbench.data import credit_risk, split_xy

        wb.open_workspace(folder)
        table = credit_risk(500, seed=int(name[-2:]))[["age", "income", "default"]].dropna()
        x, y = split_xy(table.astype({"age": float}), "default")
        model = f"{name}.credit-risk"
        mv = wb.log_model(LogisticRegression(max_iter=500).fit(x, y), name=model, train=(x, y))
        answers.put((name, "logged", None))
        go.wait(300)
        start = time.time()
        entry = wb.promote(model, mv.version, reason=f"{name}'s own model (exercise)", force=True)
        done = {"version": int(mv.version), "by": entry.by, "start": start, "end": time.time()}
        answers.put((name, "promoted", done))
    except BaseException as err:  # noqa: BLE001 - said to the test, which fails with it
        answers.put((name, "failed", f"{type(err).__name__}: {err}"))


def _learner_env(team_server, login: str, password: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "WORKBENCH_WORK"))}
    env.update(
        MLFLOW_TRACKING_URI=team_server.tracking_uri,
        MLFLOW_TRACKING_USERNAME=login,
        MLFLOW_TRACKING_PASSWORD=password,
    )
    return env


def test_ten_learners_promote_their_own_models_at_once(team_server, tmp_path, capsys, monkeypatch):
    started = time.monotonic()
    argv = ["--workspace", team_server.workspace, "class", "up", "--learners", str(LEARNERS)]
    assert main([*argv, "--json"]) == 0
    room = json.loads(capsys.readouterr().out)
    class_up_seconds = time.monotonic() - started
    names = [f"learner-{i:02d}" for i in range(1, LEARNERS + 1)]
    assert [lr["login"] for lr in room["learners"]][:LEARNERS] == names
    team_dir = team_server.team_dir
    roster = json.loads(open(os.path.join(team_dir, "class.json")).read())
    assert roster["mode"] == "team" and roster["tracking_uri"] == team_server.tracking_uri
    creds_file = os.path.join(team_dir, "class-credentials.json")
    assert os.stat(creds_file).st_mode & 0o077 == 0
    creds = json.loads(open(creds_file).read())
    assert "password" not in json.dumps(roster) and creds["learner-01"] not in json.dumps(roster)

    ctx = multiprocessing.get_context("fork")
    go, answers = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(
            target=_learner,
            args=(n, _learner_env(team_server, n, creds[n]), str(tmp_path / n), go, answers),
        )
        for n in names
    ]
    for proc in procs:
        proc.start()
    results: dict[str, dict] = {}
    try:
        logged = _collect(answers, "logged", LEARNERS)
        logged_seconds = time.monotonic() - started - class_up_seconds
        go.set()
        results = _collect(answers, "promoted", LEARNERS)
    finally:
        go.set()
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    assert len(logged) == LEARNERS
    promote_seconds = max(r["end"] for r in results.values()) - min(
        r["start"] for r in results.values()
    )
    with capsys.disabled():
        print(
            f"\nclass up --learners {LEARNERS}: {class_up_seconds:.1f} s; {LEARNERS} learners "
            f"logged a model in {logged_seconds:.1f} s; {LEARNERS} concurrent promotions to "
            f"@champion: {promote_seconds:.1f} s (slowest single one "
            f"{max(r['end'] - r['start'] for r in results.values()):.1f} s)"
        )

    for key, value in _learner_env(team_server, "admin", _admin(team_dir)).items():
        monkeypatch.setenv(key, value)
    wb.open_workspace(tmp_path / "instructor")
    for name in names:
        model = f"{name}.credit-risk"
        assert results[name]["by"] == name
        log = wb.history(model)
        assert list(log["by"]) == [name] and list(log["action"]) == ["promote"], log
        check = wb.registry.verify_history(model)
        assert check.ok, check.summary()
        alias = mlflow.MlflowClient().get_model_version_by_alias(model, "champion")
        assert int(alias.version) == results[name]["version"]
    for key, value in _learner_env(team_server, "learner-01", creds["learner-01"]).items():
        monkeypatch.setenv(key, value)  # a learner reads their own audit log too
    assert list(wb.history("learner-01.credit-risk")["by"]) == ["learner-01"]


def test_a_learner_cannot_promote_or_read_another_s_model(team_server, tmp_path, monkeypatch):
    from workbench.lesson.roster import class_up

    class_up(2, local=False, workspace=team_server.workspace)  # kept from the test above, or made
    creds = json.loads(open(os.path.join(team_server.team_dir, "class-credentials.json")).read())
    for key, value in _learner_env(team_server, "learner-01", creds["learner-01"]).items():
        monkeypatch.setenv(key, value)
    wb.open_workspace(tmp_path / "ws")
    other = "learner-02.credit-risk"
    with pytest.raises(wb.PermissionDeniedError, match="learner-01.*needs EDIT on the registered"):
        wb.promote(other, 1, reason="not mine", force=True)
    with pytest.raises(wb.WorkbenchError, match=f"no registered model called '{other}'"):
        wb.history(other)
    with pytest.raises(mlflow.exceptions.MlflowException, match="Permission denied|PERMISSION"):
        mlflow.MlflowClient().get_registered_model(other)
    with pytest.raises(mlflow.exceptions.MlflowException, match="Permission denied|PERMISSION"):
        mlflow.MlflowClient().set_registered_model_tag(other, "mine", "now")
    assert mlflow.MlflowClient().get_registered_model("learner-01.credit-risk").name


def _collect(answers, what: str, count: int) -> dict[str, object]:
    """``count`` answers ``what`` from the learners' processes; the first failure fails the test."""
    found: dict[str, object] = {}
    while len(found) < count:
        name, said, value = answers.get(timeout=240)
        if said == "failed":
            pytest.fail(f"{name} failed: {value}")
        assert said == what, (name, said)
        found[name] = value
    return found


def _admin(team_dir: str) -> str:
    return json.loads(open(os.path.join(team_dir, "credentials.json")).read())["admin"]
