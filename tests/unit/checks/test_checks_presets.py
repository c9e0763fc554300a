"""Presets: a suite is a list of small checks, in order, with the default bars."""

from __future__ import annotations

import pytest

from workbench.checks import DEFAULT_THRESHOLDS, ServingSmokeCheck, default_suite


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


def test_serving_adds_the_smoke_check_last():
    suite = default_suite(serving=True)
    assert isinstance(suite[-1], ServingSmokeCheck)
    assert not any(isinstance(c, ServingSmokeCheck) for c in default_suite())


def test_default_bars_are_minimums_for_scores_and_maximums_for_errors():
    for task, bars in DEFAULT_THRESHOLDS.items():
        checks = {c.name: c for c in default_suite(task)}
        for metric, value in bars.items():
            assert checks[f"metric_{metric}"].minimum == value
    bars = {c.name: c for c in default_suite(thresholds={"log_loss": 0.5, "f1": 0.6})}
    assert bars["metric_log_loss"].maximum == 0.5 and bars["metric_f1"].minimum == 0.6
