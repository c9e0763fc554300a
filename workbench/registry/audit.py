"""The audit log: every promotion and rollback, who did it, when and why.

It lives in the tracking store itself (experiment ``workbench-audit``, one run per entry, never
overwritten), so a shared tracking server keeps it for the whole team. Entries are hash-chained
(:mod:`workbench.registry.chain`): :func:`record` writes an entry with its sequence number and the
previous entry's hash and moves the chain's head (a tag on the registered model), :func:`history`
reads the entries back, :func:`verify_history` says whether the chain is intact and every audited
alias is where the log says, :func:`previous_holder` replays them to find where a rollback goes.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, fields
from typing import Any

import pandas as pd

from workbench._core.names import AUDIT_EXPERIMENT, AUDIT_HEAD_TAG, AUDIT_PREFIX
from workbench._core.remote import speaks_for_server
from workbench.registry.chain import AuditCheck, entry_hash, verify_entries
from workbench.registry.versions import registered_model
from workbench.workspace import current_workspace, mlflow_client

__all__ = [
    "HISTORY_COLUMNS",
    "AuditEntry",
    "chain_head",
    "history",
    "previous_holder",
    "record",
    "verify_history",
]


@dataclass
class AuditEntry:
    """One promotion or rollback, as the audit log keeps it.

    Attributes:
        time: UTC time, ISO 8601 with microseconds.
        action: ``promote`` or ``rollback``.
        model: Registered model name.
        alias: The alias that moved (``champion``).
        old_version: The version that held it before (``None``: nobody).
        new_version: The version that holds it now.
        by: Who did it.
        reason: Why.
        forced: Promoted although the checks had not passed.
        checks_status: The new version's checks at the time: ``passed``, ``failed`` or ``never ran``.
        run_id: The audit run in the ``workbench-audit`` experiment.
        seq: Its number in the model's audit log (1, 2, ...).
        prev_hash: The hash of the entry before it (empty for the first).
        hash: The SHA-256 of its fields, ``prev_hash`` included.
        policy_hash: The gate policy the promotion was judged by.
        allow_pickle: The version was allowed to load although its format is unsafe.

    Example:
        >>> e = AuditEntry("2026-11-22T10:00:00+00:00", "promote", "m", "champion", None, 1,
        ...                "ana", "first", False, "passed")
        >>> e.summary()
        'promote m@champion: none -> v1 by ana (checks passed): first'
    """

    time: str
    action: str
    model: str
    alias: str
    old_version: int | None
    new_version: int
    by: str
    reason: str
    forced: bool
    checks_status: str
    run_id: str | None = None
    seq: int = 0
    prev_hash: str = ""
    hash: str = ""
    policy_hash: str = ""
    allow_pickle: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        return asdict(self)

    def summary(self) -> str:
        """One line: what moved, who, why."""
        old = f"v{self.old_version}" if self.old_version is not None else "none"
        forced = ", FORCED" if self.forced else ""
        return (
            f"{self.action} {self.model}@{self.alias}: {old} -> v{self.new_version} by {self.by} "
            f"(checks {self.checks_status}{forced}): {self.reason}"
        )

    def _repr_html_(self) -> str:
        colour = "#cf222e" if self.forced else "#1a7f37"
        return f"<div class='wb-audit-entry' style='color:{colour}'>{html.escape(self.summary())}</div>"


#: The columns of :func:`history`'s table, in order: the fields of :class:`AuditEntry`.
HISTORY_COLUMNS = [f.name for f in fields(AuditEntry)]


@speaks_for_server("reading the audit log")
def history(name: str, alias: str | None = None) -> pd.DataFrame:
    """The audit log of ``name``: every promotion and rollback, oldest first.

    It lives in the tracking store (experiment ``workbench-audit``, one run per entry), so a
    shared tracking server keeps it for the whole team.

    Args:
        name: Registered model name.
        alias: Only entries for this alias.

    Returns:
        A DataFrame with columns time (UTC), action, model, alias, old_version, new_version, by,
        reason, forced, checks_status and run_id.

    Raises:
        ModelNotFoundError: no registered model is called ``name``.
    """
    client = mlflow_client()
    registered_model(client, name)
    rows = [e.to_dict() for e in _entries(client, name, alias)]
    frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    return frame.astype({"old_version": "Int64", "new_version": "Int64", "forced": bool})


def _entries(client: Any, name: str, alias: str | None) -> list[AuditEntry]:
    """Every audit entry of ``name`` (of one ``alias``), in log order (sequence, then time)."""
    experiment = client.get_experiment_by_name(AUDIT_EXPERIMENT)
    if experiment is None:
        return []
    quoted = name.replace("'", "\\'")
    query = f"tags.`{AUDIT_PREFIX}model` = '{quoted}'"
    if alias:
        query += f" and tags.`{AUDIT_PREFIX}alias` = '{alias}'"
    found, token = [], None
    while True:
        page = client.search_runs(
            [experiment.experiment_id], filter_string=query, max_results=1000, page_token=token
        )
        found.extend((_entry_of(run), run.info.start_time) for run in page)
        token = page.token
        if not token:
            break
    found.sort(key=lambda pair: (pair[0].seq, pair[0].time, pair[1]))
    entries: list[AuditEntry] = []
    for entry, _ in found:  # an exact, intact copy is one entry written twice: a retried request
        if entries and (entry.seq, entry.hash) == (entries[-1].seq, entries[-1].hash):
            if entry.to_dict() | {"run_id": None} == entries[-1].to_dict() | {"run_id": None}:
                if entry_hash(entry.to_dict()) == entry.hash:
                    continue
        entries.append(entry)
    return entries


def record(client: Any, entry: AuditEntry, head: tuple[int, str] | None) -> str:
    """Write ``entry`` as the next link of the chain whose head is ``head``: its number and the
    previous hash are set, its own hash computed, the run written, the head moved. Returns the run
    id."""
    entry.seq = (head[0] if head else 0) + 1
    entry.prev_hash = head[1] if head else ""
    entry.hash = entry_hash(entry.to_dict())
    experiment_id = current_workspace().experiment_id(AUDIT_EXPERIMENT)
    tags = {AUDIT_PREFIX + k: "" if v is None else str(v) for k, v in entry.to_dict().items()}
    tags.pop(AUDIT_PREFIX + "run_id")
    tags["mlflow.note.content"] = entry.summary()
    old = f"v{entry.old_version}" if entry.old_version is not None else "none"
    run_name = f"{entry.action} {entry.model}@{entry.alias} {old}->v{entry.new_version}"
    run = client.create_run(experiment_id, run_name=run_name, tags=tags)
    client.set_terminated(run.info.run_id)
    client.set_registered_model_tag(entry.model, AUDIT_HEAD_TAG, f"{entry.seq}:{entry.hash}")
    return run.info.run_id


def chain_head(client: Any, name: str) -> tuple[int, str] | None:
    """``(seq, hash)`` of the last entry written for ``name``, from the registered model's tag."""
    tags = registered_model(client, name).tags or {}
    value = tags.get(AUDIT_HEAD_TAG, "")
    seq, _, digest = value.partition(":")
    return (int(seq), digest) if seq.isdigit() and digest else None


def verify_history(name: str) -> AuditCheck:
    """Whether the audit log of ``name`` is intact and every audited alias is where it says.

    Returns:
        An :class:`~workbench.registry.chain.AuditCheck`: ``ok``, and each problem in plain words
        (an edited, deleted or inserted entry; an alias moved outside the workbench).

    Raises:
        ModelNotFoundError: no registered model is called ``name``.

    Example:
        >>> import workbench as wb
        >>> wb.verify_history("credit-risk").ok  # doctest: +SKIP
        True
    """
    import mlflow

    client = mlflow_client()
    registered_model(client, name)
    entries = [e.to_dict() for e in _entries(client, name, None)]
    holders = {}
    for alias in {e["alias"] for e in entries}:
        try:
            holders[alias] = int(client.get_model_version_by_alias(name, alias).version)
        except mlflow.exceptions.MlflowException as err:
            if err.error_code not in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"):
                raise  # unanswered: not evidence that the alias was removed
            holders[alias] = None
    return verify_entries(name, entries, chain_head(client, name), holders)


def previous_holder(log: pd.DataFrame, current: int | None) -> int | None:
    """Where a rollback of one alias goes, from that alias's :func:`history`.

    Promotions push, rollbacks pop; the version below the top is where a rollback goes. When the
    alias was moved outside the workbench (``current`` is not on top), it goes back to the last
    holder the log knows.

    Example:
        >>> log = pd.DataFrame({"action": ["promote"] * 3, "old_version": [None, 1, 2],
        ...                     "new_version": [1, 2, 3]})
        >>> previous_holder(log, 3), previous_holder(log, 7)
        (2, 3)
    """
    stack: list[int] = []
    for entry in log.itertuples(index=False):
        if entry.action == "promote":
            if not stack and pd.notna(entry.old_version):
                stack.append(int(entry.old_version))
            if not stack or stack[-1] != entry.new_version:
                stack.append(int(entry.new_version))
        elif entry.action == "rollback":
            if stack:
                stack.pop()
            if not stack or stack[-1] != entry.new_version:
                stack.append(int(entry.new_version))
    if not stack:
        return None
    if stack[-1] == current:
        return stack[-2] if len(stack) >= 2 else None
    return stack[-1]


def _entry_of(run: Any) -> AuditEntry:
    tags = run.data.tags

    def get(key: str) -> str:
        return tags.get(AUDIT_PREFIX + key, "")

    old = get("old_version")
    return AuditEntry(
        time=get("time"),
        action=get("action"),
        model=get("model"),
        alias=get("alias"),
        old_version=int(old) if old.isdigit() else None,
        new_version=int(get("new_version") or 0),
        by=get("by"),
        reason=get("reason"),
        forced=get("forced") == "True",
        checks_status=get("checks_status"),
        run_id=run.info.run_id,
        seq=int(get("seq")) if get("seq").isdigit() else 0,
        prev_hash=get("prev_hash"),
        hash=get("hash"),
        policy_hash=get("policy_hash"),
        allow_pickle=get("allow_pickle") == "True",
    )
