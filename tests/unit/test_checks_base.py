"""The shared parts: results, the report (frame, dict, files, HTML), the safe call, the presets."""

from __future__ import annotations

import importlib.util
import json

import pandas as pd
import pytest

import workbench as wb
from workbench.checks import Check, CheckReport, CheckResult, default_suite


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


def test_default_suite_is_a_list_of_small_checks():
    names = [c.name for c in default_suite("classification", protected="age_band")]
    assert names[:3] == ["schema_contract", "metric_roc_auc", "no_regression"]
    assert "fairness_gap" in names and "safe_artifact" in names
    assert "fairness_gap" not in [c.name for c in default_suite("classification")]
    reg = default_suite("regression", thresholds={"rmse": 60.0, "r2": 0.3})
    by_name = {c.name: c for c in reg}
    assert by_name["metric_rmse"].maximum == 60.0 and by_name["metric_r2"].minimum == 0.3
    with pytest.raises(ValueError, match="unknown task"):
        default_suite("ranking")


def test_serving_smoke_hook_is_lazy_and_clear():
    if importlib.util.find_spec("workbench.checks.serving_smoke") is None:
        with pytest.raises(wb.CheckError, match="serving_smoke"):
            default_suite(serving=True)
    else:
        names = [type(c).__name__ for c in default_suite(serving=True)]
        assert names[-1] == "ServingSmokeCheck"


def test_model_card_html_renders_tables_and_lists():
    from workbench.checks.card import card_html

    page = card_html("# Card\n\n## Metrics\n| a | b |\n|---|---|\n| 1 | `x` |\n- one\n- **two**\n")
    assert "<h1>Card</h1>" in page and "<td>1</td>" in page and "<code>x</code>" in page
    assert "<li><b>two</b></li>" in page
