"""Performance before labels arrive: a classifier's accuracy, precision, recall, F1 and ROC AUC on
a batch, estimated from its own probabilities (confidence-based performance estimation, as
NannyML's CBPE does, without NannyML).

Each row's calibrated probability of the positive class (the calibration table kept in the model
contract, fitted on the held-out eval data) is the chance that its label is positive. Labels are
drawn from those chances :data:`DRAWS` times (seeded); each draw gives the metrics the batch would
have, against the model's own predictions. The estimate is their mean, the interval their 5th to
95th percentile.

What it cannot see: a **concept shift**. When the relation between inputs and label changes
(``P(y | x)`` moves), the probabilities do not move and neither does the estimate, while the true
performance does. It is trustworthy for a covariate shift (the inputs move, the relation holds) and
only as far as the calibration is: few eval rows, or probabilities outside the range the eval data
covered, weaken it, and the result says so.

Example:
    >>> import numpy as np
    >>> p = np.array([0.9, 0.8, 0.2, 0.1] * 50)
    >>> est = estimate_performance(p, p >= 0.5, calibration={})
    >>> round(est["accuracy"]["value"], 2)
    0.85
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench._core.calibration import calibrate

__all__ = ["CONCEPT_SHIFT", "DRAWS", "ESTIMATED_METRICS", "estimate_performance", "estimated"]

DRAWS = 400
ESTIMATED_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
CONCEPT_SHIFT = (
    "estimated from the model's own probabilities: a concept shift (the same inputs now meaning "
    "another label) moves the true performance without moving this estimate"
)
#: Fewer calibration rows than this, or more probabilities than this share outside the range the
#: calibration covered, and the estimate is flagged.
MIN_CALIBRATION_ROWS, MAX_OUTSIDE_SHARE = 200, 0.05


def estimate_performance(
    proba: Any,
    predicted_positive: Any,
    calibration: dict[str, Any] | None,
    seed: int = 0,
    draws: int = DRAWS,
) -> dict[str, Any]:
    """Estimated metrics of a batch from the positive class's probabilities ``proba`` and the
    model's decisions ``predicted_positive`` (booleans), one per row.

    Returns:
        ``{metric: {"value", "low", "high"}, "calibrated": bool, "warnings": [...], "rows": n}``
        (the shape of ``summary.json``'s ``estimated_performance``); empty for an empty batch.

    Raises:
        DataError: a probability is missing, infinite or outside [0, 1].
    """
    p = np.asarray(proba, dtype=float).ravel()
    decided = np.asarray(predicted_positive, dtype=bool).ravel()
    if len(p) == 0:
        return {}
    table = calibration or {}
    chance = calibrate(table, p)
    warnings = []
    if not table:
        warnings.append("uncalibrated: the version keeps no calibration table (logged before it)")
    else:
        if table.get("rows", 0) < MIN_CALIBRATION_ROWS:
            warnings.append(f"calibrated on only {table.get('rows', 0)} eval rows")
        lo, hi = table["p"][0], table["p"][-1]
        outside = float(np.mean((p < lo) | (p > hi)))
        if outside > MAX_OUTSIDE_SHARE:
            warnings.append(
                f"{outside:.0%} of the batch's probabilities lie outside the range the eval data "
                f"covered ({lo:.2f}-{hi:.2f})"
            )
    rng = np.random.default_rng(seed)
    labels = rng.random((draws, len(p))) < chance  # one row per draw
    figures = _metrics(labels, decided, p)
    out: dict[str, Any] = {
        name: {
            "value": float(np.nanmean(values)),
            "low": float(np.nanpercentile(values, 5)),
            "high": float(np.nanpercentile(values, 95)),
        }
        for name, values in figures.items()
        if np.isfinite(values).any()
    }
    out.update(calibrated=bool(table), warnings=warnings, rows=int(len(p)), note=CONCEPT_SHIFT)
    return out


def _metrics(labels: np.ndarray, decided: np.ndarray, score: np.ndarray) -> dict[str, np.ndarray]:
    """Each metric for every draw (rows of ``labels``) at once; NaN where it is undefined."""
    tp = (labels & decided).sum(axis=1).astype(float)
    fp = (~labels & decided).sum(axis=1).astype(float)
    fn = (labels & ~decided).sum(axis=1).astype(float)
    n = labels.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = tp / (tp + fp)
        recall = tp / (tp + fn)
        f1 = 2 * tp / (2 * tp + fp + fn)
        from scipy.stats import rankdata

        ranks = rankdata(score)  # ties share their mean rank
        positives = labels.sum(axis=1).astype(float)
        auc = (labels @ ranks - positives * (positives + 1) / 2) / (positives * (n - positives))
    accuracy = (labels == decided).mean(axis=1)
    return {
        "accuracy": accuracy,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": auc,
    }


def estimated(contract: Any, probabilities: dict[str, Any], predictions: Any) -> dict[str, Any]:
    """:func:`estimate_performance` of a scored batch: ``probabilities`` as
    :func:`~workbench.monitoring.scoring.score_tables` fills them, the model's ``predictions``,
    and the calibration and positive label of its ``contract``. Empty (nothing estimated) for a
    regressor, a multiclass model, a model without probabilities, or without a contract."""
    classes = probabilities.get("classes") or []
    positive = getattr(contract, "positive_label", None)
    if contract is None or len(classes) != 2 or positive not in classes:
        return {}
    proba = np.asarray(probabilities["current"])[:, classes.index(positive)]
    decided = np.asarray(predictions) == positive
    return estimate_performance(proba, decided, getattr(contract, "calibration", None) or {})
