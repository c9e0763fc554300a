"""The production loop's data: the served traffic as a batch to monitor, and labels that come back.

The model server logs every request (:mod:`workbench.serving.inference_log`). :func:`feedback`
records outcomes that arrive later against those predictions, by request id or by an identifier
column of the contract, in the log's ``feedback/`` folder; :func:`traffic_batch` reads the traffic
of a time window back as a table of the model's inputs, with the label joined where one came back,
ready for :func:`~workbench.monitoring.drift_report` (``workbench monitor --traffic``).

Example:
    >>> import workbench as wb
    >>> wb.feedback("credit-risk", "labels.csv", id_column="loan_id")  # doctest: +SKIP
    Feedback(received=500, accepted=480, duplicates=12, unknown=8)
    >>> batch = wb.traffic_batch("models:/credit-risk@champion", since="24h")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from workbench._core.conform import codes_as_text
from workbench._core.results import Result, html_table
from workbench.errors import DataError, MissingColumnError, UsageError

__all__ = [
    "FEEDBACK_FOLDER", "Feedback", "feedback", "parse_since", "labelled_traffic",
    "traffic_batch", "traffic_summary",
]  # fmt: skip

#: The folder of a model's inference log that keeps the labels that came back.
FEEDBACK_FOLDER = "feedback"
#: How many refused keys a result lists (all are counted).
_SHOWN = 20
_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$")


@dataclass
class Feedback(Result):
    """What :func:`feedback` recorded.

    Attributes:
        model: The model's name.
        received: Rows in the file.
        accepted: Labels recorded (those for unknown ids included).
        duplicates: Labels refused because their id already has one (in this file or before).
        missing: Rows refused for an empty id or label.
        unknown: Accepted labels whose id is not (yet) in the inference log.
        refused: Up to 20 refused ids with the reason, for the message.
        unknown_ids: Up to 20 of the unknown ids.
        file: The file the labels were written to (None: nothing accepted).

    Example:
        >>> Feedback("credit-risk", received=3, accepted=2, duplicates=1).summary()
        'credit-risk: 2 of 3 labels recorded; 1 refused as duplicates; 0 without id or label'
    """

    model: str
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    missing: int = 0
    unknown: int = 0
    refused: list[list[str]] = field(default_factory=list)
    unknown_ids: list[str] = field(default_factory=list)
    file: str | None = None

    def summary(self) -> str:
        """One line: what was recorded and what was refused, and why."""
        text = (
            f"{self.model}: {self.accepted:,} of {self.received:,} labels recorded"
            f"; {self.duplicates:,} refused as duplicates; {self.missing:,} without id or label"
        )
        if self.unknown:
            text += (
                f"; {self.unknown:,} for ids not in the inference log (kept: they match once the "
                f"log has them; e.g. {', '.join(self.unknown_ids[:3])})"
            )
        return text

    def __repr__(self) -> str:
        return (
            f"Feedback(received={self.received}, accepted={self.accepted}, "
            f"duplicates={self.duplicates}, unknown={self.unknown})"
        )

    def _repr_html_(self) -> str:
        rows = [
            ("model", self.model),
            ("received", f"{self.received:,}"),
            ("recorded", f"{self.accepted:,}"),
            ("refused: duplicate id", f"{self.duplicates:,}"),
            ("refused: no id or label", f"{self.missing:,}"),
            ("ids not in the log", f"{self.unknown:,}"),
            ("file", self.file or "-"),
        ]
        return html_table(rows, title="Feedback")


def feedback(
    model: str,
    data: pd.DataFrame | str | os.PathLike,
    *,
    id_column: str = "request_id",
    label_column: str | None = None,
    folder: str | os.PathLike | None = None,
) -> Feedback:
    """Record outcomes that came back for logged predictions.

    Args:
        model: The model's name or a ``models:/`` URI (its inference log is found by name).
        data: A DataFrame or CSV / Parquet file with the id and the label.
        id_column: ``request_id`` (the id the server answered with, ``X-Request-Id``: it labels
            the row of a one-row request) or one of the contract's identifier columns (the
            request carried it; ``loan_id``: it labels rows of any request).
        label_column: The label column; default the contract's target.
        folder: The inference log's folder (default: the workspace's ``inference/<model>/``).

    Returns:
        A :class:`Feedback`; labels for an id that already has one (in this file or an earlier
        one) are refused and counted, labels for ids the log does not hold are kept and counted.

    Raises:
        MissingColumnError: the id or label column is not in ``data``.
        DataError: nothing to record (no rows).
    """
    from workbench.data import load_table
    from workbench.serving.inference_log import traffic_folder

    uri = _uri(model)
    root = traffic_folder(uri, folder if folder is not None else True)
    label_column = label_column or _target(uri)
    frame = (
        data
        if isinstance(data, pd.DataFrame)
        else load_table(data, text=[id_column])  # ids as written: 007 stays 007
    )
    for column, what in ((id_column, "id"), (label_column, "label")):
        if column not in frame.columns:
            raise MissingColumnError(
                f"the {what} column {column!r} is not in the feedback data (columns: "
                f"{', '.join(map(str, list(frame.columns)[:12]))}): name it with "
                f"{'--id-column' if what == 'id' else '--label-column'}."
            )
    if frame.empty:
        raise DataError("the feedback data has no rows: nothing to record.")
    result = Feedback(_name(uri), received=len(frame))
    keys = codes_as_text(frame[id_column])
    labels = frame[label_column]
    empty = keys.isna().to_numpy() | labels.isna().to_numpy()
    result.missing = int(empty.sum())
    known_before = _labelled_keys(root, id_column)
    rows = []
    seen: set[str] = set()
    for key, label, skip in zip(keys.tolist(), labels.tolist(), empty, strict=True):
        if skip:
            continue
        if key in seen or key in known_before:
            result.duplicates += 1
            if len(result.refused) < _SHOWN:
                where = "earlier in this file" if key in seen else "in an earlier feedback file"
                result.refused.append([key, f"already labelled {where}"])
            continue
        seen.add(key)
        rows.append({"key": key, "key_column": id_column, "label": json.dumps(_plain(label))})
    logged = _logged_keys(root, id_column)
    unknown = [r["key"] for r in rows if r["key"] not in logged]
    result.unknown, result.unknown_ids = len(unknown), unknown[:_SHOWN]
    result.accepted = len(rows)
    if rows:
        result.file = str(_write(root, pd.DataFrame(rows)))
    return result


def traffic_batch(
    model: str,
    since: str | datetime | None = "24h",
    *,
    folder: str | os.PathLike | None = None,
    arm: str | None = "main",
    engine: str = "pandas",
    spark: Any = None,
    master: str | None = None,
) -> Any:
    """The served rows of ``model`` since ``since``, as the model's inputs plus the label where one
    came back (the contract's target; absent when none has): a batch for ``drift_report``.

    With ``engine="spark"`` the log is read where it lives and the batch is a Spark DataFrame (the
    labels, few, are joined to it): a window of tens of millions of rows, for
    ``drift_report(..., engine="spark")``.

    Args:
        model: The model's name or a ``models:/`` URI.
        since: ``24h``, ``90m``, ``7d``, ``2w``, a datetime (UTC), or None for all of the log.
        folder: The inference log's folder (default: the workspace's ``inference/<model>/``).
        arm: Only the rows of this arm (``main``; None: every arm).
        engine: ``pandas`` (this process) or ``spark`` (a Spark DataFrame, read where it lives).
        spark: An existing SparkSession (``engine="spark"``).
        master: A Spark master URL for a new session (default ``local[*]``).

    Raises:
        DataError: the log holds no answered row in the window (the message says where it looked).
        UsageError: an unknown engine.
    """
    from workbench.serving.inference_log import META_COLUMNS, read_traffic, traffic_folder

    uri = _uri(model)
    root = traffic_folder(uri, folder if folder is not None else True)
    start = parse_since(since)
    if engine == "spark":
        return _spark_batch(uri, root, start, arm, spark, master)
    if engine != "pandas":
        raise UsageError(f"engine must be 'pandas' or 'spark', got {engine!r}.")
    log = read_traffic(root, since=start)
    if "status" in log.columns:
        log = log[log["status"] == 200]
    if arm is not None and "arm" in log.columns:
        log = log[log["arm"] == arm]
    if log.empty:
        window = f"since {start:%Y-%m-%d %H:%M} UTC" if start else "at all"
        raise DataError(
            f"the inference log of {_name(uri)} ({root}) holds no answered request {window}: "
            "serve the model (workbench serve logs every request) or widen --since."
        )
    contract = _contract(uri)
    outputs = [c for c in log.columns if c == "prediction" or str(c).startswith("proba_")]
    batch = log.drop(columns=[c for c in (*META_COLUMNS, *outputs) if c in log.columns])
    batch = batch.rename(columns=lambda c: c.removeprefix("input."))
    batch = batch.reset_index(drop=True)
    target = contract.target if contract is not None else None
    if target:
        labels = _labels_for(root, log.reset_index(drop=True), contract)
        if labels.notna().any():  # typed as the labels are (ints, text), gaps where none came
            batch[target] = labels.infer_objects().to_numpy()
    return batch


def labelled_traffic(
    model: str, since: str | datetime | None = "7d", *, folder: str | os.PathLike | None = None
) -> pd.DataFrame:
    """Every logged row of ``model`` since ``since``, all arms and answers (refusals too), with
    a ``label`` column where one came back (``None`` elsewhere): what ``abtest`` compares.

    Raises:
        DataError: the log holds no row in the window.
    """
    from workbench.serving.inference_log import read_traffic, traffic_folder

    uri = _uri(model)
    root = traffic_folder(uri, folder if folder is not None else True)
    start = parse_since(since)
    log = read_traffic(root, since=start).reset_index(drop=True)
    if log.empty:
        window = f"since {start:%Y-%m-%d %H:%M} UTC" if start else "at all"
        raise DataError(
            f"the inference log of {_name(uri)} ({root}) holds no request {window}: serve it "
            "with a challenger (workbench serve URI --challenger URI --split 10) or widen --since."
        )
    log["label"] = _labels_for(root, log, None).to_numpy()
    return log


def traffic_summary(
    model: str, days: int = 7, *, folder: str | os.PathLike | None = None
) -> pd.DataFrame:
    """The served traffic of ``model`` per day (UTC) over the last ``days``: requests, refused
    requests and their share, p50 and p99 latency per request (ms), rows, and the share of rows
    whose label came back. Empty when the model keeps no inference log.

    The dashboard shows it beside the monitoring runs.
    """
    from workbench.serving.inference_log import read_traffic, traffic_folder

    columns = ["day", "requests", "errors", "error_rate", "p50_ms", "p99_ms", "rows", "labelled"]
    uri = _uri(model)
    root = traffic_folder(uri, folder if folder is not None else True)
    if not root.is_dir():
        return pd.DataFrame(columns=columns)
    log = read_traffic(root, since=parse_since(f"{int(days)}d"))
    if log.empty:
        return pd.DataFrame(columns=columns)
    log = log.reset_index(drop=True)
    contract = _contract(uri)
    log["_labelled"] = _labels_for(root, log, contract).notna().to_numpy()
    log["_day"] = log["time"].dt.strftime("%Y-%m-%d")
    per_request = log.groupby("request_id").agg(
        day=("_day", "first"), status=("status", "first"), latency=("latency_ms", "first")
    )
    out = []
    for day, requests in per_request.groupby("day"):
        rows = log[(log["_day"] == day) & (log["status"] == 200)]
        errors = int((requests["status"] != 200).sum())
        out.append({
            "day": day, "requests": len(requests), "errors": errors,
            "error_rate": errors / len(requests),
            "p50_ms": float(requests["latency"].quantile(0.5)),
            "p99_ms": float(requests["latency"].quantile(0.99)),
            "rows": len(rows), "labelled": float(rows["_labelled"].mean()) if len(rows) else 0.0,
        })  # fmt: skip
    return pd.DataFrame(out, columns=columns)


def _spark_batch(uri: str, root: Path, start: datetime | None, arm: str | None, spark, master):
    """:func:`traffic_batch` on Spark: the partitions read where they live, filtered there."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from workbench.serving.inference_log import META_COLUMNS
    from workbench.spark import spark_session

    parts = sorted(root.glob("date=*/hour=*/part-*.parquet"))
    if not parts:
        raise DataError(
            f"the inference log of {_name(uri)} ({root}) holds no file: serve the model first."
        )
    session = spark_session(master, spark)
    log = session.read.option("basePath", str(root)).parquet(str(root / "date=*" / "hour=*"))
    log = log.where(F.col("status") == 200)
    if start is not None:
        log = log.where(F.col("time") >= F.lit(start))
    if arm is not None:
        log = log.where(F.col("arm") == arm)
    outputs = [c for c in log.columns if c == "prediction" or c.startswith("proba_")]
    contract = _contract(uri)
    target = contract.target if contract is not None else None
    known = _read_feedback(root) if target else pd.DataFrame(columns=["key_column"])
    log = log.withColumn("_rows", F.count("*").over(Window.partitionBy("request_id")))
    found = []
    for i, (column, group) in enumerate(known.groupby("key_column")):
        where = column if column in log.columns else f"input.{column}"
        if where not in log.columns:
            continue
        values = pd.DataFrame({f"_key{i}": group["key"].astype(str).to_numpy()})
        values[f"_label{i}"] = group["label"].map(json.loads).infer_objects().to_numpy()
        key = F.col(where).cast("string")
        if column == "request_id":  # a request id names one row only in a one-row request
            key = F.when(F.col("_rows") == 1, key)
        log = log.withColumn(f"_key{i}", key)
        log = log.join(F.broadcast(session.createDataFrame(values)), f"_key{i}", "left")
        found.append(f"_label{i}")
    if found:  # few labels: broadcast, joined where the rows live
        log = log.withColumn(target, F.coalesce(*[F.col(c) for c in found]))
    drop = {*META_COLUMNS, *outputs, "date", "hour", "_rows", *found}
    batch = log.select(*[c for c in log.columns if c not in drop and not c.startswith("_key")])
    for name in batch.columns:
        if name.startswith("input."):
            batch = batch.withColumnRenamed(name, name.removeprefix("input."))
    if batch.isEmpty():
        raise DataError(
            f"the inference log of {_name(uri)} ({root}) holds no answered request in the window: "
            "widen --since."
        )
    return batch


def parse_since(since: str | datetime | None) -> datetime | None:
    """``24h``, ``90m``, ``7d``, ``2w`` (before now) or a datetime, as a naive UTC datetime.

    Example:
        >>> parse_since("2026-12-01T00:00:00")
        datetime.datetime(2026, 12, 1, 0, 0)
        >>> parse_since(None) is None
        True
    """
    if since is None:
        return None
    if isinstance(since, datetime):
        return since.astimezone(UTC).replace(tzinfo=None) if since.tzinfo else since
    match = _SINCE.match(str(since))
    if match:
        amount, unit = float(match.group(1)), match.group(2)
        delta = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[unit]
        return (datetime.now(UTC) - timedelta(**{delta: amount})).replace(tzinfo=None)
    try:
        return parse_since(datetime.fromisoformat(str(since)))
    except ValueError:
        raise UsageError(
            f"--since {since!r} is neither a span (24h, 90m, 7d, 2w) nor a date (2026-12-01)."
        ) from None


# --------------------------------------------------------------------------- helpers


def _uri(model: str) -> str:
    return model if str(model).startswith("models:/") else f"models:/{model}@champion"


def _name(uri: str) -> str:
    from workbench._core.refs import model_name_of

    return model_name_of(uri) or uri


def _contract(uri: str) -> Any:
    from workbench.registry import contract_if_any

    try:
        return contract_if_any(uri)
    except Exception:  # no champion yet: the traffic is still there
        return None


def _target(uri: str) -> str:
    contract = _contract(uri)
    if contract is None:
        raise UsageError(
            f"no contract found for {uri} to name the label column: give it (--label-column)."
        )
    return contract.target


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _feedback_files(root: Path) -> list[Path]:
    return sorted((root / FEEDBACK_FOLDER).glob("part-*.parquet"))


def _read_feedback(root: Path) -> pd.DataFrame:
    parts = [pd.read_parquet(p) for p in _feedback_files(root)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["key", "key_column", "label"]
    )  # fmt: skip


def _labelled_keys(root: Path, id_column: str) -> set[str]:
    known = _read_feedback(root)
    return set(known.loc[known["key_column"] == id_column, "key"])


def _logged_keys(root: Path, id_column: str) -> set[str]:
    from workbench.serving.inference_log import read_traffic

    log = read_traffic(root)
    column = id_column if id_column in log.columns else f"input.{id_column}"
    if column not in log.columns:
        return set()
    return set(codes_as_text(log[column]).dropna())


def _labels_for(root: Path, log: pd.DataFrame, contract: Any) -> pd.Series:
    """The label of every logged row, by request id or by an identifier column (NaN: none yet)."""
    known = _read_feedback(root)
    out = pd.Series([None] * len(log), dtype=object)
    for column, group in known.groupby("key_column"):
        where = column if column in log.columns else f"input.{column}"
        if where not in log.columns:
            continue
        values = dict(zip(group["key"], group["label"].map(json.loads), strict=True))
        keys = codes_as_text(log[where])
        if column == "request_id":  # a request id names one row only in a one-row request
            single = log.groupby("request_id")["row"].transform("size").to_numpy() == 1
            keys = keys.where(single, None)
        found = keys.map(values)
        out = out.where(out.notna(), found)
    return out


def _write(root: Path, frame: pd.DataFrame) -> Path:
    folder = root / FEEDBACK_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    final = folder / f"part-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
    hidden = folder / f".{final.name}.tmp"
    frame.to_parquet(hidden, index=False)
    os.replace(hidden, final)
    return final
