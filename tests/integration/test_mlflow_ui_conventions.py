"""MLflow's UI as a training user expects it (issue 28): the classic training view on every
experiment, runs named for what they are (kind, version, date) and tagged ``workbench.kind``, few
``workbench.*`` tags on a version, and a description whose first line is the verdict."""

from __future__ import annotations

import re

import mlflow
import pytest

import workbench as wb
from workbench._core.names import AUDIT_EXPERIMENT
from workbench.data import credit_risk, production_batch
from workbench.registry import verify_history
from workbench.workspace import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG

DAY = r"\d{4}-\d\d-\d\d"


def _kind(client, name: str) -> str | None:
    return client.get_experiment_by_name(name).tags.get(EXPERIMENT_KIND_TAG)


def test_the_tag_value_is_the_ui_bundles_machine_learning_kind():
    """The value is the one MLflow's own UI bundle writes for "Machine learning" (not a guess)."""
    from pathlib import Path

    build = Path(mlflow.__file__).parent / "server" / "js" / "build" / "static" / "js"
    if not build.is_dir():
        pytest.skip("this MLflow has no UI bundle")
    needle = f'CUSTOM_MODEL_DEVELOPMENT="{EXPERIMENT_KIND}"'
    assert any(needle in f.read_text(errors="ignore") for f in build.glob("main.*.js"))
    assert EXPERIMENT_KIND_TAG == "mlflow.experimentKind"


def test_experiments_the_workspace_creates_or_uses_open_in_the_training_view(workspace):
    client = mlflow.MlflowClient()
    workspace.experiment_id("fresh")
    assert _kind(client, "fresh") == EXPERIMENT_KIND
    client.create_experiment("older")  # made before the workbench set the kind
    assert _kind(client, "older") is None
    workspace.experiment_id("older")
    assert _kind(client, "older") == EXPERIMENT_KIND
    client.create_experiment("chosen", tags={EXPERIMENT_KIND_TAG: "genai_development"})
    workspace.experiment_id("chosen")
    assert _kind(client, "chosen") == "genai_development"  # someone's choice is left alone


def test_a_journey_names_and_kinds_its_runs_and_keeps_the_version_lean(workspace):
    client = mlflow.MlflowClient()
    frame = credit_risk(600, seed=3)
    mv = wb.train_and_log(frame, "default", name="ui-risk", family="logistic_regression")
    train = client.get_run(mv.run_id)
    assert re.fullmatch(rf"train-ui-risk-{DAY}", train.info.run_name)
    assert train.data.tags["workbench.kind"] == "train"
    assert _kind(client, "ui-risk") == EXPERIMENT_KIND

    report = wb.run_checks(mv.model_uri, data=frame, target="default", progress=False)
    assert report.passed, report.text() if hasattr(report, "text") else report
    check = client.get_run(report.run_id)
    assert re.fullmatch(rf"check-v{mv.version}-{DAY}", check.info.run_name)
    assert check.data.tags["workbench.kind"] == "checks"  # the name the gate has always read

    entry = wb.promote("ui-risk", mv.version, by="ana", reason="first champion")
    audit = client.get_run(entry.run_id)
    assert re.fullmatch(
        rf"promote-ui-risk@champion-none-to-v{mv.version}-{DAY}", audit.info.run_name
    )
    assert audit.data.tags["workbench.kind"] == "audit"
    assert _kind(client, AUDIT_EXPERIMENT) == EXPERIMENT_KIND
    assert verify_history("ui-risk").ok  # the kind tag is outside the signed entry

    version = client.get_model_version("ui-risk", str(mv.version))
    ours = sorted(k for k in version.tags if k.startswith("workbench."))
    assert len(ours) <= 4, ours
    assert wb.get_version("ui-risk", mv.version).task == "classification"  # read from the run

    lines = [line for line in (version.description or "").splitlines() if line.strip()]
    assert not lines[0].lstrip().startswith("<!--"), lines[0]
    assert lines[0].startswith("**Checks: PASSED**")
    assert "Promoted to @champion** by ana" in version.description

    by_kind = client.search_runs(
        [client.get_experiment_by_name("ui-risk").experiment_id], "tags.`workbench.kind` = 'checks'"
    )
    assert [r.info.run_id for r in by_kind] == [report.run_id]


def test_a_monitoring_run_says_model_version_and_time(workspace):
    frame = credit_risk(600, seed=4)
    mv = wb.train_and_log(frame, "default", name="ui-mon", family="logistic_regression")
    result = wb.drift_report(
        frame,
        production_batch(1, "none"),
        model="models:/ui-mon@challenger",
        target="default",
        build_report=False,
    )
    run = mlflow.MlflowClient().get_run(result.log())
    assert re.fullmatch(rf"monitor-ui-mon-v{mv.version}-{DAY}T[0-9:]+Z", run.info.run_name)
    assert run.data.tags["workbench.kind"] == "monitor"
    assert _kind(mlflow.MlflowClient(), "monitoring/ui-mon") == EXPERIMENT_KIND
