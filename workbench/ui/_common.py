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
        from workbench.plots.theme import theme_style  # plots follow a dark page (CSS only)

        heading = f"<h3 style='margin:4px 0'>{html.escape(title)}</h3>"
        self.title = w.HTML(theme_style() + heading)
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

    def set_status(
        self, text: str, kind: str = "info", link: str | None = None, link_text: str = ""
    ) -> None:
        """Show ``text`` in the status line; ``link``: where it can be seen (a run, a version
        page in the MLflow UI), shown as ``link_text`` after it."""
        colour = {"info": "#555", "ok": "#1a7f37", "error": "#cf222e", "warn": "#9a6700"}[kind]
        after = ""
        if link:
            after = (
                f" &middot; <a class='wb-status-link' href='{html.escape(link, quote=True)}' "
                f"target='_blank'>{html.escape(link_text or 'open in MLflow')}</a>"
            )
        self.status.value = (
            f"<span class='wb-status wb-{kind}' style='color:{colour}'>{html.escape(text)}</span>"
            + after
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


def version_link(name: str, version: int | str | None) -> str | None:
    """The MLflow UI page of a model version (None when there is no open workspace)."""
    if version is None:
        return None
    try:
        from workbench.workspace import current_workspace

        return current_workspace().model_url(name, version)
    except Exception:  # a panel without a workspace: no link
        return None


def run_link(run_id: str | None) -> str | None:
    """The MLflow UI page of a run (None when it cannot be found)."""
    if not run_id:
        return None
    try:
        from workbench.workspace import current_workspace, mlflow_client

        experiment = mlflow_client().get_run(run_id).info.experiment_id
        return current_workspace().run_url(experiment, run_id)
    except Exception:  # a run this store does not know: no link
        return None
