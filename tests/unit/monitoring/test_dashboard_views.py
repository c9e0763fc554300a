"""What keeps the dashboard from misleading, on objects made here (no store, no server): the note
when the live version has no monitoring run, the version changes marked on every timeline, one
panel per metric, the version and date filters, and figures that follow a dark page."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from workbench.monitoring.dashboard import ModelHealth
from workbench.monitoring.dashboard_render import model_card, runs_table
from workbench.monitoring.history import MonitoringHistory, run_filter
from workbench.plots.drift import history_lines
from workbench.plots.theme import CLEAR, theme_css, theme_style

T0 = pd.Timestamp("2026-11-01T08:00:00Z")


def _runs(versions=("5", "5", "7", "7")) -> list[dict]:
    return [
        {
            "time": (T0 + pd.Timedelta(days=10 * i)).isoformat(),
            "status": "drift" if i % 2 else "ok",
            "drifted_share": 0.5 if i % 2 else 0.0,
            "drifted_columns": ["income"] if i % 2 else [],
            "model_version": v,
            "current": f"day {i}",
            "run_id": f"r{i}",
            "drift.income": 0.3 if i % 2 else 0.01,
            "est.recall": 0.7,
            "est.recall.low": 0.6,
            "est.recall.high": 0.8,
            "perf.recall": 0.72,
            "est.accuracy": 0.8,
            "perf.accuracy": 0.79,
            "est.f1": 0.75,
        }
        for i, v in enumerate(versions)
    ]


def _health(live=10, versions=("5", "5", "7", "7"), moves=None) -> ModelHealth:
    return ModelHealth(
        "credit-risk", versions=10, live_version=live, live_since="2026-12-01T09:30:00+00:00",
        live_by="ana", live_reason="better", runs=_runs(versions), live_changes=moves or [],
    )  # fmt: skip


# --------------------------------------------------------------------- the live version


def test_a_live_version_without_runs_is_said_and_the_verdict_is_not_its_own():
    m = _health(live=10)
    assert not m.live_monitored() and m.latest_version == "7"
    note = m.monitoring_note()
    assert note == (
        "v10 (live since 2026-12-01 09:30 UTC) has no monitoring run yet; the latest batch "
        "shown is v7's"
    )
    card = model_card(m)
    assert "has no monitoring run yet" in card and "wb-dash-unmonitored" in card
    assert "Latest batch (v7, not live)" in card and "Performance (v7)" in card
    assert ">Latest batch<" not in card


def test_an_older_run_of_the_live_version_is_named_and_a_monitored_live_version_has_no_note():
    m = _health(live=5)  # v5 ran first, v7 (monitored last) is not live
    assert m.monitoring_note().startswith("the latest batch shown is v7's, not the live v5")
    assert "v5 was last monitored 2026-11-11 08:00 UTC" in m.monitoring_note()
    assert _health(live=7).monitoring_note() == ""
    assert "not live" not in model_card(_health(live=7))
    assert ModelHealth("m", live_version=3).monitoring_note() == ""  # never monitored
    assert _health(live=None).monitoring_note() == ""  # no champion: nothing to compare


def test_the_run_table_marks_the_live_versions_runs():
    table = runs_table(_health(live=7))
    assert table.count("(live)") == 2


# --------------------------------------------------------------------- filters


def test_filter_by_version_and_dates_on_the_health_and_its_history():
    m = _health(live=7)
    assert m.monitored_versions() == ["7", "5"]
    assert [r["run_id"] for r in m.filtered(version="v5").runs] == ["r0", "r1"]
    assert [r["run_id"] for r in m.filtered(version=7).runs] == ["r2", "r3"]
    since = m.filtered(since="2026-11-15")
    assert [r["run_id"] for r in since.runs] == ["r2", "r3"]
    assert list(since._history().frame["run_id"]) == ["r2", "r3"]
    until = m.filtered(until=dt.date(2026, 11, 11))  # a date: the whole day
    assert [r["run_id"] for r in until.runs] == ["r0", "r1"]
    both = m.filtered(version="5", since=pd.Timestamp("2026-11-05", tz="UTC"))
    assert [r["run_id"] for r in both.runs] == ["r1"]
    assert m.filtered(version="9").runs == [] and len(m.runs) == 4  # the original untouched
    assert m.filtered(since="2026-11-15").live_version == 7  # the card's facts stay


def test_run_filter_keeps_open_ends_and_skips_runs_without_time_when_bounded():
    times = [T0, None, T0 + pd.Timedelta(days=1)]
    versions = ["1", None, "2"]
    assert run_filter(times, versions) == [True, True, True]
    assert run_filter(times, versions, since=T0) == [True, False, True]
    assert run_filter(times, versions, version="1") == [True, False, False]
    assert run_filter(times, versions, until="2026-11-01T08:00:00") == [True, False, False]


# --------------------------------------------------------------------- version changes


def test_version_changes_from_the_audit_log_are_marked_between_runs_and_after_the_last():
    moves = [
        {"time": "2026-10-01T00:00:00+00:00", "old_version": None, "new_version": 5},
        {"time": "2026-11-15T00:00:00+00:00", "old_version": 5, "new_version": 7},
        {"time": "2026-12-01T09:30:00+00:00", "old_version": 7, "new_version": 10},
    ]
    m = _health(live=10, moves=moves)
    history = m._history()
    assert history.version_marks() == [(1.5, "v5 -> v7"), (3.5, "v7 -> v10")]
    for fig in (m.heatmap(), m.plot()):
        lines = [s for s in fig.layout.shapes if s.line.dash == "dash"]
        assert [s.x0 for s in lines] == [1.5, 3.5] and lines[0].yref == "paper"
        texts = [a.text for a in fig.layout.annotations]
        assert "v5 -&gt; v7" in texts and "v7 -&gt; v10" in texts
    heat = m.heatmap()
    assert heat.layout.xaxis.range[1] > 3.5  # the mark after the last run is inside the plot
    # the filtered view keeps the moves: only v7's runs, and v10 came after them
    assert m.filtered(version="7")._history().version_marks() == [(1.5, "v7 -> v10")]


def test_without_an_audit_log_the_runs_own_version_changes_are_marked():
    history = _health(versions=("5", "5", "7", None))._history()
    assert history.version_marks() == [(1.5, "v5 -> v7")]
    assert MonitoringHistory("m", pd.DataFrame()).version_marks() == []


# --------------------------------------------------------------------- small multiples


def test_one_panel_per_metric_estimate_with_band_against_measurement():
    frame = _health()._history().frame
    fig = history_lines(frame)
    titles = [a.text for a in fig.layout.annotations]
    assert titles[:4] == ["drifted share of tested columns", "recall", "accuracy", "f1"]
    axis = {t.name: t.yaxis for t in fig.data}
    assert axis["drifted share"] == "y"
    assert axis["recall interval"] == axis["recall (estimated)"] == axis["recall (measured)"]
    assert (
        len({axis["recall (estimated)"], axis["accuracy (estimated)"], axis["f1 (estimated)"]}) == 3
    )
    assert "f1 (measured)" not in axis  # never measured: its panel holds the estimate only
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert legend == [
        "drifted share",
        "estimated (band: its interval)",
        "measured (labels came back)",
    ]


# --------------------------------------------------------------------- theme


@pytest.mark.parametrize("which", ["heatmap", "plot"])
def test_dashboard_figures_are_transparent(which):
    fig = getattr(_health(), which)()
    assert fig.layout.paper_bgcolor == CLEAR and fig.layout.plot_bgcolor == CLEAR


def test_stage_figures_are_transparent_too():
    from workbench.plots.classification import roc_curve
    from workbench.plots.regression import residuals

    y = np.array([0, 1, 0, 1, 1, 0])
    score = np.array([0.1, 0.8, 0.3, 0.7, 0.6, 0.2])
    for fig in (roc_curve(y, score), residuals(score, score * 0.9)):
        assert fig.layout.paper_bgcolor == CLEAR and fig.layout.plot_bgcolor == CLEAR


def test_the_theme_css_recolours_plotly_on_a_dark_page_only():
    css = theme_css()
    assert 'body[data-jp-theme-light="false"] .js-plotly-plot' in css
    assert "@media (prefers-color-scheme: dark)" in css and "!important" in css
    dark_only = css.split("@media (prefers-color-scheme: dark)")[1]
    assert "body[data-voila]" in dark_only  # a browser in dark mode turns Voila, not JupyterLab
    assert theme_style().startswith("<style class='wb-theme'>")


def test_every_panel_ships_the_theme_css():
    from workbench.ui._common import PanelBase

    assert "wb-theme" in PanelBase("t").title.value


# --------------------------------------------------------------------- on a real store


def test_on_a_store_a_new_champion_without_runs_is_said_marked_and_filterable(workspace):
    import workbench as wb
    from workbench.data import credit_risk, production_batch
    from workbench.monitoring.dashboard import monitoring_dashboard
    from workbench.ui import DashboardPanel

    name = "dash-moves"
    for seed in (4, 5):
        wb.train_and_log(credit_risk(600, seed=seed), "default", name=name,
                         family="logistic_regression")  # fmt: skip
    wb.promote(name, 1, by="ana", reason="first", force=True)
    for day in (1, 2):
        wb.drift_report(
            credit_risk(2000), production_batch(day, "none", n=300),
            model=f"models:/{name}@champion", target="default", build_report=False,
            data_ids={"current": f"day {day}"},
        ).log()  # fmt: skip
    wb.promote(name, 2, by="ana", reason="second", force=True)

    m = monitoring_dashboard(name).model(name)
    assert m.live_version == 2 and m.latest_version == "1"
    assert [(c["old_version"], c["new_version"]) for c in m.live_changes] == [(None, 1), (1, 2)]
    assert m.monitoring_note().startswith("v2 (live since ")
    assert m.monitoring_note().endswith("has no monitoring run yet; the latest batch shown is v1's")
    assert m.history.version_marks() == [(1.5, "v1 -> v2")]

    panel = DashboardPanel(model=name)
    assert "has no monitoring run yet" in panel.card.value and "wb-warn" in panel.status.value
    assert [v for _, v in panel.version.options] == ["", "1"]
    assert len(panel.plots.outputs) == 2 and panel.runs.value.count("<tr>") == 3
    panel.version.value = "1"
    assert panel.runs.value.count("<tr>") == 3
    panel.period.value = 7  # the runs were logged just now
    assert panel.runs.value.count("<tr>") == 3
    m.runs[0]["time"] = "2026-01-01T00:00:00+00:00"  # one run long ago: out of the last 7 days
    m.history.frame.loc[0, "time"] = pd.Timestamp("2026-01-01", tz="UTC")
    panel.board.models = [m]
    panel.show_runs()
    assert panel.runs.value.count("<tr>") == 2
    heat = panel.plots.outputs[0]["data"]["application/vnd.plotly.v1+json"]
    assert heat["layout"]["paper_bgcolor"] == CLEAR
