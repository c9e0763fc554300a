"""The audit log's signed hash chain: each entry carries the hash of the one before it.

An entry's ``hash`` is the SHA-256 of its fields (who, when, what moved, why, its sequence number,
the previous entry's hash, the signing key's id, the promoted artifact's digest, the evidence it
was judged on); its ``signature`` is its promoter's Ed25519 signature of that hash
(:mod:`workbench.registry.keys`).
:func:`verify_entries` replays a model's entries and says plainly where the chain breaks:

* an entry whose fields were edited no longer matches its hash;
* numbers run 1, 2, 3 ... without a gap or a repeat, so a deleted entry (the first one too) or an
  inserted one shows; each entry names its predecessor's hash;
* times never go backwards along the chain, so a back-dated entry shows;
* once the chain has begun, an entry without a hash is tampering (before the first hashed entry it is
  an entry of an earlier release: reported, never followed by a rollback);
* once signing has begun (the first entry with a key id), every entry is signed, by a key registered in
  the workspace to the user the entry names, and the signature matches: an unsigned, forged, replayed
  or re-attributed entry shows, and each entry's key (user + key id) is named;
* the head recorded on the registered model and this account's witness (the highest entry it wrote or
  verified, kept outside the store) show deleted last entries;
* every audited alias is compared with the registry: an alias moved outside the workbench is flagged.

What it cannot show: someone who holds a user's private key and can write the store can write entries
as that user; someone who can write the workspace's ``keys/`` folder can register a key for any name.
The newest entries can be cut off (head tag reset, alias moved back) unnoticed by an account whose
witness does not reach them (it never wrote or verified them). Someone who can rewrite every entry
(write access to a local ``mlflow.db``) can replace the whole chain with an unsigned one that looks
like an earlier release's: only the witness of an account that saw the real one finds that. An entry
without a hash dated before the chain began cannot be told from an earlier release's entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from workbench.registry.keys import verify_signature

__all__ = [
    "AuditCheck",
    "HASHED_FIELDS",
    "LATER_FIELDS",
    "entry_hash",
    "signed_message",
    "verify_entries",
]

#: The fields an entry's hash covers (everything but its run id, its own hash and its signature).
HASHED_FIELDS = (
    "time",
    "action",
    "model",
    "alias",
    "old_version",
    "new_version",
    "by",
    "reason",
    "forced",
    "checks_status",
    "seq",
    "prev_hash",
    "policy_hash",
    "allow_pickle",
    "key_id",
    "digest",
    "trusted_types",
    "evidence",
)
#: Hashed fields added after entries were first hashed: left out of the hash when empty, so the
#: entries written before them keep their hash.
LATER_FIELDS = ("key_id", "digest", "trusted_types", "evidence")


def entry_hash(fields: dict[str, Any]) -> str:
    """The SHA-256 (hex) of an entry's hashed fields, in a canonical JSON form.

    Example:
        >>> a = entry_hash({"seq": 1, "by": "ana"})
        >>> a == entry_hash({"by": "ana", "seq": 1}) and a != entry_hash({"seq": 1, "by": "bob"})
        True
    """
    canonical = {k: _canonical(fields.get(k)) for k in HASHED_FIELDS}
    for key in LATER_FIELDS:
        if canonical[key] is None:
            del canonical[key]
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def signed_message(digest: str) -> bytes:
    """The bytes an entry's signature covers: its hash, with the purpose named.

    Example:
        >>> signed_message("ab")
        b'workbench-audit-entry:v1:ab'
    """
    return f"workbench-audit-entry:v1:{digest}".encode()


@dataclass
class AuditCheck:
    """What :func:`verify_entries` found: the chain's state and every problem, in plain words.

    Attributes:
        trusted: The verified prefix of the chain ends at this number: entries #1 to #trusted are
            sealed, in order, signed where signing had begun, and not contradicted by the witness.
        signers: Per hashed entry: seq, by, key_id, the key's registered owner and a status.

    Example:
        >>> AuditCheck("m", entries=2).summary()
        'audit log of m: intact (2 entries, every alias where the log says)'
    """

    model: str
    entries: int = 0
    problems: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    unchained: int = 0
    head: tuple[int, str] | None = None
    unsigned: int = 0
    trusted: int = 0
    signers: list[dict[str, Any]] = field(default_factory=list)
    witness: tuple[int, str] | None = None

    @property
    def ok(self) -> bool:
        """True when the chain is intact and no audited alias was moved outside the workbench."""
        return not self.problems and not self.moved

    def summary(self) -> str:
        """One paragraph: intact, or every break and moved alias; then the key of each entry."""
        if self.ok:
            notes = []
            if self.unsigned:
                notes.append(f"{self.unsigned} hashed entries predate signing")
            if self.unchained:
                notes.append(
                    f"{self.unchained} older entries predate the chain (unsealed: shown, never "
                    "followed by a rollback)"
                )
            note = "".join(f"; {n}" for n in notes)
            lines = [
                f"audit log of {self.model}: intact ({self.entries} entries, every alias where "
                f"the log says{note})"
            ]
        else:
            lines = [f"audit log of {self.model}: BROKEN"] if self.problems else []
            if self.moved:
                lines.append(f"audit log of {self.model}: an alias moved outside the workbench")
            lines += [f"- {p}" for p in [*self.problems, *self.moved]]
        keys = self.keys_line()
        return "\n".join([*lines, keys] if keys else lines)

    def keys_line(self) -> str:
        """The key of each signed entry, grouped: ``signed: ana key 1a2b… (#1, #3); bob …``."""
        groups: dict[tuple[str, str, str], list[str]] = {}
        for signer in self.signers:
            if signer["key_id"]:
                owner = signer.get("owner")
                by = str(signer["by"])
                who = by if owner in (None, by) else f"{by} (by {owner}'s"
                key = (who, signer["key_id"], signer["status"])
                groups.setdefault(key, []).append(f"#{signer['seq']}")
        parts = []
        for (who, kid, status), seqs in groups.items():
            flag = "" if status == "ok" else f", {status}"
            head = f"{who} key {kid})" if who.endswith("'s") else f"{who} key {kid}"
            parts.append(f"{head} ({', '.join(seqs)}{flag})")
        return f"  signed: {'; '.join(parts)}" if parts else ""

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        return {
            "model": self.model,
            "ok": self.ok,
            "entries": self.entries,
            "problems": list(self.problems),
            "moved": list(self.moved),
            "unchained": self.unchained,
            "unsigned": self.unsigned,
            "trusted": self.trusted,
            "signers": [dict(s) for s in self.signers],
            "witness": list(self.witness) if self.witness else None,
        }


def verify_entries(
    model: str,
    entries: list[dict[str, Any]],
    head: tuple[int, str] | None,
    holders: dict[str, int | None],
    *,
    keys: dict[str, tuple[str, bytes]] | None = None,
    witness: tuple[int, str] | None = None,
    signers: Callable[[str], set[str]] | None = None,
) -> AuditCheck:
    """Check a model's audit entries (dicts of :data:`HASHED_FIELDS` plus ``hash``, ``signature``).

    Args:
        model: The registered model name (for messages).
        entries: Every entry the store returned, in any order.
        head: ``(seq, hash)`` of the last entry, as recorded on the registered model.
        holders: Alias -> the version the registry says holds it now.
        keys: Registered keys, key id -> (user, raw public key); None: signatures not checked.
        witness: ``(seq, hash)`` this account wrote or verified last (outside the store).
        signers: Whose keys may sign an entry by a given user (default: that user's own); on a
            team server only the server's.
    """
    check = AuditCheck(model, head=head, witness=witness)
    chained = [e for e in entries if e.get("hash")]
    chained.sort(key=lambda e: (_int(e.get("seq")) or 0, str(e.get("time"))))
    check.entries = len(chained)
    _check_unsealed(check, [e for e in entries if not e.get("hash")], chained)
    previous: dict[str, Any] | None = None
    signing_since: int | None = None
    broken: int | None = None
    for entry in chained:
        seq = _int(entry.get("seq")) or 0
        found = len(check.problems)
        intact = _check_link(check, entry, previous)
        signing_since = _check_signature(check, entry, intact, signing_since, keys, signers)
        if witness and seq == witness[0] and entry["hash"] != witness[1]:
            check.problems.append(
                f"entry #{seq} ({_label(entry)}) is not the entry #{seq} this account wrote or "
                "verified (its witness): it was replaced"
            )
        if len(check.problems) > found and broken is None:
            broken = seq
        if broken is None:
            check.trusted = seq
        previous = entry
    _check_head(check, previous, head)
    _check_witness(check, previous, witness)
    _check_holders(check, chained, holders)
    return check


def _check_unsealed(
    check: AuditCheck, unsealed: list[dict[str, Any]], chained: list[dict[str, Any]]
) -> None:
    """Entries without a hash: tolerated before the chain began (earlier releases), else tampering."""
    began = _time(chained[0].get("time")) if chained else None
    for entry in unsealed:
        when = _time(entry.get("time"))
        if not chained or (began and when and when < began and not _int(entry.get("seq"))):
            check.unchained += 1
            continue
        check.problems.append(
            f"an entry without a hash ({_label(entry)}) was added after the chain began (entry "
            f"#{chained[0].get('seq')} at {chained[0].get('time')}): it was written outside the "
            "workbench"
        )


def _check_link(check: AuditCheck, entry: dict[str, Any], previous: dict[str, Any] | None) -> bool:
    """Hash, number, predecessor and time of one entry; True when its hash matches its fields."""
    seq = _int(entry.get("seq")) or 0
    label = _label(entry)
    intact = entry_hash(entry) == entry["hash"]
    if not intact:
        check.problems.append(
            f"entry #{seq} ({label}) was edited: its fields no longer match its hash"
        )
    if _time(entry.get("time")) is None:
        check.problems.append(f"entry #{seq} ({label}) has no readable time")
    if previous is None:
        if seq != 1:
            missing = "#1" if seq == 2 else f"#1 to #{seq - 1}"
            check.problems.append(f"entry {missing} is missing (deleted) before #{seq}")
        return intact
    last = _int(previous.get("seq")) or 0
    if seq == last:
        check.problems.append(f"entry #{seq} ({label}) appears twice: one of the two was inserted")
    elif seq > last + 1:
        missing = f"#{last + 1}" if seq == last + 2 else f"#{last + 1} to #{seq - 1}"
        check.problems.append(f"entry {missing} is missing (deleted) before #{seq}")
    if seq != last and entry.get("prev_hash") != previous["hash"]:
        check.problems.append(
            f"entry #{seq} ({label}) does not follow entry #{last}: inserted or reordered"
        )
    now, before = _time(entry.get("time")), _time(previous.get("time"))
    if now and before and now < before:
        check.problems.append(
            f"entry #{seq} ({label}) is dated before entry #{last} ({previous.get('time')}): "
            "times never go backwards, so it was back-dated or reordered"
        )
    return intact


def _check_signature(
    check: AuditCheck,
    entry: dict[str, Any],
    intact: bool,
    signing_since: int | None,
    keys: dict[str, tuple[str, bytes]] | None,
    signers: Callable[[str], set[str]] | None = None,
) -> int | None:
    """Record the entry's key and flag a missing, unknown, re-attributed or bad signature; returns
    the number of the first signed entry (None while signing has not begun)."""
    seq = _int(entry.get("seq")) or 0
    label, by = _label(entry), str(entry.get("by") or "")
    kid, signature = str(entry.get("key_id") or ""), str(entry.get("signature") or "")
    signer = {"seq": seq, "by": by, "key_id": kid, "owner": None, "status": "ok"}
    check.signers.append(signer)
    if not kid:  # the key id is hashed: only an entry written before signing existed lacks it
        if signing_since is None:
            check.unsigned += 1
            signer["status"] = "unsigned (predates signing)"
            return None
        signer["status"] = "unsigned"
        check.problems.append(
            f"entry #{seq} ({label}) is not signed, but entries are signed since #{signing_since}: "
            "it was written outside the workbench"
        )
        return signing_since
    signing_since = seq if signing_since is None else signing_since
    if keys is None:
        signer["status"] = "not checked"
        return signing_since
    owner = keys.get(kid)
    if not signature:
        signer["status"] = "signature removed"
        check.problems.append(
            f"entry #{seq} ({label}) names key {kid} but carries no signature: it was removed"
        )
    elif owner is None:
        signer["status"] = "unknown key"
        check.problems.append(
            f"entry #{seq} ({label}) is signed by key {kid}, which is not registered in the "
            "workspace (keys/): it was not written by a known user"
        )
    else:
        signer["owner"] = owner[0]
        allowed = signers(by) if signers else {by}
        if owner[0] not in allowed:
            signer["status"] = f"key of {owner[0]}"
            check.problems.append(
                f"entry #{seq} ({label}) says it is by {by} but is signed by {owner[0]}'s key {kid}"
                + (
                    f", not by {' or '.join(sorted(allowed))}: it was not written through the team "
                    "server"
                    if by not in allowed
                    else ""
                )
            )
        elif intact and not verify_signature(owner[1], signed_message(entry["hash"]), signature):
            signer["status"] = "bad signature"
            check.problems.append(
                f"entry #{seq} ({label}) has a signature that does not match {owner[0]}'s key {kid}: "
                "forged, or copied from another entry"
            )
    return signing_since


def _check_head(
    check: AuditCheck, last: dict[str, Any] | None, head: tuple[int, str] | None
) -> None:
    if head is None:
        if last is not None:
            check.problems.append("the registered model carries no audit head: it was removed")
        return
    seq, digest = head
    if last is None:
        check.problems.append(f"every entry up to #{seq} is missing (deleted)")
        return
    last_seq = _int(last.get("seq")) or 0
    if last_seq < seq:
        check.problems.append(
            f"the log ends at #{last_seq} but entry #{seq} was written: the last entries were deleted"
        )
    elif last_seq == seq and last["hash"] != digest:
        check.problems.append(
            f"entry #{seq} is not the entry that was written last: it was replaced"
        )
    elif last_seq > seq:
        check.problems.append(
            f"entries after #{seq} were added outside the workbench (up to #{last_seq})"
        )


def _check_witness(
    check: AuditCheck, last: dict[str, Any] | None, witness: tuple[int, str] | None
) -> None:
    """A log that ends before the entry this account wrote or verified was cut back."""
    if witness is None:
        return
    last_seq = (_int(last.get("seq")) or 0) if last is not None else 0
    if last_seq < witness[0]:
        ends = f"ends at #{last_seq}" if last_seq else "has no entries"
        check.problems.append(
            f"entry #{witness[0]} was written or seen by this account but is missing: the log "
            f"{ends}, so its last entries were deleted (or the store was restored from an older "
            "backup)"
        )


def _check_holders(
    check: AuditCheck, entries: list[dict[str, Any]], holders: dict[str, int | None]
) -> None:
    last_by_alias: dict[str, dict[str, Any]] = {}
    for entry in entries:
        last_by_alias[str(entry.get("alias"))] = entry
    for alias, entry in sorted(last_by_alias.items()):
        expected = _int(entry.get("new_version"))
        actual = holders.get(alias)
        if actual != expected:
            now = f"v{actual}" if actual is not None else "nothing"
            check.moved.append(
                f"@{alias} points at {now} but the log's last entry (#{entry.get('seq')}) put "
                f"v{expected} there: it was moved outside the workbench"
            )


def _label(entry: dict[str, Any]) -> str:
    old = entry.get("old_version")
    old = f"v{old}" if old not in (None, "") else "none"
    return (
        f"{entry.get('action')} @{entry.get('alias')} {old} -> v{entry.get('new_version')} "
        f"by {entry.get('by')} at {entry.get('time')}"
    )


def _time(value: Any) -> datetime | None:
    """An entry's time as an aware UTC datetime (a naive one is read as UTC); None if unreadable."""
    try:
        when = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _canonical(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return str(value)
    if hasattr(value, "item"):
        value = value.item()
    return str(value)
