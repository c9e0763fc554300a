"""Performance estimated from a classifier's probabilities: close to the truth when the
probabilities are calibrated (also under a covariate shift, where carrying the reference forward
is wrong), an interval that covers the truth on a rare-positive table (the calibration's own
uncertainty included) or an estimate withheld with its reason, flagged when it cannot be trusted,
refused when they are not probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from workbench._core.calibration import calibrate, calibration_draws, fit_calibration
from workbench._core.tasks import metrics
from workbench.errors import DataError
from workbench.monitoring.estimation import (
    CONCEPT_SHIFT,
    MIN_CLASS_ROWS,
    estimate_performance,
    estimate_summary,
)


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
    assert not est["withheld"] and est["reason"] == ""
    for name in ("accuracy", "precision", "recall", "f1"):  # usable: narrow, and shown
        figure = est[name]
        assert not figure["withheld"] and figure["high"] - figure["low"] < 0.06, (name, figure)


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
    est = estimate_performance(p, p >= 0.5, small)
    assert "only 60 eval rows" in " | ".join(est["warnings"])  # flagged
    assert est["withheld"] and "outside the range the eval data covered" in est["reason"]
    assert all(est[m]["value"] is None for m in ("accuracy", "precision", "recall", "f1"))
    assert estimate_summary(est).startswith("withheld: ")


def _rare_table(seed: int):
    """A real fitted model on a rare-positive table (about 6% positives, a weak signal): its
    eval calibration, and the probabilities, decisions and labels of a holdout pool."""
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    x, y = make_classification(
        12000, n_features=20, n_informative=4, weights=[0.94], flip_y=0.03, class_sep=0.6,
        random_state=seed,
    )  # fmt: skip
    y = y == 1
    train, ev, pool = slice(0, 4000), slice(4000, 5500), slice(5500, None)
    model = RandomForestClassifier(60, random_state=seed, n_jobs=1).fit(x[train], y[train])
    table = fit_calibration(model.predict_proba(x[ev])[:, 1], y[ev])
    return table, model.predict_proba(x[pool])[:, 1], model.predict(x[pool]), y[pool]


def test_a_rare_positive_table_gets_a_covering_interval_or_a_withheld_estimate():
    """Six random splits (a model and a calibration each), three holdouts each: precision,
    recall and F1 are covered or withheld in at least 85% of the cases; the interval the
    workbench gave before (labels drawn from the point calibration alone) covered far fewer."""
    now, before, cases = 0, 0, 0
    for seed in range(3, 9):
        table, proba, decided, truth = _rare_table(seed)
        assert 0.04 < table["positives"] / table["rows"] < 0.08
        rng = np.random.default_rng(0)
        for h in range(3):
            pick = rng.choice(len(proba), 1500, replace=False)
            measured = metrics(truth[pick], decided[pick], positive_label=True)
            est = estimate_performance(proba[pick], decided[pick], table, seed=h)
            old = estimate_performance(calibrate(table, proba[pick]), decided[pick], {}, seed=h)
            for m in ("precision", "recall", "f1"):
                cases += 1
                figure, was = est[m], old[m]
                if figure["withheld"]:
                    assert figure["reason"] and figure["value"] is None
                now += figure["withheld"] or figure["low"] <= measured[m] <= figure["high"]
                before += not was["withheld"] and was["low"] <= measured[m] <= was["high"]
    assert now >= 0.85 * cases, (now, before, cases)
    assert before < 0.8 * cases, (now, before, cases)


def test_too_few_positives_in_the_eval_data_withhold_the_whole_estimate_with_the_reason():
    rng = np.random.default_rng(9)
    p = rng.uniform(0, 1, 400) ** 3  # most probabilities small
    y = np.zeros(400, bool)
    y[np.argsort(p)[-12:]] = True  # twelve positives
    table = fit_calibration(p, y)
    est = estimate_performance(p, p >= 0.5, table)
    assert est["withheld"] and f"only 12 positive rows: at least {MIN_CLASS_ROWS}" in est["reason"]
    assert all(est[m]["withheld"] for m in ("accuracy", "precision", "recall", "f1", "roc_auc"))
    assert "withheld: the eval data held only 12 positive rows" in estimate_summary(est)


def test_few_eval_rows_where_the_model_calls_positive_withhold_precision_recall_and_f1():
    rng = np.random.default_rng(10)
    p = np.concatenate([rng.uniform(0, 0.45, 1000), rng.uniform(0.5, 1, 5)])  # 5 rows >= 0.5
    table = fit_calibration(p, rng.uniform(size=len(p)) < p)
    batch = np.concatenate([rng.uniform(0, 0.45, 500), rng.uniform(0.6, 0.9, 40)])
    est = estimate_performance(batch, batch >= 0.5, table)
    assert not est["withheld"] and not est["accuracy"]["withheld"]
    for m in ("precision", "recall", "f1"):
        assert est[m]["withheld"] and "predicted positives" in est[m]["reason"]
    assert est["reason"].startswith("precision, recall, f1 withheld: the eval data held only")
    text = estimate_summary(est)
    assert text.startswith("accuracy 0.") and "; precision, recall, f1 withheld (the eval" in text


def test_the_calibrations_own_uncertainty_widens_with_fewer_eval_rows():
    big = fit_calibration(*_batch(5000, 0, 1, seed=11))
    small = fit_calibration(*_batch(300, 0, 1, seed=12))
    probe = np.linspace(0.5, 1, 200)  # what the model calls positive: a precision
    spread = [
        float(np.std(calibration_draws(t, probe, 400, np.random.default_rng(0)).mean(axis=1)))
        for t in (big, small)
    ]
    assert spread[1] > 2 * spread[0] > 0, spread
    assert set(big["bins"]) == {"p", "low", "high", "rows", "positives"}
    assert sum(big["bins"]["rows"]) == 5000
    assert all(h < 0.5 or lo >= 0.5 for lo, h in zip(big["bins"]["low"], big["bins"]["high"]))


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
    assert "roc_auc" not in one  # AUC needs both classes
    assert one["accuracy"]["withheld"] and "too uncertain" in one["accuracy"]["reason"]  # 0 or 1


def test_the_calibration_never_decreases_and_stays_within_zero_and_one():
    table = fit_calibration(*_batch(2000, 0, 1, seed=8))
    out = calibrate(table, np.linspace(-0.0, 1.0, 101))
    assert np.all(np.diff(out) >= -1e-12) and out.min() >= 0 and out.max() <= 1


def test_a_calibration_kept_before_bins_existed_still_gives_a_covering_interval():
    old = fit_calibration(*_batch(3000, 0, 1, seed=13))
    del old["bins"]  # as versions logged before keep it: knots only
    p, y = _batch(2000, 0, 1, seed=14)
    est = estimate_performance(p, p > 0.5, old)
    truth = float(np.mean((p > 0.5) == y))
    assert not est["withheld"] and est["accuracy"]["low"] <= truth <= est["accuracy"]["high"]


def test_a_constant_model_gets_a_one_bin_calibration():
    """A model that gives every row one probability (a prior-only dummy) still logs: one bin."""
    import numpy as np

    from workbench._core.calibration import fit_calibration

    y = np.array([True, False] * 50)
    table = fit_calibration(np.full(100, 0.2), y)
    assert len(table["bins"]["rows"]) == 1 and sum(table["bins"]["rows"]) == 100
    assert table["bins"]["positives"] == [50]
