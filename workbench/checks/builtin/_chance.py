"""How likely the data-quality check's findings are for eval data drawn like the training data.

Every rule of :class:`~workbench.checks.builtin.data_quality.DataQuality` asks the same question:
if the eval rows and the training rows were one table split at random, how often would a split
look like this one? A finding fails the check only when that chance is small (below ``alpha``),
so a rare value that a random holdout happens to miss, or a rare category it happens to hold, is
no data problem, while the same finding on a common value is.

* :func:`out_of_range_bound`: values outside the training range (order statistics).
* :func:`all_in_first`: ``k`` things all on one side of a random split; a column constant in the
  eval data (every other value fell in training), a column empty in the eval data, a new
  category (every occurrence fell in the eval data).
* :func:`unseen_chance`: as many eval values in categories training never saw (Good-Turing).
* :func:`duplicate_bound`: the most duplicated rows that rows drawn like the training rows hold.
"""

from __future__ import annotations

import math
from statistics import NormalDist

__all__ = ["all_in_first", "duplicate_bound", "out_of_range_bound", "unseen_chance"]


def all_in_first(first: int, second: int, k: int) -> float:
    """The chance that ``k`` marked items, among ``first + second`` split at random into parts
    of ``first`` and ``second``, all land in the first part: ``C(first, k) / C(first + second, k)``,
    about ``(first / (first + second)) ** k``.

    A column whose eval values are all one value while ``k`` training values differ: every one of
    the ``k`` landed in training (``first``: training values, ``second``: eval values). A new
    category seen ``k`` times in the eval data: all ``k`` landed in the eval part.

    Example:
        >>> round(all_in_first(4000, 1000, 3), 3)  # 3 positives of an indicator, all in training
        0.512
        >>> all_in_first(4000, 1000, 1200) < 1e-100  # a common value, absent from 1,000 rows
        True
        >>> all_in_first(4000, 1000, 0), all_in_first(10, 5, 11)
        (1.0, 0.0)
    """
    if k <= 0:
        return 1.0
    if k > first:
        return 0.0
    log = (
        math.lgamma(first + 1)
        - math.lgamma(first - k + 1)
        - math.lgamma(first + second + 1)
        + math.lgamma(first + second - k + 1)
    )
    return math.exp(min(log, 0.0))


def unseen_chance(unseen: int, rows: int, train_values: int, singletons: int) -> float:
    """The chance that ``rows`` fresh values hold ``unseen`` or more in categories that
    ``train_values`` training values never showed, of which ``singletons`` categories were seen
    once.

    The share of a distribution lying in categories a sample has not shown is about the share of
    the sample seen once (Good-Turing); it is taken as ``Beta(singletons + 1, train_values -
    singletons + 1)``, so the count among ``rows`` fresh values is beta-binomial.

    Example:
        >>> unseen_chance(80, 1000, 4000, 0) < 1e-9  # 8% new values: training showed every category often
        True
        >>> round(unseen_chance(80, 1000, 4000, 300), 2)  # training held 300 one-offs: 8% is usual
        0.32
    """
    if unseen <= 0:
        return 1.0
    if train_values <= 0:
        return 1.0
    from scipy.stats import betabinom

    singletons = min(max(singletons, 0), train_values)
    return float(betabinom.sf(unseen - 1, rows, singletons + 1, train_values - singletons + 1))


def duplicate_bound(rows: int, train_rows: int, patterns: dict[str, int], alpha: float) -> float:
    """The most duplicated rows (rows equal to an earlier row) that ``rows`` rows drawn like the
    training rows hold, but for a chance ``alpha``.

    ``patterns`` is the training profile's ``duplicate_patterns``: ``{"k": rows seen k times}``.
    A row seen ``k`` times in ``train_rows`` turns up ``Poisson(rows * k / train_rows)`` times in
    the eval rows, each time after the first a duplicate; rows seen once in training are taken as
    unique. The bound is the mean of the count plus ``z(1 - alpha)`` standard deviations.

    Example:
        >>> duplicate_bound(1000, 4000, {}, 0.001)  # training had no repeated rows
        0.0
        >>> round(duplicate_bound(1000, 4000, {"400": 5}, 0.001))  # five rows, each 10% of training
        564
    """
    if rows <= 0 or train_rows <= 0 or not patterns:
        return 0.0
    mean = var = 0.0
    for key, count in patterns.items():
        lam = rows * int(key) / train_rows
        none = math.exp(-lam)
        mean += count * (lam - 1.0 + none)
        var += count * max(lam + none * (1.0 - none) - 2.0 * lam * none, 0.0)
    z = NormalDist().inv_cdf(1.0 - alpha) if 0.0 < alpha < 1.0 else 0.0
    return mean + z * math.sqrt(var)


def out_of_range_bound(rows: int, train_rows: int, alpha: float) -> float:
    """The most of ``rows`` fresh values that fall outside the range of ``train_rows`` training
    values drawn from the same distribution, but for a chance ``alpha``.

    The share outside the range of ``n`` values is ``Beta(2, n - 1)`` for any continuous
    distribution (ties only make it smaller), so the count is beta-binomial. Without at least two
    training values the range says nothing: every value may fall outside.

    Example:
        >>> out_of_range_bound(rows=45, train_rows=133, alpha=0.001 / 13)  # a wine split: 16%
        7.0
    """
    if rows <= 0:
        return 0.0
    if train_rows < 2:
        return float(rows)
    from scipy.stats import betabinom

    return float(betabinom.ppf(1.0 - alpha, rows, 2, train_rows - 1))
