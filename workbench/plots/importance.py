"""Permutation feature importance: how much the model's score drops when one input column is
shuffled (scikit-learn's ``permutation_importance``, on a bounded, seeded sample of rows).

Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"column": ["a", "b"], "importance": [0.2, 0.01], "std": [0.02, 0.0]})
    >>> list(importance_bars(frame).data[0].y)
    ['b', 'a']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import DataError, ModelError
from workbench.plots._common import PALETTE, column, same_length, style, text

__all__ = ["importance_bars", "permutation_importance"]


def permutation_importance(
    model: Any,
    x: pd.DataFrame,
    y: Any,
    *,
    n_repeats: int = 3,
    max_rows: int = 500,
    seed: int = 0,
    scoring: Any = None,
) -> pd.DataFrame:
    """The mean drop of ``model``'s score (and its spread) when each column of ``x`` is shuffled.

    By default every shuffled copy of the sample is scored in one batch (one call of the
    model's ``predict``: the same statistic as scikit-learn's ``permutation_importance`` with
    the model's own score, at a fraction of the cost for a pipeline); with ``scoring``,
    scikit-learn's ``permutation_importance`` itself runs.

    Args:
        model: A fitted estimator or pipeline that takes ``x``.
        x: Held-out input columns (not the training rows).
        y: Their labels.
        n_repeats: Shuffles per column (bounded to 1..20).
        max_rows: At most this many rows, a seeded sample (bounded to 50..20,000).
        seed: Seed of the sample and the shuffles.
        scoring: A scikit-learn scorer name; default the model's own score (accuracy for a
            classifier, R² for a regressor).

    Returns:
        ``column``, ``importance``, ``std``, most important first.

    Raises:
        DataError: ``x`` is empty or not a table, ``y`` has missing values or another length.
        ModelError: the model fails to score the rows.
    """
    from sklearn.inspection import permutation_importance as sk_permutation_importance

    if not isinstance(x, pd.DataFrame) or x.shape[1] == 0:
        raise DataError("x must be a table (pandas DataFrame) with at least one column.")
    target = column(y, "y")
    same_length(x=np.arange(len(x)), y=target)
    n_repeats = int(min(max(n_repeats, 1), 20))
    max_rows = int(min(max(max_rows, 50), 20_000))
    if len(x) > max_rows:
        rows = np.random.default_rng(seed).choice(len(x), size=max_rows, replace=False)
        rows.sort()
        x, target = x.iloc[rows], target[rows]
    try:
        if scoring is None:
            mean, std = _batched(model, x, target, n_repeats, seed)
        else:
            found = sk_permutation_importance(
                model, x, target, n_repeats=n_repeats, random_state=seed, scoring=scoring, n_jobs=1
            )
            mean, std = found.importances_mean, found.importances_std
    except Exception as err:
        raise ModelError(
            f"permutation importance failed: {type(err).__name__}: {err}. The model must take "
            "the columns of x and score against y."
        ) from err
    frame = pd.DataFrame(
        {
            "column": [str(c) for c in x.columns],
            "importance": mean,
            "std": std,
        }
    )
    return frame.sort_values("importance", ascending=False, ignore_index=True)


def _batched(
    model: Any, x: pd.DataFrame, y: np.ndarray, n_repeats: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Score drops of ``n_repeats`` shuffles of each column, all copies predicted at once."""
    from sklearn.base import is_classifier
    from sklearn.metrics import accuracy_score, r2_score

    score = accuracy_score if is_classifier(model) else r2_score
    rng = np.random.default_rng(seed)
    n = len(x)
    copies = [x]
    for name in x.columns:
        for _ in range(n_repeats):
            shuffled = x.copy()
            shuffled[name] = x[name].iloc[rng.permutation(n)].set_axis(x.index)  # keeps dtype
            copies.append(shuffled)
    pred = np.asarray(model.predict(pd.concat(copies, ignore_index=True)))
    if not is_classifier(model):
        pred = pred.astype(float)
    base = score(y, pred[:n])
    drops = np.array([base - score(y, pred[i * n : (i + 1) * n]) for i in range(1, len(copies))])
    drops = drops.reshape(x.shape[1], n_repeats)
    return drops.mean(axis=1), drops.std(axis=1)


def importance_bars(frame: pd.DataFrame, score: str = "score", top: int = 20) -> Any:
    """Horizontal bars of :func:`permutation_importance`'s table, most important on top, with
    the spread over the shuffles as error bars.

    Args:
        frame: ``column``, ``importance`` and (optionally) ``std``.
        score: What dropped (``accuracy``, ``R²``...), for the axis title.
        top: At most this many columns.

    Raises:
        DataError: the table is empty or lacks a column.
    """
    import plotly.graph_objects as go

    missing = [c for c in ("column", "importance") if c not in frame]
    if missing:
        raise DataError(f"the importance table lacks column(s) {', '.join(missing)}.")
    if frame.empty:
        raise DataError("the importance table is empty: there is nothing to draw.")
    shown = frame.sort_values("importance", ascending=False).head(top).iloc[::-1]
    error = shown["std"].to_numpy() if "std" in shown else None
    fig = go.Figure(
        go.Bar(
            x=shown["importance"].to_numpy(), y=[text(c) for c in shown["column"]],
            orientation="h", marker={"color": PALETTE[0]}, name="mean drop",
            error_x=None if error is None else {"type": "data", "array": error, "visible": True},
            hovertemplate="%{y}: %{x:.4f}<extra></extra>",
        )
    )  # fmt: skip
    title = "Permutation feature importance"
    style(fig, title, f"Drop in {score} when the column is shuffled", "", 140 + 24 * len(shown))
    fig.update_layout(showlegend=False, margin={"l": 140})
    return fig
