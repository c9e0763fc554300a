"""Stage-4 plots (plotly): the drift heatmap (columns by monitoring runs) and the history lines
(drifted share over the runs; estimated and measured performance, the estimate's interval as a
band).

The functions take plain tables (pandas), not workbench results, so any layer may draw with them;
:class:`~workbench.monitoring.history.MonitoringHistory` builds the tables from its runs.
``figure_bundle`` turns a figure into a display bundle that JupyterLab and Voila draw with the
plotly extension, without putting plotly.js (3.5 MB) into every notebook output.

Example:
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"run 1": [0.02, 0.4]}, index=["age", "income"])
    >>> fig = drift_heatmap(scores, scores > 0.1)
    >>> fig.data[0].type, list(fig.data[0].y)
    ('heatmap', ['age', 'income'])
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from workbench.plots._common import text
from workbench.plots.theme import themed

__all__ = ["STATUS_COLOURS", "VERSION_COLOUR", "drift_heatmap", "figure_bundle", "history_lines"]

#: Colour of a run's status: drift red, ok green, invalid data grey.
STATUS_COLOURS = {"drift": "#cf222e", "ok": "#1a7f37", "invalid": "#8c959f"}
#: The dashed line where the live version changed.
VERSION_COLOUR = "#8250df"
_PALETTE = ["#0969da", "#8250df", "#bf8700", "#1b7c83", "#bc4c00", "#6e7781"]
_MAX_TEXT_RUNS = 20  # scores written in the cells up to this many runs (hover beyond)
_FONT = {"family": "Liberation Sans, Arial, sans-serif", "size": 12}


def drift_heatmap(
    scores: pd.DataFrame,
    drifted: pd.DataFrame,
    title: str = "Drift by column and run",
    hover: list[str] | None = None,
    invalid: list[bool] | None = None,
    marks: list[tuple[float, str]] | None = None,
) -> Any:
    """Columns (rows) by monitoring runs (columns): red where the column drifted, green where it
    was tested and did not, blank where it was not tested (invalid data, a column not there then).
    Each cell carries the drift score as text (up to 20 runs; on hover always).

    Args:
        scores: The per-column drift score, one column per run (its label), one row per data
            column; NaN where the column was not tested.
        drifted: Same shape: True where the workbench's verdict was drift.
        title: The figure's title (drawn as plain text, like every name here).
        hover: One extra line per run for the hover text (the data's name, the version).
        invalid: One flag per run: invalid data (drawn as a grey column, no verdict).
        marks: Version changes, ``(position, "v7 -> v8")``: a dashed line between two runs.

    Returns:
        A ``plotly.graph_objects.Figure``.
    """
    import plotly.graph_objects as go

    runs = [text(c) for c in scores.columns]
    columns = [text(i) for i in scores.index]
    hover = [text(h) for h in hover] if hover else [""] * len(runs)
    invalid = invalid or [False] * len(runs)
    z, cells, tips = [], [], []
    for col, name in zip(scores.index, columns, strict=True):
        zrow, trow, hrow = [], [], []
        for j, run in enumerate(scores.columns):
            score = scores.at[col, run]
            tested = score is not None and not (isinstance(score, float) and math.isnan(score))
            hit = bool(drifted.at[col, run]) if tested and col in drifted.index else False
            zrow.append((1.0 if hit else 0.0) if tested else None)
            trow.append(f"{score:.2g}" if tested else "")
            verdict = "drift" if hit else ("no drift" if tested else "not tested")
            if invalid[j]:
                verdict = "invalid data: no verdict"
            score_text = f"score {score:.3g}" if tested else ""
            hrow.append(f"{name} / {runs[j]}<br>{verdict} {score_text}<br>{hover[j]}")
        z.append(zrow)
        cells.append(trow)
        tips.append(hrow)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(len(runs))),
            y=columns,
            text=cells,
            texttemplate="%{text}" if len(runs) <= _MAX_TEXT_RUNS else None,
            hovertext=tips,
            hoverinfo="text",
            zmin=0,
            zmax=1,
            colorscale=[[0, "#dafbe1"], [0.5, "#dafbe1"], [0.5, "#ffcecb"], [1, "#ffcecb"]],
            showscale=False,
            xgap=2,
            ygap=2,
        )
    )
    for j, bad in enumerate(invalid):
        if bad:
            fig.add_vrect(
                x0=j - 0.5, x1=j + 0.5, fillcolor=STATUS_COLOURS["invalid"], opacity=0.35,
                line_width=0, annotation_text="invalid", annotation_position="top",
            )  # fmt: skip
    top = 75 if marks else 50
    end_mark = any(pos > len(runs) - 1 for pos, _ in marks or [])  # drawn just right of the cells
    fig.update_layout(
        title=text(title),
        font=_FONT,
        height=max(220, top + 10 + 26 * len(columns)),
        margin={"l": 10, "r": 10, "t": top, "b": 10},
    )
    fig.update_xaxes(
        tickmode="array", tickvals=list(range(len(runs))), ticktext=runs, side="bottom",
        automargin=True, range=[-0.5, len(runs) - (0.4 if end_mark else 0.5)] if runs else None,
    )  # fmt: skip
    fig.update_yaxes(automargin=True, autorange="reversed")
    _mark_versions(fig, marks, len(runs), label_y=(1, "paper"))
    themed(fig).update_xaxes(showgrid=False, zeroline=False)
    return fig.update_yaxes(showgrid=False, zeroline=False)


def history_lines(
    frame: pd.DataFrame,
    labels: list[str] | None = None,
    title: str = "Monitoring history",
    marks: list[tuple[float, str]] | None = None,
) -> Any:
    """Small multiples over the runs: the drifted share (markers coloured by status; none on
    invalid data) on top, then one panel per metric: its estimate (``est.<metric>``, a line,
    with its interval ``est.<metric>.low``/``.high`` as a band) and its measurement when labels
    came (``perf.<metric>``, diamonds), so that each estimate is read against its own
    measurement, not against eight other lines.

    Args:
        frame: One row per run with ``status``, ``drifted_share`` and any ``est.*``/``perf.*``.
        labels: The x-axis label of each run (default: its position).
        title: The figure's title (drawn as plain text).
        marks: Version changes, ``(position, "v7 -> v8")``: a dashed line across every panel.

    Returns:
        A ``plotly.graph_objects.Figure`` (one panel, plus one per metric).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    labels = [text(v) for v in labels] if labels else [str(i + 1) for i in range(len(frame))]
    x = list(range(len(frame)))
    metrics = performance_metrics(frame)
    rows = 1 + len(metrics)
    fig = make_subplots(
        rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.3 / rows,
        row_heights=[1.4] + [1.0] * len(metrics),
        subplot_titles=["drifted share of tested columns"] + [text(m) for m in metrics],
    )  # fmt: skip
    status = list(frame["status"]) if "status" in frame else [""] * len(frame)
    share = list(frame["drifted_share"]) if "drifted_share" in frame else [None] * len(frame)
    share = [None if s == "invalid" else v for s, v in zip(status, share, strict=True)]
    fig.add_trace(
        go.Scatter(
            x=x, y=share, mode="lines+markers", name="drifted share", connectgaps=True,
            line={"color": "#57606a", "width": 1},
            marker={"size": 10, "color": [STATUS_COLOURS.get(s, "#57606a") for s in status]},
            hovertext=[f"{lab}: {text(s)}" for lab, s in zip(labels, status, strict=True)],
        ),
        row=1, col=1,
    )  # fmt: skip
    est_colour, perf_colour = _PALETTE[0], _PALETTE[4]
    for i, metric in enumerate(metrics):
        row, shown = i + 2, text(metric)
        est, low, high = (f"est.{metric}", *_band_columns(frame, metric))
        if low and high:  # over the runs that have an interval (a gap would drop the band)
            lows, highs = list(frame[low]), list(frame[high])
            both = [j for j in x if pd.notna(lows[j]) and pd.notna(highs[j])]
            fig.add_trace(
                go.Scatter(
                    x=both + both[::-1],
                    y=[highs[j] for j in both] + [lows[j] for j in both[::-1]],
                    fill="toself", fillcolor=_rgba(est_colour, 0.18), line={"width": 0},
                    mode="lines",
                    hoverinfo="skip", name=f"{shown} interval", showlegend=False,
                ),
                row=row, col=1,
            )  # fmt: skip
        if est in frame:
            fig.add_trace(
                go.Scatter(
                    x=x, y=list(frame[est]), mode="lines+markers", name=f"{shown} (estimated)",
                    line={"color": est_colour}, connectgaps=False, legendgroup="estimated",
                    hovertext=[f"{lab}: {shown} estimated" for lab in labels],
                    showlegend=False,
                ),
                row=row, col=1,
            )  # fmt: skip
        if f"perf.{metric}" in frame:
            fig.add_trace(
                go.Scatter(
                    x=x, y=list(frame[f"perf.{metric}"]), mode="lines+markers",
                    name=f"{shown} (measured)", line={"color": perf_colour, "dash": "dot"},
                    marker={"symbol": "diamond", "size": 9}, connectgaps=True,
                    legendgroup="measured", showlegend=False,
                    hovertext=[f"{lab}: {shown} measured" for lab in labels],
                ),
                row=row, col=1,
            )  # fmt: skip
    if metrics:  # one legend for every panel: the colours mean the same in each
        for name, colour, symbol in (
            ("estimated (band: its interval)", est_colour, "circle"),
            ("measured (labels came back)", perf_colour, "diamond"),
        ):
            fig.add_trace(
                go.Scatter(
                    x=[None], y=[None], mode="lines+markers", name=name,
                    line={"color": colour}, marker={"symbol": symbol}, hoverinfo="skip",
                ),
                row=2, col=1,
            )  # fmt: skip
    fig.update_yaxes(range=[-0.05, 1.3 if marks else 1.05], tickvals=[0, 0.5, 1], row=1, col=1)
    fig.update_xaxes(tickmode="array", tickvals=x, ticktext=labels, automargin=True)
    fig.update_xaxes(showticklabels=True, row=rows, col=1)
    _mark_versions(fig, marks, len(x), label_y=(1, "y domain"))
    fig.update_layout(
        title=text(title),
        font=_FONT,
        height=260 + 150 * len(metrics),
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        legend={"orientation": "h", "y": -0.6 / rows if metrics else -0.12},
    )
    return themed(fig)


def _mark_versions(
    fig: Any, marks: list[tuple[float, str]] | None, runs: int, label_y: tuple
) -> None:
    """A dashed line at each version change across the whole figure, labelled once (to its
    left when it is after the last run)."""
    y, yref = label_y
    for pos, label in marks or []:
        last = pos > runs - 1
        fig.add_shape(
            type="line", x0=pos, x1=pos, xref="x", y0=0, y1=1, yref="paper",
            line={"color": VERSION_COLOUR, "width": 2, "dash": "dash"},
        )  # fmt: skip
        fig.add_annotation(
            x=pos, xref="x", y=y, yref=yref, text=text(label), showarrow=False,
            xanchor="right" if last else "left", xshift=-3 if last else 3,
            yanchor="top" if yref != "paper" else "bottom",
            name="version change",
        )  # fmt: skip


def performance_metrics(frame: pd.DataFrame) -> list[str]:
    """The metrics with an estimate (``est.<m>``) or a measurement (``perf.<m>``) in ``frame``,
    estimated ones first, interval columns left out.

    Example:
        >>> performance_metrics(pd.DataFrame(columns=["perf.recall", "est.recall", "est.recall.low"]))
        ['recall']
    """
    found: list[str] = []
    for prefix in ("est.", "perf."):
        for col in frame.columns:
            if not str(col).startswith(prefix):
                continue
            name = str(col)[len(prefix) :]
            if prefix == "est." and name.endswith((".low", ".high", "_low", "_high")):
                continue
            if name not in found:
                found.append(name)
    return found


def figure_bundle(fig: Any) -> dict[str, Any]:
    """A display bundle for ``IPython.display.display(bundle, raw=True)``: the plotly mimetype
    (drawn by the plotly extension of JupyterLab and Voila) and a one-line text fallback."""
    import json

    title = fig.layout.title.text or "plot"
    return {
        "application/vnd.plotly.v1+json": json.loads(fig.to_json()),
        "text/plain": f"<plotly figure: {title}>",
    }


def _band_columns(frame: pd.DataFrame, metric: str) -> tuple[str | None, str | None]:
    for low, high in ((".low", ".high"), ("_low", "_high")):
        if f"est.{metric}{low}" in frame and f"est.{metric}{high}" in frame:
            return f"est.{metric}{low}", f"est.{metric}{high}"
    return None, None


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"
