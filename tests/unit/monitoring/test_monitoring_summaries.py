"""The drift tests read from summaries equal the tests on the rows: exactly when counted value by
value, within the stated, proven bounds when binned (no Spark needed: the summaries are built from
pandas with ``ColumnSummary.from_values``, the same shape Spark's ``counts`` returns)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.data import credit_risk, production_batch
from workbench.errors import UsageError
from workbench.monitoring import statistics as ds
from workbench.monitoring.summaries import _binned_distances, summary_stat, summary_verdicts
from workbench.spark.statistics import ColumnSummary, NumericSketch, shared_edges

NUMERICAL = ["age", "income", "loan_amount", "credit_history_years", "num_late_payments"]
CATEGORICAL = ["age_band", "loan_term_months", "employment", "purpose", "region", "default"]


def _sketch(x: np.ndarray) -> NumericSketch:
    return NumericSketch(len(x), float(x.min()), float(x.max()), float(x.std()))


def _binned(ref: pd.Series, cur: pd.Series, sample: int = 5000):
    """Both columns binned on edges made as the Spark engine makes them (from samples)."""
    r, c = ds.clean(ref).to_numpy(float), ds.clean(cur).to_numpy(float)
    rng = np.random.default_rng(0)
    samples = [rng.choice(x, min(sample, len(x)), replace=False) for x in (r, c)]
    edges = shared_edges(samples, [_sketch(r), _sketch(c)])
    return ColumnSummary.from_values(pd.Series(r), edges), ColumnSummary.from_values(
        pd.Series(c), edges
    )


@pytest.mark.parametrize(
    ("scenario", "ref_rows", "cur_rows"),
    [("none", 20_000, 30_000), ("gradual_shift", 20_000, 30_000), ("none", 800, 600)],
)
def test_counted_columns_give_the_pandas_statistics_exactly(scenario, ref_rows, cur_rows):
    ref = credit_risk(ref_rows, seed=1)
    cur = production_batch(3, scenario, n=cur_rows)
    for col in CATEGORICAL + ["age", "num_late_payments", "credit_history_years"]:
        kind = "categorical" if col in CATEGORICAL else "numerical"
        r, c = ds.clean(ref[col]), ds.clean(cur[col])
        rows = ds.column_stat(col, r, c, kind)
        stat, bounds = summary_stat(
            col, ColumnSummary.from_values(r), ColumnSummary.from_values(c), kind
        )
        assert (stat.method, stat.evidently_drifted) == (rows.method, rows.evidently_drifted), col
        assert stat.score == pytest.approx(rows.score, rel=1e-9, abs=1e-12), col
        assert stat.p_value == pytest.approx(rows.p_value, rel=1e-9, abs=1e-12), col
        assert stat.effect == pytest.approx(rows.effect, rel=1e-9, abs=1e-12), col
        assert bounds.exact and bounds.score == 0.0


@pytest.mark.parametrize("scenario", ["none", "gradual_shift", "new_category"])
def test_binned_scores_stay_within_their_proven_bounds(scenario):
    """The stated bounds: |Wasserstein difference| <= bounds.effect (below 0.01 here), K-S D of
    the bins <= the rows' D <= D + bounds.distance (at most the largest bin share), the binned
    p-value never smaller than the rows' (the bins never overstate drift)."""
    ref = credit_risk(20_000, seed=1)
    cur = production_batch(3, scenario, n=30_000)
    for col in ("income", "loan_amount"):
        r, c = ds.clean(ref[col]), ds.clean(cur[col])
        rows = ds.column_stat(col, r, c, "numerical")
        rs, cs = _binned(ref[col], cur[col])
        assert not (rs.pure and cs.pure)
        stat, bounds = summary_stat(col, rs, cs, "numerical")
        assert not bounds.exact and stat.method == rows.method == "wasserstein"
        assert abs(stat.effect - rows.effect) <= bounds.effect + 1e-12, col
        assert stat.effect <= rows.effect + 1e-12  # a lower bound
        assert bounds.effect < 0.01
        assert abs(stat.effect - rows.effect) < 0.001  # measured: far inside the bound
        _, d = ds._cdf_distances(np.sort(r.to_numpy()), np.sort(c.to_numpy()))
        d_edges, d_high, *_ = _binned_distances(rs, cs)
        assert d_edges - 1e-12 <= d <= d_high + 1e-12, col
        assert d_high - d_edges == pytest.approx(bounds.distance)
        largest_share = max((rs.counts / rs.n).max(), (cs.counts / cs.n).max())
        assert bounds.distance <= largest_share + 1e-12
        assert stat.p_value >= rows.p_value - 1e-12
        assert stat.evidently_drifted == rows.evidently_drifted


def test_a_histogram_whose_bins_hold_one_value_each_is_exact():
    ref = credit_risk(20_000, seed=1)["age"].astype(float)
    cur = production_batch(2, "none", n=15_000)["age"].astype(float)
    edges = np.union1d(ref.unique(), cur.unique())
    rs, cs = ColumnSummary.from_values(ref, edges), ColumnSummary.from_values(cur, edges)
    assert rs.pure and cs.pure
    stat, bounds = summary_stat("age", rs, cs, "numerical")
    rows = ds.column_stat("age", ref, cur, "numerical")
    assert bounds.exact and stat.effect == pytest.approx(rows.effect, rel=1e-12)
    impure = ColumnSummary.from_values(ref + 0.5, edges)  # values between the edges
    assert not impure.pure


def test_verdicts_from_summaries_equal_the_verdicts_on_rows():
    ref = credit_risk(20_000, seed=1)
    for scenario, drifted in (("none", set()), ("gradual_shift", {"income", "loan_amount"})):
        cur = production_batch(3, scenario, n=30_000)
        kinds = {c: "numerical" for c in NUMERICAL} | {c: "categorical" for c in CATEGORICAL}
        rows = ds.column_verdicts(ref, cur, kinds)
        summaries = {}
        for col in kinds:
            if col in ("income", "loan_amount"):
                summaries[col] = _binned(ref[col], cur[col])
            else:
                r, c = ds.clean(ref[col]), ds.clean(cur[col])
                summaries[col] = (ColumnSummary.from_values(r), ColumnSummary.from_values(c))
        decided, _ = summary_verdicts(summaries, kinds)
        assert [s.drifted for s in decided] == [s.drifted for s in rows]
        assert {s.column for s in decided if s.drifted} >= drifted


def test_methods_a_histogram_cannot_give_are_refused_by_name():
    ref = credit_risk(20_000, seed=1)
    cur = production_batch(1, "none", n=20_000)
    rs, cs = _binned(ref["income"], cur["income"])
    with pytest.raises(UsageError, match="'chisquare' for column 'income'"):
        summary_stat("income", rs, cs, "numerical", method="chisquare")
    r, c = (ColumnSummary.from_values(ds.clean(t["purpose"])) for t in (ref, cur))
    with pytest.raises(UsageError, match="'wasserstein' for column 'purpose'"):
        summary_stat("purpose", r, c, "categorical", method="wasserstein")
    stat, _ = summary_stat("purpose", r, c, "categorical", method="chisquare", threshold=0.01)
    rows = ds.column_stat("purpose", ds.clean(ref["purpose"]), ds.clean(cur["purpose"]),
                          "categorical", method="chisquare", threshold=0.01)  # fmt: skip
    assert stat.score == pytest.approx(rows.score) and stat.threshold == 0.01
