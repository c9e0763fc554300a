"""The monitoring dashboard: pick a model, read its card (live version and since when, the latest
verdict, the retrain flag, performance), its drift heatmap, its history lines and its runs with their
links; narrow the plots and the runs to one version and a period. Refresh reads the store again. It
calls :func:`workbench.monitoring.dashboard.monitoring_dashboard` and
:meth:`~workbench.monitoring.dashboard.ModelHealth.filtered` only."""

from __future__ import annotations

import ipywidgets as w

from workbench.ui._common import PanelBase

_NONE = "(no models yet)"
_ALL = ""
#: The period choices: label, days back from now (0: all).
PERIODS = [("all time", 0), ("last 7 days", 7), ("last 30 days", 30), ("last 90 days", 90)]


class DashboardPanel(PanelBase):
    """The monitoring dashboard for people who only read dashboards (``workbench dashboard``).

    Args:
        model: The model shown first (default: the first registered model).
        max_runs: Monitoring runs read per model.

    Example:
        >>> from workbench.ui import DashboardPanel
        >>> panel = DashboardPanel()          # doctest: +SKIP
        >>> panel.refresh_button.click()      # doctest: +SKIP
    """

    css_class = "wb-dashboard-panel"

    def __init__(self, model: str | None = None, max_runs: int = 200):
        super().__init__("Model monitoring")
        self.max_runs = max_runs
        self.board = None
        self.wanted = model
        self.model = w.Dropdown(
            options=[_NONE],
            description="Model",
            style={"description_width": "initial"},
            layout=w.Layout(width="auto", min_width="320px"),
        )
        self.model.add_class("wb-dash-model")
        self.refresh_button = w.Button(
            description="Refresh", icon="refresh", layout=w.Layout(width="auto")
        )
        self.refresh_button.add_class("wb-dash-refresh")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.version = w.Dropdown(
            options=[("all versions", _ALL)],
            description="Version",
            style={"description_width": "initial"},
            layout=w.Layout(width="auto", min_width="200px"),
        )
        self.version.add_class("wb-dash-version")
        self.period = w.Dropdown(
            options=PERIODS,
            value=0,
            description="Period",
            style={"description_width": "initial"},
            layout=w.Layout(width="auto", min_width="200px"),
        )
        self.period.add_class("wb-dash-period")

        self.read_at = w.HTML("")
        self.card = w.HTML("")
        self.card.add_class("wb-dash-card-view")
        self.plots = w.Output(layout=w.Layout(width="100%"))
        self.plots.add_class("wb-dash-plots")
        self.runs = w.HTML("")
        self.runs.add_class("wb-dash-runs-view")
        self._quiet = False
        self.model.observe(lambda _: None if self._quiet else self.show_model(), names="value")
        for control in (self.version, self.period):
            control.observe(lambda _: None if self._quiet else self.show_runs(), names="value")
        self.root.layout = w.Layout(width="100%")
        self.root.children = [
            self.title,
            w.HBox([self.model, self.refresh_button, self.read_at]),
            w.HBox([self.version, self.period]),
            self.status,
            self.card,
            self.plots,
            self.runs,
        ]
        self.refresh()

    def refresh(self):
        """What the Refresh button does: read every model from the store again and show the one
        selected (it stays selected when it is still there)."""
        from workbench.monitoring.dashboard import monitoring_dashboard
        from workbench.monitoring.dashboard_render import backup_line

        self.refresh_button.disabled = True
        keep = self.model.value if self.model.value != _NONE else self.wanted
        self.set_status("reading the tracking store...", "info")
        try:
            board = monitoring_dashboard(max_runs=self.max_runs)
        except Exception as err:  # shown in the panel
            self.show_error(err)
            return None
        finally:
            self.refresh_button.disabled = False
        self.board = board
        self.read_at.value = (
            "<span class='wb-dash-read-at' style='color:var(--jp-ui-font-color2, #57606a)'>"
            f"read {board.read_at} UTC from "
            f"{'the tracking server' if board.shared else 'the local store'}</span> · "
            + backup_line(board)
        )
        names = board.names() or [_NONE]
        selected = keep if keep in names else names[0]
        self._quiet = True
        try:
            self.model.options = names
            self.model.value = selected
        finally:
            self._quiet = False
        self.show_model()
        return board

    def show_model(self) -> None:
        """Show the selected model's card, then its plots and runs under the filters (the version
        filter offers the versions this model's runs monitored)."""
        from workbench.monitoring.dashboard_render import dashboard_html, model_card

        board = self.board
        self.plots.outputs = ()
        if board is None:
            return
        if not board.models:
            self.card.value, self.runs.value = dashboard_html(board), ""
            self.set_status("no registered models yet", "warn")
            return
        health = board.model(self.model.value)
        self.card.value = model_card(health)
        live = str(health.live_version) if health.live_version is not None else None
        choices = [("all versions", _ALL)] + [
            (f"v{v} (live)" if v == live else f"v{v}", v) for v in health.monitored_versions()
        ]
        self._quiet = True
        try:
            kept = self.version.value
            self.version.options = choices
            self.version.value = kept if kept in dict(choices).values() else _ALL
        finally:
            self._quiet = False
        status = health.latest["status"] if health.latest else ""
        kind = {"drift": "error", "invalid": "warn", "ok": "ok"}.get(status, "info")
        gap = health.monitoring_note()
        if gap:
            self.set_status(f"{health.name}: {gap} ({health.verdict()})", "warn")
        else:
            self.set_status(f"{health.name}: {health.verdict()}", kind)
        self.show_runs()

    def view(self):
        """The selected model under the filters (:meth:`ModelHealth.filtered`), None without one."""
        import pandas as pd

        board = self.board
        if board is None or not board.models or self.model.value not in board.names():
            return None
        days = int(self.period.value or 0)
        since = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=days) if days else None
        return board.model(self.model.value).filtered(self.version.value or None, since=since)

    def show_runs(self) -> None:
        """Draw the plots and the run table of the selected model under the filters."""
        from workbench.monitoring.dashboard_render import runs_table
        from workbench.plots.drift import figure_bundle

        view = self.view()
        self.plots.outputs = ()
        if view is None:
            return
        self.runs.value = runs_table(view)
        full = self.board.model(self.model.value)
        if full.runs and not view.runs:
            label = dict((v, k) for k, v in self.version.options)[self.version.value]
            period = dict((v, k) for k, v in PERIODS)[self.period.value]
            self.runs.value = (
                f"<p class='wb-dash-no-runs'>No monitoring runs of {label} in {period}: "
                "widen the filters.</p>"
            )
        if view.runs:  # set, not captured: the same with or without a kernel
            self.plots.outputs = tuple(
                {"output_type": "display_data", "data": figure_bundle(fig), "metadata": {}}
                for fig in (view.heatmap(), view.plot())
            )
