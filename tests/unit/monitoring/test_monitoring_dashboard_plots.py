"""The stage-4 plots (workbench.plots.drift) and MonitoringHistory's plots, on tables made here:
drifted cells red, untested and invalid days blank, the estimate's interval drawn as a band, unique
run labels, and no matplotlib on the way."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd

from workbench.monitoring.history import MonitoringHistory
from workbench.plots.drift import drift_heatmap, figure_bundle, history_lines, performance_metrics


def _history() -> MonitoringHistory:
    t = pd.Timestamp("2026-11-20T10:00:00Z")
    frame = pd.DataFrame(
        {
            "time": [t, t + pd.Timedelta(seconds=20), t + pd.Timedelta(days=1)],
            "status": ["ok", "drift", "invalid"],
            "drifted_share": [0.0, 0.5, 0.0],
            "drifted_columns": ["", "income", ""],
            "drift.income": [0.05, 0.3, np.nan],
            "drift.age": [0.01, 0.02, np.nan],
            "perf.accuracy": [0.8, np.nan, np.nan],
            "est.accuracy": [0.79, 0.7, np.nan],
            "est.accuracy.low": [0.75, 0.65, np.nan],
            "est.accuracy.high": [0.83, 0.75, np.nan],
            "current": ["a", "b", "c"],
            "model_version": ["1", "1", None],
        }
    )
    return MonitoringHistory("m", frame)


def test_run_labels_are_short_and_unique():
    assert _history().run_labels() == ["11-20 10:00", "11-20 10:00:20", "11-21 10:00"]


def test_the_heatmap_marks_drift_and_blanks_what_was_not_tested():
    heat = _history().heatmap()
    trace = heat.data[0]
    assert list(trace.y) == ["income", "age"]  # the drifted column first
    assert [list(r) for r in trace.z] == [[0.0, 1.0, None], [0.0, 0.0, None]]
    assert list(trace.text[0]) == ["0.05", "0.3", ""]
    assert "invalid data: no verdict" in trace.hovertext[0][2]
    assert heat.layout.annotations[0].text == "invalid"
    assert heat.layout.shapes[0].x0 == 1.5  # the invalid run is greyed


def test_the_lines_draw_the_interval_band_and_measured_performance():
    fig = _history().plot()
    names = [t.name for t in fig.data]
    assert names == ["drifted share", "accuracy interval", "accuracy (estimated)",
                     "accuracy (measured)", "estimated (band: its interval)",
                     "measured (labels came back)"]  # fmt: skip
    band = fig.data[1]
    assert band.fill == "toself" and list(band.y[:2]) == [0.83, 0.75]
    assert fig.data[0].y[2] is None  # no drifted share on invalid data
    assert performance_metrics(_history().frame) == ["accuracy"]


def test_without_performance_one_panel_and_an_empty_history_draws():
    frame = pd.DataFrame({"status": ["ok"], "drifted_share": [0.0]})
    assert len(history_lines(frame).data) == 1
    empty = MonitoringHistory("m", pd.DataFrame(columns=["time", "status", "drifted_share"]))
    assert empty.heatmap().data[0].z == () and "0 runs" in empty._repr_html_()


def test_a_plot_bundle_holds_the_figure_not_plotly_js():
    scores = pd.DataFrame({"r1": [0.2]}, index=["income"])
    bundle = figure_bundle(drift_heatmap(scores, scores > 0.1, title="t"))
    assert bundle["text/plain"] == "<plotly figure: t>"
    assert bundle["application/vnd.plotly.v1+json"]["data"][0]["type"] == "heatmap"
    assert len(str(bundle)) < 20_000


def test_the_history_plots_do_not_import_matplotlib():
    code = (
        "import sys; from tests.unit.monitoring.test_monitoring_dashboard_plots import _history;"
        "h = _history(); h.plot(); h.heatmap(); h._repr_html_();"
        "print('matplotlib' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr[-2000:]
