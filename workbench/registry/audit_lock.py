"""The audit lock of a model on a shared tracking server, across processes and machines.

MLflow offers no lock and no compare-and-set on an alias, but its registry creates a registered
model name once: ``create_registered_model`` of a name that exists fails (a unique key in the
server's database), however many callers ask at the same moment. So a promotion or rollback of
``credit-risk`` takes the model's audit lock by creating the registered model
``_workbench-audit-lock.credit-risk`` and releases it by deleting it (a name the workbench never
gives a model: its names start with a letter or digit). A second promoter waits for it, up to
:data:`WAIT` seconds, then gets a :class:`~workbench.errors.RegistryError` that says to retry.

The lock's description says who holds it (user, host, pid) and since when. A lock is stale when its
holder ran on this machine and is gone (or is this process, which no longer holds it: a step the
server failed), or when it is older than :data:`LEASE` seconds (a promotion holds it for about a
second): it is renamed aside (only one of several breakers can take that name) and deleted. A
user who may not rename it is told who can; one who may rename but not delete it (another user's
lock) leaves it under the aside name, ``..stale.<id>``, for its creator or the admin to delete.

Taking the lock needs the right to create registered models (USE on the workspace, on a server
with workspaces), as well as EDIT on the model whose alias moves.

Example:
    >>> lock_name("credit-risk")
    '_workbench-audit-lock.credit-risk'
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from workbench._core.results import utc_now
from workbench._core.text import user_name
from workbench._core.unreachable import quick_failures, unreachable
from workbench.errors import ConflictError, PermissionDeniedError, RegistryError

__all__ = ["LEASE", "LOCK_PREFIX", "WAIT", "audit_lock", "lock_name", "workspace_lock"]

#: The registered model that holds a model's lock is this prefix plus the model's name.
LOCK_PREFIX = "_workbench-audit-lock."
#: Seconds a promoter waits for another one's lock before it gives up (and says to retry).
WAIT = 30.0
#: Seconds after which a lock is taken for the leftover of a crashed promoter.
LEASE = 60.0

_GONE = ("RESOURCE_DOES_NOT_EXIST", "PERMISSION_DENIED")  # auth answers 403 for a missing model
_held: set[str] = set()  # the tokens of the locks this process holds now


@contextlib.contextmanager
def workspace_lock(root: Any) -> Iterator[None]:
    """The audit lock of a local store: a file lock on ``<root>/mlruns/.audit.lock``, which every
    promotion and rollback on the workspace holds (and a backup, to copy none half-done)."""
    import fcntl
    from pathlib import Path

    with open(Path(root) / "mlruns" / ".audit.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def lock_name(name: str) -> str:
    """The registered model name of ``name``'s audit lock."""
    return LOCK_PREFIX + name


@contextlib.contextmanager
def audit_lock(client: Any, name: str, what: str, wait: float | None = None) -> Iterator[None]:
    """Hold ``name``'s audit lock on the tracking server for the block.

    Args:
        client: An ``MlflowClient`` on the server.
        name: The registered model whose alias moves.
        what: What the holder does, for another promoter's message ("promote credit-risk@champion").
        wait: Seconds to wait for another holder (default :data:`WAIT`).

    Raises:
        RegistryError: another promotion held the lock for ``wait`` seconds (the message names
            it and says to retry), or a stale lock could not be removed by this user.
    """
    token = _acquire(client, name, what, WAIT if wait is None else wait)
    _held.add(token)
    try:
        yield
    except BaseException as err:
        with quick_failures() if unreachable(err) else contextlib.nullcontext():
            _release(client, name, token)  # a server that is gone: no waiting on it
        raise
    else:
        _release(client, name, token)
    finally:
        _held.discard(token)


def _acquire(client: Any, name: str, what: str, wait: float) -> str:
    import mlflow

    lock = lock_name(name)
    token = uuid.uuid4().hex
    note = {
        "what": what,
        "user": user_name(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "since": utc_now("microseconds"),
        "token": token,
    }
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            client.create_registered_model(lock, description=json.dumps(note))
            return token
        except mlflow.exceptions.MlflowException as err:
            if err.error_code == "PERMISSION_DENIED":
                raise _refused(client, name, what) from err
            if err.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        holder = _holder(client, lock)
        if holder is None:
            continue  # released between our two calls: try again at once
        if _stale(holder):
            _break(client, lock, holder)
            continue
        if time.monotonic() > deadline:
            raise ConflictError(
                f"another promotion or rollback of {name} is under way "
                f"({_describe(holder)}); this one waited {wait:.0f} s for the audit lock and "
                "moved nothing. Retry in a moment."
            )
        time.sleep(delay * (1 + random.random()))  # noqa: S311 - jitter, not a secret
        delay = min(delay * 2, 0.5)


def _release(client: Any, name: str, token: str) -> None:
    """Delete the lock if it is still ours; quietly, as the step it guarded ended already (a
    lock left behind is stale once its holder is gone).

    MLflow's auth drops the grants on a name after a delete, in the same request: when the same
    user took the lock again in between, that user's MANAGE on it is gone and the delete is
    refused; the lock is renamed aside then (EDIT suffices), so the name is free at once."""
    import mlflow

    lock = lock_name(name)
    with contextlib.suppress(Exception):
        holder = _holder(client, lock)
        if holder is None or holder.get("token") != token:
            return
        try:
            client.delete_registered_model(lock)
        except mlflow.exceptions.MlflowException as err:
            if err.error_code != "PERMISSION_DENIED":
                raise
            client.rename_registered_model(lock, f"{lock}.stale.{token}")


def _holder(client: Any, lock: str) -> dict[str, Any] | None:
    """The lock's note, or None when there is no lock (any more)."""
    import mlflow

    try:
        model = client.get_registered_model(lock)
    except mlflow.exceptions.MlflowException as err:
        if err.error_code in _GONE:
            return None
        raise
    try:
        note = json.loads(model.description or "{}")
    except ValueError:
        note = {}
    note = note if isinstance(note, dict) else {}
    note.setdefault("created", (model.creation_timestamp or 0) / 1000)
    return note


def _stale(holder: dict[str, Any]) -> bool:
    """The holder's process is gone (it ran here), or the lock outlived :data:`LEASE`."""
    if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int):
        if holder["pid"] == os.getpid() and holder.get("token") not in _held:
            return True  # this process's own, left by a step that failed (the server went away)
        try:
            os.kill(holder["pid"], 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass  # alive, another user's
    return _age(holder) > LEASE


def _age(holder: dict[str, Any]) -> float:
    try:
        since = datetime.fromisoformat(str(holder["since"])).timestamp()
    except (KeyError, ValueError):
        since = float(holder.get("created") or 0)
    return datetime.now(UTC).timestamp() - since


def _break(client: Any, lock: str, holder: dict[str, Any]) -> None:
    """Remove a stale lock: rename it aside (one breaker wins the name), then delete it. When
    another breaker was faster and a new holder took the lock meanwhile, the renamed lock is
    that holder's: it is put back."""
    import mlflow

    aside = f"{lock}.stale.{uuid.uuid4().hex}"
    try:
        client.rename_registered_model(lock, aside)
    except mlflow.exceptions.MlflowException as err:
        if err.error_code not in _GONE:
            raise
        now = _holder(client, lock)
        if now is None or now.get("token") != holder.get("token"):
            return  # broken or released first, maybe taken again since: the caller looks again
        if err.error_code == "PERMISSION_DENIED":
            raise RegistryError(
                f"the audit lock {lock!r} was left by a promotion that did not finish "
                f"({_describe(holder)}), and {_me()} may not remove it: ask "
                f"{holder.get('user', 'its creator')} or the server's admin to delete the "
                "registered model of that name, then retry."
            ) from err
        return  # a passing answer of the server: the caller looks again
    with contextlib.suppress(Exception):
        renamed = _holder(client, aside)
        if renamed is not None and renamed.get("token") != holder.get("token"):
            client.rename_registered_model(aside, lock)  # a live holder's: give it back
            return
        client.delete_registered_model(aside)


def _refused(client: Any, name: str, what: str) -> PermissionDeniedError:
    return PermissionDeniedError(
        f"the tracking server {client.tracking_uri} refused user {user_name()!r} (403 on POST "
        f"registered-models/create): to {what} needs EDIT on the registered model "
        f"{name!r}, and USE on the workspace for its audit lock (a registered model the "
        "workbench creates and deletes around the move). Ask the server's admin for those "
        "permissions, or log in as someone who has them (MLFLOW_TRACKING_USERNAME / "
        "MLFLOW_TRACKING_PASSWORD)."
    )


def _describe(holder: dict[str, Any]) -> str:
    who = holder.get("user", "someone")
    where = f" on {holder['host']} (pid {holder.get('pid')})" if holder.get("host") else ""
    what = f"{holder['what']}, " if holder.get("what") else ""
    return f"{what}by {who}{where}, {_age(holder):.0f} s ago"


def _me() -> str:
    return repr(user_name())
