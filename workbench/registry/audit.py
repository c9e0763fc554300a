"""The audit log: every promotion and rollback, who did it, when and why.

It lives in the tracking store itself (experiment ``workbench-audit``, one run per entry, never
overwritten), so a shared tracking server keeps it for the whole team. :func:`record` writes an
entry, :func:`history` reads them back, :func:`previous_holder` replays them to find where a
rollback goes.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from workbench._core.names import AUDIT_EXPERIMENT, AUDIT_PREFIX
from workbench.registry.versions import registered_model
from workbench.workspace import current_workspace, mlflow_client

__all__ = ["HISTORY_COLUMNS", "AuditEntry", "history", "previous_holder", "record"]

#: The columns of :func:`history`'s table, in order.
HISTORY_COLUMNS = [
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
    "run_id",
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
    experiment = client.get_experiment_by_name(AUDIT_EXPERIMENT)
    if experiment is None:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    quoted = name.replace("'", "\\'")
    query = f"tags.`{AUDIT_PREFIX}model` = '{quoted}'"
    if alias:
        query += f" and tags.`{AUDIT_PREFIX}alias` = '{alias}'"
    rows, token = [], None
    while True:
        page = client.search_runs(
            [experiment.experiment_id], filter_string=query, max_results=1000, page_token=token
        )
        rows.extend((_entry_of(run).to_dict(), run.info.start_time) for run in page)
        token = page.token
        if not token:
            break
    rows.sort(key=lambda pair: (pair[0]["time"], pair[1]))
    frame = pd.DataFrame([r for r, _ in rows], columns=HISTORY_COLUMNS)
    return frame.astype({"old_version": "Int64", "new_version": "Int64", "forced": bool})


def record(client: Any, entry: AuditEntry) -> str:
    """Write ``entry`` to the audit experiment as a finished run of its own; returns the run id."""
    experiment_id = current_workspace().experiment_id(AUDIT_EXPERIMENT)
    tags = {AUDIT_PREFIX + k: "" if v is None else str(v) for k, v in entry.to_dict().items()}
    tags.pop(AUDIT_PREFIX + "run_id")
    tags["mlflow.note.content"] = entry.summary()
    old = f"v{entry.old_version}" if entry.old_version is not None else "none"
    run_name = f"{entry.action} {entry.model}@{entry.alias} {old}->v{entry.new_version}"
    run = client.create_run(experiment_id, run_name=run_name, tags=tags)
    client.set_terminated(run.info.run_id)
    return run.info.run_id


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
    )
