"""The dashboard's data on a real SQLite store: a model promoted (forced) by ana, four monitored days
(no drift, drift, invalid data, drift) and the retrain policy; a model never promoted nor monitored;
an empty store. Read by :func:`monitoring_dashboard` and shown by the dashboard panel."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

import workbench as wb
from workbench.data import credit_risk, production_batch
from workbench.monitoring.dashboard import Dashboard, monitoring_dashboard
from workbench.monitoring.dashboard_render import runs_table

MODEL, QUIET = "dash-unit", "dash-quiet"
DAYS = [(1, "none"), (2, "gradual_shift"), (3, "null_surge"), (4, "gradual_shift")]
REF = credit_risk(2000)


def _monitor(day: int, scenario: str, model: str = MODEL) -> None:
    wb.drift_report(
        REF,
        production_batch(day, scenario, n=400),
        model=f"models:/{model}@champion",
        target="default",
        on_invalid="return",
        build_report=False,
        data_ids={"current": f"day {day} ({scenario})"},
    ).log()


@pytest.fixture(scope="module")
def _store(tmp_path_factory):
    ws = wb.open_workspace(tmp_path_factory.mktemp("dash") / "ws")
    frame = credit_risk(600, seed=4)
    for _ in range(2):
        wb.train_and_log(frame, "default", name=MODEL, family="logistic_regression")
    wb.train_and_log(frame, "default", name=QUIET, family="logistic_regression")
    wb.promote(MODEL, 2, by="ana", reason="beats v1 on recall", force=True)
    for day, scenario in DAYS:
        _monitor(day, scenario)
    assert wb.apply_retrain_policy(f"models:/{MODEL}@champion", k=2, n=3).requested
    return ws


@pytest.fixture
def store(_store):
    wb.open_workspace(_store.root)
    return _store


def test_an_empty_store_says_so_in_the_data_the_card_and_the_panel(workspace):
    from workbench.ui import DashboardPanel

    board = monitoring_dashboard()
    assert board.models == [] and board.tracking_uri == workspace.tracking_uri
    assert "no registered models" in board._repr_html_()
    panel = DashboardPanel()
    assert "no registered models yet" in panel.status.value and "wb-warn" in panel.status.value
    assert "no registered models" in panel.card.value and panel.runs.value == ""


def test_the_live_version_since_when_and_the_latest_verdict(store):
    m = monitoring_dashboard().model(MODEL)
    audit = wb.history(MODEL, alias="champion")
    assert m.versions == 2 and m.live_version == 2 and m.live_note == ""
    assert m.live_since == str(audit["time"].iloc[-1]) and m.live_by == "ana"
    assert m.live_forced and m.live_reason == "beats v1 on recall"
    assert m.model_url == store.model_url(MODEL, 2)
    assert [r["status"] for r in m.runs[:4]] == ["ok", "drift", "invalid", "drift"]
    assert [r["current"] for r in m.runs[:4]] == [f"day {d} ({s})" for d, s in DAYS]
    latest = m.runs[3]
    assert {"income", "loan_amount"} <= set(latest["drifted_columns"])
    assert m.verdict().startswith("drift in ") and "income" in m.verdict()
    assert m.retrain_requested and "2 of the last 3" in m.retrain_reason
    card = m._repr_html_()
    assert "version 2" in card and "FORCED" in card and "retraining requested" in card


def test_every_run_links_its_mlflow_run_and_report(store):
    m = monitoring_dashboard(MODEL).model(MODEL)
    exp = mlflow.MlflowClient().get_experiment_by_name(f"monitoring/{MODEL}")
    for run in m.runs:
        assert run["run_url"] == store.run_url(exp.experiment_id, run["run_id"])
        assert run["report_url"].startswith(run["run_url"].split("?")[0] + "/artifacts/drift/")
        assert Path(run["report_path"]).is_file() and run["run_id"] in run["report_path"]
    table = runs_table(m)
    assert table.count("MLflow run</a>") == len(m.runs) and m.runs[0]["run_id"] in table


def test_the_heatmap_marks_drifted_cells_and_leaves_invalid_days_blank(store):
    m = monitoring_dashboard(MODEL).model(MODEL)
    scores, drifted = m.history.drift_matrix()
    assert list(drifted.loc["income"])[:4] == [False, True, False, True]
    assert scores.loc["income"].iloc[2] != scores.loc["income"].iloc[2]  # NaN: invalid day
    assert scores.loc["income"].iloc[3] > scores.loc["income"].iloc[0]
    heat = m.heatmap().data[0]
    row = list(heat.y).index("income")
    assert list(heat.z[row])[:4] == [0.0, 1.0, None, 1.0]
    assert all(r[2] is None for r in heat.z)  # the invalid day has no verdict in any column
    assert list(heat.y)[:2] == list(drifted.index[:2])  # most often drifted first
    lines = m.plot()
    share = next(t for t in lines.data if t.name == "drifted share")
    assert share.y[2] is None and share.y[1] > share.y[0]  # no share on invalid data
    assert any(t.name == "accuracy (measured)" for t in lines.data)


def test_a_model_without_champion_or_runs_then_a_champion_set_outside(store):
    m = monitoring_dashboard(QUIET).model(QUIET)
    assert m.live_version is None and "no @champion" in m.live_note
    assert m.runs == [] and m.verdict() == "never monitored" and not m.retrain_requested
    assert "never monitored" in m._repr_html_()
    mlflow.MlflowClient().set_registered_model_alias(QUIET, "champion", "1")
    try:
        m = monitoring_dashboard(QUIET).model(QUIET)
        assert m.live_version == 1 and m.live_since is None
        assert "moved outside the workbench" in m.live_note
    finally:
        mlflow.MlflowClient().delete_registered_model_alias(QUIET, "champion")


def test_an_unknown_model_is_named(store):
    with pytest.raises(wb.ModelNotFoundError, match="'no-such-model'.*dash-quiet"):
        monitoring_dashboard("no-such-model")
    with pytest.raises(wb.ModelNotFoundError, match="'nope'"):
        monitoring_dashboard().model("nope")


def test_saved_and_loaded_it_draws_the_same_heatmap(store, tmp_path):
    board = monitoring_dashboard()
    path = board.save(tmp_path / "board")
    assert path.name == "dashboard.json"
    back = Dashboard.load(tmp_path / "board")
    assert back.to_dict() == board.to_dict()
    assert back.model(MODEL).heatmap().data[0].z == board.model(MODEL).heatmap().data[0].z


def test_the_panel_shows_the_model_and_refresh_reads_new_runs(store):
    from workbench.ui import DashboardPanel

    panel = DashboardPanel(model=MODEL)
    assert panel.model.value == MODEL and set(panel.model.options) == {MODEL, QUIET}
    before = panel.runs.value.count("<tr>")
    assert "version 2" in panel.card.value and len(panel.plots.outputs) == 2
    _monitor(5, "none")
    panel.refresh_button.click()
    assert panel.model.value == MODEL  # the selection survives a refresh
    assert panel.runs.value.count("<tr>") == before + 1 and "day 5 (none)" in panel.card.value
    assert "wb-ok" in panel.status.value and "no drift" in panel.status.value
    panel.model.value = QUIET
    assert "never monitored" in panel.card.value and panel.plots.outputs == ()
