"""Champion and challenger behind one port: the split, the shadow and the guardrail (runs in
the champion's server process, beside its edge).

The champion's server is the one users call. Its edge asks the :class:`Router` where each
``/invocations`` request goes:

* **split**: a share of requests (``split`` percent) is forwarded to the challenger's own server
  (another process on loopback) and answered from there. The choice is sticky: a hash of the
  first row's identifier (the contract's ``id_columns``) when the request carries one, else of
  the request id, salted per experiment, so one customer always meets the same arm;
* **shadow**: every request is answered by the champion, then mirrored to the challenger in the
  background (at most :data:`MIRRORS_IN_FLIGHT` at once per worker; beyond that a mirror is
  dropped, never the answer delayed). The challenger's server logs it under the arm ``shadow``
  with the same request id, so the two answers pair up;
* **guardrail**: every forwarded or mirrored request is an outcome (a 5xx, a refused connection
  or a time-out is an error). Over the last :data:`WINDOW` outcomes of a worker, an error rate
  above ``max_error_rate`` (with at least :data:`MIN_ERRORS` errors) or a p99 above ``max_p99``
  seconds (with at least :data:`MIN_REQUESTS`) cuts the challenger off: ``cut.json`` is created
  once in the experiment's state folder (every worker reads it), the cut is written to the
  inference log's ``_events/`` folder with the alert's deliveries, and the ``notify`` targets get
  a ``GUARDRAIL`` alert. A request whose forward fails is answered by the champion: a user never
  sees the challenger's failure.

Every answer names its arm and version (``X-Workbench-Arm``, ``X-Workbench-Version``).
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import os
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Router", "router_from_config"]

#: Outcomes a worker judges the challenger on; errors and requests needed before it may cut.
WINDOW, MIN_ERRORS, MIN_REQUESTS = 200, 5, 20
#: Mirrored requests one worker keeps in flight at most (shadow).
MIRRORS_IN_FLIGHT = 16
#: The largest answer read from the challenger (bytes); a larger one is the challenger's error.
_LARGEST_ANSWER = 256 * 1024 * 1024
#: How often (seconds) a worker looks for another worker's cut.
_CUT_POLL = 0.5


def router_from_config(config: dict[str, Any] | None) -> Router | None:
    """The router of ``config["route"]`` (``None``: this server serves one model)."""
    route = (config or {}).get("route")
    return Router(**route) if route else None


def _bucket(salt: str, key: str) -> float:
    """A number in [0, 1) fixed by ``key`` (and the experiment's ``salt``)."""
    digest = hashlib.blake2b(f"{salt}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _first_key(body: bytes, content_type: str, columns: list[str]) -> str | None:
    """The first row's value of the first identifier column the body carries (``None``: none)."""
    if not columns:
        return None
    try:
        if "csv" in content_type:
            lines = body.decode("utf-8", "replace").splitlines()[:2]
            rows = list(csv.reader(lines))
            if len(rows) == 2:
                found = dict(zip(rows[0], rows[1]))
                return next((found[c] for c in columns if c in found), None)
            return None
        data = json.loads(body)
    except (ValueError, csv.Error, RecursionError):  # the edge refuses it with its own message
        return None
    if not isinstance(data, dict):
        return None
    split = data.get("dataframe_split")
    if isinstance(split, dict) and isinstance(split.get("columns"), list) and split.get("data"):
        names = [str(c) for c in split["columns"]]
        first = split["data"][0]
        for column in columns:
            if column in names and isinstance(first, list) and names.index(column) < len(first):
                return str(first[names.index(column)])
        return None
    records = data.get("dataframe_records") or data.get("inputs")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        return next((str(records[0][c]) for c in columns if c in records[0]), None)
    if isinstance(records, dict):
        for column in columns:
            values = records.get(column)
            if isinstance(values, list) and values:
                return str(values[0])
    return None


class _Guard:
    """The challenger's last outcomes in this worker, and the bounds that cut it off."""

    def __init__(self, max_error_rate: float, max_p99: float):
        self.max_error_rate, self.max_p99 = max_error_rate, max_p99
        self.outcomes: deque[tuple[bool, float]] = deque(maxlen=WINDOW)
        self.lock = threading.Lock()

    def record(self, ok: bool, seconds: float) -> str | None:
        """Add one outcome; the reason to cut the challenger off, or ``None``."""
        with self.lock:
            self.outcomes.append((ok, seconds))
            n = len(self.outcomes)
            errors = sum(1 for good, _ in self.outcomes if not good)
            times = sorted(s for good, s in self.outcomes if good)
        if errors >= MIN_ERRORS and errors / n > self.max_error_rate:
            return (
                f"error rate {errors / n:.0%} ({errors} of the last {n} requests) is above the "
                f"bound of {self.max_error_rate:.0%}"
            )
        if len(times) >= MIN_REQUESTS:
            p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
            if p99 > self.max_p99:
                return (
                    f"p99 latency {p99:.3f} s over the last {len(times)} answers is above the "
                    f"bound of {self.max_p99:g} s"
                )
        return None


class Router:
    """Where a request goes, the forward and the mirror, and the guardrail (see the module).

    Args:
        url: The challenger server's base URL (loopback).
        model: The registered model's name (for the alert).
        main_version, challenger_version: Named in every answer.
        split: Percent of requests answered by the challenger (0-100).
        shadow: Mirror every request to the challenger, answer with the champion.
        key_columns: Identifier columns that make the split sticky.
        salt: Makes this experiment's split independent of another's.
        state: A folder shared by the workers (``cut.json``).
        events: Where the cut is written (the inference log's ``_events``), or ``None``.
        max_error_rate, max_p99: The guardrail's bounds.
        timeout: Seconds a forwarded request may take (then it is an error).
        notify: Alert targets (webhook URLs, email addresses).
        dead_letters: Where an undelivered alert goes.
    """

    def __init__(
        self, url: str, model: str, main_version: str = "", challenger_version: str = "",
        split: float = 0.0, shadow: bool = False, key_columns: list[str] | None = None,
        salt: str = "", state: str = "", events: str | None = None,
        max_error_rate: float = 0.05, max_p99: float = 1.0, timeout: float = 60.0,
        notify: list[str] | None = None, dead_letters: str | None = None,
    ) -> None:  # fmt: skip
        self.url, self.model = url.rstrip("/"), model
        self.versions = {"main": str(main_version), "challenger": str(challenger_version)}
        self.share, self.shadow = float(split) / 100.0, bool(shadow)
        self.key_columns = [str(c) for c in key_columns or []]
        self.salt = salt or f"{model}:{main_version}:{challenger_version}"
        self.timeout = float(timeout)
        self.cut_file = Path(state) / "cut.json"
        self.events = Path(events) if events else None
        self.notify, self.dead_letters = list(notify or []), dead_letters
        self.guard = _Guard(float(max_error_rate), float(max_p99))
        self._cut, self._looked = False, 0.0
        parts = urlsplit(self.url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._host_header = parts.netloc.encode()
        self._idle: list[tuple[Any, Any]] = []  # kept-alive connections to the challenger
        self._mirrors = 0

    # ------------------------------------------------------------------ choosing

    @property
    def cut(self) -> bool:
        """True once the guardrail cut the challenger off (in any worker)."""
        if not self._cut and time.monotonic() - self._looked > _CUT_POLL:
            self._looked = time.monotonic()
            self._cut = self.cut_file.exists()
        return self._cut

    def to_challenger(self, body: bytes, content_type: str, request_id: str) -> bool:
        """Whether the challenger answers this request (never in shadow mode or once cut)."""
        if self.shadow or self.share <= 0 or self.cut:
            return False
        key = _first_key(body, content_type, self.key_columns)
        return _bucket(self.salt, key if key is not None else f"request:{request_id}") < self.share

    def headers(self, arm: str) -> list[tuple[bytes, bytes]]:
        """The answer's headers naming its arm and version."""
        return [
            (b"x-workbench-arm", arm.encode()),
            (b"x-workbench-version", self.versions.get(arm, "").encode()),
        ]

    # ------------------------------------------------------------------ calling

    async def forward(
        self, body: bytes, content_type: str, request_id: str
    ) -> tuple[int, bytes] | None:
        """The challenger's answer, or ``None`` when it failed (the champion answers then)."""
        started = time.perf_counter()
        try:
            status, content = await asyncio.wait_for(
                self._post(body, content_type, request_id), timeout=self.timeout
            )
        except (OSError, EOFError, ValueError, TimeoutError, asyncio.IncompleteReadError) as err:
            self._outcome(False, time.perf_counter() - started, type(err).__name__)
            return None
        ok = status < 500
        self._outcome(ok, time.perf_counter() - started, f"status {status}")
        return (status, content) if ok else None

    async def _post(self, body: bytes, content_type: str, request_id: str) -> tuple[int, bytes]:
        """One ``POST /invocations`` on a kept-alive connection to the challenger's edge (which
        always answers with a ``Content-Length``): a few lines of HTTP/1.1, not a client library,
        so a mirror costs the champion's process next to nothing."""
        reader, writer = self._idle.pop() if self._idle else await asyncio.open_connection(
            self._host, self._port
        )  # fmt: skip
        try:
            kind = (content_type or "application/json").encode("latin-1", "replace")
            writer.write(
                b"POST /invocations HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n"
                b"X-Request-Id: %s\r\nContent-Length: %d\r\n\r\n"
                % (self._host_header, kind.replace(b"\r", b"").replace(b"\n", b""),
                   request_id.encode(), len(body))
                + body
            )  # fmt: skip
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status, length, close = _status_and_length(head)
            content = await reader.readexactly(length)
        except BaseException:
            writer.close()
            raise
        if close:
            writer.close()
        else:
            self._idle.append((reader, writer))
        return status, content

    def mirror(self, body: bytes, content_type: str, request_id: str) -> None:
        """Send a copy to the challenger in the background (shadow mode; dropped when busy)."""
        if not self.shadow or self.cut or self._mirrors >= MIRRORS_IN_FLIGHT:
            return
        self._mirrors += 1

        async def one() -> None:
            try:
                await self.forward(body, content_type, request_id)
            finally:
                self._mirrors -= 1

        asyncio.get_running_loop().create_task(one())

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop()[1].close()

    # ------------------------------------------------------------------ the guardrail

    def _outcome(self, ok: bool, seconds: float, what: str) -> None:
        reason = self.guard.record(ok, seconds)
        if reason is not None and not self._cut:
            self._cut_off(f"{reason} (last: {what})")

    def _cut_off(self, reason: str) -> None:
        """Cut the challenger off in every worker; the first worker to cut records and alerts."""
        self._cut = True
        try:
            fd = os.open(self.cut_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return  # another worker cut first: it records and alerts
        except OSError as err:
            print(f"guardrail: cannot write {self.cut_file}: {err}", file=sys.stderr, flush=True)
            return
        event = {
            "event": "guardrail", "time": time.time(), "model": self.model,
            "main_version": self.versions["main"],
            "challenger_version": self.versions["challenger"],
            "mode": "shadow" if self.shadow else "split", "reason": reason, "pid": os.getpid(),
        }  # fmt: skip
        with os.fdopen(fd, "w") as out:
            json.dump(event, out)
        print(f"guardrail: challenger v{self.versions['challenger']} cut off: {reason}",
              file=sys.stderr, flush=True)  # fmt: skip
        threading.Thread(target=self._record_and_alert, args=(event,), daemon=True).start()

    def _record_and_alert(self, event: dict[str, Any]) -> None:
        """Write the cut and the alert's deliveries to the log's ``_events`` folder."""
        from workbench._core.notify import notify

        summary = {
            "status": "guardrail", "model_name": self.model,
            "model_version": self.versions["challenger"], "arm": "challenger",
            "reason": event["reason"], "created_at": _iso(event["time"]),
        }  # fmt: skip
        deliveries = []
        if self.notify:
            try:
                sent = notify(summary, self.notify, dead_letter_dir=self.dead_letters)
                deliveries = [d.to_dict() for d in sent]
            except Exception as err:  # an alert never stops the server
                deliveries = [{"delivered": False, "reason": f"{type(err).__name__}: {err}"}]
        if self.events is None:
            return
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(event["time"]))
        path = self.events / f"guardrail-{stamp}-{os.getpid()}.json"
        try:
            self.events.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.tmp")
            temporary.write_text(json.dumps({**event, "alerts": deliveries}, indent=1))
            os.replace(temporary, path)
        except OSError as err:
            print(f"guardrail: cannot write {path}: {err}", file=sys.stderr, flush=True)


def _status_and_length(head: bytes) -> tuple[int, int, bool]:
    """The status, ``Content-Length`` and whether the connection closes, of an answer's head."""
    lines = head.decode("latin-1").split("\r\n")
    first = lines[0].split(" ", 2)
    if len(first) < 2 or not first[1].isdigit():
        raise ValueError(f"the challenger answered no HTTP status line: {lines[0][:40]!r}")
    status = int(first[1])
    fields = dict(
        (name.strip().lower(), value.strip())
        for name, _, value in (line.partition(":") for line in lines[1:] if line)
    )
    if "content-length" not in fields:
        raise ValueError("the challenger answered without a Content-Length")
    length = int(fields["content-length"])
    if not 0 <= length <= _LARGEST_ANSWER:
        raise ValueError(f"the challenger's answer declares {length} bytes")
    return status, length, fields.get("connection", "").lower() == "close"


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
