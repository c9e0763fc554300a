"""Helpers the built-in checks share: which inputs are numeric or text, a guarded prediction, and
the one comparison of two sets of predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench._core.text import first_line
from workbench.checks.context import CheckContext

#: The value put in a text column to stand for a category training never saw.
UNSEEN = "__unseen_category__"


def numeric_columns(context: CheckContext) -> list[str]:
    """Float inputs (by the signature and by the eval data's dtype)."""
    types = context.input_types()
    x = context.x
    return [
        c
        for c in x.columns
        if types.get(c) in ("double", "float") and pd.api.types.is_float_dtype(x[c].dtype)
    ]


def text_columns(context: CheckContext) -> list[str]:
    """Text inputs (``string`` in the signature) present in the eval data."""
    return [c for c, kind in context.input_types().items() if kind == "string" and c in context.x]


def predict_error(context: CheckContext, x: pd.DataFrame) -> str | None:
    """Why predicting ``x`` fails (or yields NaN/infinity), or None when it works."""
    try:
        pred = context.predict(x)
    except Exception as err:
        return f"{type(err).__name__}: {first_line(err, 200)}"
    if pred.dtype.kind == "f" and not np.all(np.isfinite(pred)):
        return "the predictions hold NaN or infinity"
    return None


def same_predictions(a, b, rtol: float = 0.0, atol: float = 0.0) -> np.ndarray:
    """Per row, whether predictions ``a`` and ``b`` agree.

    Numbers agree when equal (within ``rtol``, relative, and ``atol``, absolute, when given),
    missing values agree with missing values; labels of different types are compared as text. Different shapes agree nowhere.

    Example:
        >>> same_predictions([1.0, float("nan"), 3.0], [1.0, float("nan"), 4.0]).tolist()
        [True, True, False]
        >>> same_predictions(["0", "1"], [0, 1]).tolist()
        [True, True]
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return np.zeros(max(len(a), len(b)), dtype=bool)
    if not len(a):
        return np.ones(0, dtype=bool)
    if _is_number(a) and _is_number(b):
        agree = np.isclose(a.astype(float), b.astype(float), rtol=rtol, atol=atol, equal_nan=True)
    elif a.dtype != b.dtype:
        agree = a.astype(str) == b.astype(str)
    else:
        agree = a == b
    return np.asarray(agree).reshape(len(a), -1).all(axis=1)


def _is_number(values: np.ndarray) -> bool:
    return np.issubdtype(values.dtype, np.number) and values.dtype.kind != "c"
