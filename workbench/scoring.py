"""Batch scoring: a model's predictions and class probabilities for a table or a file, in chunks.

:func:`score` reads a DataFrame, or a CSV or Parquet file chunk by chunk (only the columns it needs),
conforms each chunk to the model's signature (integer columns to double, as the model was logged),
predicts, and writes the identifiers, the ``prediction`` and the ``proba_<label>`` columns (named by
the model contract) chunk by chunk, so memory stays flat on a file larger than memory. The output is
written to a temporary file beside ``out`` and renamed at the end: a failure leaves no half-written
output.

* a CSV is read with the contract's kinds: the model's text columns as text (``07`` is not the
  number 7); identifiers (the contract's found in the data, plus ``id_columns``) as written, integers
  as integers (nullable ``Int64``) and codes as text (``007`` stays ``007``), so scores merge back;
* the model is loaded only after its format was checked (:func:`~workbench.registry.fetch_model`):
  pickle, cloudpickle and untrusted skops types are refused (exit code 2) unless
  ``allow_pickle=True`` (``workbench score --allow-pickle``), which is recorded on the version;
* a classifier's labels and probabilities come from one pass of the model
  (:func:`~workbench.serving.probabilities.labels_and_probabilities`); a regressor gets
  ``prediction`` only;
* ``engine="spark"`` runs this same scorer on every partition of a Spark table
  (:mod:`workbench.spark.scoring`): tables larger than one machine, the same rows out.

Example:
    >>> import workbench as wb
    >>> scored = wb.score("models:/credit-risk@champion", batch)  # doctest: +SKIP
    >>> scored.columns.tolist()  # doctest: +SKIP
    ['prediction', 'proba_1']
    >>> wb.score("models:/credit-risk@champion", "batch.parquet", out="scored.parquet")  # doctest: +SKIP
    ScoringResult(rows=5000000, output='scored.parquet', seconds=41.2)
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench._core.conform import text_columns
from workbench._core.gcpause import gc_paused
from workbench._core.ids import integer_ids, typed_ids
from workbench._core.progress import Progress, as_progress
from workbench._core.remote import speaks_for_server
from workbench._core.results import Result, html_table
from workbench._core.text import first_line
from workbench.errors import DataFileError, MissingColumnError, ModelNotFoundError, UsageError
from workbench.serving.options import check_in_range

__all__ = ["FORMATS", "ScoringResult", "score"]

#: File formats read and written, by suffix.
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass
class ScoringResult(Result):
    """What a batch scoring run wrote: rows, output file, time.

    Example:
        >>> r = ScoringResult("models:/credit-risk/2", "scored.csv", rows=1000, seconds=0.5)
        >>> r.rows_per_second, r.summary()
        (2000.0, 'scored 1,000 rows with models:/credit-risk/2 in 0.5 s (2,000 rows/s) -> scored.csv')
    """

    FILE_NAME = "scoring.json"

    model_uri: str
    output: str | None
    rows: int = 0
    seconds: float = 0.0
    chunks: int = 0
    columns: list[str] = field(default_factory=list)
    id_columns: list[str] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        """Rows scored per second (reading and writing included)."""
        return round(self.rows / self.seconds, 1) if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields, with ``rows_per_second``."""
        return {**super().to_dict(), "rows_per_second": self.rows_per_second}

    def summary(self) -> str:
        """One line: rows, model, time, speed and where the output went."""
        return (
            f"scored {self.rows:,} rows with {self.model_uri} in {self.seconds:.1f} s "
            f"({self.rows_per_second:,.0f} rows/s) -> {self.output}"
        )

    def __repr__(self) -> str:
        return f"ScoringResult(rows={self.rows}, output={self.output!r}, seconds={self.seconds})"

    def _repr_html_(self) -> str:
        rows = [
            ("model", self.model_uri),
            ("rows", f"{self.rows:,}"),
            ("output", self.output or "-"),
            ("columns", ", ".join(self.columns)),
            ("time", f"{self.seconds:.1f} s ({self.rows_per_second:,.0f} rows/s)"),
        ]
        return html_table(rows, title="Batch scoring")


@speaks_for_server("fetching the model to score")
def score(
    model_uri: str,
    data: pd.DataFrame | str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    id_columns: list[str] | tuple[str, ...] | None = None,
    chunk_rows: int = 100_000,
    progress: bool | Progress | None = True,
    allow_pickle: bool = False,
    engine: str = "pandas",
    spark: Any = None,
    master: str | None = None,
) -> pd.DataFrame | ScoringResult | Any:
    """Score a table or a CSV/Parquet file with a logged or registered model.

    Args:
        model_uri: ``models:/NAME@alias``, ``models:/NAME/VERSION``, ``runs:/...`` or a path.
        data: A DataFrame, or the path of a ``.csv`` or ``.parquet`` file.
        out: A ``.csv`` or ``.parquet`` file to write (atomically); ``None`` returns the table.
        id_columns: Columns to pass through beside the contract's identifier columns.
        chunk_rows: Rows read, scored and written at a time.
        progress: ``True`` for a progress bar, a callback ``(step, fraction)``, or ``False``.
        allow_pickle: Load a model whose format runs code when loaded (pickle, cloudpickle,
            untrusted skops types); refused otherwise, before a byte of it is deserialised.
            Recorded on the version.
        engine: ``"pandas"`` (this process, in chunks) or ``"spark"``: the same scorer on Spark
            (:mod:`workbench.spark.scoring`); ``data`` may then be a Spark DataFrame, a Parquet
            folder or a table name, and ``out`` is a Parquet folder. ``chunk_rows`` and
            ``progress`` are the pandas engine's.
        spark: An existing SparkSession (a cluster's); ``engine="spark"`` only.
        master: A Spark master URL for a new session (default ``local[*]``).

    Returns:
        Without ``out``, the scored table (identifiers, ``prediction``, ``proba_<label>``; a
        DataFrame input keeps its index; Spark: a lazy Spark DataFrame unless the data was a
        pandas DataFrame); with ``out``, a :class:`ScoringResult`.

    Raises:
        MissingColumnError: a feature the model takes, or a named identifier, is not in the data.
        DataError: a feature holds infinite numbers, or numbers beyond float32's range.
        DataFileError: the data file is missing, of another format, or does not parse.
        ModelNotFoundError: the model cannot be found or loaded.
        UnsafeModelError: the model's format could run code when loaded (``allow_pickle``).
        UsageError: ``chunk_rows`` is not positive, or ``out`` is not a CSV/Parquet path; an
            unknown engine, or (``engine="spark"``) PySpark or Java missing: what to install.
    """
    if int(chunk_rows) < 1:
        raise UsageError(f"chunk_rows must be at least 1, got {chunk_rows}.")
    if engine not in ("pandas", "spark"):
        raise UsageError(f"engine must be 'pandas' or 'spark', got {engine!r}.")
    if engine == "pandas" and (spark is not None or master):
        raise UsageError("spark= and master= say where Spark runs: add engine='spark'.")
    if engine == "spark":
        from workbench.spark.scoring import score_on_spark

        opts = {"out": out, "id_columns": id_columns, "spark": spark, "master": master}
        done = score_on_spark(lambda: _Scorer(model_uri, allow_pickle), data, **opts)
        return done if out is None else ScoringResult(model_uri=model_uri, **done)
    started = time.perf_counter()
    source = _Source(data, int(chunk_rows))
    with gc_paused():  # MLflow's, skops' and scikit-learn's imports, the model's load
        scorer = _Scorer(model_uri, allow_pickle)
    scorer.check_columns(source.columns, source.name)
    ids = scorer.id_columns(source.columns, id_columns)
    writer = _Writer(out, source.path) if out is not None else None
    report = as_progress(progress, desc="scoring")  # once the input is known to be sound
    parts: list[pd.DataFrame] = []
    rows = chunks = 0
    try:
        as_text = [c for c in ids if c not in scorer.features]  # a feature keeps its type
        read = source.chunks(
            [*dict.fromkeys([*ids, *scorer.features])], as_text, text=scorer.text_features
        )
        for chunk, done in read:
            if chunk.empty:
                continue
            check_in_range(chunk, scorer.features, source.name, rest=read)  # counts all rows
            scored = scorer.score(chunk, ids)
            rows += len(scored)
            chunks += 1
            if writer is not None:
                writer.write(scored)
            else:
                parts.append(scored)
            report(f"scored {rows:,} rows", min(done, 0.999))
        if writer is not None:
            writer.commit()
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    report(f"scored {rows:,} rows", 1.0)
    if writer is None:
        if not parts:
            return scorer.empty(ids)
        return pd.concat(parts) if len(parts) > 1 else parts[0]
    return ScoringResult(
        model_uri=model_uri,
        output=str(writer.target),
        rows=rows,
        seconds=round(time.perf_counter() - started, 3),
        chunks=chunks,
        columns=scorer.output_columns(ids),
        id_columns=ids,
    )


# --------------------------------------------------------------------------- the model


class _Scorer:
    """The model loaded once, its contract and signature, and how to score one chunk."""

    def __init__(self, model_uri: str, allow_pickle: bool = False):
        from workbench.serving import PREDICTION, spec_for

        self.model_uri = model_uri
        from workbench.registry import contract_if_any

        self.contract = contract_if_any(model_uri)  # None: a path, or no contract kept
        self.model = _load(model_uri, allow_pickle)
        self.signature = self.model.metadata.signature
        schema = self.signature.inputs if self.signature is not None else None
        if schema is not None and schema.has_input_names():
            self.features = list(schema.input_names())
            kinds = {str(t).split(".")[-1].lower() for t in schema.input_types()}
            # the workbench logs integers and booleans as double: int64 data is cast to it
            self.widen = not kinds & {"long", "integer", "boolean"}
        elif self.contract is not None:
            self.features, self.widen = list(self.contract.features), False
        else:
            raise UsageError(
                f"model {model_uri} has no signature with column names: scoring cannot tell "
                "which columns it takes. Log it with an input example (wb.log_model does)."
            )
        self.text_features = text_columns(self.signature)  # read from a CSV as text
        try:
            self.raw = self.model.get_raw_model()
        except Exception:
            self.raw = None
        self.spec = spec_for(self.raw, self.contract) if self.raw is not None else None
        self.prediction = PREDICTION

    def id_columns(
        self, columns: list[str], wanted: list[str] | tuple[str, ...] | None
    ) -> list[str]:
        """The identifiers to pass through: the contract's found in the data, plus ``wanted``."""
        if isinstance(wanted, str):
            wanted = [wanted]
        absent = [c for c in wanted or () if c not in columns]
        if absent:
            raise MissingColumnError(
                f"identifier column(s) {', '.join(map(repr, absent))} not in the data "
                f"(columns: {', '.join(map(str, columns[:12]))}): check the name."
            )
        declared = self.contract.id_columns if self.contract is not None else []
        ids = [*dict.fromkeys([*(c for c in declared if c in columns), *(wanted or ())])]
        clash = [c for c in ids if c in self.output_columns([])]
        if clash:
            raise UsageError(
                f"identifier column {clash[0]!r} has the name of an output column: rename it."
            )
        return ids

    def check_columns(self, columns: list[str], what: str) -> None:
        """Refuse data without every feature, before anything is read or written."""
        missing = [c for c in self.features if c not in columns]
        if missing:
            raise MissingColumnError(
                f"{what} lacks the feature column(s) {', '.join(map(repr, missing))} that model "
                f"{self.model_uri} takes: add them (leave values empty where unknown)."
            )

    def output_columns(self, ids: list[str]) -> list[str]:
        """Identifiers, ``prediction``, then the probability columns."""
        return [*ids, self.prediction, *(self.spec.columns if self.spec is not None else [])]

    def score(self, chunk: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
        """One chunk scored: identifiers, prediction and probabilities, with the chunk's index."""
        from workbench.data import conform_to_signature
        from workbench.registry import signature_frame
        from workbench.serving import labels_and_probabilities

        x = chunk[self.features]
        categories = [c for c in x.columns if isinstance(x[c].dtype, pd.CategoricalDtype)]
        if categories:  # Parquet written from pandas categories: plain values
            x = x.astype(dict.fromkeys(categories, object))
        if self.widen:
            x = signature_frame(x)
        if self.signature is not None:
            x = conform_to_signature(x, self.signature, allow_extra=True, missing="keep")
        check_in_range(x, None, "a batch of the data")  # Spark; the pandas engine counted
        out = chunk[ids].copy() if ids else pd.DataFrame(index=chunk.index)
        if self.spec is not None:
            labels, proba = labels_and_probabilities(self.raw, x, self.spec)
            out[self.prediction] = labels
            table = self.spec.table(proba)
            for i, name in enumerate(self.spec.columns):
                out[name] = table[:, i]
        else:
            out[self.prediction] = np.asarray(self.model.predict(x)).reshape(len(x), -1)[:, 0]
        return out

    def empty(self, ids: list[str]) -> pd.DataFrame:
        """The scored table of no rows."""
        return pd.DataFrame(columns=self.output_columns(ids))


def _load(model_uri: str, allow_pickle: bool = False):
    """The model as a pyfunc (cached per resolved version), loaded only once its format was
    checked (UnsafeModelError), or ModelNotFoundError."""
    from workbench.errors import WorkbenchError
    from workbench.serving import in_process_model

    try:
        return in_process_model(model_uri, allow_pickle)
    except WorkbenchError:  # refused as unsafe, or not found: its own message
        raise
    except Exception as err:
        raise ModelNotFoundError(
            f"cannot load model {model_uri}: {first_line(err) or type(err).__name__}. Check the "
            "name, version or alias (`workbench history NAME`) or the path."
        ) from err


# --------------------------------------------------------------------------- reading


class _Source:
    """A DataFrame or a CSV/Parquet file, read in chunks of ``chunk_rows``."""

    def __init__(self, data: Any, chunk_rows: int):
        self.chunk_rows = chunk_rows
        self.frame: pd.DataFrame | None = None
        self.path: Path | None = None
        if isinstance(data, pd.DataFrame):
            self.frame = data
            self.name = "the data"
            self.columns = list(data.columns)
            return
        if not isinstance(data, str | os.PathLike):
            raise UsageError(f"data must be a DataFrame or a file path, got {type(data).__name__}.")
        self.path = Path(data).expanduser()
        self.name = str(self.path)
        self.format = _format_of(self.path, "data file")
        if not self.path.is_file():
            raise DataFileError(
                f"data file {self.path} does not exist: give a CSV or Parquet file."
            )
        self.columns = self._header()

    def _header(self) -> list[str]:
        try:
            if self.format == "csv":
                return [str(c) for c in pd.read_csv(self.path, nrows=0).columns]
            import pyarrow.parquet as pq

            return list(pq.ParquetFile(self.path).schema_arrow.names)
        except Exception as err:
            raise _unreadable(self.path, self.format, err) from err

    def chunks(
        self, columns: list[str], ids: list[str], text: list[str] = ()
    ) -> Iterator[tuple[pd.DataFrame, float]]:
        """``(chunk, fraction of the input read)`` with only ``columns``; ``ids`` read from a CSV
        as written: text, or integers when every value is one (:mod:`workbench._core.ids`);
        ``text`` (the model's text features) read from a CSV as text: digit codes stay codes."""
        if self.frame is not None:
            n = len(self.frame)
            for start in range(0, n, self.chunk_rows):
                end = min(n, start + self.chunk_rows)
                yield self.frame.iloc[start:end][columns], end / n
            return
        try:
            if self.format == "csv":
                yield from self._csv(columns, ids, list(text))
            else:
                yield from self._parquet(columns, ids)
        except (DataFileError, MissingColumnError):
            raise
        except (OSError, ValueError, pd.errors.ParserError) as err:
            raise _unreadable(self.path, self.format, err) from err

    def _csv(
        self, columns: list[str], ids: list[str], text: list[str]
    ) -> Iterator[tuple[pd.DataFrame, float]]:
        size, integers = max(1, self.path.stat().st_size), integer_ids(self.path, ids)
        with open(self.path, "rb") as handle:
            reader = pd.read_csv(
                handle,
                usecols=columns,
                chunksize=self.chunk_rows,
                dtype=dict.fromkeys([*ids, *text], str),
                low_memory=False,
            )
            offset = 0
            for chunk in reader:
                chunk.index = pd.RangeIndex(offset, offset + len(chunk))
                offset += len(chunk)
                yield typed_ids(chunk[columns], integers), handle.tell() / size

    def _parquet(self, columns: list[str], ids: list[str]) -> Iterator[tuple[pd.DataFrame, float]]:
        import pyarrow.parquet as pq

        # pre-buffering (pyarrow's default) keeps what it read for the life of the file: memory
        # would grow with the file instead of staying flat
        file = pq.ParquetFile(self.path, pre_buffer=False)
        total = max(1, file.metadata.num_rows)
        offset = 0
        for batch in file.iter_batches(batch_size=self.chunk_rows, columns=columns):
            chunk = batch.to_pandas()
            chunk.index = pd.RangeIndex(offset, offset + len(chunk))
            offset += len(chunk)
            yield chunk, offset / total


def _format_of(path: Path, what: str) -> str:
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        error = DataFileError if what == "data file" else UsageError
        raise error(
            f"{what} {path} has an unsupported format {path.suffix or '(no extension)'!r}: "
            "use .csv or .parquet."
        )
    return found


def _unreadable(path: Path | None, fmt: str, err: BaseException) -> DataFileError:
    if isinstance(err, pd.errors.EmptyDataError):
        return DataFileError(f"{path} is empty: it needs a header row and data rows.")
    return DataFileError(f"{path} does not parse as {fmt}: {first_line(err) or type(err).__name__}")


# --------------------------------------------------------------------------- writing


class _Writer:
    """Chunks appended to a temporary file beside ``out``; renamed onto ``out`` by :meth:`commit`."""

    def __init__(self, out: str | os.PathLike, source: Path | None):
        self.target = Path(out).expanduser()
        self.format = _format_of(self.target, "output file")
        if source is not None and self.target.resolve() == source.resolve():
            raise UsageError(f"out {self.target} is the input file: write the scores elsewhere.")
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.target.with_name(f".{self.target.name}.{os.getpid()}.tmp")
        self.parquet: Any = None
        self.schema: Any = None
        self.handle: Any = None

    def write(self, frame: pd.DataFrame) -> None:
        """Append one scored chunk."""
        if self.format == "csv":
            first = self.handle is None
            if first:
                self.handle = open(self.tmp, "w", newline="")  # noqa: SIM115 - closed in commit
            frame.to_csv(self.handle, header=first, index=False)
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
        if self.parquet is None:
            self.schema = table.schema
            self.parquet = pq.ParquetWriter(self.tmp, self.schema)
        self.parquet.write_table(table)

    def commit(self) -> None:
        """Close the temporary file and rename it onto the target (an empty table if no rows)."""
        self._close()
        if not self.tmp.exists():  # no rows: an empty file with no columns would mislead
            raise DataFileError("the data has no rows: nothing was scored or written.")
        self.tmp.replace(self.target)

    def discard(self) -> None:
        """Close and delete the temporary file: nothing half-written stays behind."""
        try:
            self._close()
        finally:
            self.tmp.unlink(missing_ok=True)

    def _close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        if self.parquet is not None:
            self.parquet.close()
            self.parquet = None
