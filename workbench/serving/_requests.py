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

import numpy as np
import pandas as pd

from workbench.serving.options import LARGEST_VALUE, MAX_NAME_SHOWN, MIN_COLUMN_CAP

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
    """``frame`` held to the model's input ``schema`` and cast to its types.

    Args:
        frame: The rows as :func:`frame_from_body` read them.
        schema: The model's input schema (``None``: only the row count is checked).
        from_text: The values are CSV text: numbers and true/false are parsed from it.

    Raises:
        Refused: 400 naming the column (and row) that does not fit; never quoting a value.
    """
    if len(frame) == 0:
        raise _bad("the request has no rows: send at least one row.")
    if schema is None or not schema.has_input_names():
        return frame
    specs = {spec.name: spec for spec in schema.inputs}
    missing = [name for name in specs if name not in frame.columns]
    if missing:
        raise _invalid(
            f"the request lacks column(s) the model takes: {', '.join(map(shown, missing))}. "
            "Add them (null where a value is unknown and the column allows it)."
        )
    extra = [c for c in frame.columns if c not in specs]
    if extra:
        names = ", ".join(shown(c) for c in extra[:5]) + (" ..." if len(extra) > 5 else "")
        raise _invalid(
            f"the request has column(s) the model does not know: {names}. Drop them, or check "
            "the spelling (the model's signature lists its columns)."
        )
    typed = {name: _column(frame[name], name, spec, from_text) for name, spec in specs.items()}
    return pd.DataFrame(typed, index=frame.index)


def _column(col: pd.Series, name: str, spec: Any, from_text: bool) -> Any:
    """One column checked and cast as ``conform_to_signature`` casts it (double to float64,
    float to float32, long and integer to int64, string to object)."""
    kind = str(spec.type).split(".")[-1].lower()
    required = bool(getattr(spec, "required", True))
    if kind in _NUMBERS:
        col = _parsed_numbers(col, name, kind) if from_text else _numbers(col, name, kind)
        _no_gaps(col, name, kind, required or kind in _INTEGERS)
        values = col.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            huge = np.abs(values) > LARGEST_VALUE
        _where(
            huge,
            name,
            f"holds a number that is infinite or beyond {LARGEST_VALUE:.4g} (1e400, 1e308)",
            "send a finite number a model can compute with",
        )
        if kind in _INTEGERS:
            whole = np.isnan(values) | (np.mod(values, 1) == 0)
            _where(
                ~whole,
                name,
                "holds a number with a fraction",
                f"the model expects whole numbers ({kind}); MLflow would truncate it",
            )
            return values.astype("int64")
        return values if kind == "double" else values.astype("float32")
    if kind == "string":  # on the values themselves: a request is often a row or a few
        values = col.to_numpy(dtype=object)
        _where(
            ~np.fromiter(map(_text_or_missing, values), dtype=bool, count=len(values)),
            name,
            "holds a value that is not text (a number, true/false, a list or an object)",
            "send strings",
        )
        _no_gaps(values, name, kind, required)
        return values
    if kind == "boolean":
        col = _booleans(col, name, from_text)
        _no_gaps(col, name, kind, True)  # a missing true/false cannot be held as one
        return col.astype(bool)
    if kind == "datetime":
        _no_gaps(col, name, kind, required)
        try:
            return pd.to_datetime(col)
        except (ValueError, TypeError, OverflowError):
            raise _invalid(
                f"column {shown(name)} does not parse as dates: send ISO dates."
            ) from None
    return col


def _text_or_missing(value: Any) -> bool:
    return isinstance(value, str) or value is None or (isinstance(value, float) and value != value)


def _where(bad: np.ndarray, name: str, what: str, advice: str) -> None:
    if bad.any():
        row = int(np.argmax(bad))
        raise _invalid(f"column {shown(name)} {what} in row {row}: {advice}.")


def _numbers(col: pd.Series, name: str, kind: str) -> pd.Series:
    """A column of JSON numbers as it is (int64 or float64); anything else refused."""
    if pd.api.types.is_bool_dtype(col.dtype):
        raise _invalid(
            f"column {shown(name)} holds true/false, but the model expects numbers ({kind}): "
            "send numbers."
        )
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_complex_dtype(col.dtype):
        return col
    values = col.to_numpy(dtype=object)
    if all(v is None for v in values):  # null in every row: missing numbers
        return pd.Series(np.nan, index=col.index, dtype="float64")
    for i, value in enumerate(values):
        if isinstance(value, bool):
            what = "true/false"
        elif isinstance(value, str):
            what = "text (a number in quotes is text)"
        elif isinstance(value, int):
            what = "a whole number too large for the model"
        elif isinstance(value, list | dict):
            what = "a list or an object"
        else:
            continue
        raise _invalid(
            f"column {shown(name)} holds {what} in row {i}, but the model expects numbers "
            f"({kind}): send plain JSON numbers."
        )
    raise _invalid(f"column {shown(name)} holds values that are not numbers ({kind}).")


def _parsed_numbers(col: pd.Series, name: str, kind: str) -> pd.Series:
    """A column of CSV text (``None``/NaN where empty) parsed as float64."""
    text = col.astype(object)
    present = text.notna().to_numpy()
    spelled = text.map(lambda v: isinstance(v, str) and v.strip().lower() in _NOT_FINITE)
    _where(
        spelled.to_numpy(dtype=bool),
        name,
        "holds NaN or Infinity",
        "leave the field empty for a missing value, a finite number otherwise",
    )
    if not present.any():
        return pd.Series(np.nan, index=col.index, dtype="float64")
    numbers = pd.to_numeric(text, errors="coerce")
    _where(
        present & numbers.isna().to_numpy(),
        name,
        "holds text that is not a number",
        f"the model expects numbers ({kind})",
    )
    return numbers.astype("float64")


def _booleans(col: pd.Series, name: str, from_text: bool) -> pd.Series:
    if pd.api.types.is_bool_dtype(col.dtype):
        return col
    words = {"true": True, "false": False} if from_text else {}
    out = []
    for i, value in enumerate(col.to_numpy(dtype=object)):
        if (
            isinstance(value, bool)
            or value is None
            or (isinstance(value, float) and value != value)
        ):
            out.append(value)
        elif isinstance(value, str) and value.strip().lower() in words:
            out.append(words[value.strip().lower()])
        else:
            raise _invalid(f"column {shown(name)} must be true or false (row {i}).")
    return pd.Series(out, index=col.index, dtype=object)


def _no_gaps(col: pd.Series | np.ndarray, name: str, kind: str, required: bool) -> None:
    if not required:
        return
    gaps = np.asarray(pd.isna(col.to_numpy() if isinstance(col, pd.Series) else col))
    if gaps.any():
        row = int(np.argmax(gaps))
        why = {
            "long": "the model declares it an integer column",
            "integer": "the model declares it an integer column",
            "boolean": "the model expects true or false",
        }.get(kind, "the model's signature requires it (it had no missing values in training)")
        raise _invalid(
            f"column {shown(name)} has a missing value in row {row}, but {why}: send a value."
        )
