"""The welcome panel: run the whole journey with progress across stages, and open each notebook."""

from __future__ import annotations

import html

import ipywidgets as w

from workbench.ui._common import PanelBase

#: What the button promises: ``make bench``'s figure for the whole journey (``bench_demo``: a
#: 30.6 s median on a quiet 2-core machine), and what load does to it.
JOURNEY_TIME = "about 40 s on a quiet 2-core machine, two to four times that while other work runs"

NOTEBOOKS = (
    ("01_train_and_log.ipynb", "1. Train and log"),
    ("02_predeploy_checks.ipynb", "2. Pre-deployment checks"),
    ("03_serve.ipynb", "3. Serve"),
    ("04_monitor_drift.ipynb", "4. Monitor drift"),
)


class JourneyPanel(PanelBase):
    """One button that runs the whole journey (``workbench.demo.run_demo``), and links to the stages.

    Example:
        >>> from workbench.ui import JourneyPanel
        >>> JourneyPanel(quick=True)  # doctest: +SKIP
    """

    css_class = "wb-journey-panel"

    def __init__(self, quick: bool = True):
        super().__init__("The whole journey, on demo data")
        self.summary = None
        self.quick = w.Checkbox(value=quick, description="quick (fewer trees, shorter load test)")
        self.run_button = w.Button(
            description="Run the journey", button_style="primary", icon="play"
        )
        self.run_button.add_class("wb-journey-button")
        self.run_button.on_click(lambda _: self.run())
        self.steps = w.HTML("")
        self.result.add_class("wb-result")
        links = " &middot; ".join(
            f"<a href='{html.escape(nb)}' target='_blank'>{html.escape(label)}</a>"
            for nb, label in NOTEBOOKS
        )
        self.root.children = [
            self.title,
            w.HTML(
                "Trains a baseline and a better challenger, checks and promotes them, serves the "
                "champion, simulates a week of production with drift, retrains and promotes again. "
                "Each step runs one of the notebooks headless; the executed copies go to "
                f"<code>runs/</code>.<br>Open a stage: {links}"
            ),
            w.HBox([self.run_button, self.quick]),
            w.HBox([self.progress, self.progress_label]),
            self.steps,
            self.status,
            self.result,
        ]

    def report_progress(self, step: str, done: float) -> None:
        """Move the bar and list each step of the journey as it starts."""
        super().report_progress(step, done)
        if step != "done":
            self.steps.value += f"<div class='wb-journey-step'>&#9654; {html.escape(step)}</div>"

    def report_done(self, line: str) -> None:
        """Add what a finished step did, with its real version numbers, under its title."""
        if "] done in " in line:
            said = html.escape(line.split("] ", 1)[1])
            self.steps.value += (
                f"<div class='wb-journey-done' style='margin-left:1.5em'>{said}</div>"
            )

    def run(self):
        """What the button does: run the journey, show the summary or the error."""
        from workbench.demo import run_demo

        self.run_button.disabled = True
        self.steps.value = ""
        self.set_status(f"running the journey: {JOURNEY_TIME}...", "info")
        try:
            self.summary = run_demo(
                quick=self.quick.value, progress=self.report_progress, echo=self.report_done
            )
        except Exception as err:  # the failing step's notebook is kept under runs/
            self.show_error(err)
            return None
        finally:
            self.run_button.disabled = False
        self.set_status(f"done in {self.summary.seconds:.0f} s", "ok")
        self.result.value = self.summary._repr_html_()
        return self.summary
