"""The audit log's hash chain: each entry carries the hash of the one before it.

An entry's ``hash`` is the SHA-256 of its fields (who, when, what moved, why, its sequence number and
the previous entry's hash). :func:`verify` replays a model's entries and says plainly where the chain
breaks: an entry whose fields were edited no longer matches its hash, a deleted entry leaves a gap in
the sequence (or falls behind the head recorded on the registered model), an inserted or back-dated
entry repeats a number or does not follow its predecessor. It also compares every audited alias with
the registry: an alias moved outside the workbench (the MLflow UI, a plain client) is flagged.

What this protects against: edits, deletions and insertions made through MLflow (its UI, its client,
its REST API) by someone who does not rebuild the whole chain. Someone who can rewrite every entry and
the head tag (a user with write access to a local ``mlflow.db``) can forge a consistent chain; on a
shared tracking server, MLflow's permissions decide who may write the audit experiment.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AuditCheck", "HASHED_FIELDS", "entry_hash", "verify_entries"]

#: The fields an entry's hash covers (everything but its run id and its own hash).
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
)


def entry_hash(fields: dict[str, Any]) -> str:
    """The SHA-256 (hex) of an entry's hashed fields, in a canonical JSON form.

    Example:
        >>> a = entry_hash({"seq": 1, "by": "ana"})
        >>> a == entry_hash({"by": "ana", "seq": 1}) and a != entry_hash({"seq": 1, "by": "bob"})
        True
    """
    canonical = {k: _canonical(fields.get(k)) for k in HASHED_FIELDS}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class AuditCheck:
    """What :func:`verify_entries` found: the chain's state and every problem, in plain words.

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

    @property
    def ok(self) -> bool:
        """True when the chain is intact and no audited alias was moved outside the workbench."""
        return not self.problems and not self.moved

    def summary(self) -> str:
        """One paragraph: intact, or every break and moved alias."""
        if self.ok:
            note = f"; {self.unchained} older entries predate the chain" if self.unchained else ""
            return (
                f"audit log of {self.model}: intact ({self.entries} entries, every alias where "
                f"the log says{note})"
            )
        lines = [f"audit log of {self.model}: BROKEN"] if self.problems else []
        if self.moved:
            lines.append(f"audit log of {self.model}: an alias moved outside the workbench")
        return "\n".join([*lines, *(f"- {p}" for p in [*self.problems, *self.moved])])

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        return {
            "model": self.model,
            "ok": self.ok,
            "entries": self.entries,
            "problems": list(self.problems),
            "moved": list(self.moved),
            "unchained": self.unchained,
        }


def verify_entries(
    model: str,
    entries: list[dict[str, Any]],
    head: tuple[int, str] | None,
    holders: dict[str, int | None],
) -> AuditCheck:
    """Check a model's audit entries (dicts of :data:`HASHED_FIELDS` plus ``hash``).

    Args:
        model: The registered model name (for messages).
        entries: Every entry the store returned, in any order.
        head: ``(seq, hash)`` of the last entry, as recorded on the registered model.
        holders: Alias -> the version the registry says holds it now.
    """
    check = AuditCheck(model, head=head)
    chained = [e for e in entries if e.get("hash")]
    check.unchained = len(entries) - len(chained)
    chained.sort(key=lambda e: (int(e.get("seq") or 0), str(e.get("time"))))
    check.entries = len(chained)
    previous: dict[str, Any] | None = None
    for entry in chained:
        seq = int(entry.get("seq") or 0)
        label = _label(entry)
        if entry_hash(entry) != entry["hash"]:
            check.problems.append(
                f"entry #{seq} ({label}) was edited: its fields no longer match its hash"
            )
        if previous is None:
            if seq != 1 and not check.unchained:
                check.problems.append(f"entries #1 to #{seq - 1} are missing (deleted)")
        else:
            last = int(previous.get("seq") or 0)
            if seq == last:
                check.problems.append(
                    f"entry #{seq} ({label}) appears twice: one of the two was inserted"
                )
            elif seq > last + 1:
                missing = f"#{last + 1}" if seq == last + 2 else f"#{last + 1} to #{seq - 1}"
                check.problems.append(f"entry {missing} is missing (deleted) before #{seq}")
            if seq != last and entry.get("prev_hash") != previous["hash"]:
                check.problems.append(
                    f"entry #{seq} ({label}) does not follow entry #{last}: inserted or reordered"
                )
        previous = entry
    _check_head(check, previous, head)
    _check_holders(check, chained, holders)
    return check


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
    last_seq = int(last.get("seq") or 0)
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
