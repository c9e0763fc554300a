"""Champion versus challenger statistics: valid under peeking, oriented, sized, and JSON-safe."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from scipy import stats

from workbench.monitoring import abstats as ab

_PEEKS = range(50, 2001, 50)


def _aa_experiments(seed: int, n_experiments: int = 300, rows: int = 2000):
    """Identical arms (80% accuracy), 20% of labelled rows to the challenger."""
    rng = np.random.default_rng(seed)
    to_challenger = rng.random((n_experiments, rows)) < 0.2
    correct = (rng.random((n_experiments, rows)) < 0.8).astype(float)
    return to_challenger, correct


def _naive_z_declares(main: np.ndarray, challenger: np.ndarray) -> bool:
    """A fixed-sample two-proportion z-test at 5%, as if the sample size had been planned."""
    p_a, p_b = main.mean(), challenger.mean()
    se = math.sqrt(p_a * (1 - p_a) / main.size + p_b * (1 - p_b) / challenger.size)
    return se > 0 and abs(p_b - p_a) / se > stats.norm.ppf(0.975)


def test_aa_experiments_peeked_every_50_rows_stay_within_alpha():
    to_challenger, correct = _aa_experiments(seed=20261207)
    ever_declared, naive_declared = 0, 0
    for assign, values in zip(to_challenger, correct, strict=True):
        declared, naive = False, False
        for t in _PEEKS:
            main, challenger = values[:t][~assign[:t]], values[:t][assign[:t]]
            result = ab.compare_arms(main, challenger, metric="accuracy")
            declared = declared or result.verdict in ("better", "worse")
            if challenger.size >= ab.MIN_PER_ARM:
                naive = naive or _naive_z_declares(main, challenger)
        ever_declared += declared
        naive_declared += naive
    share, naive_share = ever_declared / 300, naive_declared / 300
    assert share <= 0.07, f"always-valid interval declared {share:.3f} of A/A experiments"
    # why: the classic test, looked at 40 times, is wrong far more often than its 5%
    assert naive_share > 0.10, f"naive z-test declared only {naive_share:.3f}"


def test_a_clear_gain_is_better_and_swapped_is_worse():
    main = np.array([1.0] * 560 + [0.0] * 240)  # 70% of 800
    challenger = np.array([1.0] * 184 + [0.0] * 16)  # 92% of 200
    better = ab.compare_arms(main, challenger, metric="accuracy")
    assert better.verdict == "better"
    assert better.difference == pytest.approx(0.22)
    assert 0 < better.lower < 0.22 < better.upper
    assert (better.n_main, better.n_challenger) == (800, 200)
    worse = ab.compare_arms(challenger, main, metric="accuracy")
    assert worse.verdict == "worse"
    assert worse.upper < 0


def test_five_rows_per_arm_is_not_yet_known():
    result = ab.compare_arms([1, 1, 1, 1, 1], [0, 0, 0, 0, 0], metric="accuracy")
    assert result.verdict == "not yet known"
    assert result.not_worse is False


def test_lower_is_better_metric_is_oriented_so_positive_means_challenger_better():
    rng = np.random.default_rng(7)
    main_errors = np.abs(rng.normal(0, 2.0, 500))
    challenger_errors = np.abs(rng.normal(0, 1.0, 500))
    result = ab.compare_arms(main_errors, challenger_errors, metric="mae", higher_is_better=False)
    assert result.difference == pytest.approx(main_errors.mean() - challenger_errors.mean())
    assert result.difference > 0
    assert result.verdict == "better"


def test_equal_arms_with_many_rows_are_not_worse_within_a_margin():
    arm = np.array([1.0] * 4000 + [0.0] * 1000)  # 80% of 5,000
    result = ab.compare_arms(arm, arm.copy(), metric="accuracy", margin=0.05)
    assert result.verdict == "not yet known"
    assert result.not_worse is True
    assert -0.05 < result.lower < 0 < result.upper
    strict = ab.compare_arms(arm, arm.copy(), metric="accuracy", margin=0.0)
    assert strict.not_worse is False


def test_sample_size_grows_as_the_effect_shrinks():
    sizes = [ab.sample_size(0.4, 0.3, 0.2, effect) for effect in (0.1, 0.05, 0.02, 0.01)]
    assert sizes == sorted(sizes)
    assert len(set(sizes)) == 4


def test_more_needed_agrees_with_sample_size():
    rng = np.random.default_rng(11)
    main, challenger = rng.normal(0, 1.0, 400), rng.normal(0, 2.0, 100)
    result = ab.compare_arms(main, challenger, metric="score", min_effect=0.2)
    needed = ab.sample_size(
        float(np.std(main, ddof=1)), float(np.std(challenger, ddof=1)), 0.2, 0.2
    )
    assert result.more_needed == needed - 500 > 0
    assert (result.upper - result.lower) / 2 >= 0.2
    # with that many rows (same split, same spread) the half-width is below 0.2: nothing more needed
    big_main = np.resize(main, math.ceil(0.8 * needed) + 1)
    big_challenger = np.resize(challenger, math.ceil(0.2 * needed) + 1)
    reached = ab.compare_arms(big_main, big_challenger, metric="score", min_effect=0.2)
    assert reached.more_needed == 0
    assert (reached.upper - reached.lower) / 2 < 0.2
    assert ab.compare_arms(main, challenger, metric="score").more_needed is None


def test_all_correct_arms_give_a_finite_interval_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = ab.compare_arms(np.ones(100), np.ones(100), metric="accuracy", min_effect=0.05)
    assert math.isfinite(result.lower) and math.isfinite(result.upper)
    assert result.lower < 0 < result.upper
    assert result.verdict == "not yet known"


@pytest.mark.parametrize(
    "kwargs",
    [{"alpha": 0.0}, {"alpha": 1.0}, {"margin": -0.01}, {"min_effect": 0.0}, {"min_effect": -1}],
)
def test_bad_arguments_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        ab.compare_arms([1, 0], [1, 0], metric="accuracy", **kwargs)


def test_agreement_on_hand_made_predictions():
    result = ab.agreement(["a", "b", "a", "a"], ["a", "b", "b", "a"])
    assert (result.n, result.rate) == (4, 0.75)
    # Wilson 95% interval for 3 of 4 (statsmodels' proportion_confint(3, 4, method="wilson"))
    assert result.lower == pytest.approx(0.30064184258240184)
    assert result.upper == pytest.approx(0.9544127391902995)
    all_same = ab.agreement([1, 2, 3], [1, 2, 3])
    assert (all_same.n, all_same.rate, all_same.upper) == (3, 1.0, 1.0)


def test_agreement_refuses_unequal_lengths():
    with pytest.raises(ValueError, match="equal length"):
        ab.agreement([1, 2, 3], [1, 2])


def test_mix_difference_on_hand_made_predictions():
    result = ab.mix_difference(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    assert result.classes == ["a", "b"]
    assert result.main_share == [0.5, 0.5]
    assert result.challenger_share == [0.25, 0.75]
    assert result.distance == pytest.approx(0.25)
    assert result.p_value == pytest.approx(stats.chi2_contingency([[2, 2], [1, 3]]).pvalue)
    same = ab.mix_difference([0] * 50 + [1] * 50, [1] * 10 + [0] * 10)
    assert same.distance == 0.0
    assert same.p_value == pytest.approx(1.0)
    one_class = ab.mix_difference(["x"] * 5, ["x"] * 3)
    assert (one_class.distance, one_class.p_value) == (0.0, 1.0)
    disjoint = ab.mix_difference(["x"] * 40, ["y"] * 40)
    assert disjoint.distance == 1.0
    assert disjoint.p_value < 1e-10


def test_to_dict_is_json_safe_with_nan_inputs():
    empty = ab.compare_arms([math.nan, math.nan], [1.0, 0.0, math.nan], metric="accuracy")
    assert empty.n_main == 0 and math.isnan(empty.difference)
    payload = json.loads(json.dumps(empty.to_dict(), allow_nan=False))
    assert payload["main"] is None and payload["lower"] is None and payload["upper"] is None
    assert payload["verdict"] == "not yet known"
    nothing = ab.agreement([None, math.nan], ["a", "b"])
    assert json.loads(json.dumps(nothing.to_dict(), allow_nan=False))["rate"] is None
    empty_mix = ab.mix_difference([], ["a", "b"])
    assert json.loads(json.dumps(empty_mix.to_dict(), allow_nan=False))["distance"] is None
