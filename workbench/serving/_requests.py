"""A request body made into the model's input table, strictly, with answers that leak nothing.

Runs inside the server process (see ``_edge``). :func:`frame_from_body` reads JSON
(``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs``), CSV or Parquet and
:func:`checked_frame` holds the rows to the model's signature with the rules of the Python client
(:func:`~workbench.data.conform_to_signature`): no unknown or missing column, no text or
true/false in a number column, no fraction in an integer column, no missing value where the
signature requires one, nothing infinite or beyond float32's range (``Infinity``, ``1e400``,
``1e308``: :data:`~workbench.serving.options.LARGEST_VALUE`), at least one row.

A request that names more columns than the edge's cap
(:func:`~workbench.serving.options.max_columns`) is refused before its table is built: a JSON
object's keys are counted in the raw bytes before the JSON is parsed, a CSV header before the CSV
is, a Parquet file's schema before its data.

Every refusal is a :class:`Refused` with a status and a short message that names the column (and
the row) but never a value, a path or a piece of the body; a name is shown only when it is plain
text, and then at most :data:`~workbench.serving.options.MAX_NAME_SHOWN` characters of it.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pandas as pd

from workbench._core.conform import Misfit, conform_frame
from workbench.serving.options import MAX_NAME_SHOWN, MIN_COLUMN_CAP

__all__ = ["FORMAT_KEYS", "Refused", "checked_frame", "frame_from_body"]

FORMAT_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_JSON, _CSV, _PARQUET = "application/json", "text/csv", "application/vnd.apache.parquet"
_NUMBERS = {"double", "float", "long", "integer"}
_INTEGERS = {"long", "integer"}
_NOT_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
_SHOWN_NAME = re.compile(r"^[A-Za-z0-9_ .:/-]+$")
_EXAMPLE = '{"dataframe_split": {"columns": ["a", "b"], "data": [[1.5, "x"]]}}'


class Refused(Exception):
    """A request the edge refuses: HTTP status, MLflow-style error code, a short message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> bytes:
        """The JSON answer: ``{"error_code", "message"}``."""
        return json.dumps({"error_code": self.code, "message": self.message}).encode()


def _bad(message: str) -> Refused:
    return Refused(400, "BAD_REQUEST", message)


def _invalid(message: str) -> Refused:
    return Refused(400, "INVALID_PARAMETER_VALUE", message)


def shown(name: Any) -> str:
    """A column name as a message may show it: quoted when it is plain text, cut to
    :data:`~workbench.serving.options.MAX_NAME_SHOWN` characters."""
    text = str(name)
    if not _SHOWN_NAME.match(text):
        return "a column with an unprintable name"
    if len(text) > MAX_NAME_SHOWN:
        return repr(text[:MAX_NAME_SHOWN]) + f"... ({len(text):,} characters)"
    return repr(text)


def _too_many(found: int | None, cap: int) -> Refused:
    counted = f"{found:,} columns" if found else "more columns"
    return _bad(
        f"the request names {counted}, more than this server takes ({cap:,}: four times the "
        "model's, at least 256): send only the columns of the model's signature."
    )


# --------------------------------------------------------------------------- reading the body


def frame_from_body(
    body: bytes, content_type: str | None, max_columns: int = MIN_COLUMN_CAP
) -> tuple[pd.DataFrame, bool]:
    """The rows in ``body``, typed only as the format says, and whether they came as text (CSV:
    numbers are then parsed from text; in JSON, a number in quotes is text and refused).

    Args:
        body: The request body.
        content_type: Its ``Content-Type`` header.
        max_columns: The most columns a request may name (counted before the table is built).

    Raises:
        Refused: 415 for a content type other than JSON, CSV or Parquet (UTF-8 only); 400 for a
            body that does not parse, has not the shape of a table or names too many columns.
    """
    mime = _mime(content_type)
    if mime == _JSON:
        _count_keys(body, max_columns)
        return _from_json(_text(body), max_columns), False
    if mime == _CSV:
        return _from_csv(_text(body), max_columns), True
    return _from_parquet(body, max_columns), False


def _count_keys(body: bytes, cap: int) -> None:
    """Refuse a JSON body whose first object has more keys than ``cap`` columns (and the format
    key), before it is parsed: a 100,000-key record takes longer to parse than to refuse.

    The first object ends at the first ``}`` (a record, or an ``inputs`` dict of columns); a key
    ends with ``":`` (inside a JSON string a quote is escaped with a backslash, and such pairs
    are not counted). A brace inside a string can only shorten what is counted: then the parsed
    table is counted (:func:`_names`).
    """
    end = body.find(b"}")
    head = body if end < 0 else body[:end]
    keys = head.count(b'":') - head.count(b'\\":')
    if keys > cap + 1:
        raise _too_many(None, cap)


def _mime(content_type: str | None) -> str:
    parts = [p.strip() for p in (content_type or "").split(";")]
    mime = parts[0].lower()
    params = {}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        params[key.strip().lower()] = value.strip().strip('"').lower()
    if mime not in (_JSON, _CSV, _PARQUET):
        raise Refused(
            415,
            "BAD_REQUEST",
            f"unsupported content type: send Content-Type {_JSON} (or {_CSV}, {_PARQUET}).",
        )
    if set(params) - {"charset"} or params.get("charset", "utf-8") not in ("utf-8", "utf8"):
        raise Refused(415, "BAD_REQUEST", "only the charset parameter utf-8 is accepted.")
    return mime


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("the body is not UTF-8 text.") from None


class _NonFinite(ValueError):
    pass


def _no_constant(name: str) -> float:
    raise _NonFinite(name)


def _from_json(text: str, cap: int = MIN_COLUMN_CAP) -> pd.DataFrame:
    try:
        doc = json.loads(text, parse_constant=_no_constant)
    except _NonFinite:
        raise _bad(
            "the JSON holds NaN or Infinity, which JSON does not allow: send null for a "
            "missing value, a finite number otherwise."
        ) from None
    except RecursionError:
        raise _bad("the JSON is nested too deeply to be a table.") from None
    except json.JSONDecodeError as err:
        raise _bad(
            f"the body is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}): "
            f"send an object such as {_EXAMPLE}."
        ) from None
    if not isinstance(doc, dict):
        raise _bad(f"the body must be a JSON object such as {_EXAMPLE}, not a {_kind_of(doc)}.")
    keys = [k for k in doc if k in FORMAT_KEYS]
    if "params" in doc:
        raise _bad("this model takes no params: send only the rows.")
    if len(doc) != 1 or len(keys) != 1:
        raise _bad(
            f"the JSON object must have exactly one field, one of {', '.join(FORMAT_KEYS)}; "
            f"it has {len(keys)} of them and {len(doc) - len(keys)} other field(s)."
        )
    key = keys[0]
    value = doc[key]
    if key == "dataframe_split":
        return _split(value, cap)
    if isinstance(value, dict) and key != "dataframe_records":
        return _columnar(value, key, cap)
    return _records(value, key, cap)


def _kind_of(value: Any) -> str:
    return {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _names(columns: Any, where: str, cap: int = MIN_COLUMN_CAP) -> list[str]:
    if isinstance(columns, list) and len(columns) > cap:
        raise _too_many(len(columns), cap)
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise _bad(f"{where} must be a list of column names (strings).")
    if len(set(columns)) != len(columns):
        raise _bad(f"{where} names a column twice.")
    return columns


def _split(value: Any, cap: int) -> pd.DataFrame:
    where = "dataframe_split"
    if not isinstance(value, dict) or "data" not in value or "columns" not in value:
        raise _bad(f'{where} must be an object with "columns" and "data", such as {_EXAMPLE}.')
    if set(value) - {"columns", "data", "index"}:
        raise _bad(f'{where} may hold only "columns", "data" and "index".')
    columns = _names(value["columns"], f"{where}.columns", cap)
    data = value["data"]
    if not isinstance(data, list) or not all(isinstance(row, list) for row in data):
        raise _bad(f"{where}.data must be a list of rows, each a list of values.")
    for i, row in enumerate(data):
        if len(row) != len(columns):
            raise _bad(
                f"row {i} of {where}.data has {len(row)} value(s) for {len(columns)} column(s): "
                "every row needs one value per column (null when missing)."
            )
    index = value.get("index")
    if index is not None and (not isinstance(index, list) or len(index) != len(data)):
        raise _bad(f"{where}.index must be a list with one entry per row of data.")
    return pd.DataFrame(data, columns=columns) if data else pd.DataFrame(columns=columns)


def _records(value: Any, where: str, cap: int) -> pd.DataFrame:
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise _bad(f"{where} must be a list of records, each an object of column: value.")
    if not value:
        return pd.DataFrame()
    first = _names(list(value[0]), f"record 0 of {where}", cap)
    wanted = set(first)
    for i, record in enumerate(value):
        if set(record) != wanted:
            raise _bad(
                f"record {i} of {where} has other columns than record 0: every record needs "
                "the same columns (null when missing)."
            )
    return pd.DataFrame.from_records(value, columns=first)


def _columnar(value: dict, where: str, cap: int) -> pd.DataFrame:
    names = _names(list(value), f"{where}'s columns", cap)
    columns = list(value.values())
    if not all(isinstance(c, list) for c in columns):
        raise _bad(f"each column of {where} must be a list of values, one per row.")
    if len({len(c) for c in columns}) > 1:
        raise _bad(f"the columns of {where} have different lengths: give one value per row.")
    return pd.DataFrame(dict(zip(names, columns)), columns=names)


def _from_csv(text: str, cap: int = MIN_COLUMN_CAP) -> pd.DataFrame:
    if not text.strip():
        raise _bad("the CSV is empty: send a header row and at least one data row.")
    header = text.lstrip("\r\n").partition("\n")[0]
    if header.count(",") >= cap:  # before pandas: a field per comma, or fewer if quoted
        fields = header.count(",") + 1
        if '"' in header:
            import csv

            fields = len(next(csv.reader([header]), []))
        if fields > cap:
            raise _too_many(fields, cap)
    try:  # header=None: a row longer than the header is an error, not an index column
        raw = pd.read_csv(
            io.StringIO(text), header=None, dtype=str, keep_default_na=False, na_values=[""]
        )
    except pd.errors.EmptyDataError:
        raise _bad("the CSV is empty: send a header row and at least one data row.") from None
    except Exception as err:  # pandas' parser: the line number is all that is said
        line = re.search(r"line (\d+)", str(err))
        where = f" at line {line.group(1)}" if line else ""
        raise _bad(
            f"the CSV does not parse{where}: every row needs as many fields as the header."
        ) from None
    names = raw.iloc[0].tolist()
    if any(not isinstance(n, str) for n in names):
        raise _bad("the CSV header has an empty column name.")
    _names(names, "the CSV header", cap)
    frame = raw.iloc[1:].reset_index(drop=True)
    frame.columns = names
    return frame


def _from_parquet(body: bytes, cap: int = MIN_COLUMN_CAP) -> pd.DataFrame:
    try:
        import pyarrow.parquet as pq

        columns = pq.ParquetFile(io.BytesIO(body)).metadata.num_columns
    except Exception:
        raise _bad("the body does not parse as Parquet.") from None
    if columns > cap:
        raise _too_many(columns, cap)
    try:
        return pd.read_parquet(io.BytesIO(body))
    except Exception:
        raise _bad("the body does not parse as Parquet.") from None


# --------------------------------------------------------------------------- the signature


def checked_frame(frame: pd.DataFrame, schema: Any, from_text: bool = False) -> pd.DataFrame:
    """``frame`` held to the model's input ``schema`` and cast to its types, by the one rule of
    :func:`workbench._core.conform.conform_frame`.

    Args:
        frame: The rows as :func:`frame_from_body` read them.
        schema: The model's input schema (``None``: only the row count is checked).
        from_text: The values are CSV text: numbers and true/false are parsed from it.

    Raises:
        Refused: 400 naming the column (and row) that does not fit; never quoting a value.
    """
    if len(frame) == 0:
        raise _bad("the request has no rows: send at least one row.")
    try:
        return conform_frame(frame, schema, from_text=from_text)
    except Misfit as misfit:
        raise _invalid(_worded(misfit)) from None


def _worded(misfit: Misfit) -> str:
    """A refusal in the edge's words: the column (shown only when plain) and row, never a value."""
    if misfit.reason == "missing":
        return (
            f"the request lacks column(s) the model takes: {', '.join(map(shown, misfit.columns))}"
            ". Add them (null where a value is unknown and the column allows it)."
        )
    if misfit.reason == "unknown":
        extra = misfit.columns
        names = ", ".join(shown(c) for c in extra[:5]) + (" ..." if len(extra) > 5 else "")
        return (
            f"the request has column(s) the model does not know: {names}. Drop them, or check "
            "the spelling (the model's signature lists its columns)."
        )
    row = f" in row {misfit.row}" if misfit.row is not None else ""
    return f"column {shown(misfit.column)} {misfit.problem}{row}: {misfit.advice}."
