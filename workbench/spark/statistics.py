"""Per-column summaries of Spark tables, computed where the data lives: only small results reach
the driver (the drift tests themselves live in :mod:`workbench.monitoring.summaries`).

Two jobs over a table, each returning a few kilobytes:

* :func:`profile`: rows, missing values (null, and NaN in a float column), non-finite values, values
  of a text column that do not parse as numbers (with one example), a content hash (what input
  validation needs), and for the number columns asked for, a :class:`NumericSketch` (finite
  values, min, max, population standard deviation).
* :func:`counts`: per tested column, either the count of every distinct value (categorical
  columns) or a histogram on the caller's bin edges with each bin's count, sum and largest value
  (numerical columns); plus, for performance, the counted ``(label, prediction)`` pairs or the
  sums of squared and absolute errors. All columns in one job: the rows are exploded into
  ``(column, key)`` pairs and counted with a map-side partial aggregation.

Bin edges (:func:`shared_edges`) come from the driver's uniform sample of each table: its
:data:`QUANTILES` quantiles, every distinct value when it has at most :data:`EXACT_VALUES` of them,
and the tables' exact minimum and maximum. A bin whose largest value is its left edge holds that
one value only, so a column with few values comes out counted value by value
(:attr:`ColumnSummary.pure`), exactly; any other column is a histogram whose bins hold about
``1 / QUANTILES`` of each table.

:meth:`ColumnSummary.from_values` builds the same summary from a pandas Series. Nulls, NaN and
infinities are dropped before counting, as the pandas path's ``clean`` does. Nothing here knows a
drift rule (the layer is below monitoring).

Example:
    >>> import numpy as np, pandas as pd
    >>> s = ColumnSummary.from_values(pd.Series([1.0, 2.0, 2.0, np.nan]))
    >>> s.n, s.values.tolist(), s.counts.tolist()
    (3, [1.0, 2.0], [1, 2])
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "EXACT_VALUES",
    "QUANTILES",
    "ColumnProfile",
    "ColumnSummary",
    "CountSpec",
    "NumericSketch",
    "TableProfile",
    "counts",
    "profile",
    "restore_timestamps",
    "sample",
    "shared_edges",
    "sketches",
]

#: A sample with at most this many distinct values of a column makes every one of them an edge.
EXACT_VALUES = 10_000
#: Quantiles of each table's sample that make the bin edges of a numerical column.
QUANTILES = 1000
_SEP = "\x01"  # between the label and the prediction of a counted pair


@dataclass(frozen=True)
class ColumnProfile:
    """What input validation needs of one column (see ``workbench.monitoring.validation``)."""

    name: str
    dtype: str
    numeric: bool  # numbers, booleans included (as pandas counts them)
    boolean: bool
    datetime: bool
    rows: int
    nulls: int
    non_finite: int = 0
    text: int = 0
    text_example: Any = None


@dataclass(frozen=True)
class NumericSketch:
    """A numerical column's finite values in four numbers."""

    n: int
    minimum: float
    maximum: float
    std: float  # population standard deviation, as numpy's


@dataclass(frozen=True)
class TableProfile:
    """:func:`profile`'s result: rows, each column's profile, the sketches asked for, a hash."""

    rows: int
    columns: dict[str, ColumnProfile]
    sketches: dict[str, NumericSketch] = field(default_factory=dict)
    digest: str = ""


@dataclass(frozen=True)
class CountSpec:
    """How to count one column: as numbers (text parsed, booleans as 0/1) or as they are; on
    ``edges`` (a histogram) or value by value."""

    as_number: bool
    edges: np.ndarray | None = None


@dataclass(frozen=True)
class ColumnSummary:
    """One column of one table without nulls and infinities, as counts.

    Attributes:
        n: Values counted.
        counts: Per distinct value (``values``), or per bin (``edges``).
        values: The distinct values, sorted (None when binned).
        edges: Bin edges, as many as bins: bin ``i`` is ``[e_i, e_i+1)``, the last bin holds the
            last edge only (the maximum). None when counted value by value.
        sums: The sum of the values in each bin (binned only).
        maxima: The largest value in each bin (binned only; NaN for an empty bin).
        std: Population standard deviation of the values (NaN when not a number column).
    """

    n: int
    counts: np.ndarray
    values: np.ndarray | None = None
    edges: np.ndarray | None = None
    sums: np.ndarray | None = None
    maxima: np.ndarray | None = None
    std: float = math.nan

    @property
    def pure(self) -> bool:
        """Every non-empty bin holds one value, its left edge: the histogram is exact."""
        if self.edges is None:
            return True
        full = self.counts > 0
        return bool(np.all(self.maxima[full] == self.edges[full]))

    def as_values(self) -> ColumnSummary:
        """A :attr:`pure` histogram counted value by value."""
        if self.edges is None:
            return self
        full = self.counts > 0
        return ColumnSummary(self.n, self.counts[full], self.edges[full], std=self.std)

    @classmethod
    def from_values(cls, values: pd.Series, edges: np.ndarray | None = None) -> ColumnSummary:
        """The summary of a pandas Series (nulls and infinities dropped), binned on ``edges``
        (whose first is at most the smallest value and last the largest)."""
        if pd.api.types.is_float_dtype(values.dtype):
            values = values[np.isfinite(values.to_numpy())]
        values = values.dropna()
        std = math.nan
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
            values.dtype
        ):
            std = float(np.std(values.to_numpy(dtype=float))) if len(values) else math.nan
        if edges is not None:
            x = values.to_numpy(dtype=float)
            edges = np.asarray(edges, dtype=float)
            where = np.searchsorted(edges, x, side="right") - 1
            k = len(edges)
            maxima = np.full(k, np.nan)
            np.fmax.at(maxima, where, x)
            return cls(
                len(x),
                np.bincount(where, minlength=k),
                edges=edges,
                sums=np.bincount(where, weights=x, minlength=k),
                maxima=maxima,
                std=std,
            )
        vc = values.value_counts()
        keys, n = _sorted(vc.index.tolist()), vc.to_dict()
        return cls(len(values), np.array([n[k] for k in keys]), _array(keys), std=std)


def profile(
    frame: Any, parse_as_numbers: list[str] | tuple[str, ...] = (), numbers: Any = ()
) -> TableProfile:
    """The :class:`TableProfile` of a Spark DataFrame, in one job.

    Args:
        frame: The table.
        parse_as_numbers: Text columns whose values that do not parse as numbers are counted
            (the reference's column is numeric).
        numbers: Columns to sketch as numbers (:class:`NumericSketch`).
    """
    from pyspark.sql import functions as F

    kinds = _types(frame)
    aggs = [F.count(F.lit(1)).alias("rows")]
    for i, name in enumerate(frame.columns):
        col, kind = _col(name), kinds[name]
        missing = col.isNull() | F.isnan(col) if _is_float(kind) else col.isNull()
        aggs.append(F.sum(missing.cast("long")).alias(f"n{i}"))
        if _is_float(kind):
            infinite = col.isin(float("inf"), float("-inf"))
            aggs.append(F.sum(infinite.cast("long")).alias(f"f{i}"))
        if name in parse_as_numbers and not _is_number(kind):
            bad = col.isNotNull() & col.try_cast("double").isNull()
            aggs.append(F.sum(bad.cast("long")).alias(f"t{i}"))
            aggs.append(F.first(F.when(bad, col), ignorenulls=True).alias(f"e{i}"))
    hashable = [_col(c) for c in frame.columns if kinds[c].typeName() != "map"]
    if hashable:
        hashed = F.pmod(F.xxhash64(*hashable), F.lit(2**31))
        aggs.append(F.sum(hashed).alias("hash"))
    numbers = [c for c in numbers if c in kinds]
    aggs += _sketch_aggs(numbers, kinds)
    row = frame.agg(*aggs).collect()[0].asDict()
    rows, out = int(row["rows"]), {}
    for i, name in enumerate(frame.columns):
        kind = kinds[name]
        out[name] = ColumnProfile(
            name=name,
            dtype=kind.simpleString(),
            numeric=_is_number(kind) or kind.typeName() == "boolean",
            boolean=kind.typeName() == "boolean",
            datetime=kind.typeName() in ("timestamp", "timestamp_ntz", "date"),
            rows=rows,
            nulls=int(row[f"n{i}"] or 0),
            non_finite=int(row.get(f"f{i}") or 0),
            text=int(row.get(f"t{i}") or 0),
            text_example=row.get(f"e{i}"),
        )
    digest = f"{int(row.get('hash') or 0) & 0xFFFFFFFFFFFF:012x}"
    return TableProfile(rows, out, _read_sketches(numbers, row), digest)


def sketches(frame: Any, columns: list[str]) -> dict[str, NumericSketch]:
    """``{column: NumericSketch}`` of the ``columns`` taken as numbers, in one job."""
    if not columns:
        return {}
    row = frame.agg(*_sketch_aggs(columns, _types(frame))).collect()[0].asDict()
    return _read_sketches(columns, row)


def shared_edges(samples: list[np.ndarray], sketches: list[NumericSketch]) -> np.ndarray:
    """Bin edges shared by the tables, from each table's sample of the column (finite numbers)
    and each table's :class:`NumericSketch`: every sample's :data:`QUANTILES` quantiles, its
    distinct values when at most :data:`EXACT_VALUES`, and every table's minimum and maximum."""
    lo = min(s.minimum for s in sketches)
    hi = max(s.maximum for s in sketches)
    parts = [np.array([lo, hi])]
    for x in samples:
        x = np.asarray(x, dtype=float)
        x = x[np.isfinite(x)]
        if not len(x):
            continue
        distinct = np.unique(x)
        if len(distinct) <= EXACT_VALUES:
            parts.append(distinct)
        parts.append(np.quantile(x, np.linspace(0.0, 1.0, QUANTILES + 1)))
    edges = np.unique(np.concatenate(parts))
    return edges[(edges >= lo) & (edges <= hi)]


def counts(
    frame: Any,
    specs: dict[str, CountSpec],
    pairs: tuple[str, str] | None = None,
    errors: tuple[str, str] | None = None,
) -> tuple[dict[str, ColumnSummary], list[tuple[Any, Any, int]], dict[str, float]]:
    """Every column of ``specs`` counted, in one job.

    Args:
        frame: The Spark DataFrame.
        specs: ``{column: CountSpec}``.
        pairs: ``(label column, prediction column)``: count each pair (rows with both).
        errors: ``(label column, prediction column)`` of a regressor: sums of squared and
            absolute errors (``se``, ``ae``) and their count (``n``).

    Returns:
        ``({column: ColumnSummary}, [(label, prediction, count)], {"se", "ae", "n"})``.
    """
    from pyspark.ml.feature import Bucketizer
    from pyspark.sql import functions as F

    kinds = _types(frame)
    names = list(specs)
    cols = [_clean(n, kinds[n], specs[n].as_number).alias(f"_v{i}") for i, n in enumerate(names)]
    extra = []
    if pairs:
        y, p = _col(pairs[0]), _col(pairs[1])
        both = y.isNotNull() & p.isNotNull()
        key = F.when(both, F.concat(y.cast("string"), F.lit(_SEP), p.cast("string")))
        extra.append(
            F.struct(F.lit(-1).alias("c"), key.alias("k"), F.lit(None).cast("double").alias("x"))
        )
    if errors:
        y, p = (_col(errors[0]).cast("double"), _col(errors[1]).cast("double"))
        gap = F.when(y.isNotNull() & p.isNotNull() & ~F.isnan(y), y - p)
        for c, name, x in ((-2, "se", gap * gap), (-3, "ae", F.abs(gap))):
            key = F.when(gap.isNotNull(), F.lit(name))
            extra.append(F.struct(F.lit(c).alias("c"), key.alias("k"), x.alias("x")))
    staged = frame.select(*cols, *([F.array(*extra).alias("_extra")] if extra else []))
    binned = [i for i, n in enumerate(names) if specs[n].edges is not None]
    if binned:
        splits = [[-math.inf, *map(float, specs[names[i]].edges), math.inf] for i in binned]
        staged = Bucketizer(
            splitsArray=splits,
            inputCols=[f"_v{i}" for i in binned],
            outputCols=[f"_b{i}" for i in binned],
            handleInvalid="keep",
        ).transform(staged)
    entries = []
    for i in range(len(names)):
        value = F.col(f"_v{i}")
        if i in binned:
            key, x = F.col(f"_b{i}").cast("long").cast("string"), value.cast("double")
        else:
            key, x = value.cast("string"), F.lit(None).cast("double")
        entries.append(F.struct(F.lit(i).alias("c"), key.alias("k"), x.alias("x")))
    array = F.array(*entries) if entries else F.col("_extra")
    if entries and extra:
        array = F.concat(array, F.col("_extra"))
    exploded = staged.select(F.explode(array).alias("e")).select("e.c", "e.k", "e.x")
    grouped = exploded.where(F.col("k").isNotNull()).groupBy("c", "k")
    aggs = [F.count(F.lit(1)).alias("n"), F.sum("x").alias("s"), F.max("x").alias("m")]
    found = grouped.agg(*aggs).collect()
    by_column: dict[int, list] = {}
    for row in found:
        entry = (row["k"], int(row["n"]), row["s"], row["m"])
        by_column.setdefault(int(row["c"]), []).append(entry)
    summaries = {}
    for i, name in enumerate(names):
        spec, rows = specs[name], by_column.get(i, [])
        if spec.edges is not None:
            summaries[name] = _histogram(spec, rows)
        else:
            typed = [(_typed(k, kinds[name], spec.as_number), n) for k, n, *_ in rows]
            keys = _sorted([k for k, _ in typed])
            n_of = dict(typed)
            values = np.array([n_of[k] for k in keys], dtype=np.int64)
            summaries[name] = ColumnSummary(int(values.sum()), values, _array(keys))
    counted = []
    for key, n, *_ in by_column.get(-1, []):
        label, prediction = key.split(_SEP, 1)
        counted.append((_typed(label, kinds[pairs[0]]), _typed(prediction, kinds[pairs[1]]), n))
    sums = {}
    for c in (-2, -3):
        for key, n, total, _ in by_column.get(c, []):
            sums[key], sums["n"] = float(total or 0.0), float(n)
    return summaries, counted, sums


def sample(frame: Any, rows: int, max_rows: int, seed: int = 0) -> pd.DataFrame:
    """A uniform sample of at most ``max_rows`` rows of ``frame`` (of ``rows`` rows) as pandas:
    the whole table when it is small enough."""
    from pyspark.sql import functions as F

    if rows <= max_rows:
        return frame.toPandas()
    fraction = min(1.0, 1.2 * max_rows / rows + 1e-4)
    part = frame.sample(False, fraction, seed).orderBy(F.rand(seed)).limit(max_rows)
    return part.toPandas()


def restore_timestamps(frame: Any, source: Any) -> Any:
    """``frame`` with the nanosecond timestamps of a local Parquet ``source`` (pandas writes
    them; Spark reads them as long nanoseconds) turned back into timestamps."""
    if not isinstance(source, str | os.PathLike):
        return frame
    path = Path(os.fspath(source)).expanduser()
    if not path.exists() or path.suffix.lower() == ".csv":
        return frame
    try:
        import pyarrow as pa
        import pyarrow.dataset as ds

        schema = ds.dataset(path, format="parquet", partitioning="hive").schema
    except Exception:  # not Parquet: Spark read it as something else
        return frame
    from pyspark.sql import functions as F

    kinds = _types(frame)
    nanos = [
        f.name
        for f in schema
        if pa.types.is_timestamp(f.type)
        and f.type.unit == "ns"
        and f.name in kinds
        and kinds[f.name].typeName() == "long"
    ]
    for name in nanos:
        micros = F.floor(_col(name) / 1000).cast("long")
        frame = frame.withColumn(name, F.timestamp_micros(micros))
    return frame


# --------------------------------------------------------------------------- helpers


def _col(name: str) -> Any:
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _types(frame: Any) -> dict[str, Any]:
    return {f.name: f.dataType for f in frame.schema.fields}


def _is_float(kind: Any) -> bool:
    return kind.typeName() in ("double", "float")


def _is_number(kind: Any) -> bool:
    from pyspark.sql.types import NumericType

    return isinstance(kind, NumericType)


def _clean(name: str, kind: Any, as_number: bool) -> Any:
    """The column without NaN and infinities (null instead), taken as numbers when asked."""
    from pyspark.sql import functions as F

    col = _col(name)
    if as_number:
        col = col.try_cast("double") if not kind.typeName() == "boolean" else col.cast("double")
    elif not _is_float(kind):
        return col
    return F.when(~F.isnan(col) & ~col.isin(float("inf"), float("-inf")), col)


def _typed(text: str, kind: Any, as_number: bool = False) -> Any:
    """A counted key (Spark's text of a value) as the Python value pandas would hold."""
    name = kind.typeName()
    if as_number or name in ("double", "float", "decimal"):
        return float(text)
    if name in ("long", "integer", "short", "byte"):
        return int(text)
    if name == "boolean":
        return text == "true"
    return text


def _sorted(keys: list) -> list:
    try:
        return sorted(keys)
    except TypeError:  # mixed types: ordered as text
        return sorted(keys, key=str)


def _array(keys: list) -> np.ndarray:
    values = np.array(keys)
    if values.dtype.kind in "US":  # text stays Python strings, as pandas holds them
        values = np.array(keys, dtype=object)
    return values


def _histogram(spec: CountSpec, rows: list) -> ColumnSummary:
    """Bucketizer's buckets on ``[-inf, *edges, inf]`` as :class:`ColumnSummary` bins."""
    edges = np.asarray(spec.edges, dtype=float)
    k = len(edges)
    hist, sums, maxima = np.zeros(k, dtype=np.int64), np.zeros(k), np.full(k, np.nan)
    for key, n, total, largest in rows:
        i = min(max(int(key) - 1, 0), k - 1)  # bucket 0, (-inf, e_0), is empty: e_0 is the min
        hist[i] += n
        sums[i] += float(total or 0.0)
        maxima[i] = np.fmax(maxima[i], np.nan if largest is None else float(largest))
    return ColumnSummary(int(hist.sum()), hist, edges=edges, sums=sums, maxima=maxima)


def _sketch_aggs(columns: list[str], kinds: dict[str, Any]) -> list:
    from pyspark.sql import functions as F

    aggs = []
    for i, name in enumerate(columns):
        x = _clean(name, kinds[name], True)
        aggs += [
            F.count(x).alias(f"sn{i}"),
            F.min(x).alias(f"lo{i}"),
            F.max(x).alias(f"hi{i}"),
            F.stddev_pop(x).alias(f"sd{i}"),
        ]
    return aggs


def _read_sketches(columns: list[str], row: dict) -> dict[str, NumericSketch]:
    nan = math.nan
    return {
        name: NumericSketch(
            n=int(row[f"sn{i}"] or 0),
            minimum=_float(row[f"lo{i}"], nan),
            maximum=_float(row[f"hi{i}"], nan),
            std=_float(row[f"sd{i}"], nan),
        )
        for i, name in enumerate(columns)
    }


def _float(value: Any, default: float) -> float:
    return default if value is None else float(value)
