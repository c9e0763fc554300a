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


def test_every_score_says_whether_it_is_a_p_value_or_a_distance(tmp_path):
    result = _result()
    result.skipped = {"customer_id": "identifier: unique on 100% of rows"}
    summary = result.to_dict()
    kinds = {c["column"]: c["score_kind"] for c in summary["columns"]}
    assert kinds == {"income": "distance", "region": "p-value", "age": "p-value"}
    assert summary["skipped"] == {"customer_id": "identifier: unique on 100% of rows"}
    assert "Holm" in summary["rule"]
    html = result._repr_html_()
    # one verdict per column; Evidently's own, uncorrected, only as a labelled detail
    assert "Evidently&#x27;s own uncorrected verdict" in html and "distance 0.3" in html
    assert html.count("<th>decision</th>") == 1 and "Evidently verdict" not in html
    assert "p-value 0.001" in html and "customer_id" in html and "wb-drift-skipped" in html
    text = result.text()
    assert "income: " in text and "distance 0.3" in text and "p-value 0.001" in text
    assert "not tested: customer_id (identifier" in text


def test_a_summary_written_before_the_corrected_decision_loads(tmp_path):
    old = {
        "valid": True,
        "drift_detected": True,
        "columns": [
            {
                "column": "income",
                "kind": "numerical",
                "method": "Wasserstein distance (normed)",
                "score": 0.3,
                "threshold": 0.1,
                "drifted": True,
            }
        ],
        "ignored": {"application_date": "a date: it always moves"},
        "status": "drift",
    }
    (tmp_path / "summary.json").write_text(json.dumps(old))
    back = DriftResult.load(tmp_path)
    assert back.skipped == {"application_date": "a date: it always moves"}
    assert back.columns[0].evidently_drifted is True and back.columns[0].score_kind == "distance"
    assert back.drifted_columns[0].column == "income"


def test_unlabelled_batches_say_performance_was_not_measured():
    result = _result()
    result.performance_note = "not measured: the current batch has no labels (no 'default' column)."
    assert "performance: not measured" in result.text()
    assert "not measured" in result._repr_html_()
