"""Performance before labels arrive: a classifier's accuracy, precision, recall, F1 and ROC AUC on
a batch, estimated from its own probabilities (confidence-based performance estimation, as
NannyML's CBPE does, without NannyML).

Each row's calibrated probability of the positive class (the calibration table kept in the model
contract, fitted on the held-out eval data) is the chance that its label is positive. The
calibration is itself uncertain (a few hundred eval rows, maybe a few dozen positives), so each of
:data:`DRAWS` draws (seeded) first draws a plausible calibration from the eval rows' counts
(:func:`~workbench._core.calibration.calibration_draws`), then the batch's labels from it; each
draw gives the metrics the batch would have, against the model's own predictions. The estimate is
their mean, the 90% interval their 5th to 95th percentile: it covers both the batch's luck and
the calibration's.

An estimate that cannot be believed is **withheld** (``withheld``, with the ``reason``), not
shown: all of it when the eval data held fewer than :data:`MIN_CLASS_ROWS` rows of either class,
or more than :data:`MAX_OUTSIDE_SHARE` of the batch's probabilities lie outside the range the eval
data covered; precision, recall and F1 when fewer than :data:`MIN_SUPPORT` eval rows had
probabilities as high as the batch's predicted positives (a rare positive class); any metric
whose interval is wider than :data:`MAX_WIDTH`.

What it cannot see: a **concept shift**. When the relation between inputs and label changes
(``P(y | x)`` moves), the probabilities do not move and neither does the estimate, while the true
performance does. It is trustworthy for a covariate shift (the inputs move, the relation holds) and
only as far as the calibration is: few eval rows flag it (``warnings``); too few positives, or
probabilities outside the range the eval data covered, withhold it.

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

from workbench._core.calibration import calibrate, calibration_bins, calibration_rates, read_rates

__all__ = [
    "CONCEPT_SHIFT",
    "DRAWS",
    "ESTIMATED_METRICS",
    "estimate_performance",
    "estimate_summary",
    "estimated",
]

DRAWS = 400
#: Rows drawn at once (draws x rows floats in memory).
CHUNK_ROWS = 10_000
ESTIMATED_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
CONCEPT_SHIFT = (
    "estimated from the model's own probabilities: a concept shift (the same inputs now meaning "
    "another label) moves the true performance without moving this estimate"
)
#: Fewer calibration rows than this and the estimate is flagged; more of the batch's
#: probabilities than this share outside the range the calibration covered and it is withheld.
MIN_CALIBRATION_ROWS, MAX_OUTSIDE_SHARE = 200, 0.05
#: Fewer eval rows of either class than this and the whole estimate is withheld.
MIN_CLASS_ROWS = 20
#: Fewer eval rows than this at the probabilities of the batch's predicted positives and
#: precision, recall and F1 are withheld: those rows' calibration would be a guess.
MIN_SUPPORT = 10
#: A metric whose 90% interval is wider than this is withheld: it says too little to be shown.
MAX_WIDTH = 0.5
#: The metrics that hang on the calibration of the predicted positives.
_POSITIVE_CALLS = ("precision", "recall", "f1")


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
        ``{metric: {"value", "low", "high", "withheld", "reason"}, "calibrated": bool,
        "warnings": [...], "rows": n, "note": str, "withheld": bool, "reason": str}`` (the shape
        of ``summary.json``'s ``estimated_performance``); empty for an empty batch. A withheld
        metric has ``None`` for its value and interval and says why in ``reason``; the top-level
        ``withheld`` is true when every metric is, ``reason`` says what was withheld and why
        (empty when nothing was). ``warnings`` flag what weakens a shown estimate.

    Raises:
        DataError: a probability is missing, infinite or outside [0, 1].
    """
    p = np.asarray(proba, dtype=float).ravel()
    decided = np.asarray(predicted_positive, dtype=bool).ravel()
    if len(p) == 0:
        return {}
    table = calibration or {}
    calibrate({}, p)  # refuses values that are not probabilities
    warnings, whole = _caveats(table, p)
    support = _support(table, p, decided)
    out: dict[str, Any] = {}
    for name, values in _metrics(table, p, decided, draws, seed).items():
        finite = values[np.isfinite(values)]
        if not len(finite):
            continue
        low, high = float(np.percentile(finite, 5)), float(np.percentile(finite, 95))
        reason = whole or (support if name in _POSITIVE_CALLS else "") or _too_wide(low, high)
        out[name] = (
            {"value": None, "low": None, "high": None, "withheld": True, "reason": reason}
            if reason
            else {
                "value": float(np.mean(finite)),
                "low": low,
                "high": high,
                "withheld": False,
                "reason": "",
            }
        )
    kept = [k for k, v in out.items() if not v["withheld"]]
    out.update(
        calibrated=bool(table),
        warnings=warnings,
        rows=int(len(p)),
        note=CONCEPT_SHIFT,
        withheld=bool(out) and not kept,
        reason=_overall_reason(out, whole),
    )
    return out


def estimate_summary(estimate: dict[str, Any]) -> str:
    """One line for a person: ``accuracy 0.812 (90%: 0.780-0.840); precision, recall withheld
    (why)``, then the warnings in brackets; ``withheld: why`` when all of it is; empty when
    nothing was estimated."""
    figures = {k: v for k, v in (estimate or {}).items() if isinstance(v, dict)}
    if not figures:
        return ""
    if estimate.get("withheld"):
        text = f"withheld: {estimate.get('reason') or 'the calibration cannot support it'}"
    else:
        shown = [
            f"{k} {v['value']:.3f} (90%: {v['low']:.3f}-{v['high']:.3f})"
            for k, v in figures.items()
            if not v.get("withheld")
        ]
        held: dict[str, list[str]] = {}
        for k, v in figures.items():
            if v.get("withheld"):
                held.setdefault(v.get("reason", ""), []).append(k)
        text = "; ".join(
            [", ".join(shown)]
            + [f"{', '.join(names)} withheld ({why})" for why, names in held.items()]
        )
    warnings = "; ".join(estimate.get("warnings") or [])
    return text + (f" [{warnings}]" if warnings else "")


def _caveats(table: dict[str, Any], p: np.ndarray) -> tuple[list[str], str]:
    """The warnings that flag the estimate, and the reason to withhold all of it ("" if none)."""
    if not table:
        return ["uncalibrated: the version keeps no calibration table (logged before it)"], ""
    warnings, reasons = [], []
    rows, positives = int(table.get("rows", 0)), int(table.get("positives", 0))
    if rows < MIN_CALIBRATION_ROWS:
        warnings.append(f"calibrated on only {rows} eval rows")
    for count, name in ((positives, "positive"), (rows - positives, "negative")):
        if count < MIN_CLASS_ROWS:
            reasons.append(
                f"the eval data held only {count} {name} rows: at least {MIN_CLASS_ROWS} are "
                "needed to calibrate the probabilities"
            )
    lo, hi = table["p"][0], table["p"][-1]
    outside = float(np.mean((p < lo) | (p > hi)))
    if outside > MAX_OUTSIDE_SHARE:
        reasons.append(
            f"{outside:.0%} of the batch's probabilities lie outside the range the eval data "
            f"covered ({lo:.2f}-{hi:.2f})"
        )
    return warnings, "; ".join(reasons)


def _support(table: dict[str, Any], p: np.ndarray, decided: np.ndarray) -> str:
    """The reason to withhold precision, recall and F1 ("" if none): too few eval rows at the
    probabilities of the batch's predicted positives."""
    if not table or not decided.any():
        return ""
    bins = calibration_bins(table)
    lowest = float(p[decided].min())
    rows = int(round(float(bins["rows"][bins["high"] >= lowest].sum())))
    if rows >= MIN_SUPPORT:
        return ""
    return (
        f"the eval data held only {rows} rows with probabilities as high as the batch's predicted "
        f"positives (from {lowest:.2f}): at least {MIN_SUPPORT} are needed to calibrate them"
    )


def _too_wide(low: float, high: float) -> str:
    if high - low <= MAX_WIDTH:
        return ""
    return f"too uncertain to show: its 90% interval runs from {low:.2f} to {high:.2f}"


def _overall_reason(figures: dict[str, Any], whole: str) -> str:
    if whole:
        return whole
    withheld = {k: v["reason"] for k, v in figures.items() if v["withheld"]}
    by_reason: dict[str, list[str]] = {}
    for name, reason in withheld.items():
        by_reason.setdefault(reason, []).append(name)
    return "; ".join(f"{', '.join(names)} withheld: {why}" for why, names in by_reason.items())


def _metrics(
    table: dict[str, Any], p: np.ndarray, decided: np.ndarray, draws: int, seed: int
) -> dict[str, np.ndarray]:
    """Each metric for every draw at once: per draw, a plausible calibration (the same for the
    whole batch), then the batch's labels from it, counted a chunk of rows at a time. Precision,
    recall and F1 are 0 where undefined (``zero_division=0``, as the workbench measures them);
    ROC AUC is NaN."""
    from scipy.stats import rankdata

    rng = np.random.default_rng(seed)
    drawn = calibration_rates(table, draws, rng)
    centres, rates = drawn if drawn is not None else (None, None)
    ranks = rankdata(p)  # ties share their mean rank
    tp, fp, fn, positives, rank_sum = (np.zeros(draws) for _ in range(5))
    for start in range(0, len(p), CHUNK_ROWS):
        part = slice(start, start + CHUNK_ROWS)
        chance = read_rates(centres, rates, p[part])
        labels = rng.random((draws, len(p[part]))) < chance
        calls = decided[part]
        tp += (labels & calls).sum(axis=1)
        fp += (~labels & calls).sum(axis=1)
        fn += (labels & ~calls).sum(axis=1)
        positives += labels.sum(axis=1)
        rank_sum += labels @ ranks[part]
    n = len(p)
    with np.errstate(invalid="ignore", divide="ignore"):  # 0 where undefined, as measured
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        auc = (rank_sum - positives * (positives + 1) / 2) / (positives * (n - positives))
    accuracy = (n - fp - fn) / n
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
