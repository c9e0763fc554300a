"""The dashboard shows the workspace's last successful backup, and says when there is none."""

from __future__ import annotations

import workbench as wb
from workbench.monitoring.dashboard import monitoring_dashboard


def test_the_dashboard_shows_the_last_backup(workspace, tmp_path):
    from workbench.ui import DashboardPanel

    assert monitoring_dashboard().last_backup is None
    assert "No backup of this workspace yet" in DashboardPanel().read_at.value
    made = wb.backup(tmp_path / "b.tar.gz")
    board = monitoring_dashboard()
    assert board.last_backup["archive"] == made.archive
    assert board.to_dict()["last_backup"]["size"] == made.size
    shown = DashboardPanel().read_at.value
    assert "last backup" in shown and "No backup" not in shown
