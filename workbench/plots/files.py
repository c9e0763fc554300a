"""Saving figures with a run or a report: each as plotly JSON (small; ``plotly.io.read_json``
reads it back) and all of them on one stand-alone HTML page (plotly.js embedded once, so MLflow's
artifact viewer and a browser without network draw it).

Example:
    >>> import plotly.graph_objects as go, tempfile, pathlib
    >>> folder = save_figures({"one": go.Figure(go.Bar(y=[1]))}, tempfile.mkdtemp(), "t")
    >>> sorted(p.name for p in pathlib.Path(folder).iterdir())
    ['one.json', 'plots.html']
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

from workbench._core.results import atomic_write
from workbench.errors import UsageError

__all__ = ["PAGE_NAME", "load_figures", "save_figures"]

#: The stand-alone page holding every figure of the folder.
PAGE_NAME = "plots.html"


def save_figures(figures: dict[str, Any], folder: str | os.PathLike, title: str = "plots") -> Path:
    """Write ``<name>.json`` per figure and ``plots.html`` with all of them, in ``folder``.

    Each file is written to a temporary name, then renamed: a reader never sees half of one.

    Raises:
        UsageError: no figures, or a name that is not a plain file name.
    """
    if not figures:
        raise UsageError("no figures to save.")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for name in figures:
        if not name or Path(name).name != name or name.startswith("."):
            raise UsageError(f"figure name {name!r} must be a plain file name (no folders).")
    parts = []
    for i, (name, fig) in enumerate(figures.items()):
        atomic_write(out / f"{name}.json", fig.to_json())
        parts.append(
            fig.to_html(full_html=False, include_plotlyjs=i == 0, div_id=f"wb-plot-{name}")
        )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "</head><body style='font-family:Liberation Sans,Arial,sans-serif'>"
        f"<h2>{html.escape(title)}</h2>{''.join(parts)}</body></html>"
    )
    atomic_write(out / PAGE_NAME, page)
    return out


def load_figures(folder: str | os.PathLike) -> dict[str, Any]:
    """The figures :func:`save_figures` wrote (name -> Figure), in name order."""
    import plotly.io as pio

    return {p.stem: pio.read_json(p) for p in sorted(Path(folder).glob("*.json"))}
