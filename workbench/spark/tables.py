"""What the Spark engine accepts as data, turned into a Spark DataFrame.

A Spark DataFrame is used as it is; a pandas DataFrame is handed to Spark; a path to a Parquet file or
a folder of Parquet files (``part-*.parquet``, as Spark and pandas write them) or a CSV file is read by
Spark; any other string is a table name in the session's catalog (``db.table``). A missing file or table
raises a :class:`~workbench.errors.DataFileError` naming it.

Example:
    >>> from workbench.spark import spark_session, spark_table
    >>> frame = spark_table(spark_session(), "batches/2026-11-23/")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from workbench.errors import DataFileError

__all__ = ["is_spark_frame", "spark_table"]


def is_spark_frame(data: Any) -> bool:
    """True for a ``pyspark.sql.DataFrame`` (classic or Spark Connect), without importing PySpark."""
    kind = type(data)
    return kind.__name__ == "DataFrame" and kind.__module__.startswith("pyspark.")


def spark_table(spark: Any, data: Any, what: str = "data") -> Any:
    """``data`` as a Spark DataFrame.

    Args:
        spark: The SparkSession.
        data: A Spark or pandas DataFrame, a Parquet file or folder, a CSV file, or a table name.
        what: How to name the data in an error ("the reference data").

    Raises:
        DataFileError: the path does not exist, holds no Parquet or CSV data, or the table is not
            in the catalog.
    """
    if is_spark_frame(data):
        return data
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return spark.createDataFrame(data)
    if not isinstance(data, str | os.PathLike):
        raise DataFileError(
            f"{what} must be a Spark or pandas DataFrame, a Parquet file or folder, a CSV file or a "
            f"table name; got {type(data).__name__}."
        )
    text = os.fspath(data)
    path = Path(text).expanduser()
    looks_like_path = os.sep in text or path.suffix.lower() in {".parquet", ".pq", ".csv"}
    if path.exists():
        return _read_path(spark, path, what)
    if looks_like_path:
        raise DataFileError(
            f"{what}: {text} does not exist. Give a Parquet file or folder, or a CSV file."
        )
    if spark.catalog.tableExists(text):
        return spark.table(text)
    raise DataFileError(
        f"{what}: {text!r} is neither a file nor a folder nor a table in the Spark catalog. Give a "
        "Parquet file or folder, a CSV file or a table name (db.table)."
    )


def _read_path(spark: Any, path: Path, what: str) -> Any:
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))]
        if not files:
            raise DataFileError(f"{what}: the folder {path} holds no data files.")
        if all(p.suffix.lower() == ".csv" for p in files):
            return spark.read.csv(str(path), header=True, inferSchema=True)
        return _parquet(spark, path, min(files))
    if path.suffix.lower() == ".csv":
        return spark.read.csv(str(path), header=True, inferSchema=True)
    if path.suffix.lower() in {".parquet", ".pq"}:
        return _parquet(spark, path)
    raise DataFileError(f"{what}: {path} is not a Parquet or CSV file (by its suffix).")


def _parquet(spark: Any, path: Path, first: Path | None = None) -> Any:
    """Read Parquet. Nanosecond timestamps (pandas writes them) are read as long nanoseconds: Spark
    holds microseconds only and refuses them otherwise (``PARQUET_TYPE_ILLEGAL``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(first or path)
    except Exception:  # Spark says what is wrong with the file
        schema = []
    if any(pa.types.is_timestamp(f.type) and f.type.unit == "ns" for f in schema):
        spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
    return spark.read.parquet(str(path))
