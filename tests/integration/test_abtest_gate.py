"""The gate may require an A/B verdict before ``@champion`` moves, judged from sealed evidence.

One workspace for the module: ``ab`` v1 (the champion the tests compare with), v2 (the challenger
whose A/B results are recorded) and v3 (a version that copies v2's evidence), all checked by the
default policy. Each test writes its own policy and records its own result first, so the tests
hold in any order.
"""

from __future__ import annotations

import copy
import hashlib
import json

import mlflow
import pytest

import workbench as wb
from workbench.data import credit_risk
from workbench.registry import verify_history
from workbench.registry.evidence import record_abtest
from workbench.registry.policy import POLICY_FILE, GatePolicy, gate_policy
from workbench.registry.resolved import version_digest
from workbench.training import build_model

NAME = "ab"
NUMERIC = ["age", "income", "loan_amount", "loan_term_months", "credit_history_years"]
CATEGORICAL = ["employment", "purpose", "region"]
BETTER = {"abtest": {"require": "better", "min_labelled": 200}}


def _logged_and_checked(seed: int) -> wb.ModelVersion:
    frame = credit_risk(1200, seed=seed)
    model = build_model("logistic_regression", "classification", NUMERIC, CATEGORICAL)
    x, y = frame[NUMERIC + CATEGORICAL], frame["default"]
    model.fit(x[:800], y[:800])
    mv = wb.log_model(model, name=NAME, train=(x[:800], y[:800]), eval=(x[800:], y[800:]))
    report = wb.run_checks(
        mv.model_uri, data=credit_risk(600, seed=9), target="default", progress=False
    )
    assert report.passed and report.promotable, report.summary()
    return mv


@pytest.fixture(scope="module")
def ab(tmp_path_factory):
    ws = wb.open_workspace(tmp_path_factory.mktemp("abtest") / "ws")
    versions = [_logged_and_checked(seed) for seed in (1, 2, 3)]
    wb.promote(NAME, versions[0].version, by="ana", reason="first champion")
    return ws


@pytest.fixture
def policy(ab):
    """``policy(spec)`` writes the workspace's gate policy for this test (removed after it)."""
    wb.open_workspace(ab.root)
    path = ab.root / POLICY_FILE

    def write(spec: dict | str) -> None:
        path.write_text(spec if isinstance(spec, str) else json.dumps(spec))

    yield write
    path.unlink(missing_ok=True)


def _result(lower: float | None, n: int = 200, challenger: str = "2", **changes) -> dict:
    """A result shaped exactly as ``workbench abtest`` returns it."""
    result = {
        "kind": "abtest",
        "name": NAME,
        "champion_version": "1",
        "challenger_version": challenger,
        "champion_digest": version_digest(NAME, 1),
        "challenger_digest": version_digest(NAME, challenger),
        "mode": "split",
        "since": "2026-12-01T00:00:00+00:00",
        "until": "2026-12-07T00:00:00+00:00",
        "requests": {"main": 1600, "challenger": 400},
        "labelled": {"main": 800, "challenger": n},
        "comparison": {
            "metric": "accuracy",
            "higher_is_better": True,
            "n_main": 800,
            "n_challenger": n,
            "main": 0.70,
            "challenger": 0.91,
            "difference": 0.21,
            "lower": lower,
            "upper": 0.30,
            "alpha": 0.05,
            "verdict": "better",
            "not_worse": True,
            "margin": 0.0,
            "more_needed": None,
            "method": "always-valid confidence sequence (test)",
        },
        "verdict": "better",  # the wording says better in every test: the gate reads numbers
    }
    result.update(changes)
    return result


def _abtest_runs() -> int:
    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name(NAME)
    runs = client.search_runs([experiment.experiment_id], "tags.`workbench.kind` = 'abtest'")
    return len(runs)


# --------------------------------------------------------------------------- policy


def test_a_policy_without_abtest_promotes_as_before(policy):
    policy({"required": ["safe_artifact"]})
    assert (
        "abtest" not in gate_policy().to_dict()
        and gate_policy().abtest_requirement("champion") is None
    )
    entry = wb.promote(NAME, 3, by="ana", reason="no A/B test needed")
    assert entry.checks_status == "passed" and not entry.forced and entry.evidence == ""
    assert GatePolicy().hash == "7a574afc94430fef"  # policies without abtest keep their hash


@pytest.mark.parametrize(
    "text, key",
    [
        ('{"abtest": {"require": "best"}}', "abtest.require"),
        ('{"abtest": {"require": "not_worse", "margin": NaN}}', "abtest.margin"),
        ('{"abtest": {"require": "not_worse", "margin": -0.1}}', "abtest.margin"),
        ('{"abtest": {"require": "better", "min_labelled": 0}}', "abtest.min_labelled"),
        ('{"abtest": {"require": "better", "min_labelled": 20.5}}', "abtest.min_labelled"),
        ('{"abtest": {"require": "better", "min_label": 10}}', "abtest.min_label"),
        ('{"abtest": "better"}', "abtest"),
    ],
)
def test_an_abtest_requirement_that_is_not_valid_is_refused(policy, text, key):
    policy(text)
    with pytest.raises(wb.UsageError, match=key.replace(".", r"\.")) as info:
        wb.promote(NAME, 2, by="ana", reason="x")
    assert info.value.exit_code == 2


def test_the_requirement_is_in_the_policy_hash(policy):
    policy({"abtest": {"require": "better"}})
    tight = gate_policy()
    assert tight.abtest == {"require": "better", "margin": 0.0, "min_labelled": 200}
    assert tight.hash != GatePolicy().hash
    assert tight.abtest_requirement("champion") and tight.abtest_requirement("staging") is None


# --------------------------------------------------------------------------- the gate


def test_no_evidence_is_refused_and_forcing_is_recorded(policy):
    policy(BETTER)
    with pytest.raises(
        wb.GateError, match=r"ab v1 has no A/B test on record.*workbench abtest"
    ) as info:
        wb.promote(NAME, 1, by="ana", reason="no test")
    assert "lacks the A/B evidence" in str(info.value)  # its checks hold: no "run the suite"
    assert "policy's suite" not in str(info.value)
    entry = wb.promote(NAME, 1, by="ana", reason="incident", force=True)
    assert entry.forced and entry.checks_status == "passed, not by the policy"


def test_another_alias_needs_no_abtest(policy):
    policy(BETTER)
    entry = wb.promote(NAME, 1, alias="staging", by="ana", reason="only champion needs one")
    assert not entry.forced and entry.evidence == ""


def test_not_yet_known_is_not_better(policy):
    policy(BETTER)
    record_abtest(NAME, _result(-0.02), by="ana")
    with pytest.raises(wb.GateError, match=r"not shown v2 better.*-0\.02.*workbench abtest ab"):
        wb.promote(NAME, 2, by="ana", reason="looks better")


def test_a_better_challenger_with_enough_labels_is_promoted_and_recorded(policy):
    policy(BETTER)
    run_id = record_abtest(NAME, _result(0.12, n=412), by="ana")
    tags = wb.get_version(NAME, 2).tags
    assert tags["workbench.abtest.run_id"] == run_id and "workbench.abtest.verdict" not in tags
    run = mlflow.MlflowClient().get_run(run_id)
    assert run.data.tags["workbench.abtest.verdict"] == "better"  # the version's tags stay few
    assert run.data.tags["workbench.kind"] == "abtest" and run.data.metrics["lower"] == 0.12
    assert run.data.tags["workbench.abtest.signer"] == "ana"
    entry = wb.promote(NAME, 2, by="ana", reason="A/B says better")
    assert not entry.forced and entry.checks_status == "passed"
    assert entry.evidence == f"abtest {run_id}: better, +0.21 accuracy [+0.12, +0.3], 412 labelled"
    [recorded] = [e for e in wb.history(NAME).itertuples() if e.seq == entry.seq]
    assert recorded.evidence == entry.evidence
    check = verify_history(NAME)
    assert check.ok, check.summary()
    description = mlflow.MlflowClient().get_model_version(NAME, "2").description
    assert "A/B vs v1: better, \\+0.21 accuracy \\(95% always-valid interval" in description
    assert "412 labelled requests" in description and run_id in description
    assert f"evidence: abtest {run_id}" in description


def test_too_few_labelled_requests_are_refused(policy):
    policy(BETTER)
    record_abtest(NAME, _result(0.12, n=150), by="ana")
    with pytest.raises(wb.GateError, match="judged 150 labelled challenger requests.*at least 200"):
        wb.promote(NAME, 2, by="ana", reason="early")


def test_no_labelled_comparison_is_refused(policy):
    policy({"abtest": {"require": "not_worse", "margin": 0.5}})
    record_abtest(NAME, _result(None) | {"comparison": None}, by="ana")
    with pytest.raises(wb.GateError, match="no labelled comparison"):
        wb.promote(NAME, 2, by="ana", reason="no labels")


def test_a_nan_lower_bound_is_refused(policy):
    policy({"abtest": {"require": "not_worse", "margin": 0.5}})
    record_abtest(NAME, _result(float("nan")), by="ana")
    with pytest.raises(wb.GateError, match="no finite lower bound"):
        wb.promote(NAME, 2, by="ana", reason="nan")


@pytest.mark.parametrize("lower, promoted", [(-0.03, True), (-0.08, False)])
def test_not_worse_within_the_margin(policy, lower, promoted):
    policy({"abtest": {"require": "not_worse", "margin": 0.05, "min_labelled": 100}})
    run_id = record_abtest(NAME, _result(lower), by="ana")
    if promoted:
        entry = wb.promote(NAME, 2, by="ana", reason="not worse, cheaper")
        assert entry.evidence.startswith(f"abtest {run_id}: not worse (within 0.05)")
    else:
        with pytest.raises(wb.GateError, match=r"not worse by more than 0\.05.*-0\.08"):
            wb.promote(NAME, 2, by="ana", reason="not worse?")


def test_an_edited_abtest_json_is_refused(policy, tmp_path):
    policy(BETTER)
    run_id = record_abtest(NAME, _result(-0.02), by="ana")
    client = mlflow.MlflowClient()
    path = client.download_artifacts(run_id, "abtest.json", str(tmp_path))
    edited = json.loads(open(path).read())
    edited["comparison"]["lower"] = 0.15
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "abtest.json").write_text(json.dumps(edited, sort_keys=True, indent=1))
    client.log_artifact(run_id, str(tmp_path / "up" / "abtest.json"))
    with pytest.raises(wb.GateError, match=f"abtest.json of the A/B test run {run_id}.*edited"):
        wb.promote(NAME, 2, by="ana", reason="edited")


def test_evidence_copied_onto_another_version_is_refused(policy):
    policy(BETTER)
    record_abtest(NAME, _result(0.12), by="ana")
    client = mlflow.MlflowClient()
    for key, value in wb.get_version(NAME, 2).tags.items():
        if key.startswith("workbench.abtest."):
            client.set_model_version_tag(NAME, "3", key, value)
    with pytest.raises(wb.GateError, match="not an A/B test run of ab v3.*copied"):
        wb.promote(NAME, 3, by="ana", reason="copied")


def test_a_test_of_other_files_is_refused(policy):
    policy(BETTER)
    record_abtest(NAME, _result(0.12, challenger_digest="0" * 64), by="ana")
    with pytest.raises(wb.GateError, match="tested other files"):
        wb.promote(NAME, 2, by="ana", reason="other files")


def test_a_forged_or_replayed_seal_is_refused(policy):
    """A result re-sealed by hand without a registered key, and a check run's seal replayed as
    an A/B seal (same fields, other kind): both refused."""
    from workbench.registry.seal import seal_tags

    policy(BETTER)
    run_id = record_abtest(NAME, _result(0.12), by="ana")
    client = mlflow.MlflowClient()
    tags = client.get_run(run_id).data.tags
    sha, digest = tags["workbench.abtest.sha"], version_digest(NAME, 2)
    checks = seal_tags(NAME, 2, digest, sha, "ana")  # kind="checks": the same user's key
    client.set_tag(run_id, "workbench.abtest.signature", checks["workbench.checks.signature"])
    with pytest.raises(wb.GateError, match="signature of the A/B test run"):
        wb.promote(NAME, 2, by="ana", reason="replayed")
    client.delete_tag(run_id, "workbench.abtest.signature")
    with pytest.raises(wb.GateError, match="A/B test run .* is not signed"):
        wb.promote(NAME, 2, by="ana", reason="unsigned")


def test_the_check_verdict_agrees_with_the_gate(policy):
    from workbench.registry.gate import promotion_problems

    policy(BETTER)
    record_abtest(NAME, _result(-0.02), by="ana")
    problems = promotion_problems(NAME, wb.get_version(NAME, 2))
    assert any("not shown v2 better" in p for p in problems)
    assert not promotion_problems(NAME, wb.get_version(NAME, 2), alias="staging")


# --------------------------------------------------------------------------- recording


def test_a_bad_result_writes_nothing(ab):
    wb.open_workspace(ab.root)
    before = _abtest_runs()
    broken = _result(0.12)
    del broken["challenger_digest"]
    with pytest.raises(wb.DataError, match="challenger_digest"):
        record_abtest(NAME, broken, by="ana")
    with pytest.raises(wb.ModelNotFoundError):
        record_abtest(NAME, copy.deepcopy(_result(0.12)) | {"challenger_version": "99"}, by="ana")
    with pytest.raises(wb.DataError, match="not an A/B test of ab"):
        record_abtest(NAME, _result(0.12) | {"name": "other"}, by="ana")
    assert _abtest_runs() == before


def test_abtest_json_is_the_result_as_recorded(ab, tmp_path):
    wb.open_workspace(ab.root)
    result = _result(0.12)
    run_id = record_abtest(NAME, result, by="ana")
    path = mlflow.MlflowClient().download_artifacts(run_id, "abtest.json", str(tmp_path))
    data = open(path, "rb").read()
    assert data == json.dumps(result, sort_keys=True, indent=1).encode()
    assert wb.get_version(NAME, 2).tags["workbench.abtest.sha"] == hashlib.sha256(data).hexdigest()


def test_check_seals_sign_the_same_bytes_as_before():
    """The default kind signs exactly what a check seal always signed (old signatures hold); an
    A/B seal signs other bytes, so neither is accepted as the other."""
    from workbench.registry.seal import seal_message

    legacy = b"workbench-checks\nm\n3\n" + b"ab" * 32 + b"\n" + b"cd" * 32
    assert seal_message("m", 3, "ab" * 32, "cd" * 32) == legacy
    assert seal_message("m", 3, "ab" * 32, "cd" * 32, kind="abtest") != legacy
    with pytest.raises(ValueError, match="unknown seal kind"):
        seal_message("m", 3, "ab", "cd", kind="other")
