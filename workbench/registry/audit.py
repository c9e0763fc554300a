"""The audit log: every promotion and rollback, who did it, when and why.

It lives in the tracking store itself (experiment ``workbench-audit``, one run per entry, never
overwritten), so a shared tracking server keeps it for the whole team. Entries are hash-chained
(:mod:`workbench.registry.chain`): :func:`record` writes an entry with its sequence number and the
previous entry's hash and moves the chain's head (a tag on the registered model), :func:`history`
reads the entries back, :func:`verify_history` says whether the chain is intact and every audited
alias is where the log says, :func:`previous_holder` replays them to find where a rollback goes.

Each entry is signed with its promoter's key (:mod:`workbench.registry.keys`: private key in the
user's key folder, public key registered in the workspace's ``keys/``). Writing or verifying an entry
raises this account's witness (the highest entry it saw, kept in its key folder), which finds a log
cut back below it. A rollback follows only :func:`trusted_entries`: the verified prefix of the chain.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, fields
from typing import Any

import pandas as pd

from workbench._core.names import (
    AUDIT_EXPERIMENT,
    AUDIT_HEAD_TAG,
    AUDIT_PREFIX,
    KEY_TAG_PREFIX,
    TAG,
)
from workbench._core.remote import speaks_for_server
from workbench.registry import keys
from workbench.registry.chain import AuditCheck, entry_hash, signed_message, verify_entries
from workbench.registry.team_api import allowed_signers, server_info
from workbench.registry.versions import registered_model
from workbench.workspace import current_workspace, mlflow_client

__all__ = [
    "HISTORY_COLUMNS",
    "AuditEntry",
    "chain_head",
    "history",
    "previous_holder",
    "promoted_digest",
    "record",
    "signer_ready",
    "trusted_entries",
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
        digest: SHA-256 of the promoted artifact (empty when not recorded).
        trusted_types: Types beyond skops' defaults that the version's logger declared trusted,
            approved by this promotion (comma-separated; empty: none).
        key_id: Fingerprint of the key that signed the entry (empty: written before signing).
        signature: Ed25519 signature (hex) of the entry's hash by that key.
        evidence: The evidence beyond the checks the promotion was judged on (the sealed A/B
            test run and what it measured; empty: none). Hashed only when set, so entries
            written before it keep their hash.

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
    digest: str = ""
    key_id: str = ""
    signature: str = ""
    trusted_types: str = ""
    evidence: str = ""

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
#: What a notebook shows of it first (the rest behind ``show details``).
_SHORT_COLUMNS = ["time", "action", "alias", "old_version", "new_version", "by", "reason", "forced"]


class _AuditLog(pd.DataFrame):
    """:func:`history`'s DataFrame, shown in a notebook as people read it: who moved which
    version, when and why; the hashes and signatures behind ``show details``."""

    def _repr_html_(self) -> str:
        from workbench._core.results import short_table_html

        if self.empty:
            return "<i>no promotions or rollbacks yet</i>"
        return short_table_html(pd.DataFrame(self), _SHORT_COLUMNS + ["checks_status"])


@speaks_for_server("reading the audit log")
def history(name: str, alias: str | None = None, *, verified_only: bool = False) -> pd.DataFrame:
    """The audit log of ``name``: every promotion and rollback, oldest first.

    It lives in the tracking store (experiment ``workbench-audit``, one run per entry), so a
    shared tracking server keeps it for the whole team.

    Args:
        name: Registered model name.
        alias: Only entries for this alias.
        verified_only: Only the entries a rollback may follow (:func:`trusted_entries`).

    Returns:
        A DataFrame with columns time (UTC), action, model, alias, old_version, new_version, by,
        reason, forced, checks_status and run_id.

    Raises:
        ModelNotFoundError: no registered model is called ``name``.
    """
    client = mlflow_client()
    registered_model(client, name)
    if verified_only:
        rows = [e.to_dict() for e in trusted_entries(name, alias)]
    else:
        rows = [e.to_dict() for e in _entries(client, name, alias)]
    frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    return _AuditLog(frame.astype({"old_version": "Int64", "new_version": "Int64", "forced": bool}))


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
    previous hash are set, the signing key named, its own hash computed and signed by ``entry.by``'s
    key, the run written, the head moved and this account's witness raised. Returns the run id."""
    entry.seq = (head[0] if head else 0) + 1
    entry.prev_hash = head[1] if head else ""
    signer = keys.signer_for(entry.by)  # on a team server: the server's key, for the login
    entry.key_id = signer_ready(signer)
    entry.hash = entry_hash(entry.to_dict())
    _, entry.signature = keys.sign(signer, signed_message(entry.hash))
    experiment_id = current_workspace().experiment_id(AUDIT_EXPERIMENT)
    if current_workspace().shared:  # before anything is written: a refusal leaves nothing behind
        _publish_key(client, experiment_id, signer, entry.key_id)
    tags = {AUDIT_PREFIX + k: "" if v is None else str(v) for k, v in entry.to_dict().items()}
    tags.pop(AUDIT_PREFIX + "run_id")
    tags["mlflow.note.content"] = entry.summary()
    tags[TAG.KIND] = "audit"  # outside the entry's own tags: not part of what is hashed
    old = f"v{entry.old_version}" if entry.old_version is not None else "none"
    run_name = f"{entry.action}-{entry.model}@{entry.alias}-{old}-to-v{entry.new_version}"
    run_name += f"-{str(entry.time)[:10]}"  # promote-credit-risk@champion-v11-to-v12-2026-12-06
    run = client.create_run(experiment_id, run_name=run_name, tags=tags)
    client.set_terminated(run.info.run_id)
    client.set_registered_model_tag(entry.model, AUDIT_HEAD_TAG, f"{entry.seq}:{entry.hash}")
    keys.remember(_store(), entry.model, entry.seq, entry.hash)
    return run.info.run_id


def _publish_key(client: Any, experiment_id: str, user: str, kid: str) -> None:
    """Publish ``user``'s public key on the audit experiment of a shared store (teammates pin it)."""
    tag = KEY_TAG_PREFIX + kid
    experiment = client.get_experiment(experiment_id)
    if (experiment.tags or {}).get(tag):
        return
    client.set_experiment_tag(experiment_id, tag, keys.line_of(user, keys.public_key(user)))


def _known_keys(client: Any) -> dict[str, tuple[str, bytes]]:
    """The workspace's registered keys; on a shared store, first pinning the keys published there
    for users the workspace has no key of (trust on first use)."""
    ws = current_workspace()
    if ws.shared:
        server_info()  # a workbench team server: its key is pinned first
        experiment = client.get_experiment_by_name(AUDIT_EXPERIMENT)
        for tag, value in sorted((experiment.tags or {}).items() if experiment else []):
            parsed = keys.parse_line(value) if tag.startswith(KEY_TAG_PREFIX) else None
            if parsed and parsed[0] == tag[len(KEY_TAG_PREFIX) :]:
                keys.pin(parsed[1], parsed[2], ws.root)
    return keys.registered_keys(ws.root)


def signer_ready(user: str) -> str:
    """Make sure ``user`` can sign an entry here: their key exists (created on first use) and is
    registered in the workspace. Returns the key id. Cheap after the first call.

    Raises:
        GateError: ``user`` has a registered key that this account does not hold.
        WorkspaceError: the key folder or the workspace's ``keys/`` cannot be written.
    """
    return keys.register(user, current_workspace().root)


def chain_head(client: Any, name: str) -> tuple[int, str] | None:
    """``(seq, hash)`` of the last entry written for ``name``, from the registered model's tag."""
    tags = registered_model(client, name).tags or {}
    value = tags.get(AUDIT_HEAD_TAG, "")
    seq, _, digest = value.partition(":")
    return (int(seq), digest) if seq.isdigit() and digest else None


def verify_history(name: str, *, artifacts: bool = True) -> AuditCheck:
    """Whether the audit log of ``name`` is intact and every audited alias is where it says.

    Signatures are checked against the keys registered in the workspace's ``keys/``, and the
    log's end against this account's witness, which a verified prefix then raises. With
    ``artifacts`` (the default), each version an alias holds by the log is hashed again and a
    version whose files differ from the digest its promotion recorded is named.

    Returns:
        An :class:`~workbench.registry.chain.AuditCheck`: ``ok``, each problem in plain words (an
        edited, deleted, inserted, back-dated, unsealed or badly signed entry; an alias moved
        outside the workbench) and the key (user + key id) of each entry.

    Raises:
        ModelNotFoundError: no registered model is called ``name``.

    Example:
        >>> import workbench as wb
        >>> wb.verify_history("credit-risk").ok  # doctest: +SKIP
        True
    """
    check, found = _verified(name)
    if not artifacts:
        return check
    check.problems += _changed_artifacts(
        name, [e for e in found if e.hash and 0 < e.seq <= check.trusted]
    )
    return check


def promoted_digest(name: str, version: int) -> str | None:
    """The artifact digest recorded by the newest sealed entry, signed by a key registered to
    its user, that put ``version`` of ``name`` under an alias (``None``: none did).

    The newest few entries first, newest first, stopping at the first that holds (one short
    query and a signature check: what serving and scoring pay before they load); all of them only
    when none of those does. The chain as a whole is judged by :func:`verify_history`, promote and
    rollback.
    """
    client = mlflow_client()
    experiment = client.get_experiment_by_name(AUDIT_EXPERIMENT)
    if experiment is None:
        return None
    quoted = name.replace("'", "\\'")
    query = (
        f"tags.`{AUDIT_PREFIX}model` = '{quoted}' and "
        f"tags.`{AUDIT_PREFIX}new_version` = '{int(version)}'"
    )
    known = keys.registered_keys(current_workspace().root)
    for limit in (5, 1000):
        runs = client.search_runs(
            [experiment.experiment_id],
            filter_string=query,
            max_results=limit,
            order_by=["attributes.start_time DESC"],
        )
        found = [e for e in map(_entry_of, runs) if _sealed_and_signed(e, known)]
        if found:
            return max(found, key=lambda e: e.seq).digest
        if len(runs) < limit:
            return None
    return None


def _sealed_and_signed(entry: AuditEntry, known: dict[str, tuple[str, bytes]]) -> bool:
    owner = known.get(entry.key_id)
    if not (entry.digest and entry.hash and owner is not None):
        return False
    if owner[0] not in allowed_signers(entry.by):
        return False
    if entry_hash(entry.to_dict()) != entry.hash:
        return False
    return keys.verify_signature(owner[1], signed_message(entry.hash), entry.signature)


def _changed_artifacts(name: str, entries: list[AuditEntry]) -> list[str]:
    """A problem for each version an alias holds now, by the log, whose files no longer hash to
    the digest its promotion recorded."""
    from workbench.registry.digest import short
    from workbench.registry.resolved import version_digest

    held = {e.alias: e.new_version for e in entries}  # each alias's last entry wins
    recorded = {e.new_version: e for e in entries if e.digest}  # the newest record wins
    out = []
    for version in sorted(set(held.values()) & set(recorded)):
        entry = recorded[version]
        try:
            now = version_digest(name, version)
        except Exception as err:  # the files are gone: as much a change as a swap
            now = f"unreadable ({type(err).__name__})"
        if now != entry.digest:
            out.append(
                f"artifact of v{version} changed after it was checked and promoted: its files "
                f"hash to {short(now)}, entry #{entry.seq} recorded {short(entry.digest)}"
            )
    return out


def trusted_entries(name: str, alias: str | None = None) -> list[AuditEntry]:
    """The entries a rollback may follow: the verified prefix of the chain (of one ``alias``).

    Entries without a hash, unsigned entries once signing began, and every entry from the first
    problem on (edited, out of sequence, back-dated, badly signed, contradicted by the witness) are
    left out, so a forged entry cannot steer a rollback.

    Raises:
        ModelNotFoundError: no registered model is called ``name``.
    """
    check, entries = _verified(name)
    return [
        e
        for e in entries
        if e.hash and 0 < e.seq <= check.trusted and (alias is None or e.alias == alias)
    ]


def _verified(name: str) -> tuple[AuditCheck, list[AuditEntry]]:
    """Verify the chain of ``name`` (raising the witness to its verified prefix)."""
    import mlflow

    client = mlflow_client()
    registered_model(client, name)
    found = _entries(client, name, None)
    entries = [e.to_dict() for e in found]
    holders = {}
    for alias in {e["alias"] for e in entries}:
        try:
            holders[alias] = int(client.get_model_version_by_alias(name, alias).version)
        except mlflow.exceptions.MlflowException as err:
            if err.error_code not in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"):
                raise  # unanswered: not evidence that the alias was removed
            holders[alias] = None
    store = _store()
    check = verify_entries(
        name,
        entries,
        chain_head(client, name),
        holders,
        keys=_known_keys(client),
        witness=keys.witnessed(store, name),
        signers=allowed_signers,
    )
    last = [e for e in found if e.hash and e.seq == check.trusted]
    if last and (check.witness is None or check.trusted > check.witness[0]):
        keys.remember(store, name, check.trusted, last[0].hash)
    return check, found


def _store() -> str:
    """The tracking store as this account's witness names it."""
    return keys.store_id(current_workspace().tracking_uri)


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
        digest=get("digest"),
        key_id=get("key_id"),
        signature=get("signature"),
        trusted_types=get("trusted_types"),
        evidence=get("evidence"),
    )
