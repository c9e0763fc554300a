"""What a version remembers about its training data, and what it predicted when it was logged.

:func:`training_profile` is a compact, JSON-ready summary of the training table (per column: kind,
missing share, min/max or the categories seen). :func:`reference_predictions` keeps a few rows and the
model's own predictions on them, so that a reload from the registry can be compared exactly.
``log_model`` stores both with the run (``profile.json``, ``reference.json``); the data-quality and
reload checks read them back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "PROFILE_FILE",
    "REFERENCE_FILE",
    "duplicate_patterns",
    "reference_predictions",
    "training_profile",
]

from workbench._core.names import ARTIFACT
from workbench._core.results import plain as _plain

PROFILE_FILE = ARTIFACT.PROFILE
REFERENCE_FILE = ARTIFACT.REFERENCE
_MAX_CATEGORIES = 200
_REFERENCE_ROWS = 200
_TOP_VALUES = 10


def training_profile(frame: pd.DataFrame) -> dict[str, Any]:
    """A compact profile of ``frame``: rows, and per column its kind, missing share and range.

    Numeric columns keep ``min``, ``max`` and ``std``; text columns keep their categories (up to 200,
    else only their count). Every column but dates keeps ``count`` (its non-missing values) and
    ``top``: its 10 most common values with their counts (``top_complete``: those are all its
    values); text columns keep ``counts`` per category (up to 200) and ``singletons`` (categories
    seen once). ``duplicate_patterns`` says how often rows repeat: ``{"k": rows seen k times}``
    for k >= 2. The data-quality check judges constant columns, unseen categories and duplicate
    rows in the eval data against these. It takes a few milliseconds for thousands of rows.

    Example:
        >>> import pandas as pd
        >>> p = training_profile(pd.DataFrame({"a": [1.0, None, 3.0], "b": ["x", "y", "x"]}))
        >>> p["columns"]["a"]["max"], sorted(p["columns"]["b"]["categories"])
        (3.0, ['x', 'y'])
        >>> p["columns"]["b"]["top"], p["columns"]["b"]["counts"], p["duplicate_patterns"]
        ([['x', 2], ['y', 1]], {'x': 2, 'y': 1}, {})
    """
    columns: dict[str, dict[str, Any]] = {}
    rows = len(frame)
    for name in frame.columns:
        col = frame[name]
        missing = float(col.isna().mean()) if rows else 0.0
        entry: dict[str, Any] = {"dtype": str(col.dtype), "missing": round(missing, 6)}
        if pd.api.types.is_bool_dtype(col.dtype):
            entry["kind"] = "boolean"
            entry.update(_frequencies(col.dropna()))
        elif pd.api.types.is_numeric_dtype(col.dtype):
            values = col.to_numpy(dtype="float64", na_value=np.nan)
            finite = values[np.isfinite(values)]
            entry["kind"] = "numeric"
            if len(finite):
                entry.update(
                    min=float(finite.min()),
                    max=float(finite.max()),
                    std=float(finite.std()),
                    distinct=int(min(len(np.unique(finite[:5000])), 1_000_000)),
                )
            entry.update(_frequencies(pd.Series(finite)))
        elif pd.api.types.is_datetime64_any_dtype(col.dtype):
            entry["kind"] = "datetime"
        else:
            entry["kind"] = "categorical"
            text = col.dropna().astype(str)
            counts = text.value_counts()
            entry["distinct"] = int(len(counts))
            if len(counts) <= _MAX_CATEGORIES:
                entry["categories"] = sorted(counts.index.tolist())
                entry["counts"] = {str(k): int(v) for k, v in sorted(counts.items())}
            entry["singletons"] = int((counts == 1).sum())
            entry.update(_frequencies(text, counts))
        columns[str(name)] = entry
    # None: the rows could not be compared (the check then uses a fixed share of duplicates)
    return {"rows": rows, "columns": columns, "duplicate_patterns": duplicate_patterns(frame)}


def duplicate_patterns(frame: pd.DataFrame) -> dict[str, int] | None:
    """How often rows of ``frame`` repeat: ``{"k": number of distinct rows seen k times}`` for
    every k >= 2 (rows equal as :meth:`pandas.DataFrame.duplicated` sees them: missing values
    equal each other). ``None`` when the rows cannot be compared.

    Example:
        >>> duplicate_patterns(pd.DataFrame({"a": [1, 1, 2, 2, 2, 3], "b": ["x"] * 6}))
        {'2': 1, '3': 1}
    """
    if not len(frame.columns) or not len(frame):
        return {}
    try:
        codes = pd.DataFrame(
            {
                i: pd.factorize(frame.iloc[:, i], use_na_sentinel=True)[0]
                for i in range(frame.shape[1])
            }
        )
        sizes = pd.util.hash_pandas_object(codes, index=False).value_counts()
    except (TypeError, ValueError):
        return None
    repeated = sizes[sizes > 1].value_counts()
    return {str(int(k)): int(v) for k, v in sorted(repeated.items())}


def _frequencies(values: pd.Series, counts: pd.Series | None = None) -> dict[str, Any]:
    """``count``, ``top`` (the most common values with their counts) and ``top_complete``."""
    counts = values.value_counts() if counts is None else counts
    top = counts.head(_TOP_VALUES)
    return {
        "count": int(counts.sum()),
        "top": [[_plain(v), int(c)] for v, c in top.items()],
        "top_complete": bool(len(counts) <= _TOP_VALUES),
    }


def reference_predictions(
    model: Any, frames: list[pd.DataFrame], predictions: Any = None
) -> dict[str, Any]:
    """Rows (the input example, then up to 200 eval rows) and ``model``'s predictions on them
    (``predictions``: the model's predictions on ``frames``' rows, in order, when made already).

    Values are plain Python numbers and strings, so JSON keeps every float exactly.
    """
    rows = pd.concat([f for f in frames if len(f)], ignore_index=True).head(_REFERENCE_ROWS + 5)
    if predictions is not None and len(predictions) >= len(rows):
        pred = np.asarray(predictions)[: len(rows)]
    else:
        pred = np.asarray(model.predict(rows))
    return {
        "columns": [str(c) for c in rows.columns],
        "dtypes": [str(t) for t in rows.dtypes],
        "rows": [[_plain(v) for v in row] for row in rows.itertuples(index=False, name=None)],
        "predictions": [_plain(v) for v in pred.ravel().tolist()],
    }


def reference_frame(reference: dict[str, Any]) -> pd.DataFrame:
    """The rows of a :func:`reference_predictions` record as a DataFrame with their dtypes."""
    frame = pd.DataFrame(reference["rows"], columns=reference["columns"])
    for name, dtype in zip(reference["columns"], reference.get("dtypes", []), strict=False):
        try:
            if dtype.startswith("datetime"):
                frame[name] = pd.to_datetime(frame[name])
            elif dtype != "object":
                frame[name] = frame[name].astype(dtype)
        except (TypeError, ValueError):
            pass
    return frame
