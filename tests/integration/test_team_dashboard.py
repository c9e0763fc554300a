"""The monitoring dashboard on the team server: what a data scientist logged and an approver promoted
is what the read-only viewer's dashboard shows, with links to the server's own UI."""

from __future__ import annotations

import pytest

import workbench as wb

pytestmark = pytest.mark.server
MODEL = "team-dash"


def test_the_viewer_reads_the_dashboard_of_a_model_on_the_server(team_server, as_user, tmp_path):
    from workbench.data import credit_risk, production_batch
    from workbench.monitoring.dashboard import monitoring_dashboard
    from workbench.ui import DashboardPanel

    as_user("ds1")
    wb.open_workspace(tmp_path / "ds1")
    wb.train_and_log(credit_risk(600, seed=4), "default", name=MODEL, family="logistic_regression")
    as_user("approver")
    wb.promote(MODEL, 1, reason="first on the server", force=True)
    as_user("ds1")
    for day, scenario in [(1, "none"), (2, "gradual_shift")]:
        wb.drift_report(
            credit_risk(2000), production_batch(day, scenario, n=400),
            model=f"models:/{MODEL}@champion", target="default", build_report=False,
            data_ids={"current": f"day {day} ({scenario})"},
        ).log()  # fmt: skip

    as_user("viewer")
    wb.open_workspace(tmp_path / "viewer")
    board = monitoring_dashboard()
    assert board.shared and board.tracking_uri == team_server.tracking_uri
    m = board.model(MODEL)
    assert m.live_version == 1 and m.live_by == "approver" and m.live_forced
    assert [r["status"] for r in m.runs] == ["ok", "drift"] and "income" in m.verdict()
    for run in m.runs:  # links open the server's UI; no local file on a shared store
        assert run["run_url"].startswith(team_server.tracking_uri + "/#/experiments/")
        assert (
            run["report_url"].startswith(run["run_url"].split("?")[0])
            and run["report_path"] is None
        )
    assert list(m.heatmap().data[0].z[0]) == [0.0, 1.0]  # income, most drifted first
    panel = DashboardPanel(model=MODEL)
    assert "the tracking server" in panel.read_at.value and "version 1" in panel.card.value
