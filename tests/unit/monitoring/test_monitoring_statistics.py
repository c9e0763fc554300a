"""The numpy verdicts are Evidently's: same method, same score, on small and large reference data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.data import credit_risk, production_batch
from workbench.monitoring import statistics as ds


def _evidently_scores(result) -> dict[str, tuple[float, str]]:
    d = result.report().dict()
    return {
        m["config"]["column"]: (m["value"], m["config"]["method"])
        for m in d["metrics"]
        if m["config"]["type"].endswith("ValueDrift")
    }


@pytest.mark.parametrize(
    "ref_rows, scenario, methods",
    [
        (800, "gradual_shift", {"ks", "chisquare", "z"}),  # small reference: p-value tests
        (3000, "new_category", {"wasserstein", "jensenshannon"}),  # large: distances
    ],
)
def test_scores_and_methods_equal_evidentlys(ref_rows, scenario, methods):
    ref = credit_risk(ref_rows, seed=2)
    cur = production_batch(2, scenario, n=400)
    result = wb.drift_report(ref, cur, target="default")
    evidently = _evidently_scores(result)
    assert set(evidently) == {c.column for c in result.columns}
    names = {v[0]: k for k, v in ds.METHODS.items()}
    assert {names[c.method] for c in result.columns} == methods
    for col in result.columns:
        score, method = evidently[col.column]
        assert score == pytest.approx(col.score, abs=1e-9), col.column
        assert method in (names[col.method], col.method), col.column


def test_report_on_a_sample_keeps_full_data_verdicts_and_states_the_bound():
    ref = credit_risk(3000, seed=3)
    cur = production_batch(4, "gradual_shift", n=6000)
    full = wb.drift_report(ref, cur, build_report=False)
    sampled = wb.drift_report(ref, cur, max_report_rows=2000)
    assert [c.score for c in sampled.columns] == [c.score for c in full.columns]
    assert sampled.report_rows == 2000 and sampled.rows_current == 6000
    assert sampled.sample_error_bound == pytest.approx(ds.dkw_bound(2000))
    assert "uniform sample" in sampled._repr_html_()
    evidently = _evidently_scores(sampled)
    for col in sampled.columns:  # the sample's scores stay close to the full table's
        assert abs(evidently[col.column][0] - col.score) < 0.05, col.column


def test_method_choice_follows_evidently_rules():
    rng = np.random.default_rng(0)
    big = pd.Series(rng.normal(size=2000))
    small = big[:500]
    assert ds.choose_method(big, big, "numerical") == "wasserstein"
    assert ds.choose_method(small, small, "numerical") == "ks"
    few = pd.Series(rng.integers(0, 4, 2000).astype(float))
    assert ds.choose_method(few, few, "numerical") == "jensenshannon"
    assert ds.choose_method(few[:500], few[:500], "numerical") == "chisquare"
    binary = pd.Series(rng.integers(0, 2, 500))
    assert ds.choose_method(binary, binary, "categorical") == "z"
    assert ds.column_kind(pd.Series([1, 2, 3] * 10)) == "categorical"  # <= 10 integer values
    assert ds.column_kind(pd.Series(range(100))) == "numerical"
    assert ds.dkw_bound(50_000) < 0.01 < ds.dkw_bound(10_000)


def test_fast_wasserstein_equals_scipys_with_ties_and_unequal_sizes():
    from scipy.stats import wasserstein_distance

    rng = np.random.default_rng(1)
    for n in (1, 7, 1000, 50_000):
        u = rng.normal(size=2000).round(1)  # many ties
        v = rng.normal(0.2, 1.3, size=n).round(1)
        assert ds.wasserstein_1d(u, v) == pytest.approx(wasserstein_distance(u, v), abs=1e-12)


def test_columns_to_test_leaves_out_dates_requested_ids_and_absent_labels():
    ref = pd.DataFrame(
        {
            "day": [f"2026-01-0{i % 9 + 1}" for i in range(40)],
            "id": range(40),
            "x": np.linspace(0, 1, 40),
            "y": [0, 1] * 20,
        }
    )
    cur = ref.drop(columns="y").assign(x=lambda f: f["x"].astype(str))
    _, cast_cur, kinds, ignored = ds.columns_to_test(ref, cur, "y", ["id"])
    assert kinds == {"x": "numerical"}
    assert set(ignored) == {"day", "id", "y"} and "date" in ignored["day"]
    assert pd.api.types.is_float_dtype(cast_cur["x"])  # text parsed back into numbers
    verdicts = ds.column_verdicts(ref, cast_cur, kinds)
    assert [(v.column, v.drifted) for v in verdicts] == [("x", False)]
