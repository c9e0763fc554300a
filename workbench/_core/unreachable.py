"""A tracking server that does not answer, said in the workbench's words.

MLflow's client retries a request that finds no server (connection refused, dropped or timed out, or
5xx answers) and then raises ``API request to <url> failed with exception HTTPConnectionPool(...):
Max retries exceeded ...``. :func:`unreachable` reads that (in the error or anything it was raised
from) and :func:`server_down` says it plainly: which server, what it was doing, what to check, and
to retry. :func:`quick_failures` makes the requests of a cleanup fail at once once the server is
known to be gone, instead of retrying each for seconds.

Example:
    >>> from mlflow.exceptions import MlflowException
    >>> err = MlflowException("API request to http://127.0.0.1:5000/api/2.0/mlflow/runs/create "
    ...     "failed with exception HTTPConnectionPool(host='127.0.0.1', port=5000): Max retries "
    ...     "exceeded with url: /api/2.0/mlflow/runs/create (Caused by NewConnectionError("
    ...     "'Failed to establish a new connection: [Errno 111] Connection refused'))")
    >>> unreachable(err)
    'connection refused'
    >>> print(server_down("logging a model", unreachable(err), server="http://127.0.0.1:5000"))
    ... # doctest: +NORMALIZE_WHITESPACE
    the tracking server http://127.0.0.1:5000 did not answer while logging a model (connection
    refused): check that it runs (`workbench team status` for a workbench team server;
    `workbench team up` starts it again), then retry.
"""

from __future__ import annotations

import contextlib
import os
import re

from workbench._core.process import environment
from workbench.errors import ServerUnavailableError

__all__ = ["quick_failures", "server_down", "unreachable"]

#: (pattern in the error text, the reason given to the user), first match.
_REASONS: list[tuple[str, str]] = [
    (
        r"too many (\d{3}) error responses",
        "it answered {0} to every retry: it runs but fails, its database may be down",
    ),
    (r"Connection refused|Errno 111|NewConnectionError", "connection refused"),
    (r"timed out|timeout exception|ReadTimeout|ConnectTimeout", "it timed out"),
    (
        r"RemoteDisconnected|Connection aborted|Connection reset|BrokenPipe|ProtocolError|"
        r"IncompleteRead|ChunkedEncodingError",
        "the connection dropped",
    ),
    (r"Max retries exceeded", "no answer after several retries"),
]


def unreachable(err: BaseException) -> str | None:
    """Why the tracking server did not answer, when ``err`` (or what it was raised from) says it
    did not: ``"connection refused"``, ``"it timed out"``, ``"the connection dropped"``, ``"it
    answered 503 to every retry"``; else None."""
    said = getattr(err, "server_down", None)
    if said:
        return said  # an inner step said it already; the outer one says it again as its own
    texts = []
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        package = type(current).__module__.split(".")[0]
        if package in ("requests", "urllib3", "http") or isinstance(
            current, ConnectionError | TimeoutError
        ):
            texts.append(f"{type(current).__name__}: {current}")
        elif package == "mlflow" and "API request to" in str(current):  # MLflow's HTTP client
            texts.append(str(current))
        current = current.__cause__ or current.__context__
    text = "\n".join(texts)
    if not text:
        return None
    for pattern, reason in _REASONS:
        match = re.search(pattern, text)
        if match:
            return reason.format(*match.groups())
    return None


def server_down(
    action: str, reason: str, server: str | None = None, then: str = ""
) -> ServerUnavailableError:
    """The error to raise when the tracking server did not answer while ``action``.

    Args:
        action: What the step was doing, as a gerund phrase ("logging a model").
        reason: What :func:`unreachable` found.
        server: The tracking server (default ``MLFLOW_TRACKING_URI``).
        then: What the failed step left behind, in a sentence, if anything.
    """
    server = server or os.environ.get("MLFLOW_TRACKING_URI") or "(no MLFLOW_TRACKING_URI)"
    error = ServerUnavailableError(
        f"the tracking server {server} did not answer while {action} ({reason}): check that it "
        "runs (`workbench team status` for a workbench team server; `workbench team up` starts "
        f"it again), then retry.{' ' + then if then else ''}"
    )
    error.server_down = reason  # type: ignore[attr-defined]
    error.then = then  # type: ignore[attr-defined]
    return error


def quick_failures() -> contextlib.AbstractContextManager[None]:
    """Within the block, MLflow's requests are not retried (and time out after 5 s): for the
    cleanup of a step whose server is gone, so that it does not wait on every request."""
    return environment({"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"})
