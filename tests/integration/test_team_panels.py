"""The stage-2 panel on the team server, clicked as its users would: the approver runs the checks and
promotes (the audit names them; the By field is the login, not editable); the viewer's click ends in
the panel's status line naming the permission, and nothing moves."""

from __future__ import annotations

import pytest

import workbench as wb

pytestmark = pytest.mark.server
MODEL = "panel-credit"


@pytest.fixture
def eval_frame():
    from workbench.data import credit_risk

    return credit_risk(600, seed=11).drop(columns="application_date")


def test_the_checks_panel_on_the_server_as_approver_then_viewer(as_user, tmp_path, eval_frame):
    from workbench.ui import ChecksPanel

    as_user("ds1")
    wb.open_workspace(tmp_path / "ws")
    wb.train_and_log(eval_frame, "default", name=MODEL, family="logistic_regression")

    as_user("approver")
    panel = ChecksPanel(MODEL, version=1, data=eval_frame, target="default", protected=[])
    assert panel.by.value == "approver" and panel.by.disabled
    report = panel.run_checks()
    assert report is not None, panel.status.value
    panel.reason.value = "checked on the panel"
    entry = panel.promote()
    assert entry is not None, panel.status.value
    assert entry.by == "approver" and wb.get_version(MODEL, "champion").version == 1

    as_user("viewer")
    seen = ChecksPanel(MODEL, version=1, data=eval_frame, target="default", protected=[])
    seen.reason.value = "viewer clicks"
    seen.force.value = True
    assert seen.rollback() is None and seen.promote() is None
    assert "wb-error" in seen.status.value
    assert "refused user &#x27;viewer&#x27;" in seen.status.value
    assert "EDIT on the registered model" in seen.status.value
    assert "Traceback" not in seen.status.value
    assert list(wb.history(MODEL)["by"]) == ["approver"]
