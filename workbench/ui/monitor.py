"""Stage-4 panel: pick a demo day and scenario (or two files), run the drift report, read it; or
simulate a week in production. Buttons call :func:`workbench.monitoring.drift_report` and
:func:`workbench.monitoring.simulate_week`."""

from __future__ import annotations

import ipywidgets as w

from workbench.ui._common import PanelBase, fit_labels

_DEMO, _FILES = "demo day", "CSV / Parquet files"


class MonitorPanel(PanelBase):
    """Drift monitoring on demo batches or your own files, with the Evidently report inline.

    Args:
        model: Model URI to score both tables with (``None``: data drift only).
        target: Label column (performance and label drift when the batch has it).
        day: Demo day to start with.
        scenario: Demo scenario (see :data:`workbench.data.SCENARIOS`).
        out: Folder the reports are saved under (default: the workspace's ``reports/monitoring``).
        log: Log each report as an MLflow run.
        ignore: Columns not to test (identifiers and dates are skipped without asking).

    Example:
        >>> from workbench.ui import MonitorPanel
        >>> panel = MonitorPanel(scenario="gradual_shift")   # doctest: +SKIP
        >>> panel.run_button.click()                         # doctest: +SKIP
    """

    css_class = "wb-monitor-panel"

    def __init__(
        self,
        model: str | None = None,
        target: str | None = "default",
        day: int = 3,
        scenario: str = "gradual_shift",
        out: str | None = None,
        log: bool = True,
        ignore: list[str] | None = None,
    ):
        from workbench.data import SCENARIOS

        super().__init__("Stage 4 - monitor drift")
        self.last_result = None
        self.last_week = None
        self.out = out
        self.source = w.Dropdown(options=[_DEMO, _FILES], value=_DEMO, description="Data")
        self.day = w.BoundedIntText(value=day, min=1, max=60, description="Day")
        self.scenario = w.Dropdown(options=list(SCENARIOS), value=scenario, description="Scenario")
        self.scenario.add_class("wb-monitor-scenario")
        self.reference = w.Text(placeholder="reference.csv", description="Reference")
        self.current = w.Text(placeholder="batch.csv", description="Current")
        self.model = w.Text(
            value=model or "", placeholder="models:/NAME@champion", description="Model"
        )
        self.target = w.Text(value=target or "", placeholder="label column", description="Target")
        self.ignore = w.Text(
            value=", ".join(ignore or ()), placeholder="col1, col2", description="Ignore"
        )
        self.ignore.add_class("wb-monitor-ignore")
        self.log = w.Checkbox(value=log, description="log to MLflow")
        self.run_button = w.Button(
            description="Run drift report", button_style="primary", icon="play"
        )
        self.run_button.add_class("wb-monitor-run")
        self.run_button.on_click(lambda _: self.run())
        self.week_button = w.Button(description="Simulate a week", icon="calendar")
        self.week_button.add_class("wb-monitor-week")
        self.week_button.on_click(lambda _: self.simulate())
        self.result.add_class("wb-result")
        self.report_view = w.HTML("")
        self.report_view.add_class("wb-monitor-report")
        fit_labels(
            self.source,
            self.day,
            self.scenario,
            self.reference,
            self.current,
            self.model,
            self.target,
            self.ignore,
        )  # no label cut short
        self.source.observe(lambda _: self._sync(), names="value")
        self._sync()
        self.root.children = [
            self.title,
            w.HTML(
                "Compare a new batch of production data with the reference data. Each column "
                "gets a statistical test; a column <b>drifts</b> when its p-value, corrected for "
                "testing many columns, is small and the move is large enough to matter. "
                "Identifiers and dates are skipped (and listed). Bad data (missing columns, a "
                "surge of empty values) is reported as <b>invalid</b>, never as &quot;no "
                "drift&quot;."
            ),
            w.HBox([self.source, self.day, self.scenario]),
            w.HBox([self.reference, self.current]),
            w.HBox([self.model, self.target, self.log]),
            self.ignore,
            w.HBox([self.run_button, self.week_button]),
            w.HBox([self.progress, self.progress_label]),
            self.status,
            self.result,
            self.report_view,
        ]

    def _sync(self) -> None:
        demo = self.source.value == _DEMO
        for widget in (self.day, self.scenario):
            widget.layout.display = None if demo else "none"
        for widget in (self.reference, self.current):
            widget.layout.display = "none" if demo else None

    def inputs(self) -> dict:
        """The chosen tables and identifiers, as keyword arguments of ``drift_report``."""
        from workbench.monitoring import demo_data

        if self.source.value == _DEMO:
            ref, cur = demo_data(self.day.value, self.scenario.value)
            ids = {
                "reference": "demo reference",
                "current": f"demo day {self.day.value} ({self.scenario.value})",
            }
            return {"reference": ref, "current": cur, "data_ids": ids}
        return {"reference": self.reference.value.strip(), "current": self.current.value.strip()}

    def ignored_columns(self) -> list[str]:
        """The columns typed into the Ignore field (comma-separated)."""
        return [c.strip() for c in self.ignore.value.split(",") if c.strip()]

    def _out_dir(self):
        from pathlib import Path

        from workbench._core.results import timestamped_folder
        from workbench.workspace import current_workspace

        base = Path(self.out) if self.out else current_workspace().reports_dir / "monitoring"
        return timestamped_folder(base)

    def run(self):
        """What the Run button does: build, save (and log) the report; show the card and report."""
        from workbench.monitoring import drift_report

        self.run_button.disabled = True
        self.result.value = self.report_view.value = ""
        self.set_status("comparing the batch with the reference...", "info")
        try:
            result = drift_report(
                model=self.model.value.strip() or None,
                target=self.target.value.strip() or None,
                ignore=self.ignored_columns(),
                on_invalid="return",
                progress=self.report_progress,
                **self.inputs(),
            )
            result.save(self._out_dir())
            if self.log.value:
                result.log()
        except Exception as err:  # shown in the panel
            self.show_error(err)
            self.progress.value = 0.0
            return None
        finally:
            self.run_button.disabled = False
        self.last_result = result
        if result.status == "drift":
            drifted = ", ".join(c.column for c in result.drifted_columns)
            self.set_status(f"drift detected in {drifted}", "error")
        elif result.status == "invalid":
            self.set_status("invalid data: " + result.reasons[0], "warn")
        else:
            self.set_status("no drift: the batch looks like the reference", "ok")
        self.result.value = result._repr_html_()
        snapshot = result.report()
        if snapshot is not None:
            self.report_view.value = snapshot.get_html_str(as_iframe=True)
        return result

    def simulate(self):
        """What the week button does: seven demo days of the chosen scenario, then the policy."""
        from workbench.monitoring import simulate_week

        self.week_button.disabled = True
        self.result.value = self.report_view.value = ""
        self.set_status(f"simulating a week of {self.scenario.value}...", "info")
        try:
            week = simulate_week(
                self.scenario.value,
                model=self.model.value.strip() or None,
                target=self.target.value.strip() or None,
                log=self.log.value,
                progress=self.report_progress,
            )
        except Exception as err:
            self.show_error(err)
            return None
        finally:
            self.week_button.disabled = False
        self.last_week = week
        drifted = sum(r.status == "drift" for r in week.results)
        self.set_status(f"{drifted} of {len(week.results)} days drifted", "info")
        self.result.value = week._repr_html_()
        return week
