"""One rule for holding a table to a model's input schema, used everywhere a model takes rows.

The model server's edge (:mod:`workbench.serving._requests`), the Python client and batch scorer
(:func:`workbench.data.conform_to_signature`), the checks and monitoring all call
:func:`conform_frame`, so a row one of them takes is a row all of them take. Each column's
:class:`ColumnKind` comes from the schema's MLflow type:

=============  ====================  =========================================================
kind           MLflow types          the rule
=============  ====================  =========================================================
``NUMBER``     double, float         numbers (CSV text is parsed); no text, no true/false,
                                     nothing infinite or beyond float32 (:data:`LARGEST_VALUE`)
``INTEGER``    long, integer         the same, whole, and never missing (int64 has no gap)
``TEXT``       string                text only: a number is refused, not turned into text
``BOOLEAN``    boolean               true/false (``true``/``false`` in CSV), never missing
``DATETIME``   datetime              anything :func:`pandas.to_datetime` reads
=============  ====================  =========================================================

Missing values depend on what the rows are for (``missing=``):

* ``"signature"``, for a request (the model server's edge and the Python client that speaks to
  it): a value may be missing only where the schema marks the column optional (MLflow does when
  the training data had gaps in it), and never in an integer or boolean column: a live model is
  not sent a gap it never saw;
* ``"keep"``, for tables (batch scoring, the checks, monitoring): gaps go to the model as
  MLflow's own ``predict`` passes them (a pipeline imputes them), and the data-quality rules
  count and report them; an integer column with gaps becomes float64.

Every column of the schema must be present; a column it does not know is refused unless
``allow_extra``.

A refusal is a :class:`Misfit` that says what is wrong, where (column and row) and what to do,
and carries the offending value separately: the edge words it without the value (it answers
strangers), the Python side with it.

:func:`text_columns` gives the columns a file must be read as text (a CSV of digit codes such as
``"07"`` would otherwise be read as the number 7).

Example:
    >>> import pandas as pd
    >>> from mlflow.models import infer_signature
    >>> schema = infer_signature(pd.DataFrame({"age": [31.0], "hour": ["7"]})).inputs
    >>> [ColumnKind.of(spec).name for spec in schema.inputs]
    ['NUMBER', 'TEXT']
    >>> conform_frame(pd.DataFrame({"age": [40], "hour": ["23"]}), schema).dtypes.tolist()
    [dtype('float64'), dtype('O')]
    >>> try:
    ...     conform_frame(pd.DataFrame({"age": [40], "hour": [23]}), schema)
    ... except Misfit as misfit:
    ...     print(misfit.column, misfit.row, misfit.value)
    hour 0 23
    >>> text_columns(schema)
    ['hour']
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "LARGEST_VALUE", "ColumnKind", "Misfit", "codes_as_text", "conform_frame", "text_columns",
]  # fmt: skip

#: The largest number in size any model is given: float32's maximum. A model that computes in
#: float32 (most of scikit-learn's trees) sees infinity beyond it.
LARGEST_VALUE = 3.4028234663852886e38

_NOT_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


class ColumnKind(enum.Enum):
    """What a column of a model's input holds, from its MLflow type."""

    NUMBER = "number"
    INTEGER = "integer"
    TEXT = "text"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    OTHER = "other"

    @classmethod
    def of(cls, spec: Any) -> ColumnKind:
        """The kind of a schema column (a ``ColSpec``) or of an MLflow type's name."""
        name = str(getattr(spec, "type", spec)).split(".")[-1].lower()
        return _KINDS.get(name, cls.OTHER)


_KINDS = {
    "double": ColumnKind.NUMBER,
    "float": ColumnKind.NUMBER,
    "long": ColumnKind.INTEGER,
    "integer": ColumnKind.INTEGER,
    "string": ColumnKind.TEXT,
    "boolean": ColumnKind.BOOLEAN,
    "datetime": ColumnKind.DATETIME,
}


class Misfit(ValueError):
    """Rows that do not fit the schema.

    Attributes:
        reason: ``"missing"`` (columns absent), ``"unknown"`` (columns the model does not know),
            ``"value"`` (a value does not fit its column) or ``"empty"`` (no rows).
        column: The column (for ``"value"``); ``columns`` lists them for the other reasons.
        row: The position of the first row that does not fit, or ``None``.
        problem: What is wrong, without the value ("holds text that is not a number").
        advice: What to send instead.
        value: The offending value (not for messages that strangers read).
    """

    def __init__(
        self, reason: str, problem: str, advice: str, *, column: Any = None, row: int | None = None,
        value: Any = None, columns: list[Any] | None = None,
    ) -> None:  # fmt: skip
        self.reason, self.problem, self.advice = reason, problem, advice
        self.column, self.row, self.value = column, row, value
        self.columns = columns if columns is not None else [column]
        super().__init__(
            f"column {column!r} {problem}" + (f" in row {row}" if row is not None else "")
        )


def text_columns(schema: Any) -> list[str]:
    """The columns of ``schema`` (an input schema or a signature) that hold text."""
    schema = _inputs(schema)
    if schema is None:
        return []
    return [spec.name for spec in schema.inputs if ColumnKind.of(spec) is ColumnKind.TEXT]


def codes_as_text(col: pd.Series) -> pd.Series:
    """Numeric codes (store ids, postcodes) as the text a CSV holds them as: ``101``, not
    ``101.0``; a missing value stays missing, text stays as it is. The column a contract declares
    categorical is given to its model this way.

    Example:
        >>> codes_as_text(pd.Series([101, 7.0, None, "B2"])).tolist()
        ['101', '7', None, 'B2']
    """
    return pd.Series(
        [_code(v) for v in col.to_numpy(dtype=object)], index=col.index, dtype=object, name=col.name
    )


def _code(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if np.ndim(value) == 0 and pd.isna(value):  # None, NaN, pd.NA, NaT
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def conform_frame(
    frame: pd.DataFrame, schema: Any, *, from_text: bool = False, allow_extra: bool = False,
    missing: str = "signature",
) -> pd.DataFrame:  # fmt: skip
    """``frame`` held to ``schema`` (an input schema or a signature) and cast to its types:
    double to float64, float to float32, long and integer to int64, string to object.

    Args:
        frame: The rows.
        schema: The model's input schema; ``None`` or one without names: ``frame`` as it is.
        from_text: The values are CSV text: numbers and true/false are parsed from it.
        allow_extra: Drop the columns the model does not know instead of refusing them.
        missing: ``"signature"`` (gaps only where the schema allows them) or ``"keep"``
            (gaps kept: a table scored or measured).

    Raises:
        Misfit: the first thing that does not fit (missing columns, unknown columns, a value).
    """
    schema = _inputs(schema)
    if schema is None:
        return frame
    specs = {spec.name: spec for spec in schema.inputs}
    absent = [name for name in specs if name not in frame.columns]
    if absent:
        raise Misfit(
            "missing", "is missing", "add it (leave a value empty where it is unknown)",
            column=absent[0], columns=absent,
        )  # fmt: skip
    extra = [c for c in frame.columns if c not in specs]
    if extra and not allow_extra:
        raise Misfit(
            "unknown", "is not an input of the model", "drop it, or check the spelling",
            column=extra[0], columns=extra,
        )  # fmt: skip
    if missing not in ("signature", "keep"):
        raise ValueError(f"missing must be 'signature' or 'keep', not {missing!r}")
    keep = missing == "keep"
    typed = {
        name: conform_column(frame[name], name, spec, from_text, keep)
        for name, spec in specs.items()
    }
    return pd.DataFrame(typed, index=frame.index)


def _inputs(schema: Any) -> Any:
    if hasattr(schema, "to_dict") and hasattr(schema, "outputs"):  # a ModelSignature
        schema = schema.inputs
    if schema is None or not getattr(schema, "has_input_names", lambda: False)():
        return None
    return schema


def conform_column(
    col: pd.Series, name: Any, spec: Any, from_text: bool = False, keep: bool = False
) -> Any:
    """One column of :func:`conform_frame`, checked and cast (``keep``: gaps kept)."""
    kind = ColumnKind.of(spec)
    required = bool(getattr(spec, "required", True)) and not keep
    if kind in (ColumnKind.NUMBER, ColumnKind.INTEGER):
        integer = kind is ColumnKind.INTEGER
        col = _parsed_numbers(col, name, kind) if from_text else _numbers(col, name, kind)
        _no_gaps(col, name, kind, required or (integer and not keep))
        values = col.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            huge = np.abs(values) > LARGEST_VALUE
        _where(
            huge, name, values,
            f"holds a number that is infinite or beyond {LARGEST_VALUE:.4g} (1e400, 1e308)",
            "send a finite number a model can compute with",
        )  # fmt: skip
        if integer:
            whole = np.isnan(values) | (np.mod(values, 1) == 0)
            _where(
                ~whole, name, values, "holds a number with a fraction",
                "the model expects whole numbers (integer); MLflow would truncate it",
            )  # fmt: skip
            return values.astype("float64" if np.isnan(values).any() else "int64")
        return values if _type(spec) == "double" else values.astype("float32")
    if kind is ColumnKind.TEXT:  # on the values themselves: a request is often a row or a few
        values = col.to_numpy(dtype=object)
        _where(
            ~np.fromiter(map(_text_or_missing, values), dtype=bool, count=len(values)),
            name, values, "holds a value that is not text (a number, true/false, a list or an object)",
            "send strings (a file is read with the model's text columns as text; convert a "
            "DataFrame's codes with .astype(str))",
        )  # fmt: skip
        _no_gaps(values, name, kind, required)
        return values
    if kind is ColumnKind.BOOLEAN:
        col = _booleans(col, name, from_text)
        _no_gaps(col, name, kind, not keep)  # a missing true/false cannot be held as one
        return col if keep and col.isna().any() else col.astype(bool)
    if kind is ColumnKind.DATETIME:
        _no_gaps(col, name, kind, required)
        try:
            return pd.to_datetime(col)
        except (ValueError, TypeError, OverflowError) as err:
            raise Misfit(
                "value", "does not parse as dates", "send ISO dates (2026-01-31)", column=name,
                value=str(err)[:80],
            ) from None  # fmt: skip
    return col


def _type(spec: Any) -> str:
    return str(getattr(spec, "type", spec)).split(".")[-1].lower()


def _text_or_missing(value: Any) -> bool:
    return isinstance(value, str) or value is None or (isinstance(value, float) and value != value)


def _where(bad: np.ndarray, name: Any, values: Any, problem: str, advice: str) -> None:
    if bad.any():
        row = int(np.argmax(bad))
        raise Misfit("value", problem, advice, column=name, row=row, value=_item(values, row))


def _item(values: Any, row: int) -> Any:
    value = values.iloc[row] if isinstance(values, pd.Series) else values[row]
    return value.item() if isinstance(value, np.generic) else value


def _numbers(col: pd.Series, name: Any, kind: ColumnKind) -> pd.Series:
    """A column of numbers as it is (int64 or float64); anything else refused."""
    if pd.api.types.is_bool_dtype(col.dtype):
        raise Misfit(
            "value", "holds true/false", f"the model expects numbers ({kind.value}): send numbers",
            column=name, row=0, value=_item(col, 0) if len(col) else None,
        )  # fmt: skip
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_complex_dtype(col.dtype):
        return col
    values = col.to_numpy(dtype=object)
    if all(v is None or (isinstance(v, float) and v != v) for v in values):  # all missing
        return pd.Series(np.nan, index=col.index, dtype="float64")
    for i, value in enumerate(values):
        if isinstance(value, bool):
            what = "true/false"
        elif isinstance(value, str):
            what = "text (a number in quotes is text)"
        elif isinstance(value, int) and abs(value) > 2**63:
            what = "a whole number too large for the model"
        elif isinstance(value, list | dict):
            what = "a list or an object"
        elif value is None or isinstance(value, int | float):
            continue
        else:
            what = f"a {type(value).__name__}"
        raise Misfit(
            "value", f"holds {what}", f"the model expects numbers ({kind.value}): send numbers",
            column=name, row=i, value=value,
        )  # fmt: skip
    return pd.to_numeric(pd.Series(values, index=col.index), errors="coerce").astype("float64")


def _parsed_numbers(col: pd.Series, name: Any, kind: ColumnKind) -> pd.Series:
    """A column of CSV text (``None``/NaN where empty) parsed as float64."""
    text = col.astype(object)
    present = text.notna().to_numpy()
    spelled = text.map(lambda v: isinstance(v, str) and v.strip().lower() in _NOT_FINITE)
    _where(
        spelled.to_numpy(dtype=bool), name, text, "holds NaN or Infinity",
        "leave the field empty for a missing value, a finite number otherwise",
    )  # fmt: skip
    if not present.any():
        return pd.Series(np.nan, index=col.index, dtype="float64")
    numbers = pd.to_numeric(text, errors="coerce")
    _where(
        present & numbers.isna().to_numpy(), name, text, "holds text that is not a number",
        f"the model expects numbers ({kind.value})",
    )  # fmt: skip
    return numbers.astype("float64")


def _booleans(col: pd.Series, name: Any, from_text: bool) -> pd.Series:
    if pd.api.types.is_bool_dtype(col.dtype):
        return col
    words = {"true": True, "false": False} if from_text else {}
    out = []
    for i, value in enumerate(col.to_numpy(dtype=object)):
        if (
            isinstance(value, bool | np.bool_)
            or value is None
            or (isinstance(value, float) and value != value)
        ):
            out.append(value)
        elif isinstance(value, str) and value.strip().lower() in words:
            out.append(words[value.strip().lower()])
        else:
            raise Misfit(
                "value", "is not true or false", "send true or false", column=name, row=i,
                value=value,
            )  # fmt: skip
    return pd.Series(out, index=col.index, dtype=object)


def _no_gaps(col: Any, name: Any, kind: ColumnKind, required: bool) -> None:
    if not required:
        return
    gaps = np.asarray(pd.isna(col.to_numpy() if isinstance(col, pd.Series) else col))
    if gaps.any():
        why = {
            ColumnKind.INTEGER: "the model declares it an integer column",
            ColumnKind.BOOLEAN: "the model expects true or false",
        }.get(kind, "the model's signature requires it (it had no missing values in training)")
        raise Misfit(
            "value", "has a missing value", f"{why}: send a value (or fill the gaps)",
            column=name, row=int(np.argmax(gaps)), value=None,
        )  # fmt: skip
