"""Batch scoring on Spark: the pandas path's own scorer, run on every partition where the data lives.

:func:`workbench.score` with ``engine="spark"`` builds the pandas path's scorer on the driver and
hands it to :func:`score_on_spark`, which never imports :mod:`workbench.scoring` (the engine choice
points one way). The scorer is what the rules live in, so there is one copy of each:

* the model's format is checked on the driver before anything is loaded (pickle, cloudpickle and
  untrusted skops types refused, :class:`~workbench.errors.UnsafeModelError`, unless
  ``allow_pickle``, which is recorded on the version as the pandas path records it), before the
  SparkSession starts and before any job;
* a missing feature or identifier column is a :class:`~workbench.errors.MissingColumnError` read from
  the table's schema, before any job;
* the features are conformed to the signature inside Spark (integer and boolean columns cast to
  double when the model was logged with doubles, as :func:`~workbench.registry.signature_frame` does),
  then each Arrow batch goes through the scorer's ``score``: the same
  :func:`~workbench.data.conform_to_signature`, the same one pass of
  :func:`~workbench.serving.probabilities.labels_and_probabilities`, the same ``prediction`` and
  ``proba_<label>`` columns (named by the model contract), the identifiers passed through.

Why ``mapInPandas`` and not ``mlflow.pyfunc.spark_udf``: a spark_udf returns what pyfunc ``predict``
returns, the labels. In MLflow 3.17 the scikit-learn pyfunc wrapper's ``predict`` takes no
``predict_method`` (``_SklearnModelWrapper.predict`` ignores ``params``; ``pyfunc_predict_fn`` is
fixed when the model is logged), so the probabilities would need a second pass by another route, an
argmax classifier's labels would come from ``predict`` instead of the probabilities of the same pass,
and the columns would go through MLflow's schema enforcement instead of the workbench's (which refuses
30.9 in an integer column). Running the pandas path's scorer makes the two engines equal row for row
by construction. The model travels to the executors inside that scorer, loaded once on the driver
after its format was checked (PySpark broadcasts a task over 1 MB); the executors need the
workbench installed, as for any Python UDF library.

What comes back: with ``out``, a Parquet folder written by Spark to a hidden folder beside ``out`` and
renamed onto it (a failure leaves nothing behind; an existing Spark output, empty folder or file at
``out`` is replaced); without ``out``, a pandas DataFrame for pandas data (its index kept, as the
pandas engine does) and a lazy Spark DataFrame for anything else (a Spark DataFrame, a Parquet folder,
a table): nothing is collected onto the driver, and errors surface when it is computed.

Example:
    >>> import workbench as wb
    >>> wb.score("models:/credit-risk@champion", "batches/2026-11-23/", out="scored/",
    ...          engine="spark")  # doctest: +SKIP
    ScoringResult(rows=20000000, output='/data/scored', seconds=182.4)
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from workbench._core.text import first_line
from workbench.errors import DataFileError, ModelError, UsageError, WorkbenchError
from workbench.spark.session import check_spark, spark_session
from workbench.spark.tables import is_spark_frame, spark_table

__all__ = ["ChunkScorer", "score_on_spark"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
_WORKER_ERROR = re.compile(r"workbench\.errors\.(\w+): (.+)")
_RAISED = re.compile(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception): .+)$", re.MULTILINE)


class ChunkScorer(Protocol):
    """What Spark needs of the pandas path's scorer (``workbench.scoring``): the model's columns and
    how it scores one pandas chunk. It must pickle (it travels to the executors)."""

    model_uri: str
    features: list[str]
    widen: bool
    signature: Any
    spec: Any

    def check_columns(self, columns: list[str], what: str) -> None:
        """Raise MissingColumnError naming a feature ``columns`` lacks."""

    def id_columns(self, columns: list[str], wanted: Any) -> list[str]:
        """The identifiers to pass through (the contract's found, plus ``wanted``)."""

    def output_columns(self, ids: list[str]) -> list[str]:
        """``ids``, ``prediction``, then the probability columns."""

    def score(self, chunk: Any, ids: list[str]) -> Any:
        """One pandas chunk scored: identifiers, prediction, probabilities."""


def score_on_spark(
    make_scorer: Callable[[], ChunkScorer],
    data: Any,
    *,
    out: str | os.PathLike | None = None,
    id_columns: list[str] | tuple[str, ...] | None = None,
    spark: Any = None,
    master: str | None = None,
) -> Any:
    """Score ``data`` on Spark with the scorer ``make_scorer`` builds on the driver.

    Args:
        make_scorer: Builds the scorer; it checks the model's format (and loads it) on the driver.
        data: A Spark or pandas DataFrame, a Parquet file or folder, a CSV file, or a table name.
        out: A Parquet folder (a local path or a URI Spark writes to: ``hdfs://``, ``s3a://``).
        id_columns: Columns to pass through beside the contract's identifiers.
        spark: An existing SparkSession (a cluster's); default the active one, else a new one.
        master: A master URL for a new session (``local[*]`` by default).

    Returns:
        Without ``out``, the scored table (pandas for pandas data, else a lazy Spark DataFrame);
        with ``out``, a dict of :class:`~workbench.scoring.ScoringResult` fields.

    Raises:
        UsageError: PySpark or Java is missing (says what to install), or ``out`` cannot be written.
        UnsafeModelError, ModelNotFoundError: from ``make_scorer``, before Spark starts.
        MissingColumnError: a feature or a named identifier is not in the data (before any job).
        DataFileError: the data cannot be read, or it has no rows (with ``out``).
    """
    started = time.perf_counter()
    if spark is None:
        check_spark()  # what to install, before the model is fetched
    scorer = make_scorer()  # format checked on the driver: refused models go no further
    named = isinstance(data, str | os.PathLike)
    columns = _parquet_columns(data) if named else None
    if columns is not None:  # a local Parquet file or folder: bad columns before Spark starts
        scorer.check_columns(columns, str(data))
        scorer.id_columns(columns, id_columns)
    session = spark_session(master, spark)
    source = data if named and (_SCHEME.match(os.fspath(data)) or os.path.exists(data)) else None
    target = _Output(session, out, source) if out is not None else None  # checked before reading
    frame = spark_table(session, data, "the data")
    scorer.check_columns(list(frame.columns), str(data) if named else "the data")
    ids = scorer.id_columns(list(frame.columns), id_columns)
    scored = _scored(frame, scorer, ids)
    if target is None:
        if is_spark_frame(data) or named:
            return scored
        table = _run(lambda: scored.toPandas(), scorer.model_uri)
        table.index = data.index
        return table
    rows, parts = target.write(scored, scorer.model_uri)
    return {
        "output": target.shown,
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 3),
        "chunks": parts,
        "columns": scorer.output_columns(ids),
        "id_columns": ids,
    }


def _scored(frame: Any, scorer: ChunkScorer, ids: list[str]) -> Any:
    """The lazy Spark DataFrame of identifiers, prediction and probabilities."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    widened = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.BooleanType)
    kinds = {field.name: field.dataType for field in frame.schema.fields}
    columns = []
    for name in dict.fromkeys([*ids, *scorer.features]):
        column = F.col(_quoted(name))
        if scorer.widen and name not in ids and isinstance(kinds[name], widened):
            column = column.cast("double")  # what signature_frame does in pandas, done in Spark
        columns.append(column.alias(name))
    fields = [T.StructField(name, kinds[name], True) for name in ids]
    fields.append(T.StructField(scorer.output_columns([])[0], _prediction_type(scorer), True))
    fields += [T.StructField(name, T.DoubleType(), True) for name in scorer.output_columns([])[1:]]
    names = [field.name for field in fields]

    def run(batches: Iterator[Any]) -> Iterator[Any]:  # on the executors
        for batch in batches:
            if len(batch):
                yield scorer.score(batch, ids)[names]

    return frame.select(*columns).mapInPandas(run, T.StructType(fields))


def _prediction_type(scorer: ChunkScorer) -> Any:
    """The Spark type of the ``prediction`` column: the labels' type, else the output schema's."""
    import numpy as np
    from pyspark.sql import types as T

    if scorer.spec is not None:
        kinds = {np.asarray(list(scorer.spec.labels)).dtype.kind}
    else:
        outputs = scorer.signature.outputs if scorer.signature is not None else None
        try:
            kinds = {np.dtype(t).kind for t in outputs.numpy_types()} if outputs else {"f"}
        except Exception:  # a type numpy cannot name: numbers are the common case
            kinds = {"f"}
    if kinds <= {"b"}:
        return T.BooleanType()
    if kinds <= {"i", "u"}:
        return T.LongType()
    if kinds <= {"f", "i", "u"}:
        return T.DoubleType()
    return T.StringType()


def _parquet_columns(data: str | os.PathLike) -> list[str] | None:
    """The columns of a local Parquet file or folder, read from its footer without Spark; None
    for anything else (Spark reads it, or says what is wrong with it)."""
    path = Path(os.fspath(data)).expanduser()
    if _SCHEME.match(os.fspath(data)) or not path.exists() or path.suffix.lower() == ".csv":
        return None
    try:
        import pyarrow.dataset as ds

        return list(ds.dataset(path, format="parquet", partitioning="hive").schema.names)
    except Exception:
        return None


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _run(action: Callable[[], Any], model_uri: str) -> Any:
    """Run a Spark action; a workbench error raised on an executor comes back as itself."""
    try:
        return action()
    except WorkbenchError:
        raise
    except Exception as err:
        found = _WORKER_ERROR.findall(str(err))
        if found:
            import workbench.errors as errors

            name, message = found[-1]
            cls = getattr(errors, name, None)
            if isinstance(cls, type) and issubclass(cls, WorkbenchError):
                raise cls(message.strip()) from err
        if type(err).__name__ == "PythonException":  # the model failed on an executor
            raised = _RAISED.findall(str(err))
            what = raised[-1] if raised else first_line(err)
            raise ModelError(f"scoring with {model_uri} failed on Spark: {what[:300]}") from err
        raise


# --------------------------------------------------------------------------- writing


class _Output:
    """A Parquet folder Spark writes beside ``out`` and that is renamed onto it; through Hadoop's
    FileSystem, so a local path, ``file:``, ``hdfs://`` or ``s3a://`` behave alike."""

    def __init__(self, session: Any, out: str | os.PathLike, source: Any = None):
        self.session = session
        self.uri = _uri(out)
        text = os.fspath(out)  # shown as given, as the pandas engine shows its file
        self.shown = text if _SCHEME.match(text) else str(Path(text).expanduser())
        try:
            # Hadoop's FileSystem API lives in the JVM; PySpark reaches it only this way
            jvm = session.sparkContext._jvm  # noqa: SLF001
            self.conf = session.sparkContext._jsc.hadoopConfiguration()  # noqa: SLF001
        except Exception as err:  # Spark Connect: no JVM on this side
            raise UsageError(
                "out= needs a classic SparkSession (this one has no JVM on the driver, as with "
                "Spark Connect): score without out and write the returned frame with Spark."
            ) from err
        self.path = jvm.org.apache.hadoop.fs.Path
        self.target = self.path(self.uri)
        self.fs = self.target.getFileSystem(self.conf)
        self.tmp = self.path(
            self.target.getParent(), f".{self.target.getName()}.{uuid.uuid4().hex[:12]}.tmp"
        )
        self._refuse_overlap(source)
        if self.fs.exists(self.target) and self.fs.getFileStatus(self.target).isDirectory():
            spark_output = self.fs.exists(self.path(self.target, "_SUCCESS"))
            if not spark_output and len(self.fs.listStatus(self.target)) > 0:
                raise UsageError(
                    f"out {self.shown} is a folder that is not a Spark output (no _SUCCESS): "
                    "scoring would replace it. Choose another folder, or empty it."
                )

    def _refuse_overlap(self, source: Any) -> None:
        if source is None:
            return
        here, there = self.uri.rstrip("/") + "/", _uri(source).rstrip("/") + "/"
        if here.startswith(there) or there.startswith(here):
            raise UsageError(
                f"out {self.shown} is, holds or lies inside the input {source}: write the scores "
                "elsewhere."
            )

    def write(self, scored: Any, model_uri: str) -> tuple[int, int]:
        """Write ``scored`` to the hidden folder, count it, rename it onto ``out``: (rows, files)."""
        self.fs.mkdirs(self.target.getParent())
        try:
            _run(
                lambda: scored.write.mode("errorifexists").parquet(str(self.tmp.toString())),
                model_uri,
            )
            rows = _run(lambda: self.session.read.parquet(self.tmp.toString()).count(), model_uri)
            if rows == 0:
                raise DataFileError("the data has no rows: nothing was scored or written.")
            parts = sum(
                s.getPath().getName().startswith("part-") for s in self.fs.listStatus(self.tmp)
            )
            self._commit()
        except BaseException:
            self.fs.delete(self.tmp, True)
            raise
        return int(rows), int(parts)

    def _commit(self) -> None:
        old = None
        if self.fs.exists(
            self.target
        ):  # checked in __init__: a Spark output, an empty folder, a file
            old = self.path(
                self.target.getParent(), f".{self.target.getName()}.{uuid.uuid4().hex[:12]}.old"
            )
            if not self.fs.rename(self.target, old):
                raise UsageError(f"cannot move the old {self.shown} aside: check its permissions.")
        if not self.fs.rename(self.tmp, self.target):
            if old is not None:
                self.fs.rename(old, self.target)
            raise UsageError(f"cannot rename the scores onto {self.shown}: check its permissions.")
        if old is not None:
            self.fs.delete(old, True)


def _uri(path: str | os.PathLike) -> str:
    """A URI as it is (``hdfs://``, ``file:``), a local path as an absolute ``file:`` URI."""
    text = os.fspath(path)
    if _SCHEME.match(text):
        return text
    return Path(text).expanduser().resolve().as_uri()
