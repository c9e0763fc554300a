"""Input validation: every reason why two tables cannot be compared, each naming its column.

Evidently on its own drops a missing column and ignores nulls, so a column gone 67% null shows "no
drift". :func:`validate` finds empty tables, too few rows, a target the reference lacks, missing or
extra columns, changed types (text in a numeric column), non-finite values (inf), all-null columns
and null surges; it raises
the :class:`~workbench.errors.DataError` subclass that names the first problem, or returns the
reasons for a result marked invalid.

Example:
    >>> import pandas as pd
    >>> ref = pd.DataFrame({"a": range(40), "b": ["x"] * 40})
    >>> validate(ref, ref.drop(columns="b"), on_invalid="return")[0][:40]
    "column 'b' is in the reference data but "
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from workbench.errors import (
    DataError,
    DataQualityError,
    MissingColumnError,
    SchemaMismatchError,
    UsageError,
)
from workbench.monitoring.scoring import PREDICTION
from workbench.monitoring.statistics import CORRECTIONS

if TYPE_CHECKING:
    from workbench.contract import ModelContract

__all__ = [
    "ColumnFacts",
    "Problem",
    "check_options",
    "column_problem",
    "ignored_columns",
    "problems",
    "problems_of",
    "raise_first",
    "validate",
    "validation_columns",
]


@dataclass(frozen=True)
class Problem:
    """One reason the data cannot be compared.

    Attributes:
        column: The column concerned (None for the whole table).
        message: What is wrong and what to do, in plain words.
        error: The :class:`~workbench.errors.DataError` subclass that names the problem.
    """

    column: str | None
    message: str
    error: type[DataError]


def validate(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    target: str | None = None,
    min_rows: int = 30,
    null_surge: float = 0.1,
    ignore: Iterable[str] = (),
    optional: Iterable[str] = (),
    on_invalid: str = "raise",
) -> list[str]:
    """Every reason why ``current`` cannot be compared with ``reference``; empty when it can.

    Args:
        reference: The reference table.
        current: The new batch.
        target: The label column (it must be in the reference; the batch may lack it).
        min_rows: Fewer rows than this in either table is invalid data.
        null_surge: Largest allowed growth of a column's share of missing values (0.1 = ten
            percentage points).
        ignore: Columns that may be missing from either table and are not checked.
        optional: Columns that may be missing from either table (labels of an unlabelled
            batch), checked when both tables have them.
        on_invalid: ``raise`` raises on the first problem (the others are listed in the message);
            ``return`` returns the reasons.

    Raises:
        DataError: invalid data with ``on_invalid="raise"``; the subclass names the first problem
            (:class:`~workbench.errors.MissingColumnError`,
            :class:`~workbench.errors.SchemaMismatchError`,
            :class:`~workbench.errors.DataQualityError`).
    """
    found = problems(reference, current, target, min_rows, null_surge, ignore, optional)
    if found and on_invalid == "raise":
        raise_first(found)
    return [p.message for p in found]


def problems(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    target: str | None,
    min_rows: int,
    null_surge: float,
    ignore: Iterable[str],
    optional: Iterable[str] = (),
) -> list[Problem]:
    """The :class:`Problem` list behind :func:`validate` (same arguments)."""
    shapes = (
        (len(reference), list(reference.columns)),
        (len(current), list(current.columns)),
    )
    return problems_of(
        *shapes,
        lambda col: _series_facts(reference[col], current[col]),
        target=target,
        min_rows=min_rows,
        null_surge=null_surge,
        ignore=ignore,
        optional=optional,
    )


@dataclass(frozen=True)
class ColumnFacts:
    """What the rules need to know of one column of one table: from a pandas Series
    (:func:`problems`) or from a summary computed where the data lives (the Spark engine).

    Attributes:
        rows: Rows of the table.
        nulls: Missing values (null, and NaN in a float column).
        numeric: A numeric type (booleans included, as pandas counts them).
        boolean: A boolean type.
        datetime: A date or time type.
        dtype: The type's name, for messages.
        non_finite: +inf and -inf values (numeric columns).
        text: Values that do not parse as numbers (counted for a text column whose reference
            column is numeric; 0 otherwise).
        text_example: One of those values.
    """

    rows: int
    nulls: int
    numeric: bool
    boolean: bool
    datetime: bool
    dtype: str
    non_finite: int = 0
    text: int = 0
    text_example: Any = None


def problems_of(
    reference: tuple[int, list[str]],
    current: tuple[int, list[str]],
    column_facts: Callable[[str], tuple[ColumnFacts, ColumnFacts]],
    *,
    target: str | None,
    min_rows: int,
    null_surge: float,
    ignore: Iterable[str],
    optional: Iterable[str] = (),
) -> list[Problem]:
    """The :class:`Problem` list of two tables given as ``(rows, columns)``, with
    ``column_facts(column)`` giving the reference's and the current :class:`ColumnFacts` of a
    column both have (asked only for the columns the rules reach)."""
    ignore = list(ignore)
    out: list[Problem] = []
    for what, (rows, columns) in (("reference", reference), ("current", current)):
        if rows == 0 or len(columns) == 0:
            out.append(
                Problem(None, f"the {what} data is empty: it needs rows and columns.", DataError)
            )
        elif rows < min_rows:
            out.append(
                Problem(
                    None,
                    f"the {what} data has {rows} rows, fewer than the minimum of {min_rows}: "
                    "drift tests on so few rows are noise. Wait for a larger batch or lower min_rows.",
                    DataQualityError,
                )
            )
    if out:
        return out
    ref_columns, cur_columns = reference[1], current[1]
    if target is not None and target not in ref_columns:
        out.append(
            Problem(
                target,
                f"target column {target!r} is not in the reference data: name the column that "
                "holds the labels, or pass target=None.",
                MissingColumnError,
            )
        )
    optional = {target, PREDICTION} | set(ignore) | set(optional)
    missing = [c for c in ref_columns if c not in cur_columns and c not in optional]
    extra = [c for c in cur_columns if c not in ref_columns and c not in optional]
    for col in missing:
        out.append(
            Problem(
                str(col),
                f"column {col!r} is in the reference data but missing from the current data: "
                "Evidently would silently drop it. Fix the export; if it holds the labels of an "
                "unlabelled batch, name it as the target (target=, --target); to leave it out, "
                f"ignore it (ignore=[{str(col)!r}], --ignore {col}).",
                MissingColumnError,
            )
        )
    for col in extra:
        out.append(
            Problem(
                str(col),
                f"column {col!r} is in the current data but not in the reference data: a renamed "
                f"or new column? Fix the export, or ignore it (ignore=[{str(col)!r}], --ignore "
                f"{col}).",
                SchemaMismatchError,
            )
        )
    for col in ref_columns:
        if col not in cur_columns or col in ignore:
            continue
        facts = column_facts(col)
        if col == target and facts[1].nulls:  # labels arrive late: rows without one are no flaw
            continue
        problem = column_problem(str(col), *facts, null_surge)
        if problem:
            out.append(problem)
    return out


def column_problem(
    name: str, ref: ColumnFacts, cur: ColumnFacts, null_surge: float
) -> Problem | None:
    """The first problem of one column both tables have, or None."""
    ref_numeric = ref.numeric and not ref.boolean
    cur_null = cur.nulls / max(cur.rows, 1)
    ref_null = ref.nulls / max(ref.rows, 1)
    if ref_null == 1.0:
        return Problem(
            name,
            f"column {name!r} is entirely empty in the reference data: drop it or ignore it.",
            DataQualityError,
        )
    if cur_null == 1.0:
        return Problem(
            name,
            f"column {name!r} is entirely empty in the current data (all {cur.rows} values "
            "missing): the export or an upstream join is broken.",
            DataQualityError,
        )
    if ref_numeric and not cur.numeric:
        if cur.text:
            return Problem(
                name,
                f"column {name!r} is numeric in the reference data but holds text in the current "
                f"data, such as {cur.text_example!r} ({cur.text} values): fix the export or the "
                "parser.",
                SchemaMismatchError,
            )
        return None
    if not ref_numeric and cur.numeric:
        if not ref.datetime and not (ref.boolean and cur.boolean):
            return Problem(
                name,
                f"column {name!r} changed type: {ref.dtype} (categories) in the reference data, "
                f"{cur.dtype} (numbers) in the current data. Fix the export or the parser.",
                SchemaMismatchError,
            )
    for what, facts in (("reference", ref), ("current", cur)):
        broken = facts.non_finite
        if broken:
            return Problem(
                name,
                f"column {name!r} holds {broken} non-finite value(s) (inf or -inf) in the {what} "
                f"data ({broken / max(facts.rows, 1):.1%} of its rows): no test can use them and "
                "Evidently would drop them silently. Fix the export or the computation upstream.",
                DataQualityError,
            )
    if cur_null - ref_null > null_surge:
        return Problem(
            name,
            f"column {name!r} has a null surge: {cur_null:.0%} missing in the current data against "
            f"{ref_null:.0%} in the reference (limit: +{null_surge:.0%}). Evidently ignores nulls "
            "and would show no drift; find out why the values are missing.",
            DataQualityError,
        )
    return None


def raise_first(found: list[Problem]) -> None:
    """Raise the first problem's error, the others summarised in its message."""
    first = found[0]
    message = first.message
    if len(found) > 1:
        message += f" (and {len(found) - 1} more: " + "; ".join(
            p.message.split(":")[0] for p in found[1:]
        )
        message += ")"
    raise first.error(message)


def check_options(on_invalid: str, correction: str, alpha: float) -> None:
    """Refuse an unknown ``on_invalid`` or ``correction`` and an ``alpha`` outside (0, 1) with a
    :class:`~workbench.errors.UsageError`, before any data is read."""
    if on_invalid not in ("raise", "return"):
        raise UsageError("on_invalid must be 'raise' or 'return'")
    if correction not in CORRECTIONS:
        raise UsageError(f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}")
    if not 0 < float(alpha) < 1:
        raise UsageError(f"alpha is a false-alarm rate between 0 and 1, got {alpha!r}")


def ignored_columns(ignore: Any, ref_columns: Iterable[Any], cur_columns: Iterable[Any]) -> list:
    """``ignore`` as a list (one name given as text too).

    Raises:
        UsageError: a name that is no column of either table.
    """
    ref_columns, cur_columns = list(ref_columns), list(cur_columns)
    names = [ignore] if isinstance(ignore, str) else list(ignore or ())
    unknown = [c for c in names if c not in ref_columns and c not in cur_columns]
    if unknown:
        shown = ", ".join(map(str, ref_columns[:15]))
        raise UsageError(
            f"ignore names {', '.join(map(repr, unknown))}, not a column of the reference or the "
            f"current data (columns: {shown}{', ...' if len(ref_columns) > 15 else ''}): check "
            "the spelling."
        )
    return names


def validation_columns(
    named_target: str | None,
    target: str | None,
    ref_columns: list,
    ignore: list,
    contract: ModelContract | None,
) -> dict[str, Any]:
    """The ``target``, ``ignore`` and ``optional`` arguments of :func:`validate` (and
    :func:`problems_of`): a target the user named must be in the reference, the contract's may
    be absent; with a model, every column its contract does not need may be missing."""
    optional = []
    if contract is not None:
        needed = set(contract.features) | {target}
        optional = [c for c in ref_columns if c not in needed]
    return {
        "target": target if (named_target or (target in ref_columns)) else None,
        "ignore": [*ignore, *optional],
        "optional": [target] if target else [],
    }


# --------------------------------------------------------------------------- helpers


def _series_facts(ref: pd.Series, cur: pd.Series) -> tuple[ColumnFacts, ColumnFacts]:
    """The facts of one column of each table (text is counted only where the rules read it)."""
    ref_facts = _facts(ref)
    cur_facts = _facts(cur)
    if ref_facts.numeric and not ref_facts.boolean and not cur_facts.numeric:
        numeric = pd.to_numeric(cur, errors="coerce")
        bad = cur[numeric.isna() & cur.notna()]
        if len(bad):
            cur_facts = replace(cur_facts, text=len(bad), text_example=bad.iloc[0])
    return ref_facts, cur_facts


def _facts(col: pd.Series) -> ColumnFacts:
    dtype = col.dtype
    return ColumnFacts(
        rows=len(col),
        nulls=int(col.isna().sum()),
        numeric=bool(pd.api.types.is_numeric_dtype(dtype)),
        boolean=bool(pd.api.types.is_bool_dtype(dtype)),
        datetime=bool(pd.api.types.is_datetime64_any_dtype(dtype)),
        dtype=str(dtype),
        non_finite=_non_finite(col),
    )


def _non_finite(col: pd.Series) -> int:
    """How many values of a numeric column are +inf or -inf (0 for other columns)."""
    if not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
        return 0
    values = pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64", na_value=float("nan"))
    import numpy as np

    return int(np.isinf(values).sum())
