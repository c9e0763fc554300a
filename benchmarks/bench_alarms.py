"""Alarm benchmark: how often a drift report cries wolf, and how often it catches a real shift.

Two tables: the generated credit-risk table (``workbench.data.credit_risk``, 30,000 rows, 11
tested columns with the label) and scikit-learn's bundled breast-cancer table (569 rows, 31 tested
columns with the label; no network). For each, ``SPLITS`` random cases of each kind:

* **clean**: reference and current drawn from the same data. Credit risk: a random split without
  replacement. Breast cancer is too small for 1,000-row batches, so both tables are drawn from it
  with replacement: independent draws from one distribution, the definition of a stationary batch.
  Two sizes: a large reference against 1,000 current rows (5,000 / 2,000 reference rows), and the
  small-reference case of 800 against 200 rows, where Evidently's default uses p-value tests.
* **shifted** (1,000 current rows): one column moved. Every other case, a numeric feature chosen at
  random is shifted by 0.5 of its reference standard deviation; otherwise one category's share is
  moved by 10 points (current rows drawn with that share; the breast-cancer table's only category
  is its label, a prior shift).

Each case runs ``drift_report(reference, current, target=..., build_report=False)``: the
workbench's verdict (Holm-corrected p-values and a minimum effect, see
``workbench/monitoring/statistics.py``). Evidently's default dataset drift (``DataDriftPreset``: a
batch drifts when at least half the columns drifted, each at Evidently's default per-column test
and threshold) is computed from the same report's per-column Evidently verdicts, which are
Evidently's own scores computed in numpy (``bench_drift`` and the unit tests check they are the
same verdicts); a few cases per table are also run through real Evidently here and the verdicts
compared (row "checked against real Evidently"). The old rule, any column at Evidently's
uncorrected per-column verdict, is shown too.

Rows: per table, the workbench's false-alarm rates (goal <= 0.05) and detection rate (goal >=
0.95) with Evidently's default rates as baselines, and Evidently's own rates as rows of their
own. ``run(smoke=True)`` uses a few cases. Run it alone with ``python -m benchmarks.bench_alarms
[--smoke]``.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmarks._common import row, seconds_left

SPLITS, SMOKE_SPLITS = 200, 5
FALSE_ALARM_GOAL, DETECTION_GOAL = 0.05, 0.95
SHIFT_SD, SHARE_MOVE, CURRENT_ROWS = 0.5, 0.10, 1000
EVIDENTLY_NOTE = (
    "Evidently's rule applied to its per-column verdicts as the workbench computes them (the same "
    "scores and verdicts as Evidently 0.7.23: see bench_drift and the real-Evidently check row)"
)
EVIDENTLY_CHECKS = 3  # cases per table and kind run through real Evidently (full run only)


@dataclass(frozen=True)
class Table:
    """A table to split: its rows, label, numeric and categorical features, and whether cases
    are drawn with replacement (too few rows for a split)."""

    name: str
    frame: pd.DataFrame
    target: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    replace: bool
    reference_rows: int


def tables() -> list[Table]:
    """The generated credit-risk table and scikit-learn's breast-cancer table."""
    from workbench.data import breast_cancer, credit_risk

    credit = credit_risk(30_000, seed=11).drop(columns="application_date")
    cancer = breast_cancer()
    return [
        Table(
            "credit_risk",
            credit,
            "default",
            ("age", "income", "loan_amount", "credit_history_years", "num_late_payments"),
            ("age_band", "employment", "purpose", "region"),
            replace=False,
            reference_rows=5000,
        ),
        Table(
            "breast_cancer",
            cancer,
            "target",
            tuple(c for c in cancer.columns if c != "target"),
            ("target",),
            replace=True,
            reference_rows=2000,
        ),
    ]


def clean_split(
    table: Table, seed: int, n_ref: int, n_cur: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and current rows from the same distribution (see the module docstring)."""
    rng = np.random.default_rng(seed)
    frame = table.frame
    if table.replace:
        return (
            frame.iloc[rng.integers(0, len(frame), n_ref)].reset_index(drop=True),
            frame.iloc[rng.integers(0, len(frame), n_cur)].reset_index(drop=True),
        )
    idx = rng.permutation(len(frame))
    return frame.iloc[idx[:n_ref]], frame.iloc[idx[n_ref : n_ref + n_cur]]


def shifted_split(
    table: Table, seed: int, n_ref: int | None = None, n_cur: int = CURRENT_ROWS
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Reference and a current batch with one column moved; returns the column too.

    Even seeds shift a numeric feature by :data:`SHIFT_SD` reference standard deviations, odd
    seeds move one category's share by :data:`SHARE_MOVE`."""
    rng = np.random.default_rng(seed)
    n_ref = n_ref or table.reference_rows
    frame = table.frame
    if table.replace:
        ref = frame.iloc[rng.integers(0, len(frame), n_ref)].reset_index(drop=True)
        pool = frame
    else:
        idx = rng.permutation(len(frame))
        ref, pool = frame.iloc[idx[:n_ref]], frame.iloc[idx[n_ref:]]
    if seed % 2 == 0:
        col = str(rng.choice(table.numeric))
        cur = _draw(pool, rng, n_cur, table.replace)
        shift = SHIFT_SD * float(ref[col].std())
        return ref, cur.assign(**{col: cur[col] + shift}), col
    col = str(rng.choice(table.categorical))
    shares = pool[col].value_counts(normalize=True)
    level = rng.choice(shares.index.to_numpy())
    share = float(shares[level])
    moved = share + SHARE_MOVE if share + SHARE_MOVE <= 0.95 else share - SHARE_MOVE
    n_level = round(moved * n_cur)
    inside = pool[pool[col] == level]
    outside = pool[pool[col] != level]
    cur = pd.concat(
        [
            _draw(inside, rng, n_level, table.replace),
            _draw(outside, rng, n_cur - n_level, table.replace),
        ]
    )
    return ref, cur.sample(frac=1.0, random_state=int(rng.integers(1 << 31))), col


def _draw(pool: pd.DataFrame, rng: np.random.Generator, n: int, replace: bool) -> pd.DataFrame:
    idx = rng.integers(0, len(pool), n) if replace else rng.choice(len(pool), n, replace=False)
    return pool.iloc[idx].reset_index(drop=True)


def verdicts(ref: pd.DataFrame, cur: pd.DataFrame, target: str) -> dict[str, object]:
    """The workbench's alarm, Evidently's default dataset drift and the old any-column rule."""
    from workbench.monitoring import drift_report

    result = drift_report(ref, cur, target=target, build_report=False)
    raw = [c.evidently_drifted for c in result.columns]
    return {
        "workbench": bool(result.drift_detected),
        "evidently": sum(raw) / len(raw) >= 0.5,  # DataDriftPreset's default drift_share
        "any_column": any(raw),
        "drifted": [c.column for c in result.drifted_columns],
        "evidently_columns": {c.column: c.evidently_drifted for c in result.columns},
        "kinds": {c.column: c.kind for c in result.columns},
    }


def _rates(cases: list[dict[str, object]]) -> dict[str, float]:
    n = max(len(cases), 1)
    return {k: sum(bool(c[k]) for c in cases) / n for k in ("workbench", "evidently", "any_column")}


def _real_evidently(ref, cur, kinds: dict[str, str]) -> dict[str, bool]:
    """Per-column verdicts of plain Evidently (its default tests) on the same columns and kinds."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        numerical_columns=[c for c, k in kinds.items() if k == "numerical"],
        categorical_columns=[c for c, k in kinds.items() if k == "categorical"],
    )
    snapshot = Report([DataDriftPreset(columns=list(kinds))]).run(
        current_data=Dataset.from_pandas(cur[list(kinds)], data_definition=definition),
        reference_data=Dataset.from_pandas(ref[list(kinds)], data_definition=definition),
    )
    out = {}
    for m in snapshot.dict()["metrics"]:
        cfg = m["config"]
        if cfg["type"].endswith("ValueDrift"):
            value, threshold, method = float(m["value"]), cfg["threshold"], cfg["method"]
            if "p_value" in method:
                drifted = value <= threshold if method.startswith("K-S") else value < threshold
            else:
                drifted = value >= threshold
            out[cfg["column"]] = drifted
    return out


def run(smoke: bool = False) -> list[dict]:
    """Benchmark rows (name, value, unit, baseline, ratio, goal, met)."""
    splits = SMOKE_SPLITS if smoke else SPLITS
    rows: list[dict] = []
    checked = agreed = 0
    started = time.perf_counter()
    for t_index, table in enumerate(tables()):
        base = 1_000_003 * (t_index + 1)
        sizes = [(table.reference_rows, CURRENT_ROWS), (800, 200)]
        clean: dict[tuple[int, int], list[dict]] = {}
        for n_ref, n_cur in sizes:
            clean[(n_ref, n_cur)] = [
                verdicts(*clean_split(table, base + i, n_ref, n_cur), table.target)
                for i in range(splits)
            ]
        shifted, on_column = [], 0
        for i in range(splits):
            ref, cur, col = shifted_split(table, base + 7 * splits + i)
            v = verdicts(ref, cur, table.target)
            shifted.append(v)
            on_column += col in v["drifted"]
            if not smoke and i < EVIDENTLY_CHECKS and seconds_left(600) > 120:
                plain = _real_evidently(ref, cur, v["kinds"])
                checked += 1
                agreed += plain == v["evidently_columns"]
        for (n_ref, n_cur), cases in clean.items():
            rates = _rates(cases)
            label = f"{table.name} clean {n_ref}/{n_cur} rows, {len(cases)} splits"
            rows += _false_alarm_rows(label, rates)
        rates = _rates(shifted)
        label = f"{table.name} shifted 1 column, {table.reference_rows}/{CURRENT_ROWS} rows"
        rows.append(
            row(
                f"{label}: workbench detection rate",
                rates["workbench"],
                "share",
                rates["evidently"],
                f">= {DETECTION_GOAL}",
                rates["workbench"] >= DETECTION_GOAL,
                ratio=None,
                note=(
                    f"{len(shifted)} splits (0.5-SD shift of a numeric column, or a 10-point move "
                    f"of a category's share); the shifted column itself flagged in "
                    f"{on_column / len(shifted):.1%}"
                ),
            )
        )
        rows.append(
            row(
                f"{label}: Evidently default (dataset drift, share >= 0.5) detection rate",
                rates["evidently"],
                "share",
                None,
                None,
                None,
                note=EVIDENTLY_NOTE,
            )
        )
    if checked:
        rows.append(
            row(
                "Evidently's per-column verdicts computed by the workbench: checked against real "
                "Evidently",
                agreed / checked,
                "share",
                1.0,
                1.0,
                agreed == checked,
                ratio=None,
                note=f"{agreed} of {checked} shifted cases with every column's verdict identical",
            )
        )
    rows.append(row("alarm benchmark: time", time.perf_counter() - started, "s", None, None, None))
    return rows


def _false_alarm_rows(label: str, rates: dict[str, float]) -> list[dict]:
    return [
        row(
            f"{label}: workbench false-alarm rate",
            rates["workbench"],
            "share",
            rates["evidently"],
            f"<= {FALSE_ALARM_GOAL}",
            rates["workbench"] <= FALSE_ALARM_GOAL,
            ratio=None,
        ),
        row(
            f"{label}: Evidently default (dataset drift, share >= 0.5) false-alarm rate",
            rates["evidently"],
            "share",
            None,
            None,
            None,
            note=EVIDENTLY_NOTE,
        ),
        row(
            f"{label}: any column at Evidently's uncorrected verdict (the old rule) false-alarm "
            "rate",
            rates["any_column"],
            "share",
            None,
            None,
            None,
        ),
    ]


if __name__ == "__main__":
    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
