"""Attacks on the signed audit chain, made as a user with MLflow client access would make them.

Each attack writes runs into the ``workbench-audit`` experiment, deletes runs, sets the head tag or
moves aliases through ``MlflowClient``; each must make ``verify_history`` fail naming the entry, and
``workbench history NAME --verify`` exit 3. Promotions are forced (with a reason) so that these tests
depend on the log, not on the gate policy.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import mlflow
import pytest

import workbench as wb
from tests.integration.audit_models import cli, promote_three, run_of
from workbench._core.names import AUDIT_EXPERIMENT, AUDIT_HEAD_TAG, AUDIT_PREFIX
from workbench._core.results import utc_now
from workbench.registry import keys
from workbench.registry.audit import AuditEntry, previous_holder, signer_ready
from workbench.registry.chain import entry_hash, signed_message


def _promote_three(name, trained, versions=3):
    promote_three(name, trained, versions)
    assert wb.registry.verify_history(name).ok


def _caught(name, root, *needles):
    """verify_history fails with a problem holding every needle; the CLI's --verify exits 3."""
    check = wb.registry.verify_history(name)
    assert not check.ok, check.summary()
    assert any(all(n in p for n in needles) for p in check.problems), check.problems
    out = cli("history", name, "--verify", root=root)
    assert out.returncode == 3, (out.stdout, out.stderr)
    assert all(n in out.stderr for n in needles), out.stderr
    return check


def _append(name, fields, *, alias_to=None, head=True):
    """Write an entry run the way the workbench does, with the attacker's fields."""
    client = mlflow.MlflowClient()
    tags = {AUDIT_PREFIX + k: "" if v is None else str(v) for k, v in fields.items()}
    experiment = client.get_experiment_by_name(AUDIT_EXPERIMENT).experiment_id
    run = client.create_run(experiment, tags=tags)
    client.set_terminated(run.info.run_id)
    if head:
        client.set_registered_model_tag(name, AUDIT_HEAD_TAG, f"{fields['seq']}:{fields['hash']}")
    if alias_to is not None:
        client.set_registered_model_alias(name, "champion", str(alias_to))
    return run.info.run_id


def _next_fields(name, **changes):
    """The fields of a well-formed next entry (#4 after three promotions), then ``changes``."""
    head = wb.history(name).iloc[-1]
    entry = AuditEntry(
        time=utc_now("microseconds"),
        action="promote",
        model=name,
        alias="champion",
        old_version=3,
        new_version=1,
        by="ana",
        reason="forged",
        forced=False,
        checks_status="passed",
        seq=int(head["seq"]) + 1,
        prev_hash=head["hash"],
    ).to_dict()
    entry.pop("run_id")
    entry.update(changes)
    return entry


def _seal(fields, signer=None):
    """Give ``fields`` a correct hash and, with ``signer`` (a user or a private key), a signature."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    if signer is not None and not isinstance(signer, str):
        raw = signer.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        fields["key_id"] = keys.key_id(raw)
    elif signer is not None:
        fields["key_id"] = keys.key_id(keys.public_key(signer))
    fields["hash"] = entry_hash(fields)
    if isinstance(signer, str):
        fields["signature"] = keys.sign(signer, signed_message(fields["hash"]))[1]
    elif signer is not None:
        fields["signature"] = signer.sign(signed_message(fields["hash"])).hex()
    return fields


def test_each_entry_names_its_signing_key(trained):
    _promote_three("tamper-keys", trained)
    check = wb.registry.verify_history("tamper-keys")
    assert [(s["seq"], s["by"], s["status"]) for s in check.signers] == [
        (1, "ana", "ok"),
        (2, "bob", "ok"),
        (3, "carol", "ok"),
    ]
    ana = keys.key_id(keys.public_key("ana"))
    assert check.signers[0]["key_id"] == ana and check.trusted == 3
    out = cli("history", "tamper-keys", "--verify", root=trained.ws.root)
    assert out.returncode == 0 and f"ana key {ana} (#1)" in out.stdout, out.stdout
    registered = keys.registered_keys(trained.ws.root)
    assert registered[ana][0] == "ana"


def test_an_unsealed_entry_after_the_chain_began_is_tampering(trained):
    _promote_three("tamper-unsealed", trained)
    fields = _next_fields("tamper-unsealed", by="mallory", seq="", prev_hash="")
    _append("tamper-unsealed", fields, head=False)
    _caught(
        "tamper-unsealed", trained.ws.root, "without a hash", "by mallory", "after the chain began"
    )


def test_deleting_the_first_entry_is_found(trained):
    _promote_three("tamper-first", trained)
    mlflow.MlflowClient().delete_run(run_of("tamper-first", 1))
    _caught("tamper-first", trained.ws.root, "entry #1 is missing (deleted)")


def test_a_consistent_truncation_is_found_by_this_account_s_witness(trained, monkeypatch):
    name = "tamper-truncate"
    _promote_three(name, trained)
    client = mlflow.MlflowClient()
    second = wb.history(name).iloc[1]
    client.delete_run(run_of(name, 3))
    client.set_registered_model_tag(name, AUDIT_HEAD_TAG, f"2:{second['hash']}")
    client.set_registered_model_alias(name, "champion", "2")
    check = _caught(name, trained.ws.root, "entry #3 was written or seen by this account")
    assert check.moved == [] and len(check.problems) == 1  # head and alias agree: only the witness
    # What it cannot show: an account that never saw #3 (another key folder) finds nothing.
    monkeypatch.setenv(keys.KEYS_DIR_ENV, str(trained.ws.root / "another-account"))
    assert wb.registry.verify_history(name).ok


def test_a_correctly_hashed_back_dated_entry_is_found(trained):
    name = "tamper-backdate"
    _promote_three(name, trained)
    # even signed with a real key of the user it names: the time alone gives it away
    fields = _seal(_next_fields(name, time="2020-01-01T00:00:00+00:00"), signer="ana")
    _append(name, fields, alias_to=1)
    check = _caught(name, trained.ws.root, "entry #4", "dated before entry #3", "back-dated")
    assert check.trusted == 3


def test_an_unsigned_hashed_entry_after_signing_began_is_found(trained):
    name = "tamper-unsigned"
    _promote_three(name, trained)
    _append(name, _seal(_next_fields(name)), alias_to=1)
    _caught(name, trained.ws.root, "entry #4", "not signed", "signed since #1")


def test_a_removed_signature_is_found(trained):
    name = "tamper-strip"
    _promote_three(name, trained)
    mlflow.MlflowClient().delete_tag(run_of(name, 2), AUDIT_PREFIX + "signature")
    _caught(name, trained.ws.root, "entry #2", "carries no signature")


def test_an_entry_signed_by_an_unregistered_key_is_found(trained):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    name = "tamper-stranger"
    _promote_three(name, trained)
    stranger = Ed25519PrivateKey.generate()
    fields = _seal(_next_fields(name), signer=stranger)
    _append(name, fields, alias_to=1)
    check = _caught(name, trained.ws.root, "entry #4", f"key {fields['key_id']}", "not registered")
    assert check.signers[-1]["status"] == "unknown key"


def test_an_entry_signed_with_another_user_s_key_is_found(trained):
    name = "tamper-impersonate"
    _promote_three(name, trained)
    signer_ready("mallory")  # mallory is a registered user of the workspace
    fields = _seal(_next_fields(name, by="ana"), signer="mallory")
    _append(name, fields, alias_to=1)
    _caught(name, trained.ws.root, "entry #4", "says it is by ana", "signed by mallory's key")


def test_a_replayed_entry_is_found(trained):
    name = "tamper-replay"
    _promote_three(name, trained)
    client = mlflow.MlflowClient()
    # a verbatim copy of an entry is the same link at the same place (what a retried write
    # leaves): it is shown once and changes nothing
    copied = client.get_run(run_of(name, 2))
    client.create_run(copied.info.experiment_id, tags=copied.data.tags)
    assert len(wb.history(name)) == 3 and wb.registry.verify_history(name).ok
    # replayed at the end, to put v2 back: bob's signature of #2 does not cover #4
    head = wb.history(name).iloc[-1]
    prefix = len(AUDIT_PREFIX)
    fields = {k[prefix:]: v for k, v in copied.data.tags.items() if k.startswith(AUDIT_PREFIX)}
    fields.update(seq=4, prev_hash=head["hash"], time=utc_now("microseconds"), old_version=3)
    fields["hash"] = entry_hash(fields)
    _append(name, fields, alias_to=2)
    _caught(name, trained.ws.root, "entry #4", "does not match bob's key", "copied")


def test_a_hash_less_entry_cannot_steer_a_rollback(trained):
    name = "tamper-steer"
    _promote_three(name, trained, versions=4)
    second = datetime.fromisoformat(wb.history(name).iloc[1]["time"])
    between = (second + timedelta(microseconds=1)).isoformat()  # after #2, before #3
    fields = _next_fields(name, old_version=2, new_version=4, by="bob", time=between, seq=2)
    fields.update(prev_hash="", hash="")
    _append(name, fields, head=False)
    _caught(name, trained.ws.root, "without a hash", "v2 -> v4")
    everything = wb.history(name, "champion")
    assert previous_holder(everything, 3) == 4  # what replaying every entry would do
    assert 4 not in set(wb.history(name, "champion", verified_only=True)["new_version"])
    with pytest.raises(wb.GateError, match="without a hash"):
        wb.rollback(name, by="dan", reason="follow the altered log?")
    entry = wb.rollback(name, by="dan", reason="acting on the verified entries", force=True)
    assert (entry.old_version, entry.new_version) == (3, 2)
