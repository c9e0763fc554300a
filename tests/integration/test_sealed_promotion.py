"""Sealed promotion: the attacks of issue 22 on the loading path and the gate, each done the way a
user with ordinary write access to the store would (plain MLflow client calls, edited files).

Each test says what the attacker did and asserts what must hold: the payload never runs (a marker
file stays absent), the promotion is refused (exit 3, one line), or the changed artifact is refused
(exit 2). The audit-chain attacks live in ``test_audit_tamper.py``; bad input in
``test_invalid_input.py``; HTML in ``test_html_injection.py``.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

import workbench as wb
from workbench.cli import main
from workbench.data import credit_risk
from workbench.training import build_model

NUMERIC = ["age", "income", "loan_amount", "loan_term_months", "credit_history_years"]
CATEGORICAL = ["employment", "purpose", "region"]


class _Payload:
    """Unpickled, it writes the file named by ``$WB_PAYLOAD_MARKER`` (what a hostile artifact does)."""

    def __reduce__(self):
        marker = os.environ["WB_PAYLOAD_MARKER"]
        return (eval, (f"open({marker!r}, 'w').write('pwned')",))


@pytest.fixture
def marker(tmp_path, monkeypatch):
    path = tmp_path / "payload-ran"
    monkeypatch.setenv("WB_PAYLOAD_MARKER", str(path))
    return path


def _frame(n: int = 1200, seed: int = 1) -> pd.DataFrame:
    return credit_risk(n, seed=seed)


def _plain(n: int = 300) -> tuple[pd.DataFrame, pd.Series]:
    """Numeric columns without gaps, for a bare LogisticRegression."""
    frame = _frame(n)
    return frame[NUMERIC].fillna(0.0), frame["default"]


def _logged(name: str, frame: pd.DataFrame, shuffle: bool = False, **kwargs) -> wb.ModelVersion:
    model = build_model("logistic_regression", "classification", NUMERIC, CATEGORICAL)
    x, y = frame[NUMERIC + CATEGORICAL], frame["default"]
    if shuffle:  # a model that learnt nothing: ROC AUC about 0.5
        y = pd.Series(np.random.default_rng(3).permutation(y.to_numpy()), name="default")
    half = len(x) * 2 // 3
    model.fit(x[:half], y[:half])
    return wb.log_model(
        model, name=name, train=(x[:half], y[:half]), eval=(x[half:], y[half:]), **kwargs
    )


def _checked(name: str, **kwargs) -> tuple[wb.ModelVersion, pd.DataFrame]:
    frame = _frame()
    mv = _logged(name, frame, **kwargs)
    evaluation = _frame(600, seed=9)
    report = wb.run_checks(mv.model_uri, data=evaluation, target="default", progress=False)
    assert report.passed and report.promotable, report.summary()
    return mv, evaluation


def _cli(*argv: str) -> int:
    from workbench.workspace import current_workspace

    return main(["--workspace", str(current_workspace().root), *argv])


def _artifact_dir(model_uri: str) -> Path:
    """Where the local store keeps the version's model files (what an attacker would edit)."""
    source = mlflow.MlflowClient().get_model_version(*_name_version(model_uri)).source
    info = mlflow.models.get_model_info(source)
    logged = mlflow.MlflowClient().get_logged_model(info.model_id)
    return Path(logged.artifact_location.removeprefix("file://"))


def _name_version(model_uri: str) -> tuple[str, str]:
    name, version = model_uri.removeprefix("models:/").rsplit("/", 1)
    return name, version


def _register_folder(name: str, folder: Path) -> str:
    """Log a hand-made model folder to a run and register it with the plain MLflow client."""
    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name(name) or client.get_experiment(
        client.create_experiment(name)
    )
    run = client.create_run(experiment.experiment_id)
    client.log_artifacts(run.info.run_id, str(folder), "model")
    client.set_terminated(run.info.run_id)
    mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    return f"models:/{name}/{mv.version}"


# --------------------------------------------------------------------------- loading


def test_a_pickle_loader_behind_a_safe_flavor_never_runs(workspace, tmp_path, marker):
    """A skops ``sklearn`` flavor plus a ``python_function`` flavor whose ``loader_module`` loads
    a cloudpickle ``python_model.pkl``: MLflow's pyfunc loader would follow the second."""
    x, y = _plain()
    frame = x.assign(default=y)
    model = LogisticRegression().fit(x, y)
    folder = tmp_path / "crafted"
    mlflow.sklearn.save_model(model, str(folder), serialization_format="skops")
    (folder / "python_model.pkl").write_bytes(pickle.dumps(_Payload()))
    meta = yaml.safe_load((folder / "MLmodel").read_text())
    meta["flavors"]["python_function"].update(
        loader_module="mlflow.pyfunc.model", python_model="python_model.pkl",
        cloudpickle_version="3.0.0",
    )  # fmt: skip
    (folder / "MLmodel").write_text(yaml.safe_dump(meta))
    uri = _register_folder("crafted", folder)
    batch = x.head(20)

    with pytest.raises(wb.UnsafeModelError, match="mlflow.pyfunc.model"):
        wb.run_checks(uri, data=frame, target="default", progress=False)
    with pytest.raises(wb.UnsafeModelError):
        wb.score(uri, batch)
    with pytest.raises(wb.UnsafeModelError):
        wb.drift_report(reference=frame, current=frame, model=uri)
    with pytest.raises(wb.UnsafeModelError):
        wb.serve(uri)
    assert not marker.exists(), "the payload ran"
    assert (
        _cli("score", uri, "--data", _csv(tmp_path, batch), "--out", str(tmp_path / "o.csv")) == 2
    )
    assert not marker.exists(), "the payload ran"


def test_every_other_flavor_or_pickle_file_is_refused(workspace, tmp_path):
    from workbench.registry import ensure_loadable

    x, y = _plain()
    model = LogisticRegression().fit(x, y)
    base = tmp_path / "base"
    mlflow.sklearn.save_model(model, str(base), serialization_format="skops")
    assert ensure_loadable(base).safe

    def variant(name, edit):
        folder = tmp_path / name
        shutil.copytree(base, folder)
        meta = yaml.safe_load((folder / "MLmodel").read_text())
        edit(folder, meta)
        (folder / "MLmodel").write_text(yaml.safe_dump(meta))
        return folder

    cases = {
        "onnx": lambda f, m: m["flavors"].update(onnx={"data": "model.onnx"}),
        "code": lambda f, m: m["flavors"]["python_function"].update(code="code"),
        "loader": lambda f, m: m["flavors"]["python_function"].update(loader_module="evil"),
        "pklfile": lambda f, m: (f / "extra.joblib").write_bytes(b"x"),
        "traversal": lambda f, m: m["flavors"]["sklearn"].update(pickled_model="../model.skops"),
        "other_path": lambda f, m: m["flavors"]["python_function"].update(model_path="x.skops"),
    }
    for name, edit in cases.items():
        with pytest.raises(wb.UnsafeModelError):
            ensure_loadable(variant(name, edit))


def _exec_chain(code: str) -> Pipeline:
    """numpy.full_like -> numpy.ravel -> builtins.max -> builtins.exec: predict runs ``code``."""
    return Pipeline(
        [
            (
                "fill",
                FunctionTransformer(np.full_like, kw_args={"fill_value": code, "dtype": object}),
            ),
            ("flat", FunctionTransformer(np.ravel)),
            ("pick", FunctionTransformer(builtins.max)),
            ("run", FunctionTransformer(builtins.exec)),
        ]
    )


def test_trusted_modules_never_reach_exec(workspace, tmp_path, marker):
    """A skops pipeline of FunctionTransformers that reaches ``builtins.exec`` at predict time,
    logged with plain MLflow listing those functions as trusted in its own ``MLmodel``."""
    frame = _plain(50)[0]
    code = f"open({str(marker)!r}, 'w').write('pwned')"
    pipe = _exec_chain(code)
    pipe.steps = [(n, s.fit(frame)) for n, s in pipe.steps]  # fitted without calling exec
    clf = LogisticRegression().fit(frame, _plain(50)[1])
    pipe.steps.append(("model", clf))  # a predictor last: MLflow gives it a pyfunc flavor
    folder = tmp_path / "chain"
    trusted = ["numpy.full_like", "numpy.ravel", "builtins.max", "builtins.exec", "builtins.object"]
    mlflow.sklearn.save_model(
        pipe, str(folder), serialization_format="skops", skops_trusted_types=trusted
    )
    uri = _register_folder("chain", folder)
    with pytest.raises(wb.UnsafeModelError, match="builtins.exec"):
        wb.run_checks(uri, data=frame.assign(default=0), target="default", progress=False)
    with pytest.raises(wb.UnsafeModelError):
        wb.score(uri, frame)
    assert not marker.exists(), "exec ran"
    # declaring them does not help: builtins are never trusted, by any caller
    from workbench.registry import fetch_model

    with pytest.raises(wb.UnsafeModelError):
        fetch_model(uri, tmp_path / "dl", trusted_types=trusted)
    with pytest.raises(wb.UntrustedTypeError, match="builtins.exec"):
        wb.log_model(
            LogisticRegression().fit(*_plain(100)),
            name="declares-exec",
            train=_plain(100),
            trusted_types=["builtins.exec"],
        )
    assert not marker.exists(), "exec ran"


def test_a_forest_loads_with_exactly_its_audited_types(workspace):
    frame = _frame(600)
    model = build_model(
        "random_forest", "classification", NUMERIC, CATEGORICAL, {"n_estimators": 5}
    )
    model.fit(frame[NUMERIC + CATEGORICAL], frame["default"])
    mv = wb.log_model(model, name="forest", train=(frame[NUMERIC + CATEGORICAL], frame["default"]))
    with wb.resolve(mv.model_uri) as rm:
        assert rm.safety.safe and "sklearn.tree._tree.Tree" in rm.safety.trusted
        assert not [t for t in rm.safety.trusted if t.startswith("builtins")]
        assert rm.digest == rm.tags["workbench.artifact.digest"]  # the files as logged
        x = frame[NUMERIC + CATEGORICAL].head(30).astype({c: "float64" for c in NUMERIC})
        np.testing.assert_array_equal(rm.load().predict(x), model.predict(x))


# --------------------------------------------------------------------------- the gate


def test_copied_check_tags_do_not_promote(workspace):
    """Another version registered with the plain client, the checked version's tags copied."""
    mv, _ = _checked("copied")
    client = mlflow.MlflowClient()
    v1 = client.get_model_version("copied", str(mv.version))
    v2 = client.create_model_version("copied", v1.source, run_id=v1.run_id)
    for key, value in v1.tags.items():
        client.set_model_version_tag("copied", v2.version, key, value)
    with pytest.raises(wb.GateError, match="copied from another version"):
        wb.promote("copied", v2.version, reason="copied tags")
    assert _cli("promote", "copied", str(v2.version), "--alias", "champion", "--reason", "x") == 3
    wb.promote("copied", mv.version, reason="the checked one")  # the real one still promotes


def test_an_edited_check_report_does_not_promote(workspace):
    """A weak model's failing report edited to say "pass" with a higher bar in its text, the
    SHA-256 tags rewritten to match: the gate reads the numbers."""
    frame = _frame()
    mv = _logged("edited", frame, shuffle=True)
    report = wb.run_checks(mv.model_uri, data=_frame(600, 9), target="default", progress=False)
    assert "metric_roc_auc" in report.failed
    client = mlflow.MlflowClient()
    run = client.get_run(report.run_id)
    path = Path(run.info.artifact_uri.removeprefix("file://")) / "checks.json"
    data = json.loads(path.read_text())
    for result in data["results"]:
        result.update(status="pass")
        if result["name"] == "metric_roc_auc":
            result["threshold"] = ">= 0.65"
    data.update(status="passed", passed=True, failed=[])
    path.write_text(json.dumps(data, indent=2))
    # a first try without the seal: refused as edited
    client.set_model_version_tag("edited", str(mv.version), "workbench.checks.status", "passed")
    with pytest.raises(wb.GateError, match="edited after it was written"):
        wb.promote("edited", mv.version, reason="edited")
    # the seal rewritten too (someone who can write tags): the numbers still say no
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    client.set_tag(report.run_id, "workbench.checks.sha256", sha)
    client.set_model_version_tag("edited", str(mv.version), "workbench.checks.sha256", sha)
    with pytest.raises(
        wb.GateError, match=r"metric_roc_auc is 0\.[0-5]\d*, the policy requires >= 0.65"
    ):
        wb.promote("edited", mv.version, reason="edited")
    assert _cli("promote", "edited", str(mv.version), "--alias", "champion", "--reason", "x") == 3


def test_a_forged_check_run_does_not_promote(workspace, tmp_path):
    """A check run made by hand through the MLflow client for an unchecked version: the right
    tags, a copy of a real ``checks.json`` rewritten for it, its SHA-256 and digest: no
    signature from a registered key, so no promotion (and a copied signature does not fit)."""
    mv, _ = _checked("forged")
    client = mlflow.MlflowClient()
    v1 = client.get_model_version("forged", str(mv.version))
    weak = _logged("forged", _frame(), shuffle=True)
    real = client.get_run(v1.tags["workbench.checks.run_id"])
    data = json.loads(
        (Path(real.info.artifact_uri.removeprefix("file://")) / "checks.json").read_text()
    )
    with wb.resolve(weak.model_uri) as rm:
        data.update(version=weak.version, digest=rm.digest, model_uri=weak.model_uri)
    folder = tmp_path / "forged"
    folder.mkdir()
    (folder / "checks.json").write_text(json.dumps(data))
    sha = hashlib.sha256((folder / "checks.json").read_bytes()).hexdigest()
    tags = {k: v for k, v in real.data.tags.items() if k.startswith("workbench.")}
    tags |= {"workbench.model_version": str(weak.version), "workbench.checks.sha256": sha}
    run = client.create_run(real.info.experiment_id, tags=tags)
    client.log_artifacts(run.info.run_id, str(folder))
    client.set_terminated(run.info.run_id)
    for key, value in {
        "workbench.checks.status": "passed",
        "workbench.checks.run_id": run.info.run_id,
        "workbench.checks.sha256": sha,
        "workbench.checks.digest": data["digest"],
    }.items():
        client.set_model_version_tag("forged", str(weak.version), key, value)
    with pytest.raises(wb.GateError, match="signature of the check run"):
        wb.promote("forged", weak.version, reason="forged")
    client.delete_tag(run.info.run_id, "workbench.checks.signature")
    with pytest.raises(wb.GateError, match="is not signed"):
        wb.promote("forged", weak.version, reason="forged")


@pytest.mark.parametrize(
    "text, key",
    [
        ('{"thresholds": {"classification": {"roc_auc": NaN}}}', "NaN"),
        ('{"thresholds": {"classification": {"roc_auc": Infinity}}}', "Infinity"),
        (
            '{"thresholds": {"classification": {"roc_auc": 1.5}}}',
            "thresholds.classification.roc_auc",
        ),
        ('{"thresholds": {"classification": {"rocauc": 0.9}}}', "thresholds.classification.rocauc"),
        ('{"thresholds": {"clasification": {"roc_auc": 0.9}}}', "thresholds.clasification"),
        ('{"treshold": {}}', "treshold"),
        (
            '{"thresholds": {"classification": {"roc_auc": "0.9"}}}',
            "thresholds.classification.roc_auc",
        ),
        ('{"approvers": "ana"}', "approvers"),
    ],
)
def test_a_policy_that_is_not_numbers_in_range_is_refused(workspace, text, key):
    (workspace.root / "gate_policy.json").write_text(text)
    with pytest.raises(wb.UsageError, match=key.replace(".", r"\.")):
        wb.promote("any-model", 1, reason="x")
    assert _cli("promote", "any-model", "1", "--alias", "champion", "--reason", "x") == 2


def test_a_swapped_model_file_is_refused_by_serve_score_and_promote(workspace, tmp_path):
    """``model.skops`` replaced after checks and promotion by another fit's file."""
    mv, evaluation = _checked("swapped")
    wb.promote("swapped", mv.version, reason="checked")
    batch = evaluation[NUMERIC + CATEGORICAL].head(50)
    # (not scored before the swap: a process keeps the model it loaded and checked, in memory)
    other = _logged("other", _frame(900, seed=5))
    target = _artifact_dir(mv.model_uri) / "model.skops"
    shutil.copyfile(_artifact_dir(other.model_uri) / "model.skops", target)

    with pytest.raises(wb.ArtifactChangedError, match=f"artifact of swapped v{mv.version} changed"):
        wb.score("models:/swapped@champion", batch)
    with pytest.raises(wb.ArtifactChangedError):
        wb.serve("models:/swapped@champion")
    with pytest.raises(wb.GateError, match="changed after it was checked"):
        wb.promote("swapped", mv.version, alias="stable", reason="again")
    csv = _csv(tmp_path, batch)
    assert (
        _cli("score", "models:/swapped@champion", "--data", csv, "--out", str(tmp_path / "s.csv"))
        == 2
    )
    from workbench.registry import verify_history

    check = verify_history("swapped")
    assert not check.ok and "changed" in check.summary()
    assert _cli("history", "swapped", "--verify") == 3


def test_check_says_what_promote_will_do(workspace, capsys):
    """A contract naming a protected attribute, checks run without fairness: the checks pass,
    and ``check``'s last line says the gate will refuse, as ``promote`` then does."""
    frame = _frame()
    mv = _logged("fairness", frame.assign(age_band=frame["age_band"]), protected=["age_band"])
    evaluation = _frame(600, seed=9)
    report = wb.run_checks(
        mv.model_uri, data=evaluation, target="default", protected=[], progress=False
    )
    assert report.passed and not report.promotable
    last = report.summary().splitlines()[-1]
    assert "cannot be promoted" in last and "fairness_gap" in last
    with pytest.raises(wb.GateError, match="fairness_gap did not run"):
        wb.promote("fairness", mv.version, reason="x")
    csv = _csv(Path(str(workspace.root)), evaluation)
    capsys.readouterr()
    code = _cli("check", mv.model_uri, "--data", csv, "--target", "default", "--no-protected")
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 3 and "cannot be promoted" in out[-1]


def _csv(folder: Path, frame: pd.DataFrame) -> str:
    path = folder / f"batch-{len(frame)}-{frame.shape[1]}.csv"
    frame.to_csv(path, index=False)
    return str(path)


def test_rollback_never_returns_to_changed_files(workspace):
    """v1 and v2 checked and promoted in turn, then v1's ``model.skops`` replaced: a rollback
    would serve files nobody checked, so it is refused (forced, it is recorded as such)."""
    first, evaluation = _checked("rollback")
    wb.promote("rollback", first.version, reason="first")
    second = _logged("rollback", _frame(1200, seed=4))
    wb.run_checks(second.model_uri, data=evaluation, target="default", progress=False)
    wb.promote("rollback", second.version, reason="second")
    other = _logged("rollback-other", _frame(900, seed=5))
    shutil.copyfile(
        _artifact_dir(other.model_uri) / "model.skops",
        _artifact_dir(first.model_uri) / "model.skops",
    )
    with pytest.raises(wb.GateError, match=f"artifact of rollback v{first.version} changed"):
        wb.rollback("rollback", reason="latency")
    assert wb.get_version("rollback", "champion").version == second.version
    entry = wb.rollback("rollback", reason="we know", force=True)
    assert entry.forced and entry.new_version == first.version


def test_declared_types_are_shown_on_the_card_and_approved_by_the_promotion(workspace):
    """A pipeline with a function of numpy's must name it exactly; the version records it, the
    model card shows it, and the promotion's signed entry approves it."""
    frame = _frame()
    x, y = frame[NUMERIC + CATEGORICAL], frame["default"]
    model = build_model("logistic_regression", "classification", NUMERIC, CATEGORICAL)
    model.steps.insert(-1, ("same", FunctionTransformer(np.asarray)))  # after the encoding
    with pytest.raises(wb.UntrustedTypeError, match="numpy.asarray"):
        wb.log_model(model.fit(x, y), name="declared", train=(x, y))
    mv = wb.log_model(model, name="declared", train=(x, y), trusted_types=["numpy.asarray"])
    report = wb.run_checks(mv.model_uri, data=_frame(600, 9), target="default", progress=False)
    assert "Types declared trusted by its logger" in report.model_card
    assert "`numpy.asarray`" in report.model_card
    if report.promotable:
        entry = wb.promote("declared", mv.version, reason="declared numpy.asarray")
    else:  # the suite's verdict is not what this test is about
        entry = wb.promote("declared", mv.version, reason="declared numpy.asarray", force=True)
    assert entry.trusted_types == "numpy.asarray"
    from workbench.registry.audit import trusted_entries

    [recorded] = [e for e in trusted_entries("declared") if e.seq == entry.seq]
    assert recorded.trusted_types == "numpy.asarray" and recorded.signature
