"""Promote and roll back through a workbench team server (``POST /api/workbench/promote``).

On a team server the gate runs on the server: it authenticates the login, checks the approvers of
its own policy, runs the gate on the version's server-run checks, signs the audit entry with its
key for that login and moves the alias, in one step under its lock. The client sends what to do
and gets the :class:`~workbench.registry.audit.AuditEntry` back (or the refusal, as the error the
server raised).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from workbench._core.text import tracking_login
from workbench.errors import UsageError
from workbench.registry import team_api
from workbench.registry.audit import AuditEntry

__all__ = ["through_server"]


def through_server(action: str, by: str | None, **payload: Any) -> AuditEntry:
    """Ask the team server to ``promote`` or ``rollback`` with ``payload``; the entry it wrote.

    ``by`` may only repeat the login: the server records the user it authenticated.

    Raises:
        UsageError: ``by`` names someone else than the login.
        WorkbenchError: the server's refusal (``GateError``, ``PermissionDeniedError``...).
    """
    login = tracking_login()
    if by and by.strip() != login:
        raise UsageError(
            f"--by {by!r} is refused on a workbench team server: the server records the user "
            f"logged in ({login or 'nobody'!r}); leave --by out."
        )
    answer = team_api.call(f"/api/workbench/{action}", payload)
    known = {f.name for f in dataclasses.fields(AuditEntry)}
    return AuditEntry(**{k: v for k, v in (answer.get("entry") or {}).items() if k in known})
