"""Performance estimated from a classifier's probabilities: close to the truth when the
probabilities are calibrated (also under a covariate shift, where carrying the reference forward
is wrong), flagged when they cannot be trusted, refused when they are not probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from workbench._core.calibration import calibrate, fit_calibration
from workbench.errors import DataError
from workbench.monitoring.estimation import CONCEPT_SHIFT, estimate_performance


def _batch(n: int, low: float, high: float, seed: int):
    rng = np.random.default_rng(seed)
    p = rng.uniform(low, high, n)  # calibrated by construction: P(y=1 | p) = p
    return p, rng.uniform(size=n) < p


def test_calibrated_probabilities_estimate_the_truth_within_the_interval():
    p, y = _batch(4000, 0, 1, seed=1)
    decided = p >= 0.5
    est = estimate_performance(p, decided, fit_calibration(*_batch(3000, 0, 1, seed=2)))
    true_acc = float(np.mean(decided == y))
    true_recall = float((decided & y).sum() / y.sum())
    assert abs(est["accuracy"]["value"] - true_acc) < 0.02
    assert est["accuracy"]["low"] <= true_acc <= est["accuracy"]["high"]
    assert abs(est["recall"]["value"] - true_recall) < 0.03
    assert 0.8 < est["roc_auc"]["value"] < 0.9  # uniform calibrated scores: AUC 5/6
    assert est["calibrated"] and est["warnings"] == [] and est["note"] == CONCEPT_SHIFT


def test_under_a_covariate_shift_the_estimate_beats_the_reference_carried_forward():
    table = fit_calibration(*_batch(3000, 0, 1, seed=3))
    ref_p, ref_y = _batch(3000, 0, 1, seed=4)
    naive = float(np.mean((ref_p >= 0.5) == ref_y))  # ~0.75 on the reference
    p, y = _batch(3000, 0.35, 0.65, seed=5)  # the batch moved to where the model is unsure
    est = estimate_performance(p, p >= 0.5, table)
    truth = float(np.mean((p >= 0.5) == y))  # ~0.56
    assert abs(est["accuracy"]["value"] - truth) < 0.03
    assert abs(naive - truth) > 0.1


def test_an_uncalibrated_model_a_small_calibration_and_an_uncovered_range_are_said():
    p, _ = _batch(500, 0.0, 0.4, seed=6)
    assert "uncalibrated" in estimate_performance(p, p >= 0.5, {})["warnings"][0]
    small = fit_calibration(*_batch(60, 0.5, 1.0, seed=7))
    warnings = " | ".join(estimate_performance(p, p >= 0.5, small)["warnings"])
    assert "only 60 eval rows" in warnings and "outside the range" in warnings


@pytest.mark.parametrize("bad", [[0.2, np.nan], [0.2, 1.5], [-0.1, 0.3], [0.1, np.inf]])
def test_values_that_are_not_probabilities_are_refused(bad):
    with pytest.raises(DataError, match="cannot be estimated"):
        estimate_performance(np.array(bad), np.array([False, True]), {})


def test_nothing_to_fit_gives_no_table_and_an_empty_batch_no_estimate():
    assert fit_calibration([0.2, 0.7] * 20, [True] * 40) == {}  # one class only
    assert fit_calibration([0.5], [True]) == {}  # one row
    assert fit_calibration([0.2, np.nan] * 20, [True, False] * 20) == {}
    assert estimate_performance(np.array([]), np.array([], bool), {}) == {}
    one = estimate_performance(np.array([0.9]), np.array([True]), {})
    assert 0 <= one["accuracy"]["value"] <= 1 and "roc_auc" not in one  # AUC needs both classes


def test_the_calibration_never_decreases_and_stays_within_zero_and_one():
    table = fit_calibration(*_batch(2000, 0, 1, seed=8))
    out = calibrate(table, np.linspace(-0.0, 1.0, 101))
    assert np.all(np.diff(out) >= -1e-12) and out.min() >= 0 and out.max() <= 1
