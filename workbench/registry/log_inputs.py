"""What ``log_model`` checks of its input before anything is logged: a fitted estimator, ``(X, y)``
pairs with rows, and eval columns that are the training columns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import (
    DataError,
    MissingColumnError,
    ModelError,
    NotFittedError,
    SchemaMismatchError,
)

__all__ = ["XY", "as_xy", "check_fitted", "check_same_columns"]

#: Features and labels.
XY = tuple[pd.DataFrame, pd.Series]


def check_fitted(model: Any) -> None:
    """Refuse an object without ``predict`` or an estimator not fitted yet."""
    from sklearn.exceptions import NotFittedError as SkNotFitted
    from sklearn.utils.validation import check_is_fitted

    if not hasattr(model, "predict"):
        raise ModelError(
            f"{type(model).__name__} has no predict method: log a scikit-learn estimator or Pipeline."
        )
    try:
        check_is_fitted(model)
    except SkNotFitted as err:
        raise NotFittedError(
            f"{type(model).__name__} is not fitted: call model.fit(X, y) before logging it."
        ) from err
    except TypeError as err:
        raise ModelError(
            f"{type(model).__name__} is not a scikit-learn estimator ({err}): wrap it in one."
        ) from err


def as_xy(data: Any, label: str) -> XY:
    """``(X, y)`` from ``(frame, y)`` or ``(frame, target column name)``, refusing empty or
    mismatched data."""
    if not isinstance(data, tuple) or len(data) != 2:
        raise DataError(f"{label} must be a tuple (X, y) or (frame, target_column_name).")
    x, y = data
    if isinstance(x, np.ndarray):
        x = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
    if not isinstance(x, pd.DataFrame):
        raise DataError(f"{label} X must be a pandas DataFrame, got {type(x).__name__}.")
    if isinstance(y, str):
        if y not in x.columns:
            raise MissingColumnError(
                f"target column {y!r} is not in the {label} data (columns: "
                f"{', '.join(map(str, x.columns[:12]))}): name the column that holds the labels."
            )
        x, y = x.drop(columns=y), x[y]
    if len(x) == 0:
        raise DataError(f"the {label} data has no rows: give at least one row to evaluate on.")
    y = pd.Series(np.asarray(y), index=x.index, name=getattr(y, "name", None) or "target")
    if len(y) != len(x):
        raise DataError(f"{label} X has {len(x)} rows but y has {len(y)}: they must match.")
    return x, y


def check_same_columns(x_train: pd.DataFrame, x_eval: pd.DataFrame) -> None:
    """Refuse eval data whose columns are not the training columns."""
    missing = [c for c in x_train.columns if c not in x_eval.columns]
    extra = [c for c in x_eval.columns if c not in x_train.columns]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing from eval: {', '.join(map(str, missing))}")
        if extra:
            parts.append(f"only in eval: {', '.join(map(str, extra))}")
        raise SchemaMismatchError(
            f"eval columns differ from train ({'; '.join(parts)}): "
            "evaluate on data with the columns the model was trained on."
        )
