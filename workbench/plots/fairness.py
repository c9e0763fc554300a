"""Fairness by slice: a metric per slice of each protected attribute as bars, the candidate
beside the champion, with the limit drawn where the worst slice may fall (the best slice minus
the allowed gap; for an error such as MAE, the best plus the gap times the overall error).

Example:
    >>> import pandas as pd
    >>> table = pd.DataFrame({"attribute": "age", "slice": ["young", "old"], "recall": [0.8, 0.7]})
    >>> fig = fairness_bars(table, "recall", max_gap=0.25)
    >>> round(fig.layout.shapes[0].y0, 2)
    0.55
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import DataError
from workbench.plots._common import LIMIT_COLOUR, PALETTE, style, text

__all__ = ["LOWER_IS_BETTER", "fairness_bars", "fairness_limit"]

#: Metrics where a smaller value is better: the limit is a ceiling above the best slice.
LOWER_IS_BETTER = frozenset({"mae", "rmse"})


def fairness_limit(values: Any, metric: str, max_gap: float, overall: float | None = None) -> float:
    """Where the worst slice may fall: best minus ``max_gap`` (best plus ``max_gap`` times
    ``overall`` for an error metric, whose gap is relative to the overall error).

    Raises:
        DataError: no slice has a value.
    """
    known = np.asarray(values, dtype=float)
    known = known[np.isfinite(known)]
    if not len(known):
        raise DataError(f"no slice has a {metric} value: there is no limit to draw.")
    if metric in LOWER_IS_BETTER:
        scale = overall if overall else 1.0
        return float(known.min() + max_gap * scale)
    return float(known.max() - max_gap)


def fairness_bars(
    table: pd.DataFrame,
    metric: str,
    max_gap: float,
    *,
    champion: str | None = None,
    overall: float | None = None,
    candidate_name: str = "candidate",
    champion_name: str = "champion",
) -> Any:
    """Bars of ``metric`` per slice, one panel per protected attribute, and the limit line.

    Args:
        table: One row per slice: ``attribute``, ``slice``, the ``metric`` column, optionally
            ``rows`` and ``judged`` (slices too small to judge are drawn pale and do not set the
            limit).
        metric: The column holding the candidate's metric.
        max_gap: The largest allowed gap between the best and the worst slice (the policy's).
        champion: A column of ``table`` holding the champion's metric per slice, drawn beside.
        overall: The overall value (MAE's gap is relative to it).
        candidate_name: Legend of the candidate's bars (``candidate v4``).
        champion_name: Legend of the champion's bars (``@champion v3``).

    Raises:
        DataError: the table is empty or lacks a column, or ``max_gap`` is not a number.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    needed = ["attribute", "slice", metric] + ([champion] if champion else [])
    missing = [c for c in needed if c not in table]
    if missing:
        raise DataError(f"the slice table lacks column(s) {', '.join(map(repr, missing))}.")
    if table.empty:
        raise DataError("the slice table is empty: there are no slices to draw.")
    try:
        max_gap = float(max_gap)
    except (TypeError, ValueError) as err:
        raise DataError(f"max_gap must be a number, got {max_gap!r}.") from err
    attributes = list(dict.fromkeys(table["attribute"].astype(str)))
    titles = [text(a) for a in attributes]
    fig = make_subplots(rows=1, cols=len(attributes), subplot_titles=titles, shared_yaxes=True)
    for i, attribute in enumerate(attributes, start=1):
        rows = table[table["attribute"].astype(str) == attribute]
        judged = rows["judged"].astype(bool) if "judged" in rows else pd.Series(True, rows.index)
        slices = [text(s) for s in rows["slice"]]
        counts = rows["rows"].tolist() if "rows" in rows else [None] * len(rows)
        hover = [
            f"{s}: %{{y:.3f}} ({n} rows)" if n is not None else f"{s}: %{{y:.3f}}"
            for s, n in zip(slices, counts, strict=True)
        ]
        series = [(metric, candidate_name, PALETTE[0])]
        if champion:
            series.append((champion, champion_name, PALETTE[1]))
        for column_name, legend, colour in series:
            fig.add_trace(
                go.Bar(
                    x=slices, y=rows[column_name].astype(float).to_numpy(), name=text(legend),
                    marker={"color": colour, "opacity": [1.0 if j else 0.35 for j in judged]},
                    hovertemplate=[h + "<extra>" + text(legend) + "</extra>" for h in hover],
                    legendgroup=legend, showlegend=i == 1, offsetgroup=legend,
                ),
                row=1, col=i,
            )  # fmt: skip
        values = rows.loc[judged, metric] if judged.any() else rows[metric]
        limit = fairness_limit(values, metric, max_gap, overall)
        fig.add_hline(
            y=limit, row=1, col=i, line={"color": LIMIT_COLOUR, "dash": "dash", "width": 2},
            annotation_text=f"limit {limit:.3f}", annotation_position="top left",
            annotation_bgcolor="rgba(255,255,255,0.85)",
            annotation_font_color=LIMIT_COLOUR,
        )  # fmt: skip
    relative = metric in LOWER_IS_BETTER  # an error's gap is relative to the overall error
    how = "best slice + gap x overall" if relative else "best slice - gap"
    kind = "relative" if relative else "absolute"
    style(fig, f"{metric} by slice (allowed {kind} gap {max_gap:g}: limit = {how})", "", metric)
    fig.update_layout(barmode="group")
    return fig
