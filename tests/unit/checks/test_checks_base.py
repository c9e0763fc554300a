"""The shared parts: results, the report (frame, dict, files, HTML, load), the safe call."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from workbench.checks import Check, CheckReport, CheckResult


def _report() -> CheckReport:
    return CheckReport(
        "models:/m/2",
        [
            CheckResult("schema_contract", "pass", 10, None, "all columns match"),
            CheckResult("latency", "warn", 12.5, "p95 <= 10 ms", "a bit slow"),
            CheckResult(
                "fairness_gap", "fail", 0.4, 0.2, "gap too wide", pd.DataFrame({"slice": ["a"]})
            ),
        ],
        name="m",
        version=2,
        eval_rows=100,
    )


def test_report_verdict_frame_dict_and_files(tmp_path):
    report = _report()
    assert not report.passed and report.status == "failed" and report.failed == ["fairness_gap"]
    frame = report.to_frame()
    assert list(frame["status"]) == ["pass", "warn", "fail"]
    data = json.loads(json.dumps(report.to_dict()))
    assert data["failed"] == ["fairness_gap"]
    assert data["results"][2]["table"] == [{"slice": "a"}]
    folder = report.save(tmp_path / "out")
    saved = json.loads((folder / "checks.json").read_text())
    assert saved["status"] == "failed" and saved["version"] == 2
    page = (folder / "checks.html").read_text()
    assert "wb-check-fail" in page and "#cf222e" in page and "fairness_gap" in page
    assert "FAILED" in report.summary() and "fairness_gap" in report.summary()
    assert report["latency"].status == "warn"


def test_warnings_do_not_block_and_an_empty_report_does_not_pass():
    ok = CheckReport("u", [CheckResult("a", "pass"), CheckResult("b", "warn")])
    assert ok.passed and ok.status == "passed"
    assert not CheckReport("u", []).passed
    with pytest.raises(ValueError, match="status must be one of"):
        CheckResult("x", "ok")


def test_a_check_that_raises_becomes_an_error_result_not_a_crash():
    class Broken(Check):
        name = "broken"

        def run(self, context):
            raise ZeroDivisionError("boom")

    result = Broken()(None)
    assert result.status == "error" and "ZeroDivisionError: boom" in result.detail
    assert result.seconds >= 0


def test_a_saved_report_loads_back(tmp_path):
    report = _report()
    report.model_card = "# Model card\n"
    report.save(tmp_path)
    again = CheckReport.load(tmp_path)
    assert again.to_dict() == report.to_dict()
    assert again["fairness_gap"].table.to_dict("records") == [{"slice": "a"}]
    assert again.model_card == "# Model card\n"
    assert CheckReport.load(tmp_path / "checks.json").status == "failed"
    assert not list(tmp_path.glob(".*.tmp"))  # written through a rename, nothing left behind
