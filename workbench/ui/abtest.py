"""Stage-3 panel for a challenger on real traffic: start champion and challenger behind one
port with a split (or a shadow), send traffic, watch both arms' live figures and the verdict.

Every button calls a plain function: ``serve(..., challenger=, split=)`` to start,
``ModelServer.predict`` per request to send, :func:`~workbench.monitoring.abtest.abtest` to compare
(read-only here: ``workbench abtest NAME`` records the verdict the gate reads).
"""

from __future__ import annotations

import time
from typing import Any

import ipywidgets as w
import pandas as pd

from workbench.ui._common import PanelBase, fit_labels


class ABTestPanel(PanelBase):
    """Try the challenger on a share of traffic: Start (with the split or a shadow), Send
    traffic, Refresh (each arm's requests, errors, latency, labels, prediction mix, and the
    comparison with its always-valid interval), Stop.

    Args:
        model_name: Registered model name.
        champion: Alias or version answering most requests.
        challenger: Alias or version tried beside it.
        split: Percent of requests for the challenger (1-50).
        data: Rows to send (default: a demo production batch).
        workers: Workers of each server.

    Example:
        >>> from workbench.ui import ABTestPanel
        >>> panel = ABTestPanel("credit-risk", split=20)  # doctest: +SKIP
        >>> panel.start(); panel.send_traffic(200); panel.refresh(); panel.stop()  # doctest: +SKIP
    """

    css_class = "wb-abtest-panel"

    def __init__(
        self,
        model_name: str = "credit-risk",
        champion: str = "champion",
        challenger: str = "challenger",
        split: int = 10,
        data: pd.DataFrame | None = None,
        workers: int | None = 1,
    ):
        super().__init__("Stage 3 - a challenger on real traffic")
        self.server: Any = None
        self.data = data
        self.workers = workers
        self.last_result: Any = None
        self.started_at: float | None = None
        self.model_name = w.Text(value=model_name, description="Model")
        self.champion = w.Text(value=str(champion), description="Champion")
        self.challenger = w.Text(value=str(challenger), description="Challenger")
        self.split = w.IntSlider(value=int(split), min=1, max=50, description="Split %")
        self.shadow = w.Checkbox(value=False, description="Shadow (mirror all, champion answers)")
        self.requests = w.BoundedIntText(value=200, min=1, max=5000, description="Requests")
        fit_labels(self.model_name, self.champion, self.challenger, self.split, self.requests)
        self.start_button = self._button("Start", "wb-abtest-start", "primary", "play", self.start)
        self.send_button = self._button(
            "Send traffic", "wb-abtest-send", "info", "send", self.send_traffic
        )
        self.refresh_button = self._button(
            "Refresh", "wb-abtest-refresh", "", "refresh", self.refresh
        )
        self.stop_button = self._button("Stop", "wb-abtest-stop", "", "stop", self.stop)
        self.figures = w.HTML("")
        self.figures.add_class("wb-abtest-figures")
        self._enable(False)
        self.root.children = [
            self.title,
            w.HTML(
                "Serve the champion and the challenger behind one port: the challenger answers "
                "the share you choose (the same customer always meets the same model), or, in "
                "shadow mode, answers nobody while every request is also sent to it. Both are "
                "logged; the comparison below is valid however often you refresh it. A "
                "guardrail cuts the challenger off if it fails or slows down."
            ),
            w.HBox([self.model_name, self.champion, self.challenger]),
            w.HBox([self.split, self.shadow]),
            w.HBox([self.start_button, self.stop_button]),
            w.HBox([self.requests, self.send_button, self.refresh_button]),
            w.HBox([self.progress, self.progress_label]),
            self.figures,
            self.status,
        ]

    # ------------------------------------------------------------------ actions (the buttons)

    def start(self):
        """Start both servers (``wb.serve(champion, challenger=..., split=...)``)."""
        from workbench.registry import get_version
        from workbench.serving import serve

        self.stop()
        self.set_status("starting the champion's and the challenger's servers...", "info")
        name = self.model_name.value.strip()
        try:
            champion = get_version(name, self.champion.value.strip())
            challenger = get_version(name, self.challenger.value.strip())
            shadow = bool(self.shadow.value)
            self.server = serve(
                champion.model_uri, workers=self.workers, challenger=challenger.model_uri,
                split=0 if shadow else self.split.value, shadow=shadow,
            )  # fmt: skip
        except Exception as err:
            self.show_error(err)
            return None
        self.started_at = time.time()
        how = "mirrors every request" if shadow else f"answers {self.split.value}% of requests"
        self.set_status(
            f"serving v{champion.version} at {self.server.url}; v{challenger.version} {how}", "ok"
        )
        self._enable(True)
        return self.server

    def send_traffic(self, requests: int | None = None) -> int:
        """Send ``requests`` one-row requests (default: the box's number); how many were
        answered (Refresh shows which arm answered them)."""
        if self.server is None:
            self.set_status("start the servers first.", "warn")
            return 0
        rows = self._rows()
        count, sent = int(requests or self.requests.value), 0
        for i in range(count):
            try:
                self.server.predict(rows.iloc[[i % len(rows)]], allow_extra=True)
            except Exception as err:
                self.show_error(err)
                break
            sent += 1
            if i % 20 == 0 or i == count - 1:
                self.report_progress(f"{i + 1} of {count} requests", (i + 1) / count)
        if sent == count:
            self.set_status(f"sent {sent} requests: Refresh shows each arm's figures", "ok")
        return sent

    def refresh(self):
        """Compare the arms on the traffic since the start (``abtest(..., record=False)``)."""
        from datetime import UTC, datetime

        from workbench.monitoring.abtest import abtest

        name = self.model_name.value.strip()
        since = datetime.fromtimestamp(self.started_at, UTC) if self.started_at else "7d"
        try:
            self.last_result = abtest(name, since, record=False)
        except Exception as err:
            self.show_error(err)
            return None
        self.figures.value = self.last_result._repr_html_()
        cut = self._cut()
        if cut:
            self.set_status(f"guardrail: the challenger was cut off: {cut.get('reason')}", "warn")
        else:
            self.set_status(
                "the figures cover the traffic since Start; record the verdict for the gate "
                f"with: workbench abtest {name}",
                "info",
            )
        return self.last_result

    def stop(self):
        """Stop both servers (if this panel started them)."""
        if self.server is None:
            return None
        code = self.server.stop()
        self.server = None
        self._enable(False)
        self.set_status(f"servers stopped (exit code {code})", "info")
        return code

    # ------------------------------------------------------------------ helpers

    def _cut(self) -> dict[str, Any] | None:
        from workbench.serving.experiment import cut_record

        return cut_record(getattr(self.server, "experiment_state", None))

    def _rows(self) -> pd.DataFrame:
        if self.data is None:
            from workbench.data import production_batch

            self.data = production_batch(1, n=500, with_target=False)
        return self.data

    def _button(self, label: str, css: str, style: str, icon: str, action) -> w.Button:
        button = w.Button(description=label, button_style=style, icon=icon)
        button.add_class(css)
        button.on_click(lambda _: action())
        return button

    def _enable(self, running: bool) -> None:
        self.start_button.disabled = False
        for button in (self.stop_button, self.send_button, self.refresh_button):
            button.disabled = not running

    def __del__(self) -> None:  # a panel that goes away takes its servers with it
        server: Any = getattr(self, "server", None)
        if server is not None:
            try:
                server.stop(grace=5.0)
            except Exception:
                pass
