"""The inference log: every request the model server answers, kept as a Parquet dataset.

The edge (:mod:`~workbench.serving._edge`) shows each ``/invocations`` answer to an
:class:`InferenceLog`, which turns it into rows at once (one per input row; one row for a refused
request, without its payload) and puts them on a bounded queue; a background thread writes them
every ``flush_seconds`` or ``flush_rows`` rows, whichever comes first, as one Parquet file under
``date=YYYY-MM-DD/hour=HH/`` of the log's folder (the workspace's ``inference/<model name>/`` by
default). A file is written under a hidden name and renamed into place, so a reader never sees
half a file, and a ``kill -9`` loses at most the rows of the last interval. Each worker process
writes its own files (the process id is in the name).

A row holds:

=================  ==================================================================
``request_id``     the caller's ``X-Request-Id`` or the edge's own (text)
``row``            the row's position in its request
``time``           when the request arrived (UTC timestamp)
``model``          the registered model name; ``version``: the version served (text)
``arm``            the server's arm (``main``; a challenger's name)
``status``         the HTTP status; ``error``: the refusal's ``error_code``
``latency_ms``     from arrival to answer
``prediction``     the answer's label (or value); ``proba_<label>``: its probabilities
inputs             the model's input columns by their names (``input.<name>`` when a name is
                   one of the above), minus the excluded ones (personal data)
ids                the identifier columns the request carried
=================  ==================================================================

If the queue is full (the disk is slower than the traffic), rows are dropped and counted on the
server's log, never blocking an answer. :func:`read_traffic` reads the log back as a table.
"""

from __future__ import annotations

import atexit
import copy
import json
import os
import queue
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

__all__ = [
    "InferenceLog",
    "META_COLUMNS",
    "observe_config",
    "read_traffic",
    "traffic_folder",
]

#: The log's own columns, before the outputs and the inputs.
META_COLUMNS = (
    "request_id", "row", "time", "model", "version", "arm", "status", "error", "latency_ms",
)  # fmt: skip
#: The folder of the workspace that holds the logs, one subfolder per model.
INFERENCE_FOLDER = "inference"


def traffic_folder(model_uri: str, given: Any = True) -> Path:
    """Where the log of ``model_uri`` goes: ``given`` when it is a folder, else the workspace's
    ``inference/<model name>/``."""
    if given is not True:
        return Path(given).expanduser().resolve()
    from workbench._core.refs import model_name_of
    from workbench.workspace import current_workspace

    name = model_name_of(model_uri) or Path(str(model_uri).rstrip("/")).name or "model"
    return current_workspace().root / INFERENCE_FOLDER / name


def observe_config(
    model_uri: str, version: str | None, arm: str, folder: Path | None, exclude: list[str],
    metrics: bool,
) -> dict[str, Any]:  # fmt: skip
    """The edge's observers' settings, handed to the server process as JSON."""
    from workbench._core.refs import model_name_of

    name = model_name_of(model_uri) or Path(str(model_uri).rstrip("/")).name
    config: dict[str, Any] = {"arm": arm}
    if folder is not None:
        config["log"] = {
            "folder": str(folder), "model": name, "version": version or "", "arm": arm,
            "exclude": sorted(set(exclude)),
        }  # fmt: skip
    if metrics:
        config["metrics"] = {"model": name, "version": version or "", "arm": arm}
    return config


class InferenceLog:
    """An observer of the edge that writes what it sees to a partitioned Parquet dataset.

    Args:
        folder: The dataset's root.
        model, version, arm: Written in every row.
        exclude: Input columns never written.
        flush_seconds: At most this long between a row arriving and its file being in place.
        flush_rows: A file is written as soon as this many rows wait.
        queue_rows: Rows that may wait at most; beyond, rows are dropped and counted.
    """

    routes: ClassVar[dict[str, Any]] = {}  # no pages of its own

    def __init__(
        self, folder: str, model: str, version: str = "", arm: str = "main",
        exclude: list[str] | tuple[str, ...] = (), flush_seconds: float | None = None,
        flush_rows: int = 5000, queue_rows: int = 200_000,
    ) -> None:  # fmt: skip
        self.folder = Path(folder)
        self.model, self.version, self.arm = model, str(version), arm
        self.exclude = set(exclude)
        if flush_seconds is None:
            flush_seconds = float(os.environ.get("WORKBENCH_LOG_FLUSH_SECONDS", "2"))
        self.flush_seconds, self.flush_rows = float(flush_seconds), int(flush_rows)
        self.queue_rows = int(queue_rows)
        self.dropped = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._waiting = 0  # rows on the queue (approximate: read without the lock)
        self._lock = threading.Lock()
        self._sequence = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="workbench-inference-log", daemon=True
        )
        self._thread.start()
        atexit.register(self.close)

    # ------------------------------------------------------------------ the edge's side

    def observe(self, served: Any) -> None:
        """Queue one answer (called in the server's event loop: no I/O, no parsing here; the
        writer thread makes the rows, many at a time)."""
        kept = copy.copy(served)  # a late prediction (after a 504) must not change what is kept
        n = len(kept.rows) if kept.rows is not None and kept.status == 200 else 1
        with self._lock:
            if self._waiting + n > self.queue_rows:
                self.dropped += n
                return
            self._waiting += n
        self._queue.put(kept)

    def _rows(self, served: Any) -> dict[str, list[Any]]:
        answer = json.loads(served.answer) if served.answer else {}
        frame = served.rows
        n = len(frame) if frame is not None and served.status == 200 else 1
        when = datetime.fromtimestamp(served.time, tz=UTC).replace(tzinfo=None)
        rows: dict[str, list[Any]] = {
            "request_id": [served.request_id] * n,
            "row": list(range(n)),
            "time": [when] * n,
            "model": [self.model] * n,
            "version": [self.version] * n,
            "arm": [self.arm] * n,
            "status": [int(served.status)] * n,
            "error": [served.reason] * n,
            "latency_ms": [round(served.seconds * 1000, 3)] * n,
        }
        if served.status != 200 or frame is None:
            return rows  # a refused payload is never kept: it may be anything
        rows["prediction"] = _listed(answer.get("predictions"), n)
        probabilities = answer.get("probabilities")
        labels = answer.get("probability_of", answer.get("labels"))
        if probabilities is not None and labels is not None:
            if isinstance(labels, list):  # one column per class
                for i, label in enumerate(labels):
                    rows[f"proba_{label}"] = [float(p[i]) for p in probabilities]
            else:
                rows[f"proba_{labels}"] = [float(p) for p in probabilities]
        for name in frame.columns:
            if name in self.exclude:
                continue
            key = f"input.{name}" if name in rows or name in META_COLUMNS else str(name)
            rows[key] = frame[name].tolist()
        if served.ids is not None:
            for name in served.ids.columns:
                if name not in self.exclude and name not in rows:
                    rows[str(name)] = [None if _missing(v) else v for v in served.ids[name]]
        return rows

    # ------------------------------------------------------------------ the writer's side

    def _run(self) -> None:
        pending: list[Any] = []
        count, oldest = 0, None
        while True:
            timeout = self.flush_seconds if oldest is None else max(
                0.0, self.flush_seconds - (time.monotonic() - oldest)
            )  # fmt: skip
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None
            if item is not None:
                pending.append(item)
                count += len(item.rows) if item.rows is not None and item.status == 200 else 1
                oldest = oldest if oldest is not None else time.monotonic()
            due = oldest is not None and time.monotonic() - oldest >= self.flush_seconds
            if pending and (count >= self.flush_rows or due or self._stop.is_set()):
                self._write(pending)
                with self._lock:
                    self._waiting -= count
                pending, count, oldest = [], 0, None
            if self._stop.is_set() and self._queue.empty() and not pending:
                return

    def _write(self, answers: list[Any]) -> None:
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            frame = pd.DataFrame(_merged([self._rows(a) for a in answers]))
            for stamp, part in frame.groupby(frame["time"].dt.strftime("date=%Y-%m-%d/hour=%H")):
                folder = self.folder / stamp
                folder.mkdir(parents=True, exist_ok=True)
                self._sequence += 1
                name = f"part-{os.getpid()}-{self._sequence:06d}-{uuid.uuid4().hex[:8]}.parquet"
                hidden = folder / f".{name}.tmp"
                table = pa.Table.from_pandas(part.reset_index(drop=True), preserve_index=False)
                # microseconds: Spark reads no nanosecond timestamp (the log is read there too)
                pq.write_table(
                    table, hidden, coerce_timestamps="us", allow_truncated_timestamps=True
                )
                os.replace(hidden, folder / name)  # a reader never sees half a file
        except Exception as err:  # the log never takes the server down
            print(f"workbench: the inference log could not be written: {err}", file=sys.stderr)
        if self.dropped:
            print(
                f"workbench: the inference log dropped {self.dropped} rows (its queue was full)",
                file=sys.stderr,
            )

    def close(self, timeout: float = 10.0) -> None:
        """Write what waits and stop the writer (at exit, and when the server stops cleanly)."""
        self._stop.set()
        self._queue.put(None)
        self._thread.join(timeout)


def _merged(parts: list[dict[str, list[Any]]]) -> dict[str, list[Any]]:
    """Many answers' columns as one table's (a column an answer lacks is None in its rows)."""
    columns: dict[str, list[Any]] = {}
    total = 0
    for rows in parts:
        n = len(rows["request_id"])
        for name in columns.keys() - rows.keys():
            columns[name].extend([None] * n)
        for name, values in rows.items():
            if name not in columns:
                columns[name] = [None] * total
            columns[name].extend(values)
        total += n
    return columns


def _listed(value: Any, n: int) -> list[Any]:
    if isinstance(value, list) and len(value) == n:
        return [v[0] if isinstance(v, list) and len(v) == 1 else v for v in value]
    if isinstance(value, dict):  # {"predictions": {"col": [...]}} (a model with named outputs)
        first = next(iter(value.values()), None)
        return _listed(first, n)
    return [None] * n


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(value != value)
    except (TypeError, ValueError):
        return False


def read_traffic(
    folder: str | os.PathLike, since: datetime | None = None, columns: list[str] | None = None
):
    """The log under ``folder`` as a pandas DataFrame, rows from ``since`` (UTC) on, oldest first.

    Partitions before ``since``'s hour are not read. Files that cannot be read (none should be:
    each is renamed into place whole) are skipped with a warning naming them.
    """
    import pandas as pd
    import pyarrow.parquet as pq

    root = Path(folder)
    parts = []
    for path in sorted(root.glob("date=*/hour=*/part-*.parquet")):
        day, hour = path.parent.parent.name[5:], path.parent.name[5:]
        if since is not None and f"{day} {hour}" < since.strftime("%Y-%m-%d %H"):
            continue
        try:
            parts.append(pq.read_table(path, columns=columns).to_pandas())
        except Exception as err:
            print(f"workbench: skipped unreadable log file {path}: {err}", file=sys.stderr)
    if not parts:
        return pd.DataFrame(columns=list(META_COLUMNS))
    frame = pd.concat(parts, ignore_index=True)
    if since is not None:
        start = pd.Timestamp(since)
        frame = frame[frame["time"] >= (start.tz_convert(None) if start.tzinfo else start)]
    return frame.sort_values(["time", "request_id", "row"], kind="stable").reset_index(drop=True)
