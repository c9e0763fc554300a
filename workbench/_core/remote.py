"""A tracking server's refusals, said in the workbench's words.

An authenticated MLflow server answers 401 (no or wrong login) or 403 (the user lacks a permission);
MLflow's client turns either into ``API request to endpoint ... failed with error code 403``. This
module reads that (in the error or anything it was raised from) and names the user, the server, the
request and the MLflow permission the request needs: :class:`~workbench.errors.PermissionDeniedError`.

``@speaks_for_server("logging a model")`` does it for a whole public step, so a viewer's
``wb.log_model`` or ``wb.promote`` ends in one clear error, whatever MLflow call was refused first.

Example:
    >>> from mlflow.exceptions import MlflowException
    >>> err = MlflowException(
    ...     "API request to endpoint /api/2.0/mlflow/runs/create failed with error code 403 != 200. "
    ...     "Response body: 'Permission denied'", error_code="PERMISSION_DENIED")
    >>> print(server_refusal(err, "logging a model", user="viewer", server="http://127.0.0.1:5000"))
    ... # doctest: +NORMALIZE_WHITESPACE
    the tracking server http://127.0.0.1:5000 refused user 'viewer' (403 on POST runs/create):
    logging a model needs EDIT on the experiment. Ask the server's admin for that permission, or
    log in as someone who has it (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from typing import Any, TypeVar

from workbench._core.text import tracking_login
from workbench._core.unreachable import server_down, unreachable
from workbench.errors import ModelNotFoundError, PermissionDeniedError

__all__ = ["PERMISSIONS", "server_refusal", "speaks_for_server"]

F = TypeVar("F", bound=Callable[..., Any])

#: (pattern on the endpoint after ``/api/2.0/``, the MLflow permission that request needs), first match.
PERMISSIONS: list[tuple[str, str]] = [
    (r"delete", "MANAGE on the experiment or registered model (deleting)"),
    (r"permissions|users/|roles/", "the admin's rights (users and permissions)"),
    (r"mlflow/experiments/create$", "USE on the workspace (creating an experiment)"),
    (r"mlflow/registered-models/create$", "USE on the workspace (creating a registered model)"),
    (
        r"model-versions/(create|update|set-tag)|registered-models/(alias|set-tag|update)",
        "EDIT on the registered model",
    ),
    (r"mlflow-artifacts|runs/|logged-models|experiments/set|datasets", "EDIT on the experiment"),
]

_GUARD = re.compile(r"the workbench team server refuses[^\n]*")
_ENDPOINT = re.compile(r"endpoint (\S+) failed with error code (\d{3})")
_URL = re.compile(r"(\d{3}) \w+ Error: [\w ]+ for url: (\S+)")


def server_refusal(
    err: BaseException, action: str, user: str | None = None, server: str | None = None
) -> PermissionDeniedError | None:
    """The :class:`PermissionDeniedError` that says why the server refused ``action``, or None
    when neither ``err`` nor what it was raised from is a 401/403 answer.

    Args:
        err: What a step raised.
        action: What the step was doing, as a gerund phrase ("logging a model", "promoting").
        user: The user (default ``MLFLOW_TRACKING_USERNAME``).
        server: The tracking server (default ``MLFLOW_TRACKING_URI``).
    """
    found = _refused_request(err)
    if found is None:
        return None
    said = _GUARD.search(str(err))  # the workbench team server's own refusal says it all
    if said:
        return PermissionDeniedError(said.group(0).strip())
    status, endpoint = found
    user = user or tracking_login() or None
    where = server or os.environ.get("MLFLOW_TRACKING_URI") or ""
    server = f"the tracking server {where}".strip()
    short = re.sub(r"^.*?/api/[\d.]+/(mlflow/)?", "", endpoint.split("?")[0]) or endpoint
    if status == 401 or user is None:
        return PermissionDeniedError(
            f"{server} did not accept the login of "
            f"{repr(user) if user else 'an anonymous user'} (401 on {short}): {action} needs a "
            "user it knows. Set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (a workbench "
            "team server keeps each person's password in <workspace>/team/credentials.json)."
        )
    method = "GET" if re.search(r"/(get|search|list)", endpoint) else "POST"
    needs = next(
        (need for pattern, need in PERMISSIONS if re.search(pattern, endpoint)),
        "READ on the experiment or registered model",
    )
    return PermissionDeniedError(
        f"{server} refused user {user!r} ({status} on {method} {short}): "
        f"{action} needs {needs}. Ask the server's admin for that permission, or log in as "
        "someone who has it (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD)."
    )


def speaks_for_server(action: str) -> Callable[[F], F]:
    """Decorate a public step: a 401/403 of the tracking server, anywhere inside it, is raised as
    the :class:`PermissionDeniedError` of :func:`server_refusal`, a server that did not answer
    as the :class:`~workbench.errors.ServerUnavailableError` of
    :func:`~workbench._core.unreachable.server_down`; other errors pass unchanged.

    A :class:`~workbench.errors.ModelNotFoundError` passes unchanged too: MLflow's auth answers a
    non-admin 403 for a model or alias that does not exist, so there 403 means "not found"."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except (PermissionDeniedError, ModelNotFoundError):
                raise  # MLflow's auth answers 403 for a model that does not exist: not found
            except Exception as err:
                refusal = server_refusal(err, action)
                if refusal is not None:
                    raise refusal from err
                reason = unreachable(err)  # no answer at all: say which server, and to retry
                if reason is not None:
                    raise server_down(action, reason, then=getattr(err, "then", "")) from err
                raise

        return wrapper  # type: ignore[return-value]

    return decorate


def _refused_request(err: BaseException) -> tuple[int, str] | None:
    """(status, endpoint) of the first 401/403 answer in ``err`` or its causes."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _status_of(current)
        if found is not None:
            return found
        current = current.__cause__ or current.__context__
    return None


def _status_of(err: BaseException) -> tuple[int, str] | None:
    response = getattr(err, "response", None)  # requests.HTTPError (artifact uploads)
    status = getattr(response, "status_code", None)
    if status in (401, 403):
        return int(status), str(getattr(response, "url", "") or "")
    text = str(err)
    for pattern in (_ENDPOINT, _URL):
        match = pattern.search(text)
        if match:
            first, second = match.groups()
            code, where = (first, second) if first.isdigit() else (second, first)
            if int(code) in (401, 403):
                return int(code), where
    code = getattr(err, "error_code", None)
    if code in ("PERMISSION_DENIED", "UNAUTHENTICATED") and type(err).__module__.startswith(
        "mlflow"
    ):
        return (403 if code == "PERMISSION_DENIED" else 401), ""
    return None
