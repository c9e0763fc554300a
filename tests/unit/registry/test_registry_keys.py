"""Signing keys, their registry in the workspace and the witness; the chain's rules without MLflow."""

from __future__ import annotations

import stat
import time

import pytest

import workbench as wb
from workbench.registry import keys
from workbench.registry.chain import entry_hash, signed_message, verify_entries


@pytest.fixture
def key_folder(tmp_path, monkeypatch):
    folder = tmp_path / "private" / "keys"
    monkeypatch.setenv(keys.KEYS_DIR_ENV, str(folder))
    monkeypatch.setattr(keys, "_keys", {})
    monkeypatch.setattr(keys, "_registered", set())
    return folder


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_a_key_is_made_once_private_and_keeps_its_fingerprint(key_folder, monkeypatch):
    first = keys.key_id(keys.public_key("ana"))
    path = key_folder / "ana.key"
    assert _mode(path) == 0o600 and _mode(key_folder) == 0o700
    monkeypatch.setattr(keys, "_keys", {})  # read back from disk
    assert keys.key_id(keys.public_key("ana")) == first and len(first) == 16
    assert keys.key_id(keys.public_key("bob")) != first
    assert keys.sign("ana", b"m")[0] == first


def test_a_signature_round_trips_and_a_tampered_one_is_refused(key_folder):
    kid, signature = keys.sign("ana", b"entry hash")
    public = keys.public_key("ana")
    assert keys.verify_signature(public, b"entry hash", signature)
    flipped = signature[:-2] + ("00" if signature[-2:] != "00" else "01")
    assert not keys.verify_signature(public, b"entry hash", flipped)
    assert not keys.verify_signature(public, b"entry hasH", signature)
    assert not keys.verify_signature(keys.public_key("bob"), b"entry hash", signature)
    assert not keys.verify_signature(public, b"entry hash", "not hex")


def test_a_key_others_may_read_is_refused(key_folder, monkeypatch):
    keys.public_key("ana")
    (key_folder / "ana.key").chmod(0o644)
    monkeypatch.setattr(keys, "_keys", {})
    with pytest.raises(wb.WorkspaceError, match="may be read by others"):
        keys.sign("ana", b"m")


def test_registration_is_once_per_key_and_a_second_key_for_a_name_is_refused(
    key_folder, tmp_path, monkeypatch
):
    root = tmp_path / "ws"
    kid = keys.register("ana", root)
    assert keys.register("ana", root) == kid
    assert keys.registered_keys(root) == {kid: ("ana", keys.public_key("ana"))}
    assert (root / "keys" / "ana.pub").read_text().count("\n") == 1
    monkeypatch.setenv(keys.KEYS_DIR_ENV, str(tmp_path / "someone-else"))
    monkeypatch.setattr(keys, "_registered", set())
    with pytest.raises(wb.GateError, match="already has a registered signing key"):
        keys.register("ana", root)
    odd = keys.register("ana/../x", root)  # a name that is no plain file name
    assert keys.registered_keys(root)[odd][0] == "ana/../x"


def test_the_witness_only_rises_and_is_private(key_folder):
    store = keys.store_id("http://ana:secret@host:5000")
    assert "secret" not in store and keys.witnessed(store, "m") is None
    keys.remember(store, "m", 3, "h3")
    keys.remember(store, "m", 2, "h2")
    keys.remember(store, "m", 3, "other")
    assert keys.witnessed(store, "m") == (3, "h3")
    assert _mode(key_folder / keys.WITNESS_FILE) == 0o600


def test_signing_is_cheap(key_folder):
    keys.sign("ana", b"warm up")  # the key is made once
    started = time.perf_counter()
    for i in range(200):
        keys.sign("ana", signed_message(str(i)))
    assert (time.perf_counter() - started) / 200 < 0.005


def _chain(*users, start="2026-01-01T00:00:0{}+00:00"):
    entries, prev = [], ""
    for i, user in enumerate(users, 1):
        e = {"time": start.format(i), "action": "promote", "model": "m", "alias": "champion",
             "old_version": i - 1 or None, "new_version": i, "by": user, "reason": "r",
             "forced": False, "checks_status": "passed", "seq": i, "prev_hash": prev}  # fmt: skip
        e["key_id"] = keys.key_id(keys.public_key(user))
        e["hash"] = entry_hash(e)
        e["signature"] = keys.sign(user, signed_message(e["hash"]))[1]
        entries.append(e)
        prev = e["hash"]
    return entries


def _verify(entries, **kw):
    keyring = {keys.key_id(keys.public_key(u)): (u, keys.public_key(u)) for u in ("ana", "bob")}
    last = entries[-1] if entries else None
    head = (last["seq"], last["hash"]) if last and last.get("hash") else None
    holders = {"champion": max((e["new_version"] for e in entries if e.get("hash")), default=None)}
    return verify_entries("m", entries, head, holders, keys=keyring, **kw)


def test_unsealed_entries_are_tolerated_only_before_the_chain(key_folder):
    legacy = {"time": "2025-06-01T00:00:00+00:00", "action": "promote", "alias": "champion",
              "old_version": None, "new_version": 9, "by": "old", "seq": 0}  # fmt: skip
    check = _verify([legacy, *_chain("ana", "bob")])
    assert check.ok and check.unchained == 1 and check.trusted == 2, check.summary()
    assert "predate the chain" in check.summary()
    late = {**legacy, "time": "2026-01-01T00:00:05+00:00"}
    check = _verify([*_chain("ana", "bob"), late])
    assert any("without a hash" in p for p in check.problems) and check.trusted == 2
    numbered = {**legacy, "seq": 1}  # an earlier release never numbered an unsealed entry
    assert not _verify([numbered, *_chain("ana", "bob")]).ok


def test_the_first_entry_must_be_number_one_even_beside_unsealed_ones(key_folder):
    legacy = {"time": "2025-06-01T00:00:00+00:00", "action": "promote", "alias": "champion",
              "new_version": 9, "by": "old"}  # fmt: skip
    check = _verify([legacy, *_chain("ana", "bob")[1:]])
    assert any("entry #1 is missing" in p for p in check.problems) and check.trusted == 0


def test_hashed_entries_before_signing_are_readable_and_unsigned_ones_after_are_not(key_folder):
    entries = _chain("ana", "bob", "ana")
    for e in entries[:2]:  # written by a release without signing: no key id in the hash
        e["key_id"] = e["signature"] = ""
    entries[0]["hash"] = entry_hash(entries[0])
    entries[1]["prev_hash"] = entries[0]["hash"]
    entries[1]["hash"] = entry_hash(entries[1])
    entries[2]["prev_hash"] = entries[1]["hash"]
    entries[2]["hash"] = entry_hash(entries[2])
    entries[2]["signature"] = keys.sign("ana", signed_message(entries[2]["hash"]))[1]
    check = _verify(entries)
    assert check.ok and check.unsigned == 2, check.summary()
    assert [s["status"] for s in check.signers][-1] == "ok"


def test_a_witness_above_the_log_or_unlike_it_is_a_problem(key_folder):
    entries = _chain("ana", "bob")
    check = _verify(entries, witness=(3, "h"))
    assert any("entry #3 was written or seen by this account" in p for p in check.problems)
    check = _verify(entries, witness=(2, "not-it"))
    assert any("not the entry #2 this account" in p for p in check.problems)
    assert check.trusted == 1


def test_a_published_key_is_pinned_only_for_a_user_the_workspace_has_no_key_of(
    key_folder, tmp_path
):
    root = tmp_path / "ws"
    assert keys.pin("ana", keys.public_key("ana"), root)
    assert not keys.pin("ana", keys.public_key("mallory"), root)  # ana is known: no second key
    assert keys.parse_line(keys.line_of("bob", keys.public_key("bob")))[1] == "bob"
    assert keys.parse_line("0000000000000000 ed25519 AAAA bob") is None
