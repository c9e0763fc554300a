"""What the plot modules share: input checks that name the argument, and one look."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import DataError
from workbench.plots.theme import themed

#: Candidate, champion, then more series; the limit line is red.
PALETTE = ["#0969da", "#8c959f", "#8250df", "#bf8700", "#1b7c83", "#bc4c00"]
LIMIT_COLOUR = "#cf222e"
FONT = {"family": "Liberation Sans, Arial, sans-serif", "size": 12}


def column(values: Any, what: str, numeric: bool = False) -> np.ndarray:
    """``values`` as a 1-D array; empty, 2-D or (for ``numeric``) NaN or non-numbers refused.

    Raises:
        DataError: naming ``what`` and what to do.
    """
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise DataError(f"{what} must be one column, got {values.shape[1]} columns.")
        values = values.iloc[:, 0]
    array = np.asarray(values)
    if array.ndim != 1:
        raise DataError(
            f"{what} must be one column of values, got an array of shape {array.shape}."
        )
    if len(array) == 0:
        raise DataError(f"{what} is empty: a plot needs at least one row.")
    if numeric:
        try:
            array = array.astype(float)
        except (TypeError, ValueError) as err:
            raise DataError(f"{what} must be numbers: {err}.") from err
        bad = int(np.sum(~np.isfinite(array)))
        if bad:
            raise DataError(
                f"{what} has {bad} missing or infinite values: drop those rows before plotting."
            )
    elif pd.isna(array).any():
        raise DataError(
            f"{what} has {int(pd.isna(array).sum())} missing values: drop those rows before "
            "plotting."
        )
    return array


def text(value: Any) -> str:
    """``value`` as text plotly draws literally: its label markup (``<a href>``, ``<span
    style>``, ``<b>``) escaped, so a column name or a category from data cannot add a link,
    a style that fetches a URL, or markup. Plotly decodes the entities: ``a<b`` shows as is.

    Example:
        >>> text('<a href="https://x">y</a> & z')
        '&lt;a href="https://x"&gt;y&lt;/a&gt; &amp; z'
    """
    return html.escape(str(value), quote=False)


def same_length(**arrays: np.ndarray) -> None:
    """Refuse arrays of different lengths, naming them."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name} {n}" for name, n in lengths.items())
        raise DataError(f"the inputs have different lengths ({shown}): pass one value per row.")


def style(fig: Any, title: str, x: str, y: str, height: int = 360) -> Any:
    """The workbench's look: transparent (the page's theme shows through), a title, axis
    names, a legend under the plot."""
    fig.update_layout(
        title={"text": title, "x": 0.01},
        xaxis_title=x,
        yaxis_title=y,
        template="plotly_white",
        font=FONT,
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0},
    )
    return themed(fig)
