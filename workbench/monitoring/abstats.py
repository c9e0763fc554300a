"""Champion versus challenger on real traffic: is the challenger better, worse, or not yet known?

Each arm answers its own requests; each labelled request gives one value (1/0 for a correct answer,
an absolute error, ...). :func:`compare_arms` compares the two means with an interval that stays
valid however often it is looked at. A classic test checked every day until it says "significant"
is wrong far more often than its 5% (in the unit tests, over a quarter of identical arms are
declared different within 40 looks). Here the chance that the interval *ever* misses the true
difference, over all looks, stays at or below ``alpha``.

Method: the asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas
("Time-uniform central limit theory and asymptotic confidence sequences", 2021/2024), built for
each arm's running mean at level ``alpha / 2`` and combined by a union bound: the difference lies
within the sum of the two half-widths. This is conservative (wider than the paper's two-sample
form) but valid without assuming a fixed random split: correctness before tightness. The bound is
tightest when an arm has :data:`T_OPT` labelled values. No verdict is given before each arm has
:data:`MIN_PER_ARM` values: the guarantee is asymptotic.

:func:`sample_size`: labelled requests an effect needs. :func:`agreement`, :func:`mix_difference`:
shadow mode (both arms answer the same requests), no labels needed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from workbench.errors import UsageError

__all__ = ["MIN_PER_ARM", "T_OPT", "Agreement", "ArmComparison", "MixDifference"]
__all__ += ["agreement", "compare_arms", "mix_difference", "sample_size"]

MIN_PER_ARM = 30
"""No verdict before each arm has this many labelled values (the guarantee is asymptotic)."""

T_OPT = 500
"""Labelled values per arm at which each arm's confidence sequence is tightest (planned)."""

_WILSON_Z = float(stats.norm.ppf(0.975))


def _half_width(t: float, sd: float, alpha: float) -> float:
    """Half-width of one arm's always-valid (1 - alpha) sequence after ``t`` values of std ``sd``."""
    log_term = -2.0 * math.log(alpha)
    rho2 = (log_term + math.log(log_term + 1.0)) / T_OPT
    grown = t * rho2 + 1.0
    return sd * math.sqrt(2.0 * grown / (t * t * rho2) * math.log(math.sqrt(grown) / alpha))


def _difference_half_width(n_a: float, n_b: float, sd_a: float, sd_b: float, alpha: float) -> float:
    """Half-width of the difference: each arm at alpha/2, union bound (compare_arms, sample_size)."""
    return _half_width(n_a, sd_a, alpha / 2.0) + _half_width(n_b, sd_b, alpha / 2.0)


def _clean(values: Any, name: str) -> np.ndarray:
    """Per-request values as a 1-D float array with NaNs dropped; refuses infinities."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise UsageError(f"{name} must be 1-D, one value per labelled request: got {arr.shape}.")
    arr = arr[~np.isnan(arr)]
    if not np.all(np.isfinite(arr)):
        raise UsageError(f"{name} holds infinite values: drop or cap them before comparing arms.")
    return arr


def _sd(values: np.ndarray) -> float:
    """Sample std with a floor, so a constant arm never divides by zero.

    0/1 data: variance at least p(1-p), p shrunk to (k + 0.5) / (n + 1) (100 of 100 correct: about
    0.005, not 0); other data: at least 1e-12 * max(1, mean**2). NaN with fewer than two values.
    """
    n = values.size
    if n < 2:
        return math.nan
    var = float(np.var(values, ddof=1))
    if np.all((values == 0.0) | (values == 1.0)):
        p = (float(values.sum()) + 0.5) / (n + 1.0)
        floor = p * (1.0 - p)
    else:
        floor = 1e-12 * max(1.0, float(values.mean()) ** 2)
    return math.sqrt(max(var, floor))


def _json_safe(value: Any) -> Any:
    """NaN and infinities to None, numpy scalars to Python, recursively."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _check(alpha: float, min_effect: float | None) -> None:
    if not 0.0 < alpha < 1.0:
        raise UsageError(f"alpha must lie strictly between 0 and 1, got {alpha}: use e.g. 0.05.")
    if min_effect is not None and not min_effect > 0.0:
        raise UsageError(
            f"min_effect must be positive, got {min_effect}: give the smallest difference "
            "worth detecting, in the metric's units (e.g. 0.02 for two points of accuracy)."
        )


@dataclass
class ArmComparison:
    """The main arm against the challenger on one metric, valid however often it is looked at.

    ``difference`` is oriented so that a positive value always means "challenger better".

    Example:
        >>> r = compare_arms([1, 0] * 50, [1, 0] * 50, metric="accuracy")
        >>> r.verdict, r.difference, r.lower < 0 < r.upper
        ('not yet known', 0.0, True)
        >>> r.to_dict()["n_main"]
        100
    """

    metric: str
    higher_is_better: bool
    n_main: int
    n_challenger: int
    main: float
    challenger: float
    difference: float
    lower: float
    upper: float
    alpha: float
    verdict: str
    not_worse: bool
    margin: float
    more_needed: int | None
    method: str

    def to_dict(self) -> dict:
        """A JSON-safe dict: NaN and infinities become None."""
        return _json_safe(asdict(self))


def compare_arms(
    main: Any,
    challenger: Any,
    *,
    metric: str,
    higher_is_better: bool = True,
    alpha: float = 0.05,
    margin: float = 0.0,
    min_effect: float | None = None,
    min_per_arm: int = MIN_PER_ARM,
) -> ArmComparison:
    """Compare the two arms' means with an always-valid (1 - alpha) interval of their difference.

    Each arm: Waudby-Smith et al.'s asymptotic sequence at alpha/2; union bound (conservative).

    Args:
        main: Per-request values of the main arm (1/0 correctness, absolute error, ...); NaNs dropped.
        challenger: The same for the challenger.
        metric: The metric's name, kept in the result (e.g. ``"accuracy"``, ``"mae"``).
        higher_is_better: False for errors (mae): the difference is then main - challenger.
        alpha: Chance that the interval ever misses the true difference, over all looks.
        margin: "Not worse" means the interval's lower end is above ``-margin``.
        min_effect: If given, ``more_needed`` counts requests (both arms) until half-width < it.
        min_per_arm: No verdict (and no "not worse") before each arm has this many values.

    Returns:
        ArmComparison: verdict "better" if lower > 0, "worse" if upper < 0, else "not yet known".
        With fewer than two values in an arm the interval is (-inf, inf), ``more_needed`` None.

    Raises:
        UsageError: (a ValueError) alpha not in (0, 1), margin < 0, min_effect <= 0, bad input.

    Example:
        >>> main = [1] * 560 + [0] * 240          # 70% correct in 800 rows
        >>> challenger = [1] * 184 + [0] * 16     # 92% correct in 200 rows
        >>> r = compare_arms(main, challenger, metric="accuracy")
        >>> r.verdict, round(r.difference, 2), r.lower > 0
        ('better', 0.22, True)
    """
    _check(alpha, min_effect)
    if not margin >= 0.0:
        raise UsageError(f"margin must be zero or positive, got {margin}: it is a tolerated loss.")
    a = _clean(main, "main")
    b = _clean(challenger, "challenger")
    n_a, n_b = int(a.size), int(b.size)
    mean_a = float(a.mean()) if n_a else math.nan
    mean_b = float(b.mean()) if n_b else math.nan
    difference = (mean_b - mean_a) if higher_is_better else (mean_a - mean_b)
    sd_a, sd_b = _sd(a), _sd(b)
    computable = n_a >= 2 and n_b >= 2
    if computable:
        half = _difference_half_width(n_a, n_b, sd_a, sd_b, alpha)
        lower, upper = difference - half, difference + half
    else:
        half, lower, upper = math.inf, -math.inf, math.inf
    enough = n_a >= min_per_arm and n_b >= min_per_arm
    verdict = "not yet known"
    if enough and (lower > 0 or upper < 0):
        verdict = "better" if lower > 0 else "worse"
    more_needed = None  # 0 once the half-width of the difference is below min_effect
    if min_effect is not None and computable and half >= min_effect:
        needed = sample_size(sd_a, sd_b, n_b / (n_a + n_b), min_effect, alpha=alpha)
        more_needed = max(needed - n_a - n_b, 1)  # >= 1: guards float rounding of the share
    elif min_effect is not None and computable:
        more_needed = 0
    level = round(100 * (1 - alpha), 6)
    return ArmComparison(
        metric=metric,
        higher_is_better=higher_is_better,
        n_main=n_a,
        n_challenger=n_b,
        main=mean_a,
        challenger=mean_b,
        difference=difference,
        lower=lower,
        upper=upper,
        alpha=alpha,
        verdict=verdict,
        not_worse=bool(enough and lower > -margin),
        margin=margin,
        more_needed=more_needed,
        method=(
            f"Always-valid {level:g}% confidence sequence (Waudby-Smith et al., asymptotic) for "
            "each arm's mean, combined by a union bound: valid however often you look."
        ),
    )


def sample_size(
    sd_main: float, sd_challenger: float, share_challenger: float, min_effect: float, *, alpha=0.05
) -> int:
    """Labelled requests needed, in total, for the interval's half-width to fall below min_effect.

    Uses the same half-width as :func:`compare_arms` (doubling, then bisection; it shrinks as the
    count grows). The challenger gets ``share_challenger * n`` of the ``n`` requests.

    Args:
        sd_main: Standard deviation of the main arm's per-request values (0.46 for 70% accuracy).
        sd_challenger: The same for the challenger.
        share_challenger: The challenger's share of labelled requests, strictly between 0 and 1.
        min_effect: The half-width to reach, in the metric's units.
        alpha: As in :func:`compare_arms`.

    Returns:
        int: the smallest total ``n`` whose half-width is below ``min_effect``.

    Raises:
        UsageError: (a ValueError) sd < 0, share or alpha not in (0, 1), min_effect <= 0.

    Example:
        >>> sample_size(0.4, 0.4, 0.2, 0.05) < sample_size(0.4, 0.4, 0.2, 0.02)
        True
    """
    _check(alpha, min_effect)
    if not (sd_main >= 0.0 and sd_challenger >= 0.0):
        raise UsageError(f"sds must be zero or positive, got {sd_main} and {sd_challenger}.")
    if not 0.0 < share_challenger < 1.0:
        raise UsageError(f"share_challenger must lie in (0, 1), got {share_challenger}.")
    share = share_challenger

    def narrow_enough(n: int) -> bool:
        half = _difference_half_width((1 - share) * n, share * n, sd_main, sd_challenger, alpha)
        return half < min_effect

    low, high = 0, 1  # invariant: not narrow_enough(low) (0 rows: infinite), narrow_enough(high)
    for _ in range(200):
        if narrow_enough(high):
            break
        low, high = high, high * 2
    else:  # pragma: no cover - needs an absurdly small min_effect
        raise UsageError(f"min_effect {min_effect} is too small to reach with any sample size.")
    while high - low > 1:  # bisection: the half-width shrinks as n grows
        mid = (low + high) // 2
        low, high = (low, mid) if narrow_enough(mid) else (mid, high)
    return high


@dataclass
class Agreement:
    """Shadow mode: the share of the same requests where both arms predicted the same label.

    Example:
        >>> a = agreement(["a", "b", "a", "a"], ["a", "b", "b", "a"])
        >>> a.n, a.rate, round(a.lower, 3), round(a.upper, 3)
        (4, 0.75, 0.301, 0.954)
    """

    n: int
    rate: float
    lower: float
    upper: float

    def to_dict(self) -> dict:
        """A JSON-safe dict: NaN becomes None."""
        return _json_safe(asdict(self))


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))


def _labels(values: Any) -> list:
    """Predicted labels as a flat list of Python objects."""
    return list(np.asarray(values, dtype=object).ravel())


def agreement(main_predictions: Any, challenger_predictions: Any) -> Agreement:
    """Share of requests on which both arms gave the same label, with a Wilson 95% interval.

    Args:
        main_predictions: The main arm's labels, one per request.
        challenger_predictions: The challenger's labels for the SAME requests, in the same order.
            Pairs where either label is missing (None, NaN) are dropped.

    Returns:
        Agreement: ``n`` pairs compared, ``rate`` and its Wilson interval (NaN when ``n`` is 0).

    Raises:
        UsageError: (a ``ValueError``) when the two inputs differ in length.
    """
    a, b = _labels(main_predictions), _labels(challenger_predictions)
    if len(a) != len(b):
        raise UsageError(
            f"agreement needs paired predictions of equal length, got {len(a)} (main) and "
            f"{len(b)} (challenger): pass both arms' answers to the same requests."
        )
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if not (_is_missing(x) or _is_missing(y))]
    n = len(pairs)
    if n == 0:
        return Agreement(n=0, rate=math.nan, lower=math.nan, upper=math.nan)
    same = sum(1 for x, y in pairs if x == y)
    rate = same / n
    z2 = _WILSON_Z**2
    centre = (rate + z2 / (2 * n)) / (1 + z2 / n)
    spread = _WILSON_Z * math.sqrt(rate * (1 - rate) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    lower, upper = max(0.0, centre - spread), min(1.0, centre + spread)
    return Agreement(n=n, rate=rate, lower=lower, upper=upper)


@dataclass
class MixDifference:
    """How differently the two arms spread their predictions over the classes.

    Example:
        >>> m = mix_difference(["a", "a", "b", "b"], ["a", "b", "b", "b"])
        >>> m.classes, m.main_share, m.challenger_share, m.distance
        (['a', 'b'], [0.5, 0.5], [0.25, 0.75], 0.25)
    """

    classes: list
    main_share: list[float]
    challenger_share: list[float]
    distance: float
    p_value: float

    def to_dict(self) -> dict:
        """A JSON-safe dict: NaN becomes None."""
        return _json_safe(asdict(self))


def mix_difference(main_predictions: Any, challenger_predictions: Any) -> MixDifference:
    """Compare the two arms' mixes of predicted classes (no labels needed).

    Args:
        main_predictions: The main arm's predicted labels (any hashable; missing ones dropped).
            For regression, bin the predictions first.
        challenger_predictions: The challenger's predicted labels.

    Returns:
        MixDifference: each class's share per arm, the total variation distance (0 same mix,
        1 disjoint) and the p-value of scipy's chi-square test of homogeneity (its default Yates
        correction on a 2x2 table); the p-value is 1.0 when the table is degenerate (one class,
        or an empty arm), and shares and distance are NaN for an empty arm.
    """
    a = [x for x in _labels(main_predictions) if not _is_missing(x)]
    b = [x for x in _labels(challenger_predictions) if not _is_missing(x)]
    classes = list(dict.fromkeys(a + b))
    try:
        classes = sorted(classes)
    except TypeError:
        classes = sorted(classes, key=repr)
    counts = np.array([[a.count(c) for c in classes], [b.count(c) for c in classes]], dtype=float)
    totals = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts / totals[:, None]
    distance = float(0.5 * np.abs(shares[0] - shares[1]).sum()) if totals.all() else math.nan
    p_value = 1.0
    if len(classes) >= 2 and totals.all():
        p_value = float(stats.chi2_contingency(counts).pvalue)
    return MixDifference(
        classes=[c.item() if isinstance(c, np.generic) else c for c in classes],
        main_share=[float(s) for s in shares[0]],
        challenger_share=[float(s) for s in shares[1]],
        distance=distance,
        p_value=p_value,
    )
