"""Which rows a table shares with the training data, without keeping the training data.

A version keeps the hashes of a sample of its training rows (:func:`row_hashes`); monitoring hashes
the reference table it is given the same way and measures the share of those training rows it
holds (:func:`overlap`). Predictions on rows a model was trained on are no reference for its
predictions on new rows: a reference that is (mostly) the training table is then compared with the
model's predictions on held-out rows instead.

Values are hashed as the signature sees them (numbers as float64, anything else as text), so a CSV
read back with integers, or a Parquet file with floats, hashes alike.

Example:
    >>> import pandas as pd
    >>> train = pd.DataFrame({"a": [1, 2, 3, 4], "b": ["x", "y", "x", "z"]})
    >>> kept = row_hashes(train)
    >>> overlap(kept, train.astype({"a": float})), overlap(kept, train.assign(a=[9, 9, 9, 9]))
    (1.0, 0.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SAMPLE", "found", "hashed_columns", "overlap", "row_hashes"]

#: Training rows whose hashes a version keeps (about 40 KB).
SAMPLE = 2000


def row_hashes(frame: pd.DataFrame, sample: int = SAMPLE, seed: int = 0) -> dict[str, Any]:
    """``{"columns": [...], "hashes": [...]}``: the hashes of up to ``sample`` rows of ``frame``
    (a uniform sample), 16 hex digits each."""
    columns = sorted(str(c) for c in frame.columns)
    rows = frame if len(frame) <= sample else frame.sample(sample, random_state=seed)
    return {"columns": columns, "hashes": sorted(set(_hashes(rows, columns)))}


def overlap(kept: dict[str, Any] | None, frame: pd.DataFrame) -> float | None:
    """The share of the kept training rows that ``frame`` holds (None: nothing kept, or ``frame``
    lacks the columns they were hashed on)."""
    columns = hashed_columns(kept, frame.columns)
    if kept is None or columns is None:
        return None
    return len(found(kept, frame, columns)) / len(kept["hashes"])


def hashed_columns(kept: dict[str, Any] | None, names: Any) -> dict[str, Any] | None:
    """``{hashed column: frame column}`` for the columns the kept rows were hashed on (the frame's
    columns ``names`` matched as text); None: nothing kept, or a column is missing."""
    if not kept or not kept.get("hashes"):
        return None
    columns = [str(c) for c in kept.get("columns", [])]
    named = {str(c): c for c in names}
    if not columns or any(c not in named for c in columns):
        return None
    return {c: named[c] for c in columns}


def found(kept: dict[str, Any], frame: pd.DataFrame, columns: dict[str, Any]) -> set[str]:
    """The kept hashes that the rows of ``frame`` (a whole table, or one part of it: the Spark
    engine hashes each partition where it lives) hash to; ``columns`` from
    :func:`hashed_columns`."""
    table = frame[list(columns.values())].set_axis(list(columns), axis=1)
    return set(_hashes(table, list(columns))) & set(kept["hashes"])


def _hashes(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    table = pd.DataFrame(index=range(len(frame)))
    for name in columns:
        col = frame[name].reset_index(drop=True)
        if pd.api.types.is_bool_dtype(col.dtype) or not pd.api.types.is_numeric_dtype(col.dtype):
            table[name] = col.astype("string").fillna("<NA>")
        else:
            table[name] = col.astype("float64")
    values = pd.util.hash_pandas_object(table, index=False).to_numpy(dtype=np.uint64)
    return [f"{v:016x}" for v in values]
