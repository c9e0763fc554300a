"""The numpy verdicts are Evidently's: same method, same score, on small and large reference data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.data import credit_risk, production_batch
from workbench.monitoring import statistics as ds


def _evidently_scores(result, ref, cur) -> dict[str, tuple[float, str]]:
    """Evidently's own scores for the columns of ``result``, from a report of Evidently's alone
    (the workbench's report shows the workbench's decision instead)."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    names = {v[0]: k for k, v in ds.METHODS.items()}
    cols = [c.column for c in result.columns]
    definition = DataDefinition(
        numerical_columns=[c.column for c in result.columns if c.kind == "numerical"],
        categorical_columns=[c.column for c in result.columns if c.kind == "categorical"],
    )
    per_method = {  # Evidently refuses chisquare / z named for a numerical column: its own pick
        c.column: names[c.method]
        for c in result.columns
        if not (c.kind == "numerical" and names[c.method] in ("chisquare", "z"))
    }
    snapshot = Report([DataDriftPreset(columns=cols, per_column_method=per_method)]).run(
        current_data=Dataset.from_pandas(cur[cols], data_definition=definition),
        reference_data=Dataset.from_pandas(ref[cols], data_definition=definition),
    )
    return {
        m["config"]["column"]: (m["value"], m["config"]["method"])
        for m in snapshot.dict()["metrics"]
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
    evidently = _evidently_scores(result, ref, cur)
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
    shown = _report_verdicts(sampled)  # the report on a sample shows the full table's decision
    assert shown == {c.column: c.drifted for c in full.columns}, shown


def _report_verdicts(result) -> dict[str, bool]:
    """Each column's verdict as the Evidently report shows it (its per-column test failing)."""
    prefix = "Value Drift for column "
    return {
        t["name"].removeprefix(prefix): t["status"] == "FAIL"
        for t in result.report().dict()["tests"]
        if str(t.get("name", "")).startswith(prefix)
    }


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


def test_holm_and_benjamini_hochberg_match_statsmodels():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(3)
    p = np.concatenate([rng.uniform(size=9), [1e-4, 0.003, 0.02]])
    for ours, theirs in (("holm", "holm"), ("bh", "fdr_bh")):
        expected = multipletests(p, method=theirs)[1]
        assert ds.adjust(list(p), ours) == pytest.approx(list(expected), abs=1e-12)
    assert ds.adjust([0.2, 0.01], "none") == [0.2, 0.01]


def test_two_sample_tests_are_scipys_own():
    from scipy.stats import chi2_contingency, ks_2samp

    rng = np.random.default_rng(4)
    for n_ref, n_cur in ((800, 200), (30_000, 12_000)):  # exact, then the asymptotic branch
        ref = pd.Series(rng.normal(size=n_ref))
        cur = pd.Series(rng.normal(0.05, 1.0, size=n_cur))
        stat = ds.column_stat("x", ref, cur, "numerical")
        assert stat.p_value == pytest.approx(ks_2samp(ref, cur).pvalue, rel=1e-9)
        assert stat.effect == pytest.approx(ds.wasserstein_1d(ref, cur) / ref.std(ddof=0))
    ref = pd.Series(rng.choice(["a", "b", "c"], 900, p=[0.5, 0.3, 0.2]))
    cur = pd.Series(rng.choice(["a", "b", "c"], 300, p=[0.4, 0.35, 0.25]))
    stat = ds.column_stat("c", ref, cur, "categorical")
    table = np.array([ref.value_counts().sort_index(), cur.value_counts().sort_index()])
    assert stat.p_value == pytest.approx(chi2_contingency(table, correction=False).pvalue)
    shares = ref.value_counts(normalize=True) - cur.value_counts(normalize=True)
    assert stat.effect == pytest.approx(0.5 * shares.abs().sum())


def test_rare_values_are_merged_so_the_chi_square_law_holds():
    ref = pd.Series(["a"] * 500 + ["b"] * 480 + ["rare1"] * 2 + ["rare2"] * 2)
    cur = pd.Series(["a"] * 100 + ["b"] * 95 + ["rare3"] * 1)
    stat = ds.column_stat("c", ref, cur, "categorical")
    assert stat.p_value > 0.5  # three stray rows are not drift
    new = pd.Series(["a"] * 60 + ["b"] * 60 + ["new"] * 80)  # a new value on 40% of rows
    assert ds.column_stat("c", ref, new, "categorical").p_value < 1e-20


def test_a_column_drifts_only_when_significant_after_correction_and_large_enough():
    rng = np.random.default_rng(5)
    ref = pd.Series(rng.normal(size=200_000))
    tiny = ds.column_stat("tiny", ref, pd.Series(rng.normal(0.04, 1.0, 200_000)), "numerical")
    real = ds.column_stat("real", ref, pd.Series(rng.normal(0.5, 1.0, 1000)), "numerical")
    assert tiny.p_value < 1e-10 and tiny.effect < 0.1  # significant, negligible
    decided = {s.column: s for s in ds.decide([tiny, real])}
    assert not decided["tiny"].drifted and decided["real"].drifted
    assert decided["real"].p_adjusted == pytest.approx(min(1.0, 2 * real.p_value), rel=1e-6)

    def stat(name, p, effect=0.3, raw=True):
        return ds.ColumnStat(name, "numerical", "ks", p, 0.05, raw, p, effect)

    # ten columns, one at p = 0.01: alone it would alarm, among ten it is what chance gives
    many = [stat("weak", 0.01)] + [stat(f"c{i}", 0.2 + 0.05 * i, raw=False) for i in range(9)]
    weak = ds.decide(many)[0]
    assert weak.p_adjusted == pytest.approx(0.1) and not weak.drifted and weak.evidently_drifted
    assert ds.decide(many, correction="bh")[0].p_adjusted == pytest.approx(0.1)
    own = ds.decide(many, fixed={"weak"})[0]
    assert own.drifted and own.rule == "your threshold"
    assert ds.decide(many, correction="none")[0].drifted  # Evidently's uncorrected rule
    assert ds.decide([stat("small", 1e-6, effect=0.05)])[0].drifted is False


def test_scores_say_what_they_are():
    assert ds.score_kind("ks") == "p-value" and ds.score_kind("K-S p_value") == "p-value"
    assert ds.score_kind("wasserstein") == "distance"
    assert ds.score_kind("Jensen-Shannon distance") == "distance"


def test_one_decision_for_every_engine():
    """``verdicts`` decides whatever an engine scored: the caller's method or threshold decides
    its column, the others are corrected together; both engines' verdicts go through it."""
    asked = []

    def stat_of(name, kind, method, threshold):
        asked.append((name, kind, method, threshold))
        p = {"a": 0.001, "b": 0.02, "c": 0.5}[name]
        limit = threshold or 0.05
        return ds.ColumnStat(name, kind, method or "ks", p, limit, p < limit, p, 0.3)

    kinds = {"a": "numerical", "b": "numerical", "c": "categorical"}
    decided = {s.column: s for s in ds.verdicts(kinds, stat_of, {"c": 0.9}, {"b": "ks"})}
    assert asked == [("a", "numerical", None, None), ("b", "numerical", "ks", None)] + [
        ("c", "categorical", None, 0.9)
    ]
    assert decided["a"].rule == "holm" and decided["a"].drifted
    assert decided["a"].p_adjusted == pytest.approx(0.001)  # the only corrected column
    assert decided["b"].rule == decided["c"].rule == "your threshold"
    assert decided["b"].drifted and decided["c"].drifted  # Evidently's rule, as asked
    ref = pd.Series(np.arange(300.0))
    pandas = ds.column_verdicts(
        pd.DataFrame({"x": ref}), pd.DataFrame({"x": ref + 200}), {"x": "numerical"}
    )
    assert pandas == ds.verdicts(
        {"x": "numerical"}, lambda c, k, m, t: ds.column_stat(c, ref, ref + 200, k, m, t)
    )
