"""The drift tests of :mod:`~workbench.monitoring.statistics`, read from per-column summaries
(:class:`~workbench.spark.statistics.ColumnSummary`: counts per value, or a histogram with the sum
of each bin) instead of the values themselves: the Spark engine's statistics.

Same methods (Evidently's choice by reference size and number of values), same valid tests, same
thresholds, and the same decision: :func:`summary_verdicts` feeds the scores to the one decision
function of both engines, :func:`~workbench.monitoring.statistics.verdicts` (Holm correction,
minimum effects). Only the arithmetic is read from the summaries:

* **Few rows** (both tables at most 10,000 values, where the pandas path's K-S p-value is exact):
  the values are rebuilt from their counts and the pandas code runs on them: identical results.
* **Counted value by value** (categorical columns, and numerical ones with at most 10,000 distinct
  values in each table): the chi-square test, total variation, Jensen-Shannon and Z-test come from
  the counts, and the empirical CDFs are exact at every value, so the K-S distance and the
  Wasserstein distance are the pandas path's, exactly (the K-S p-value by Smirnov's asymptotic law
  with the effective sample size ``m n / (m + n)``, as the pandas path computes it above 10,000
  rows).
* **Binned** (numerical columns with more values): the bins are shared by both tables, their
  edges the 1,000 quantiles of each table's sample plus the minimum and maximum, so that a bin
  holds about 0.1% of either table. (A histogram whose every bin holds one value is counted value
  by value.) Within a bin the CDFs are not known, so each score is given with a proven interval
  that holds the full data's value:

  - K-S distance: read at the edges, a lower bound ``D_edges``; the full data's ``D`` lies in
    ``[D_edges, D_edges + the largest bin share of either table]`` (the bound is computed per
    column, about 0.001). The p-value uses ``D_edges``: conservative, never an alarm the full
    data would not raise.
  - Wasserstein distance: the integral of ``F - G`` over each bin is exact (from the bin's count
    and sum: ``∫ F = w F(e) + (count e' - sum) / n``), so wherever ``F - G`` keeps its sign in a bin
    its contribution is exact; where the CDFs cross inside a bin it lies between ``|∫ (F - G)|``
    and ``width x max |F - G|``. The estimate is the sum of ``|∫ (F - G)|``: a lower bound, like
    ``D_edges``, so a binned score never claims more drift than the rows hold.

  ``ScoreBounds`` holds the half-widths; ``tests/unit/monitoring/test_monitoring_summaries.py``
  checks them against the values computed on the rows, and measured differences on the demo
  tables are far smaller (|Wasserstein difference| under 0.001, |K-S D difference| under the
  largest bin share).

A caller's own method that cannot be read from a histogram (chi-square, Z-test or Jensen-Shannon
on a numerical column with many values, K-S or Wasserstein on a categorical one) is refused with a
:class:`~workbench.errors.UsageError` naming the column.

Example:
    >>> import pandas as pd
    >>> from workbench.spark.statistics import ColumnSummary
    >>> ref = ColumnSummary.from_values(pd.Series(["a", "b"] * 300))
    >>> cur = ColumnSummary.from_values(pd.Series(["a"] * 500 + ["b"] * 100))
    >>> stat, bounds = summary_stat("x", ref, cur, "categorical")
    >>> stat.method, stat.evidently_drifted, bounds.score
    ('z', True, 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import UsageError
from workbench.monitoring.statistics import (
    ALPHA,
    EXACT_KS,
    ColumnStat,
    categorical_evidence,
    chisquare_counts,
    column_stat,
    jensenshannon_counts,
    ks_asymptotic,
    method_for,
    scored_stat,
    verdicts,
    z_counts,
)

__all__ = ["ScoreBounds", "summary_stat", "summary_verdicts"]


@dataclass(frozen=True)
class ScoreBounds:
    """How far a score read from summaries can be from the one computed on the rows (0: exact).

    Attributes:
        score: Evidently's score (a distance, or a p-value).
        effect: The normed Wasserstein distance.
        distance: The K-S distance.
        exact: Computed from every value (the bounds are 0), not from bins.
    """

    score: float = 0.0
    effect: float = 0.0
    distance: float = 0.0
    exact: bool = True


def summary_verdicts(
    summaries: dict[str, tuple[Any, Any]],
    kinds: dict[str, str],
    thresholds: dict[str, float] | None = None,
    methods: dict[str, str] | None = None,
    *,
    alpha: float = ALPHA,
    correction: str = "holm",
) -> tuple[list[ColumnStat], dict[str, ScoreBounds]]:
    """:func:`~workbench.monitoring.statistics.verdicts` of the Spark engine: every column scored
    from ``{column: (reference summary, current summary)}``; the decided statistics, and each
    column's bounds."""
    bounds: dict[str, ScoreBounds] = {}

    def stat_of(col: str, kind: str, method: str | None, threshold: float | None) -> ColumnStat:
        stat, bounds[col] = summary_stat(col, *summaries[col], kind, method, threshold)
        return stat

    decided = verdicts(kinds, stat_of, thresholds, methods, alpha=alpha, correction=correction)
    return decided, bounds


def summary_stat(
    name: str,
    ref: Any,
    cur: Any,
    kind: str,
    method: str | None = None,
    threshold: float | None = None,
) -> tuple[ColumnStat, ScoreBounds]:
    """One column's undecided statistics from its two summaries (both non-empty), and how far
    each score can be from the rows' (see the module docstring).

    Raises:
        UsageError: ``method`` cannot be read from this column's summaries.
    """
    if ref.edges is not None and cur.edges is not None and ref.pure and cur.pure:
        ref, cur = ref.as_values(), cur.as_values()  # every bin held one value: exact
    if ref.values is not None and cur.values is not None:
        if max(ref.n, cur.n) <= EXACT_KS:  # rebuilt: the pandas code, exactly
            r = pd.Series(np.repeat(ref.values, ref.counts))
            c = pd.Series(np.repeat(cur.values, cur.counts))
            return column_stat(name, r, c, kind, method, threshold), ScoreBounds()
        return _from_counts(name, ref, cur, kind, method, threshold), ScoreBounds()
    if kind != "numerical" or ref.edges is None or cur.edges is None:
        raise ValueError(f"column {name!r}: summaries of different shapes")  # a caller's bug
    method = method or method_for(ref.n, 6, kind)
    if method not in ("wasserstein", "ks"):
        raise _refused(name, method, "a numerical column with many values")
    d, d_high, w, w_low, w_high = _binned_distances(ref, cur)
    norm = max(float(ref.std), 0.001)
    effect, effect_bound = w / norm, max(w - w_low, w_high - w) / norm
    p_value = ks_asymptotic(d, ref.n, cur.n)
    if method == "wasserstein":
        score, score_bound = effect, effect_bound
    else:
        score, score_bound = p_value, p_value - ks_asymptotic(d_high, ref.n, cur.n)
    stat = scored_stat(name, kind, method, score, threshold, p_value, effect)
    return stat, ScoreBounds(float(score_bound), float(effect_bound), float(d_high - d), False)


# --------------------------------------------------------------------------- helpers


def _from_counts(name, ref, cur, kind, method, threshold) -> ColumnStat:
    """Counted value by value, more than 10,000 rows: every score from the aligned counts."""
    keys = _union(ref.values, cur.values)
    r, c = _aligned(keys, ref), _aligned(keys, cur)
    many = kind == "numerical" and len(ref.values) > 5
    method = method or method_for(ref.n, 6 if many else len(keys), kind)
    if kind == "numerical":
        d, w1 = _exact_distances(np.asarray(keys, dtype=float), r, c)
        p_value, effect = ks_asymptotic(d, ref.n, cur.n), w1 / max(float(ref.std), 0.001)
    else:
        p_value, effect = categorical_evidence(r, c)
    if method in ("wasserstein", "ks") and kind != "numerical":
        raise _refused(name, method, "a categorical column")
    if method == "wasserstein":
        score = effect
    elif method == "ks":
        score = p_value
    elif method == "chisquare":
        score = float(chisquare_counts(r, c))
    elif method == "z":
        score = float(z_counts(ref.values, ref.counts, cur.values, cur.counts))
    else:  # jensenshannon
        if kind == "numerical" and len(ref.values) > 20:
            raise _refused(name, method, "a numerical column with more than 20 values")
        score = float(jensenshannon_counts(r, c))
    return scored_stat(name, kind, method, score, threshold, p_value, effect)


def _refused(name: str, method: str, what: str) -> UsageError:
    return UsageError(
        f"method {method!r} for column {name!r} cannot be computed from the Spark engine's "
        f"summaries of {what}: choose another method for it (methods=), or the pandas engine."
    )


def _union(a: np.ndarray, b: np.ndarray) -> list:
    keys = set(a.tolist()) | set(b.tolist())
    try:
        return sorted(keys)
    except TypeError:  # mixed types: ordered as text
        return sorted(keys, key=str)


def _aligned(keys: list, summary: Any) -> np.ndarray:
    index = dict(zip(summary.values.tolist(), summary.counts.tolist(), strict=True))
    return np.array([index.get(k, 0) for k in keys], dtype=float)


def _exact_distances(x: np.ndarray, r: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    """K-S and Wasserstein-1 distances of two samples given as counts ``r``, ``c`` at the
    sorted values ``x``: the CDFs are exact at every value."""
    gaps = np.abs(np.cumsum(r) / r.sum() - np.cumsum(c) / c.sum())[:-1]
    if not len(gaps):
        return 0.0, 0.0
    return float(gaps.max()), float(np.sum(gaps * np.diff(x)))


def _binned_distances(ref: Any, cur: Any) -> tuple[float, float, float, float, float]:
    """``(D at the edges, D's upper bound, W1 estimate, W1 lower and upper bounds)`` of two
    histograms on the same edges (see the module docstring)."""
    e = np.asarray(ref.edges, dtype=float)
    e = np.append(e, e[-1])  # the last bin holds the maximum only
    width = np.diff(e)
    f = np.concatenate([[0.0], np.cumsum(ref.counts) / ref.n])
    g = np.concatenate([[0.0], np.cumsum(cur.counts) / cur.n])
    gap = f - g
    d = float(np.abs(gap).max())
    low, high = f[:-1] - g[1:], f[1:] - g[:-1]  # F - G within each bin lies in [low, high]
    widest = np.maximum(np.abs(low), np.abs(high))
    d_high = max(d, float(widest.max()))
    exact = _bin_integral(f, ref, e, width) - _bin_integral(g, cur, e, width)
    sure = (low >= 0) | (high <= 0)  # F - G keeps its sign: |∫ (F - G)| is ∫ |F - G|
    w_low = np.abs(exact)
    w_high = np.where(sure, w_low, np.maximum(width * widest, w_low))
    return d, d_high, float(w_low.sum()), float(w_low.sum()), float(w_high.sum())


def _bin_integral(cdf: np.ndarray, summary: Any, e: np.ndarray, width: np.ndarray) -> np.ndarray:
    """∫ F over each bin, exactly: ``w F(e) + (count e' - sum) / n``."""
    counts = np.asarray(summary.counts, dtype=float)
    inside = np.clip(counts * e[1:] - np.asarray(summary.sums, dtype=float), 0.0, counts * width)
    return width * cdf[:-1] + inside / summary.n
