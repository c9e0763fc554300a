"""How far a classifier's probability of its positive class can be believed: a small calibration
table fitted on the held-out eval data when a version is logged, kept in its model contract.

The table maps the model's raw probability to the share of positives actually seen at that
probability (isotonic regression, so it never decreases, read at up to :data:`KNOTS` points).
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
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.errors import DataError

__all__ = ["KNOTS", "calibrate", "fit_calibration"]

#: At most this many (probability, observed rate) points are kept.
KNOTS = 50


def fit_calibration(proba: Any, positive: Any) -> dict[str, Any]:
    """The calibration table of probabilities ``proba`` (of the positive class) against the truth
    ``positive`` (booleans), both one value per eval row.

    Returns:
        ``{"p": [...], "rate": [...], "rows": n, "positives": k}``; empty when there is nothing
        to fit (fewer than 10 rows, one class only, or probabilities that are not finite).
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
    }


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
