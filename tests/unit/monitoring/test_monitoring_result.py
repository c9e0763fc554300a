"""DriftResult follows the result protocol: summary saved atomically, read back, same verdicts."""

from __future__ import annotations

import json

import pytest

import workbench as wb
from workbench.monitoring.result import ColumnDrift, DriftResult


def _result() -> DriftResult:
    result = DriftResult(rows_reference=100, rows_current=50, data_ids={"current": "day 1"})
    result.set_columns(
        [
            ColumnDrift("income", "numerical", "Wasserstein distance (normed)", 0.3, 0.1, True),
            ColumnDrift("region", "categorical", "chi-square p_value", 0.001, 0.05, True),
            ColumnDrift("age", "numerical", "K-S p_value", 0.4, 0.05, False),
        ]
    )
    return result


def test_dataset_verdict_and_order_of_drifted_columns():
    result = _result()
    assert result.status == "drift" and result.share == pytest.approx(2 / 3)
    assert [c.column for c in result.drifted_columns] == ["region", "income"]  # effect 0.999, 0.3
    assert result.tests["failed"] == 3  # two columns and the share test
    strict = DriftResult(drift_share=0.9)
    strict.set_columns(_result().columns)
    assert strict.drift_detected is False


def test_save_writes_the_summary_only_without_a_report_and_loads_back(tmp_path):
    result = _result()
    folder = result.save(tmp_path / "r")
    assert [p.name for p in folder.iterdir()] == ["summary.json"]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "drift" and summary["drifted_columns"] == ["region", "income"]
    back = DriftResult.load(folder)
    assert back.columns == result.columns and back.status == "drift"
    assert back.data_ids == {"current": "day 1"} and back.report() is None


def test_check_status_raises_for_drift_only_when_asked():
    result = _result()
    assert wb.monitoring.check_status(result) == "drift"
    with pytest.raises(wb.DriftAlert, match="region, income"):
        result.raise_for_status(fail_on_drift=True)
