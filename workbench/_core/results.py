"""The result protocol every stage's result follows, and the JSON/HTML helpers it rests on.

A result (``CheckReport``, ``DriftResult``, ``LoadTestResult``, ``ComparisonResult``) is a dataclass
that shows itself (``_repr_html_``), turns itself into plain data (``to_dict``), saves itself
atomically (``save``: a file, or a folder it writes its file into), reads itself back (``load``) and
logs itself to MLflow (``log``), as Evidently's ``Snapshot`` does.

Example:
    >>> import math, numpy as np
    >>> jsonable({"a": np.int64(3), "b": [math.inf, 1.5]})
    {'a': 3, 'b': [None, 1.5]}
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

__all__ = [
    "Result",
    "atomic_write",
    "details_html",
    "html_table",
    "jsonable",
    "plain",
    "short_table_html",
    "stamp",
    "timestamped_folder",
    "utc_now",
]


def plain(value: Any, digits: int | None = None) -> Any:
    """One value as plain JSON data: numpy scalars unwrapped, NaN/inf/NA as None, times as text.

    Args:
        value: Any scalar.
        digits: Round floats to this many decimals (default: as they are).
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round(value, digits) if digits is not None else value
    return value


def jsonable(value: Any, digits: int | None = None) -> Any:
    """``value`` (dicts, lists, tuples of scalars, nested) as plain JSON data, keys as text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v, digits) for v in value]
    if isinstance(value, Path):
        return str(value)
    return plain(value, digits)


def utc_now(timespec: str = "seconds") -> str:
    """Now, in UTC, as ISO 8601 text."""
    return datetime.now(UTC).isoformat(timespec=timespec)


def stamp() -> str:
    """A sortable UTC timestamp for folder names: ``20261122T101500123456Z``."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def timestamped_folder(base: str | os.PathLike) -> Path:
    """A new, not yet created ``base/<stamp>`` path (reports, notebook outputs)."""
    return Path(base) / stamp()


def atomic_write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename: never half-written."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    if isinstance(data, bytes):
        tmp.write_bytes(data)
    else:
        tmp.write_text(data)
    tmp.replace(target)
    return target


def html_table(rows: list[tuple[str, object]], title: str | None = None) -> str:
    """A small two-column HTML table for ``_repr_html_`` cards."""
    head = f"<h4 style='margin:4px 0'>{html.escape(title)}</h4>" if title else ""
    body = "".join(
        f"<tr><th style='text-align:left;padding-right:12px'>{html.escape(str(k))}</th>"
        f"<td style='text-align:left'>{_fmt(v)}</td></tr>"
        for k, v in rows
    )
    return f"{head}<table>{body}</table>"


def details_html(body: str, summary: str = "show details") -> str:
    """``body`` (HTML) folded away behind a ``show details`` line a reader clicks open."""
    return (
        f"<details class='wb-details'><summary style='cursor:pointer'>{html.escape(summary)}"
        f"</summary>{body}</details>"
    )


def short_table_html(frame: pd.DataFrame, columns: list[str], title: str | None = None) -> str:
    """A wide table as a beginner reads it: ``columns`` only, the whole table behind
    ``show details``.

    Example:
        >>> frame = pd.DataFrame({"a": [1], "b": [2], "digest": ["ff" * 32]})
        >>> page = short_table_html(frame, ["a", "b"])
        >>> page.index("<details") > page.index("<th>b</th>") and "ffff" in page
        True
    """
    shown = [c for c in columns if c in frame.columns]
    frame = frame.astype(object).where(frame.notna(), "-")  # None, NaN and <NA> alike
    options = {"index": False, "border": 0, "escape": True}
    head = f"<h4 style='margin:4px 0'>{html.escape(title)}</h4>" if title else ""
    short = frame[shown].to_html(**options)
    if len(shown) == frame.shape[1]:
        return head + short
    rest = f"<div style='overflow-x:auto;max-width:100%'>{frame.to_html(**options)}</div>"
    more = f"show details (all {frame.shape[1]} columns)"
    return head + short + details_html(rest, more)


class Result:
    """Mixin for result dataclasses: ``to_dict``, atomic ``save``, ``load``, ``log``, HTML.

    A subclass names its file (``FILE_NAME``), may override :meth:`to_dict` (default: its fields as
    plain data), :meth:`log` (default: the JSON as an artifact of the active or given run) and
    ``_repr_html_`` (default: a table of its scalar fields).
    """

    FILE_NAME: ClassVar[str] = "result.json"

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        return jsonable(dataclasses.asdict(self))  # type: ignore[call-overload]

    def _saved_dict(self) -> dict[str, Any]:
        """What :meth:`save` writes (default: :meth:`to_dict`)."""
        return self.to_dict()

    def save(self, path: str | os.PathLike) -> Path:
        """Write the result as JSON to ``path`` (a ``.json`` file, or a folder to write
        ``FILE_NAME`` into), atomically. Returns the file written."""
        target = Path(path)
        if target.suffix != ".json":
            target = target / self.FILE_NAME
        return atomic_write(target, json.dumps(jsonable(self._saved_dict()), indent=2))

    @classmethod
    def load(cls, path: str | os.PathLike):
        """Read a result written by :meth:`save` (a file or the folder holding it)."""
        source = Path(path)
        if source.is_dir():
            source = source / cls.FILE_NAME
        data = json.loads(source.read_text())
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names})

    def log(self, run_id: str | None = None) -> None:
        """Log the JSON to MLflow as an artifact of ``run_id`` (default: the active run)."""
        import mlflow

        payload = jsonable(self._saved_dict())
        if run_id:
            mlflow.MlflowClient().log_dict(run_id, payload, self.FILE_NAME)
        else:
            mlflow.log_dict(payload, self.FILE_NAME)

    def _repr_html_(self) -> str:
        rows = [
            (k, v)
            for k, v in self.to_dict().items()
            if isinstance(v, str | int | float | bool) or v is None
        ]
        return html_table(rows, title=type(self).__name__)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))
