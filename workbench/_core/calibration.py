"""How far a classifier's probability of its positive class can be believed: a small calibration
table fitted on the held-out eval data when a version is logged, kept in its model contract.

The table maps the model's raw probability to the share of positives actually seen at that
probability (isotonic regression, so it never decreases, read at up to :data:`KNOTS` points).
It also keeps the eval rows counted in bins of probability (``bins``: each bin's mean, lowest
and highest probability, rows and positives; one bin edge sits at the decision threshold), so
that the calibration's own uncertainty can be drawn: :func:`calibration_draws` gives the batch's
calibrated probabilities under many plausible calibrations, a Bayesian bootstrap of the eval rows
refitted (isotonic) each time, with Jeffreys' half an error on each side of the threshold so that
a side without errors in the eval data is not taken to have none.
Monitoring applies it to a batch's probabilities to estimate performance before labels arrive
(:mod:`workbench.monitoring.estimation`).

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=2000)
    >>> y = rng.uniform(size=2000) < p            # perfectly calibrated
    >>> table = fit_calibration(p, y)
    >>> bool(abs(calibrate(table, np.array([0.8]))[0] - 0.8) < 0.1)
    True
    >>> calibration_draws(table, np.array([0.8, 0.3]), 100, np.random.default_rng(1)).shape
    (100, 2)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.errors import DataError

__all__ = [
    "BINS",
    "KNOTS",
    "calibrate",
    "calibration_bins",
    "calibration_draws",
    "calibration_rates",
    "fit_calibration",
    "read_rates",
]

#: At most this many (probability, observed rate) points are kept.
KNOTS = 50
#: A binary scikit-learn classifier calls a row positive when its probability is above this.
THRESHOLD = 0.5
#: At most this many bins of eval rows are kept (plus one edge at :data:`THRESHOLD`),
#: each of at least :data:`MIN_BIN_ROWS` rows where the eval data allows.
BINS, MIN_BIN_ROWS = 50, 10
#: Jeffreys' prior: half a positive and half a negative row on each side of the decision
#: threshold, spread over its bins.
PRIOR = 0.5
_BIN_KEYS = ("p", "low", "high", "rows", "positives")


def fit_calibration(proba: Any, positive: Any) -> dict[str, Any]:
    """The calibration table of probabilities ``proba`` (of the positive class) against the truth
    ``positive`` (booleans), both one value per eval row.

    Returns:
        ``{"p": [...], "rate": [...], "rows": n, "positives": k, "bins": {"p", "low", "high",
        "rows", "positives"}}`` (``bins``: one value per bin, its mean, lowest and highest
        probability, its rows and positives); empty when there is nothing to fit (fewer than
        10 rows, one class only, or probabilities that are not finite).
    """
    p = np.asarray(proba, dtype=float).ravel()
    y = np.asarray(positive, dtype=bool).ravel()
    if len(p) != len(y) or len(p) < 10 or not np.isfinite(p).all() or y.all() or not y.any():
        return {}
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y.astype(float))
    knots = np.unique(np.quantile(p, np.linspace(0, 1, KNOTS)))
    return {
        "p": [round(float(v), 6) for v in knots],
        "rate": [round(float(v), 6) for v in iso.predict(knots)],
        "rows": int(len(p)),
        "positives": int(y.sum()),
        "bins": _bins(p, y),
    }


def _bins(p: np.ndarray, y: np.ndarray) -> dict[str, list]:
    """The eval rows counted in bins of probability: quantile edges (ties share a bin) and one
    edge just above :data:`THRESHOLD`, where a binary model's decision changes."""
    count = int(np.clip(len(p) // MIN_BIN_ROWS, 1, BINS))
    edges = np.quantile(p, np.linspace(0, 1, count + 1))
    above = np.nextafter(THRESHOLD, 1.0)  # the first bin above holds p > 0.5 only
    if p.min() < above <= p.max():
        edges = np.append(edges, above)
    edges = np.unique(edges)
    if len(edges) < 2:  # every eval row at one probability (a constant model): one bin
        edges = np.array([edges[0], edges[0]])
    inner = edges[1:-1]
    index = np.searchsorted(inner, p, side="right")  # bin i holds edges[i] <= p < edges[i + 1]
    size = len(edges) - 1
    rows = np.bincount(index, minlength=size)
    positives = np.bincount(index, weights=y.astype(float), minlength=size)
    sums = np.bincount(index, weights=p, minlength=size)
    low, high = np.full(size, np.inf), np.full(size, -np.inf)
    np.minimum.at(low, index, p)
    np.maximum.at(high, index, p)
    kept = rows > 0
    return {
        "p": [round(float(v), 6) for v in sums[kept] / rows[kept]],
        "low": [round(float(v), 6) for v in low[kept]],
        "high": [round(float(v), 6) for v in high[kept]],
        "rows": [int(v) for v in rows[kept]],
        "positives": [int(v) for v in positives[kept]],
    }


def calibration_bins(table: dict[str, Any]) -> dict[str, np.ndarray]:
    """The table's bins as arrays (``p``, ``low``, ``high``, ``rows``, ``positives``). A table
    fitted before bins were kept gets them rebuilt from its knots (quantiles, so about equal rows
    between two): each knot stands for ``rows / knots`` rows at its rate."""
    bins = table.get("bins") or {}
    if bins.get("p"):
        return {k: np.asarray(bins[k], dtype=float) for k in _BIN_KEYS}
    knots = np.asarray(table["p"], dtype=float)
    rows = np.full(len(knots), table.get("rows", len(knots)) / len(knots))
    positives = rows * np.asarray(table["rate"], float)
    return {"p": knots, "low": knots, "high": knots, "rows": rows, "positives": positives}


def calibration_draws(
    table: dict[str, Any], proba: Any, draws: int, rng: np.random.Generator
) -> np.ndarray:
    """``draws`` plausible calibrations of ``proba`` (one row each, one column per value):
    :func:`calibration_rates` read at ``proba`` (:func:`read_rates`). Raw ``proba`` repeated when
    ``table`` is empty.

    Raises:
        DataError: a probability is missing, not finite, or outside [0, 1].
    """
    p = calibrate({}, proba)  # validates
    drawn = calibration_rates(table, draws, rng)
    if drawn is None:
        return np.broadcast_to(p, (draws, len(p)))
    return read_rates(*drawn, p)


def calibration_rates(
    table: dict[str, Any], draws: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(the bins' mean probabilities, draws x bins positive rates)``: plausible calibrations
    given the eval counts, by a Bayesian bootstrap of the eval rows at the bins (each bin's
    positives and negatives reweighted by Gamma draws), the rates made non-decreasing again
    (isotonic, weighted by the drawn rows). A prior of :data:`PRIOR` positive and negative rows
    on each side of :data:`THRESHOLD`, spread over its bins by rows, keeps a side without errors
    from being certain that it has none. ``None`` when ``table`` is empty."""
    if not table or not table.get("p"):
        return None
    from sklearn.isotonic import isotonic_regression

    bins = calibration_bins(table)
    rows, positives = bins["rows"], bins["positives"]
    side = bins["p"] > THRESHOLD
    share = rows / np.where(side, rows[side].sum(), rows[~side].sum())
    pos = rng.gamma(positives + PRIOR * share + 1e-12, size=(draws, len(rows)))
    neg = rng.gamma(rows - positives + PRIOR * share + 1e-12, size=(draws, len(rows)))
    weight = pos + neg
    rates = pos / weight
    if len(rows) > 1:
        rates = np.stack(
            [isotonic_regression(r, sample_weight=w) for r, w in zip(rates, weight, strict=True)]
        )
    return bins["p"], rates


def read_rates(
    centres: np.ndarray | None, rates: np.ndarray | None, proba: np.ndarray
) -> np.ndarray:
    """The drawn calibrations ``rates`` (draws x bins, at the bins' mean probabilities
    ``centres``) read at ``proba`` by linear interpolation, one row per draw; ``proba`` itself
    (one row) when there are none. A probability above :data:`THRESHOLD` (the model calls it
    positive) is read from the bins above it only, one at or below from those below: what the
    model calls positive is calibrated on eval rows it called positive."""
    if centres is None or rates is None:
        return proba[None, :]
    out = np.empty((rates.shape[0], len(proba)))
    upper_bins, upper_rows = centres > THRESHOLD, proba > THRESHOLD
    for bins, rows in ((upper_bins, upper_rows), (~upper_bins, ~upper_rows)):
        if rows.any():
            use = bins if bins.any() else np.ones_like(bins)
            out[:, rows] = _interpolate(centres[use], rates[:, use], proba[rows])
    return out


def _interpolate(centres: np.ndarray, rates: np.ndarray, proba: np.ndarray) -> np.ndarray:
    if len(centres) == 1:
        return np.repeat(rates, len(proba), axis=1)
    right = np.clip(np.searchsorted(centres, proba), 1, len(centres) - 1)
    left = right - 1
    gap = np.maximum(centres[right] - centres[left], 1e-12)
    share = np.clip((proba - centres[left]) / gap, 0.0, 1.0)
    return rates[:, left] * (1 - share) + rates[:, right] * share


def calibrate(table: dict[str, Any], proba: Any) -> np.ndarray:
    """The calibrated probabilities of ``proba`` (raw ones when ``table`` is empty).

    Raises:
        DataError: a probability is missing, not finite, or outside [0, 1].
    """
    p = np.asarray(proba, dtype=float).ravel()
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise DataError(
            "the model's probabilities include missing, infinite or out-of-range values: "
            "performance cannot be estimated from them."
        )
    if not table or not table.get("p"):
        return p
    return np.interp(p, np.asarray(table["p"], float), np.asarray(table["rate"], float))
