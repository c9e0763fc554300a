"""The server's edge: what a request must be before MLflow's app or the model sees it.

An ASGI app in front of MLflow's scoring app (``mlflow.pyfunc.scoring_server.init``; MLflow itself
is not patched). For every request:

* ``Host`` must name loopback (``127.0.0.1``, ``localhost``, ``[::1]``, with or without a port) or
  a host the user allowed: anything else gets 421 (a missing or malformed one 400), so a web page
  that rebinds its DNS name to 127.0.0.1 gets nothing;
* an ``Origin`` header that is not loopback (or allowed) gets 403: a browser's cross-origin
  "simple request" (a ``text/csv`` POST needs no preflight) is refused;
* ``GET /__workbench/nonce`` answers this start's token to loopback callers (the workbench
  confirms the process answering on the port is the one it started);
* ``POST /invocations`` is answered here: a body over the size cap gets 413 before it is read in
  full; a request naming more columns than :func:`~workbench.serving.options.max_columns` allows
  for the signature gets 400 before its table is built; the rows are read and held to the
  signature strictly (``_requests``; the contract's identifier columns may come along and are
  answered back as ``ids``, its label column is ignored) and predicted in a worker thread (504 after the request
  timeout); every error is ``{"error_code", "message"}`` with a short message naming the column
  (at most 200 characters of a name), never a traceback, a path or the request body;
* FastAPI's generated documentation (``/docs``, ``/redoc``, ``/openapi.json``) is 404: the
  server describes no API surface to whoever reaches it.

Every ``/invocations`` answer, refused or not, is shown to the edge's observers as one
:class:`Served` (request id, time, latency, status, the checked rows and the answer): the inference
log and the metrics are observers. An observer must not block (it queues), and its failure never
fails a request. A request may name itself with an ``X-Request-Id`` header (up to 64 letters, digits,
``.``, ``_``, ``-``); otherwise the edge gives it one; either way the answer carries it back. An
observer may answer ``GET`` routes of its own (``/metrics``).

Everything else (``/ping``, ``/health``, ``/version``) is MLflow's app as it is.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from workbench._core.ids import plain_integers, typed_ids
from workbench.serving._requests import Refused, checked_frame, frame_from_body
from workbench.serving.options import (
    LOOPBACK_HOSTS,
    NONCE_PATH,
    EdgeSettings,
    host_name,
    max_columns,
    shown_name,
)

__all__ = ["Edge", "Observer", "Served"]

_LOOPBACK_CLIENTS = {"127.0.0.1", "::1", "localhost"}
#: FastAPI's generated documentation routes: never served.
_DOC_PATHS = {"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
#: A request id a caller may choose (``X-Request-Id``); anything else gets one of the edge's.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass
class Served:
    """One ``/invocations`` answer, as the edge's observers see it.

    Attributes:
        request_id: The caller's ``X-Request-Id``, or one the edge made (32 hex digits).
        time: When the request arrived (seconds since the epoch, UTC).
        seconds: From arrival to answer.
        status: The HTTP status answered.
        reason: The ``error_code`` of a refusal (``None`` for 200).
        rows: The rows the model was given, checked and typed (200 only).
        ids: The identifier columns the request carried (echoed back), or ``None``.
        answer: The JSON answer (200 only).
    """

    request_id: str
    time: float
    seconds: float
    status: int
    reason: str | None = None
    rows: Any = None
    ids: Any = None
    answer: bytes | None = None


class Observer(Protocol):
    """What the edge calls once per ``/invocations`` answer; ``routes`` are its ``GET`` pages."""

    routes: dict[str, Callable[[], tuple[int, bytes, bytes]]]

    def observe(self, served: Served) -> None: ...


def _error(status: int, code: str, message: str) -> tuple[int, bytes]:
    return status, json.dumps({"error_code": code, "message": message}).encode()


class Edge:
    """The ASGI app the server runs: checks, ``/invocations``, then MLflow's app.

    Args:
        app: MLflow's scoring app (its ``/ping``, ``/health`` and ``/version``).
        predict: ``frame -> JSON bytes`` of a successful answer (called in a worker thread).
        schema: The model's input schema (``None``: rows are checked for count only).
        settings: Allowed hosts and the size cap.
        nonce: This start's token, answered on ``/__workbench/nonce`` (``None``: no such route).
        timeout: Seconds a prediction may take before the answer is 504.
        echo: Identifier columns (the contract's) a request may carry: answered back as ``ids``.
        ignore: Columns a request may carry that the model does not take (the label): dropped.
        observers: Shown every answer (:class:`Served`): the inference log, the metrics.
        router: Sends a share of requests to a challenger's server, or mirrors them there
            (``_split.Router``); the challenger's answers are its own server's to observe.
    """

    def __init__(
        self,
        app: Any,
        predict: Callable[[Any], bytes],
        schema: Any,
        settings: EdgeSettings,
        nonce: str | None,
        timeout: float,
        echo: list[str] | None = None,
        ignore: list[str] | None = None,
        observers: Iterable[Observer] = (),
        router: Any = None,
    ):
        self.router = router  # champion and challenger: ``_split.Router``
        self.echo, self.ignore = list(echo or []), list(ignore or [])
        self.observers = list(observers)
        self.routes = {path: page for o in self.observers for path, page in o.routes.items()}
        self.app = app
        self.predict = predict
        self.schema = schema
        self.settings = settings
        self.nonce = nonce or None
        self.timeout = float(timeout)
        names = schema.input_names() if schema is not None and schema.has_input_names() else []
        self.columns = sorted(map(str, names), key=len, reverse=True)
        self.max_columns = max_columns(len(self.columns))

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":  # lifespan: MLflow's app; at shutdown the observers finish

            async def watched():
                message = await receive()
                if message.get("type") == "lifespan.shutdown":
                    self.close()
                    if self.router is not None:
                        await self.router.aclose()
                return message

            await self.app(scope, watched, send)
            return
        headers: dict[bytes, list[bytes]] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, []).append(value)
        refusal = self._refusal(headers)
        if refusal is not None:
            await _respond(send, *refusal, close=True)
            return
        path = scope["path"]
        if path.rstrip("/") in _DOC_PATHS or path in _DOC_PATHS:
            await _respond(send, *_error(404, "NOT_FOUND", "no such page."))
            return
        if path == "/invocations":
            if scope["method"] != "POST":
                await _respond(send, *_error(405, "BAD_REQUEST", "POST the rows to /invocations."))
                return
            await self._invocations(headers, receive, send)
            return
        if path in self.routes and scope["method"] == "GET":
            await _respond(send, *self._page(path))
            return
        if path == NONCE_PATH and self.nonce is not None:
            client = (scope.get("client") or ("", 0))[0]
            if scope["method"] == "GET" and client in _LOOPBACK_CLIENTS:
                await _respond(send, 200, self.nonce.encode(), b"text/plain")
                return
        await self.app(scope, receive, send)

    # ------------------------------------------------------------------ checks

    def _refusal(self, headers: dict[bytes, list[bytes]]) -> tuple[int, bytes] | None:
        hosts = headers.get(b"host", [])
        if len(hosts) != 1 or host_name(hosts[0].decode("latin-1")) is None:
            return _error(400, "BAD_REQUEST", "send one well-formed Host header.")
        if not self.settings.allows(hosts[0].decode("latin-1")):
            named = ", ".join(sorted(LOOPBACK_HOSTS | set(self.settings.allowed_hosts)))
            return _error(
                421,
                "BAD_REQUEST",
                f"this server answers requests addressed to {named} only (the Host header): "
                "start it with --allow-host NAME (allowed_hosts=[...]) to serve another name.",
            )
        origins = headers.get(b"origin", [])
        if origins and not all(self._same_site(o.decode("latin-1")) for o in origins):
            return _error(
                403,
                "PERMISSION_DENIED",
                "cross-origin requests are refused: call the server from this machine, not from "
                "a web page of another site.",
            )
        return None

    def _same_site(self, origin: str) -> bool:
        try:
            parts = urlsplit(origin.strip())
            name = (parts.hostname or "").lower()
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not name:
            return False
        return name in LOOPBACK_HOSTS or name in self.settings.allowed_hosts

    def _page(self, path: str) -> tuple[int, bytes, bytes]:
        try:
            return self.routes[path]()
        except Exception:
            traceback.print_exc(file=sys.stderr)
            return (*_error(500, "INTERNAL_ERROR", "this page failed: the server's log says why."),
                    b"application/json")  # fmt: skip

    # ------------------------------------------------------------------ /invocations

    async def _invocations(self, headers: dict[bytes, list[bytes]], receive, send) -> None:
        given = headers.get(b"x-request-id", [b""])[0].decode("latin-1")
        served = Served(given if _REQUEST_ID.match(given) else uuid.uuid4().hex, time.time(), 0, 0)
        started = time.perf_counter()

        async def respond(status: int, content: bytes, close: bool = False, arm="main") -> None:
            served.status, served.seconds = status, time.perf_counter() - started
            if status != 200:
                served.reason = _code_of(content)
                served.rows = served.ids = None
            else:
                served.answer = content
            extra = [(b"x-request-id", served.request_id.encode())]
            if self.router is not None:
                extra += self.router.headers(arm)
            await _respond(send, status, content, close=close, extra=extra)
            if arm == "main":  # the challenger's server observes its own answers
                self._observe(served)

        await self._receive_and_answer(headers, receive, respond, served)

    def close(self) -> None:
        """Let every observer finish (the log writes what waits): the server is stopping."""
        for observer in self.observers:
            try:
                getattr(observer, "close", lambda: None)()
            except Exception:
                traceback.print_exc(file=sys.stderr)

    def _observe(self, served: Served) -> None:
        for observer in self.observers:
            try:
                observer.observe(served)
            except Exception:  # an observer never fails a request
                traceback.print_exc(file=sys.stderr)

    async def _receive_and_answer(self, headers, receive, respond, served: Served) -> None:
        cap = self.settings.max_request_bytes
        too_large = _error(
            413,
            "REQUEST_LIMIT_EXCEEDED",
            f"the request body is larger than this server's limit of {cap / 1048576:.3g} MB: send "
            "fewer rows per request, or start the server with a larger --max-request-mb.",
        )
        lengths = headers.get(b"content-length", [])
        if lengths:
            try:
                declared = int(lengths[0])
            except ValueError:
                declared = -1
            if declared < 0 or len(set(lengths)) > 1:
                await respond(*_error(400, "BAD_REQUEST", "bad Content-Length."), close=True)
                return
            if declared > cap:
                await respond(*too_large, close=True)
                return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                await respond(*too_large, close=True)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        kind = headers.get(b"content-type", [b""])[0].decode("latin-1")
        body = b"".join(chunks)
        router = self.router
        if router is not None and router.to_challenger(body, kind, served.request_id):
            answered = await router.forward(body, kind, served.request_id)
            if answered is not None:  # else the challenger failed: the champion answers
                await respond(*answered, arm="challenger")
                return
        try:
            status, content = await asyncio.wait_for(
                asyncio.to_thread(self.answer, body, kind, served),
                timeout=self.timeout,
            )
        except TimeoutError:  # the prediction keeps running in its thread, as in MLflow
            status, content = _error(
                504,
                "TIMEOUT",
                f"the prediction took longer than the server's request timeout "
                f"({self.timeout:g} s): send fewer rows, or start the server with a longer one.",
            )
        await respond(status, content)
        if router is not None and status == 200:
            router.mirror(body, kind, served.request_id)

    def answer(
        self, body: bytes, content_type: str | None, served: Served | None = None
    ) -> tuple[int, bytes]:
        """``(status, JSON)`` for one ``/invocations`` body (runs in a worker thread); the rows
        and identifiers are kept in ``served`` for the observers."""
        served = served if served is not None else Served("", 0.0, 0.0, 0)
        try:
            frame, from_text = frame_from_body(body, content_type, self.max_columns)
            passed = [c for c in self.echo if c in frame.columns and c not in self.columns]
            dropped = [c for c in self.ignore if c in frame.columns and c not in self.columns]
            rows = checked_frame(frame.drop(columns=passed + dropped), self.schema, from_text)
            content = self.predict(rows)
            served.rows = rows
            if not passed:
                return 200, content
            ids = frame[passed].copy()  # CSV text: an id written as an integer is answered as one
            if from_text:
                ids = typed_ids(ids, plain_integers(ids, passed))
            served.ids = ids
            return 200, _with_ids(content, ids)
        except Refused as refused:
            return refused.status, refused.body()
        except Exception as err:
            from mlflow.exceptions import MlflowException

            traceback.print_exc(file=sys.stderr)  # the server's log keeps the details
            named = next((c for c in self.columns if c in str(getattr(err, "message", ""))), None)
            if isinstance(err, MlflowException):
                where = f" (column {shown_name(named)})" if named else ""
                return _error(
                    400,
                    "INVALID_PARAMETER_VALUE",
                    f"the model refused the rows{where}: check them against its signature.",
                )
            return _error(
                400,
                "BAD_REQUEST",
                f"the model failed on these rows ({type(err).__name__}): the server's log has "
                "the details.",
            )


def _with_ids(content: bytes, ids: Any) -> bytes:
    """The answer with the request's identifier columns echoed back: ``"ids": {column: [...]}``."""
    import pandas as pd

    answer = json.loads(content)
    answer["ids"] = {
        str(c): [None if pd.isna(v) else v for v in ids[c].astype(object).tolist()] for c in ids
    }
    return json.dumps(answer, default=str).encode()


def _code_of(content: bytes) -> str | None:
    """The ``error_code`` of an error answer."""
    try:
        return str(json.loads(content).get("error_code"))
    except (ValueError, AttributeError):
        return None


async def _respond(
    send, status: int, body: bytes, content_type: bytes = b"application/json",
    close: bool = False, extra: list[tuple[bytes, bytes]] = (),
) -> None:  # fmt: skip
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    headers.extend(extra)
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
