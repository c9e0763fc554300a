"""The Evidently report's default sample: bounded rows, full-table verdicts, the bound stated."""

from __future__ import annotations

import pytest

import workbench as wb
from workbench.data import credit_risk, production_batch
from workbench.monitoring import statistics as ds
from workbench.monitoring.evidently_adapter import REPORT_ROWS


def test_default_report_is_built_on_a_bounded_sample_and_verdicts_use_every_row():
    ref = credit_risk(2000, seed=5)
    cur = production_batch(6, "gradual_shift", n=REPORT_ROWS + 2500)
    full = wb.drift_report(ref, cur, build_report=False)
    result = wb.drift_report(ref, cur)
    assert result.rows_current == REPORT_ROWS + 2500
    assert result.report_rows == REPORT_ROWS
    assert result.sample_error_bound == pytest.approx(ds.dkw_bound(REPORT_ROWS))
    # the verdicts and scores are the full table's, not the sample's
    assert [(c.column, c.score, c.drifted) for c in result.columns] == [
        (c.column, c.score, c.drifted) for c in full.columns
    ]
    assert any("uniform sample" in n for n in result.notes)
    # the report still has a drift score for every tested column
    shown = {
        m["config"]["column"]
        for m in result.report().dict()["metrics"]
        if m["config"]["type"].endswith("ValueDrift")
    }
    assert shown == {c.column for c in result.columns}
