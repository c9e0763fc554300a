"""Does the label-free estimate's 90% interval cover the truth on random holdouts, or say it cannot?

For each table, and each of several random splits (a fresh model each time): the table is split
into a training part and a holdout pool; the training part is split 75/25 as ``train_and_log``
does, a random forest (the default family) is fitted on the 75% and the calibration table on the
25% eval rows (``fit_calibration``, as every logged classifier gets). Then random holdouts drawn
from the pool are estimated without labels (``estimate_performance``) and measured with them
(the workbench's own ``metrics``, positive label 1).

Tables (generated, or bundled with scikit-learn; no network):

* ``credit``: the workbench's credit-risk demo table;
* ``breast_cancer``: scikit-learn's bundled table (small: 569 rows);
* ``balanced``: a balanced synthetic table (``make_classification``);
* ``insurance``: an insurance-like table: 85 integer-coded columns (demographic levels 0-9 of
  the customer's area, mostly-zero contribution levels, rare policy counts) and one text column,
  about 6% positives, a weak signal: the case where the estimate used to be confidently wrong;
* ``fraud``: a fraud-like synthetic table, about 4% positives, well separated (the model calls
  positives often enough for precision to be estimated).

Rows, per table and metric (accuracy, precision, recall, F1): the share of holdouts where the
interval covers the measured value or the estimate is withheld (goal >= 0.85). The baseline is
the share covered by the interval the workbench gave before (labels drawn from the point
calibration, without the calibration's uncertainty, never withheld), measured in the same run;
an interval of that kind wider than 0.5 (say 0.0-1.0) counts as not covering: it said nothing.
The note says how many were covered, how many withheld, and the mean interval width. In smoke
mode (4 holdouts a table) the goal is not judged (``met`` is null).

Run alone with ``python -m benchmarks.bench_estimation_coverage [--smoke]`` (prints JSON rows).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd

from benchmarks._common import row

METRICS = ("accuracy", "precision", "recall", "f1")
GOAL = 0.85
#: Fewer holdouts than this (smoke mode) and the goal is not judged: one miss would decide it.
MIN_JUDGED = 20
TABLES = ("credit", "breast_cancer", "balanced", "insurance", "fraud")


def insurance_like(n: int = 6000, seed: int = 0) -> pd.DataFrame:
    """An insurance-like table, as a customer table of an insurer looks: 43 demographic levels
    (0-9) of the customer's postcode area (shared by everyone living there, from a few latent
    traits), 21 contribution levels (0-9, mostly 0) and 21 policy counts (0-2, some rare) of the
    customer, a text customer type, and ``target`` (about 6% positive, weakly predictable)."""
    rng = np.random.default_rng(seed)
    areas = max(n // 8, 1)
    area_traits = rng.normal(size=(areas, 4))
    area = rng.integers(0, areas, n)
    traits = area_traits[area]
    columns: dict[str, np.ndarray] = {}
    for i in range(43):
        load = rng.normal(size=4)
        level = area_traits @ load / np.linalg.norm(load) + rng.normal(scale=0.5, size=areas)
        columns[f"demo_{i:02d}"] = np.clip(np.round(level * 1.6 + 4.5), 0, 9).astype("int64")[area]
    owns = rng.random((n, 21)) < np.linspace(0.45, 0.01, 21)  # some common, some rare
    for i in range(21):
        columns[f"contrib_{i:02d}"] = np.where(owns[:, i], rng.integers(1, 10, n), 0)
        extra = rng.random(n) < 0.1
        columns[f"policies_{i:02d}"] = (owns[:, i] & (rng.random(n) < 0.9)) + (owns[:, i] & extra)
    frame = pd.DataFrame(columns)
    types = np.array(["family", "career", "retired", "driven", "farmer", "average"])
    frame["customer_type"] = types[np.clip(np.round(traits[:, 0] + 2.5), 0, 5).astype(int)]
    score = (
        0.3 * frame["contrib_00"].to_numpy() / 3
        + 0.7 * (frame["policies_03"].to_numpy() > 0)
        + 0.9 * (frame["policies_12"].to_numpy() > 0)
        + 1.0 * traits[:, 1]
        + 0.2 * (frame["customer_type"].to_numpy() == "driven")
    )
    shift = _intercept(score, 0.06)
    frame["target"] = (rng.random(n) < 1 / (1 + np.exp(-(score + shift)))).astype(int)
    return frame


def _intercept(score: np.ndarray, rate: float) -> float:
    """The intercept that makes the mean probability ``rate`` (bisection)."""
    low, high = -20.0, 20.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if np.mean(1 / (1 + np.exp(-(score + mid)))) < rate else (low, mid)
    return (low + high) / 2


def _table(name: str) -> pd.DataFrame:
    from sklearn.datasets import make_classification

    from workbench.data import breast_cancer, credit_risk

    if name == "credit":
        return credit_risk(5000, seed=21).rename(columns={"default": "target"})
    if name == "breast_cancer":
        return breast_cancer()
    if name == "insurance":
        return insurance_like(6000, seed=22)
    if name == "fraud":
        x, y = make_classification(
            6000, n_features=30, n_informative=6, weights=[0.96], flip_y=0.01, class_sep=1.5,
            random_state=24,
        )  # fmt: skip
    else:
        x, y = make_classification(
            4000, n_features=12, n_informative=5, flip_y=0.1, class_sep=0.8, random_state=23
        )
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
    frame["target"] = y
    return frame


def _split_run(frame: pd.DataFrame, target: str, seed: int, holdouts: int, trees: int) -> list:
    """One random split and model: ``(metric, measured, new estimate, old estimate)`` per
    holdout and metric."""
    from sklearn.model_selection import train_test_split

    from workbench._core.calibration import calibrate, fit_calibration
    from workbench._core.tasks import metrics
    from workbench.monitoring.estimation import estimate_performance
    from workbench.training import build_model, feature_columns

    x, y = frame.drop(columns=[target]), frame[target]
    x_fit, x_pool, y_fit, y_pool = train_test_split(
        x, y, test_size=0.4, random_state=seed, stratify=y
    )
    x_tr, x_ev, y_tr, y_ev = train_test_split(
        x_fit, y_fit, test_size=0.25, random_state=seed, stratify=y_fit
    )
    numeric, categorical, _ = feature_columns(x_tr)
    model = build_model(
        "random_forest", "classification", numeric, categorical, {"n_estimators": trees}, seed
    ).fit(x_tr, y_tr)
    column = list(model.classes_).index(1)
    table = fit_calibration(model.predict_proba(x_ev)[:, column], y_ev.to_numpy() == 1)
    proba = model.predict_proba(x_pool)[:, column]
    pred = model.predict(x_pool)
    truth = y_pool.to_numpy()
    rng = np.random.default_rng(seed)
    size = len(x_pool) // 2
    out = []
    for h in range(holdouts):
        pick = rng.choice(len(x_pool), size, replace=False)
        measured = metrics(truth[pick], pred[pick], positive_label=1, names=METRICS)
        decided = pred[pick] == 1
        new = estimate_performance(proba[pick], decided, table, seed=h)
        # before: labels drawn from the point calibration alone (no calibration uncertainty)
        old = estimate_performance(calibrate(table, proba[pick]), decided, {}, seed=h)
        out.extend((m, measured[m], new.get(m), old.get(m)) for m in METRICS if m in measured)
    return out


def _covered(figure: dict | None, truth: float) -> bool:
    if not figure or figure.get("low") is None:  # nothing estimated, or withheld
        return False
    return figure["low"] - 1e-9 <= truth <= figure["high"] + 1e-9


def _withheld(figure: dict | None) -> bool:
    return not figure or bool(figure.get("withheld"))


def run(smoke: bool = False) -> list[dict]:
    """Benchmark rows (name, value, unit, baseline, ratio, goal, met)."""
    from benchmarks._common import quiet_mlflow

    quiet_mlflow()
    # holdouts of one split share its calibration: the splits are what vary the calibration
    splits, holdouts, trees = (2, 2, 40) if smoke else (20, 2, 100)
    out = []
    for name in TABLES:
        started = time.perf_counter()
        frame = _table(name)
        results = []
        for split in range(splits):
            results += _split_run(frame, "target", 100 + split, holdouts, trees)
        seconds = time.perf_counter() - started
        rate = float(frame["target"].mean())
        for metric in METRICS:
            cases = [(t, new, old) for m, t, new, old in results if m == metric]
            n = len(cases)
            covered = sum(_covered(new, t) for t, new, _ in cases)
            withheld = sum(_withheld(new) for _, new, _ in cases)
            old_ok = sum(_covered(old, t) for t, _, old in cases)
            widths = [new["high"] - new["low"] for _, new, _ in cases if not _withheld(new)]
            value, baseline = (covered + withheld) / n, old_ok / n
            width = f"{np.mean(widths):.3f}" if widths else "n/a"
            out.append(
                row(
                    f"estimate coverage, {name} ({rate:.0%} positive), {metric}: share of "
                    f"{n} random holdouts where the 90% interval covers the truth or it is "
                    "withheld",
                    round(value, 4),
                    "share",
                    round(baseline, 4),
                    f">= {GOAL}",
                    value >= GOAL if n >= MIN_JUDGED else None,
                    note=f"covered {covered}, withheld {withheld} of {n}; mean width {width}; "
                    f"before (no calibration uncertainty): covered {old_ok} of {n}; "
                    f"{len(frame)} rows, {splits} splits x {holdouts} holdouts, "
                    f"{seconds:.1f} s",
                )
            )
    return out


if __name__ == "__main__":
    started = time.perf_counter()
    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
    print(f"# {time.perf_counter() - started:.0f} s", file=sys.stderr)
