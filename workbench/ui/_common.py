"""Building blocks the stage panels share: a status line, a progress bar, error display, labels
that fit, and plotly figures in an output area."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from workbench.errors import WorkbenchError


class PanelBase:
    """Base of the stage panels: a root ``VBox`` with a CSS class, a status line and a progress bar.

    Subclasses build their controls in ``__init__`` and wire buttons to plain functions.
    """

    css_class = "wb-panel"

    def __init__(self, title: str):
        self.title = w.HTML(f"<h3 style='margin:4px 0'>{html.escape(title)}</h3>")
        self.progress = w.FloatProgress(value=0.0, min=0.0, max=1.0, layout=w.Layout(width="60%"))
        self.progress_label = w.Label("")
        self.status = w.HTML("")
        self.result = w.HTML("")
        self.root = w.VBox()
        self.root.add_class("wb-panel")
        self.root.add_class(self.css_class)

    def show(self):
        """Display the panel (in a notebook) and return it."""
        from IPython.display import display

        display(self.root)
        return self

    def _ipython_display_(self):
        from IPython.display import display

        display(self.root)

    def report_progress(self, step: str, done: float) -> None:
        """A ``progress(step, fraction)`` callback for stage functions."""
        self.progress.value = max(0.0, min(1.0, float(done)))
        self.progress_label.value = step

    def set_status(self, text: str, kind: str = "info") -> None:
        colour = {"info": "#555", "ok": "#1a7f37", "error": "#cf222e", "warn": "#9a6700"}[kind]
        self.status.value = (
            f"<span class='wb-status wb-{kind}' style='color:{colour}'>{html.escape(text)}</span>"
        )

    def show_error(self, err: BaseException) -> None:
        """Show an error in plain words; a WorkbenchError's message already says what to do."""
        if isinstance(err, WorkbenchError):
            self.set_status(str(err), "error")
        else:
            self.set_status(f"{type(err).__name__}: {err}", "error")


def fit_labels(*controls: w.Widget) -> None:
    """Give each control's description the room it needs: no label is cut to "Model na..."."""
    for control in controls:
        if hasattr(control, "style") and hasattr(control.style, "description_width"):
            control.style.description_width = "initial"


def show_figures(area: w.Output, figures: list[Any]) -> None:
    """Put plotly figures in ``area`` as plotly display data (drawn by JupyterLab's and Voila's
    plotly renderer; kept in the widget state, so it works without a live kernel too)."""
    from workbench.plots.drift import figure_bundle

    area.outputs = tuple(
        {"output_type": "display_data", "data": figure_bundle(fig), "metadata": {}}
        for fig in figures
    )
