"""Stage-3 panel: start a version in MLflow's model server, call it, load-test it, compare two.

Every button calls a plain function of :mod:`workbench.serving` (``serve``, ``ModelServer.predict``,
``load_test``, ``compare_servers``): the same functions the notebook's cells, the CLI and the tests use.
"""

from __future__ import annotations

import base64
import html
from typing import Any

import ipywidgets as w
import pandas as pd

from workbench.ui._common import PanelBase, fit_labels

_LIGHT = (
    "<span class='wb-light wb-light-{state}' title='{state}' style='display:inline-block;"
    "width:12px;height:12px;border-radius:6px;background:{colour};margin-right:6px'></span>{text}"
)


class ServePanel(PanelBase):
    """Serve a registered version: Start / Stop with a status light, a request form built from the
    model's signature, the response (the label and, for a classifier, its probability) and the
    matching ``curl`` line, a bounded load test with a latency plot, and champion vs challenger side
    by side.

    Args:
        model_name: Registered model name.
        alias: Alias or version number to serve first (``challenger``, ``champion``, ``2``).
        data: Rows for the load test and the comparison (default: the model's input example).
        requests: Load-test requests.
        concurrency: Load-test connections.
        workers: Server workers (``None``: one per core).
        allow_pickle: Serve a version whose format runs code when loaded (recorded on it);
            refused by default, with the reason in the panel.

    Example:
        >>> from workbench.ui import ServePanel
        >>> panel = ServePanel("credit-risk", alias="challenger")  # doctest: +SKIP
        >>> panel.start(); panel.send(); panel.stop()              # doctest: +SKIP
    """

    css_class = "wb-serve-panel"

    def __init__(
        self,
        model_name: str = "credit-risk",
        alias: str = "challenger",
        data: pd.DataFrame | None = None,
        requests: int = 300,
        concurrency: int = 2,
        workers: int | None = None,
        allow_pickle: bool = False,
    ):
        from workbench.serving import default_workers

        super().__init__("Stage 3 - serve a model version")
        self.server = None
        self.allow_pickle = bool(allow_pickle)
        self.data = data
        self.last_prediction = None
        self.last_probabilities: pd.DataFrame | None = None
        self.last_load_test = None
        self.last_comparison = None
        self.model_name = w.Text(value=model_name, description="Model")
        self.version = w.Dropdown(
            options=self._choices(model_name, alias), value=alias, description="Version"
        )
        self.workers = w.BoundedIntText(
            value=workers or default_workers(), min=1, max=16, description="Workers"
        )
        self.light = w.HTML(self._light(False, "stopped"))
        self.light.add_class("wb-serve-light")
        self.start_button = self._button("Start", "wb-serve-start", "primary", "play", self.start)
        self.stop_button = self._button("Stop", "wb-serve-stop", "", "stop", self.stop)
        self.stop_button.disabled = True
        self.form = w.VBox([w.HTML("<i>Start the server to get a request form.</i>")])
        self.form.add_class("wb-serve-form")
        self.fields: dict[str, w.Text] = {}
        self.send_button = self._button("Send request", "wb-serve-send", "info", "send", self.send)
        self.send_button.disabled = True
        self.response = w.HTML("")
        self.response.add_class("wb-serve-response")
        self.curl_line = w.HTML("")
        self.curl_line.add_class("wb-serve-curl")
        self.requests = w.BoundedIntText(value=requests, min=1, max=20_000, description="Requests")
        self.concurrency = w.BoundedIntText(
            value=concurrency, min=1, max=32, description="Connections"
        )
        self.load_button = self._button(
            "Run load test", "wb-serve-load", "warning", "tachometer", self.run_load_test
        )
        self.load_button.disabled = True
        self.plot = w.HTML("")
        self.plot.add_class("wb-serve-plot")
        self.champion = w.Text(value="champion", description="Champion")
        self.challenger = w.Text(value="challenger", description="Challenger")
        self.compare_button = self._button(
            "Compare", "wb-serve-compare", "", "balance-scale", self.compare
        )
        self.comparison = w.HTML("")
        self.comparison.add_class("wb-serve-comparison")
        fit_labels(
            self.model_name,
            self.version,
            self.workers,
            self.requests,
            self.concurrency,
            self.champion,
            self.challenger,
        )  # no label cut to "Connectio..."
        self.model_name.observe(lambda _: self._refresh_versions(), names="value")
        self.root.children = [
            self.title,
            w.HTML(
                "Start the chosen version in MLflow's model server (on this machine only, "
                "127.0.0.1). Send one request from the form, run a short load test, or compare "
                "the champion with the challenger on the same rows."
            ),
            w.HBox([self.model_name, self.version, self.workers]),
            w.HBox([self.start_button, self.stop_button, self.light]),
            w.HTML("<b>Request</b> (one row; empty = missing value)"),
            self.form,
            self.send_button,
            self.response,
            self.curl_line,
            w.HTML("<b>Load test</b> (bounded: stops after the requests or 60 s)"),
            w.HBox([self.requests, self.concurrency, self.load_button]),
            w.HBox([self.progress, self.progress_label]),
            self.plot,
            w.HTML("<b>Champion vs challenger</b> (starts both, replays the same rows)"),
            w.HBox([self.champion, self.challenger, self.compare_button]),
            self.comparison,
            self.status,
        ]

    # ------------------------------------------------------------------ actions (the buttons)

    def start(self):
        """Start the chosen version (``workbench.serve``); fill the request form from its signature."""
        from workbench.registry import get_version
        from workbench.serving import serve

        self.stop()
        self._busy("starting the server (a few seconds)...")
        self.light.value = self._light(None, "starting...")
        try:
            version = get_version(self.model_name.value.strip(), self.version.value)
            self.server = serve(
                version.model_uri, workers=self.workers.value, allow_pickle=self.allow_pickle
            )
        except Exception as err:
            self.light.value = self._light(False, "stopped")
            return self._fail(err)
        self._build_form()
        self.light.value = self._light(
            True, f"running {version.name} v{version.version} at {self.server.url}"
        )
        self.set_status(f"ready in {self.server.launch_seconds} s", "ok")
        self._enable(True)
        return self.server

    def stop(self):
        """Stop the server this panel started (if any)."""
        if self.server is None:
            return None
        code = self.server.stop()
        self.server = None
        self._enable(False)
        self.light.value = self._light(False, "stopped")
        self.set_status(f"server stopped (exit code {code})", "info")
        return code

    def send(self):
        """Send the form's row (``ModelServer.post`` of the request ``predict`` sends); show the
        label, the class probabilities when the server gives them, and the curl line."""
        from workbench.errors import ServingError
        from workbench.serving import (
            decode_predictions,
            decode_probabilities,
            encode_frame,
            frame_from_form,
        )

        try:
            frame = frame_from_form(
                {k: f.value for k, f in self.fields.items()}, self.server.signature
            )
            status, body = self.server.post(encode_frame(self.server.validate(frame)))
            prediction = decode_predictions(status, body)
            try:
                probabilities = decode_probabilities(status, body).drop(columns="prediction")
            except ServingError:  # a regressor, or a model without predict_proba
                probabilities = None
            curl = self.server.curl(frame)
        except Exception as err:
            self.response.value = ""
            return self._fail(err)
        self.last_prediction = prediction
        self.last_probabilities = probabilities
        shown = html.escape(str(prediction.tolist()))
        self.curl_line.value = (  # first: the page shows the answer with its curl line, never alone
            "<details open><summary>The same request with curl</summary>"
            f"<pre style='white-space:pre-wrap'>{html.escape(curl)}</pre></details>"
        )
        self.response.value = f"Prediction: <code class='wb-prediction'>{shown}</code>" + (
            self._probability_html(probabilities) if probabilities is not None else ""
        )
        self.set_status("request answered", "ok")
        return prediction

    def run_load_test(self):
        """A bounded load test (``workbench.load_test``) with progress and a latency plot."""
        from workbench.serving import load_test

        self._busy("load test running...")
        try:
            result = load_test(
                self.server,
                self._rows(),
                requests=self.requests.value,
                concurrency=self.concurrency.value,
                max_seconds=60,
                progress=self.report_progress,
            )
        except Exception as err:
            return self._fail(err)
        finally:
            self.load_button.disabled = self.server is None
        self.last_load_test = result
        png = base64.b64encode(result.plot_png()).decode()
        self.plot.value = (
            f"<p>{result.rps:.0f} req/s; p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms; "
            f"in-process {result.in_process_p50_ms or 0:.1f} ms; errors {result.errors}</p>"
            f"<img src='data:image/png;base64,{png}'/>"
        )
        self.set_status("load test done", "ok")
        return result

    def compare(self):
        """Serve champion and challenger and replay the same rows (``workbench.compare_servers``)."""
        from workbench.serving import compare_servers

        self._busy("starting both versions and replaying rows...")
        try:
            result = compare_servers(
                self.model_name.value.strip(),
                self._rows(),
                aliases=(self.champion.value.strip(), self.challenger.value.strip()),
                rows=100,
                workers=1,
                progress=self.report_progress,
                allow_pickle=self.allow_pickle,
            )
        except Exception as err:
            return self._fail(err)
        self.last_comparison = result
        self.comparison.value = result._repr_html_()
        self.set_status("comparison done", "ok")
        return result

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _probability_html(probabilities: pd.DataFrame) -> str:
        """``probability of 1: 0.231`` (binary) or ``setosa 0.970, versicolor 0.030, ...``."""
        row = probabilities.iloc[0]
        labels = [str(c).removeprefix("proba_") for c in probabilities.columns]
        if len(labels) == 1:
            text = f"{row.iloc[0]:.3f}"
            head = f"probability of {html.escape(labels[0])}"
        else:
            text = ", ".join(f"{label} {value:.3f}" for label, value in zip(labels, row))
            head = "probabilities"
        return f"; {head}: <code class='wb-probability'>{html.escape(text)}</code>"

    def _rows(self) -> pd.DataFrame:
        if self.data is not None:
            return self.data
        example = self.server.input_example() if self.server is not None else None
        if example is None:
            from workbench.errors import DataError

            raise DataError("no rows to send: give the panel data=... (a DataFrame).")
        return example

    def _build_form(self) -> None:
        signature = self.server.signature
        example = self.server.input_example()
        first = example.iloc[0].to_dict() if example is not None and len(example) else {}
        self.fields = {}
        if signature is None or not signature.inputs.has_input_names():
            self.form.children = [w.HTML("<i>The model has no signature with column names.</i>")]
            return
        for spec in signature.inputs.inputs:
            value = first.get(spec.name)
            text = "" if value is None or (isinstance(value, float) and value != value) else value
            kind = str(spec.type).split(".")[-1].lower()
            field = w.Text(
                value=str(text),
                description=spec.name,
                placeholder=kind,
                style={"description_width": "160px"},
                layout=w.Layout(width="360px"),
            )
            field.add_class(f"wb-field-{spec.name}")
            self.fields[spec.name] = field
        names = list(self.fields.values())
        self.form.children = [w.HBox(names[i : i + 2]) for i in range(0, len(names), 2)]

    def _choices(self, name: str, wanted: str) -> list[str]:
        options = [wanted]
        try:
            from workbench.registry import versions

            for mv in versions(name):
                options += [*mv.aliases, str(mv.version)]
        except Exception:
            pass
        return list(dict.fromkeys(o for o in options if o))

    def _refresh_versions(self) -> None:
        current = self.version.value
        self.version.options = self._choices(self.model_name.value.strip(), current)
        self.version.value = current

    def _button(self, label: str, css: str, style: str, icon: str, action) -> w.Button:
        button = w.Button(description=label, button_style=style, icon=icon)
        button.add_class(css)
        button.on_click(lambda _: action())
        return button

    def _enable(self, running: bool) -> None:
        self.start_button.disabled = False
        self.stop_button.disabled = not running
        self.send_button.disabled = not running
        self.load_button.disabled = not running

    def _busy(self, text: str) -> None:
        self.set_status(text, "info")
        self.progress.value = 0.0

    def _fail(self, err: BaseException) -> None:
        self.show_error(err)
        return None

    @staticmethod
    def _light(on: bool | None, text: str) -> str:
        state = {True: "on", False: "off", None: "busy"}[on]
        colour = {True: "#2da44e", False: "#8c959f", None: "#d4a72c"}[on]
        return _LIGHT.format(state=state, colour=colour, text=html.escape(text))

    def _ipython_display_(self):
        from IPython.display import display

        display(self.root)

    def __del__(self) -> None:  # a panel that goes away takes its server with it
        server: Any = getattr(self, "server", None)
        if server is not None:
            try:
                server.stop(grace=5.0)
            except Exception:
                pass
