"""The stage-2 panel's governance: the audit table fits (short times and hashes, the whole hash on
hover), the gate's metric is red when the candidate is worse beyond the tolerance, and a promotion
or rollback with an empty reason is refused with nothing moved."""

from __future__ import annotations

import html

import pandas as pd
import pytest

from workbench.checks.base import CheckReport, CheckResult
from workbench.ui._tables import audit_table_html, comparison_html


def _report(regressed: bool) -> CheckReport:
    delta = -0.115 if regressed else 0.004
    table = pd.DataFrame(
        [{"metric": "roc_auc", "candidate": 0.80 + delta, "champion": 0.80, "delta": delta,
          "allowed_loss": 0.02, "regressed": regressed}]
    )  # fmt: skip
    comparison = pd.DataFrame(
        [{"metric": "roc_auc", "candidate": 0.80 + delta, "champion": 0.80, "delta": delta},
         {"metric": "accuracy", "candidate": 0.7, "champion": 0.71, "delta": -0.01}]
    )  # fmt: skip
    status = "fail" if regressed else "pass"
    result = CheckResult("no_regression", status, delta, "tolerance 0.02", "", table)
    return CheckReport(
        "models:/m/3", [result], name="m", version=3, champion_version=2, comparison=comparison
    )


@pytest.mark.parametrize("regressed", [True, False])
def test_the_gate_metric_is_named_with_its_tolerance_and_coloured(regressed):
    page = comparison_html(_report(regressed))
    line = page.split("wb-gate-metric", 1)[1].split("</div>", 1)[0]
    assert "roc_auc" in line and "allowed loss 0.0200" in line and "@champion v2" in line
    assert ("#cf222e" in line) is regressed and ("worse than the champion" in line)
    assert ("not worse" in line) is not regressed
    accuracy_row = page.split("<td>accuracy</td>")[0].rsplit("<tr", 1)[1]
    assert "color" not in accuracy_row  # only the gate's metric is coloured


def test_no_comparison_without_a_champion():
    report = _report(False)
    report.comparison = None
    assert comparison_html(report) == ""


def test_the_audit_table_shortens_hashes_and_times_and_escapes_text():
    full = "f" * 64
    log = pd.DataFrame(
        [{"time": "2026-12-07T14:21:03.123456+00:00", "action": "promote", "model": "m",
          "run_id": "r" * 32, "new_version": 2, "old_version": pd.NA, "reason": "<script>alert(1)</script>",
          "hash": full, "signature": "s" * 128, "by": None}]
    )  # fmt: skip
    page = audit_table_html(log)
    assert "2026-12-07 14:21:03 UTC" in page and "123456" not in page
    assert f"title='{full}'" in page and f">{full}<" not in page
    assert "s" * 20 not in page and "r" * 20 not in page  # signature and run id left out
    assert html.escape("<script>") in page and "<script>" not in page


def test_an_empty_reason_is_refused_and_nothing_moves(trained):
    from workbench.registry import history
    from workbench.ui import ChecksPanel

    before = len(history("credit-risk"))
    panel = ChecksPanel("credit-risk", version=1, protected=[])
    panel.force.value = True  # even forcing needs the reason
    panel.reason.value = "   "
    assert panel.promote() is None
    assert "write a reason before promoting credit-risk" in panel.status.value
    assert panel.rollback() is None
    assert "write a reason before rolling back credit-risk" in panel.status.value
    assert "wb-error" in panel.status.value and "wb-missing" in panel.reason._dom_classes
    assert len(history("credit-risk")) == before


def test_the_audit_table_links_each_version_to_its_page():
    log = pd.DataFrame([{"time": "2026-12-07T14:21:03+00:00", "old_version": 1, "new_version": 2}])
    page = audit_table_html(log, link=lambda v: f"http://ui/#/models/m/versions/{v}")
    assert "href='http://ui/#/models/m/versions/2'" in page and ">v2</a>" in page
    assert "href='http://ui/#/models/m/versions/1'" in page
