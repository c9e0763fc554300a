"""Rare-column benchmark: how often ``data_quality`` fails an ordinary random split of a table
with rare indicator columns, and whether it still fails a truly constant or broken column.

The table is generated (no network): 5,000 rows of ordinary columns (a normal income, a uniform
age, a count, a four-level region, a 30% indicator), four indicator columns with 3, 5, 7 and 9
ones in the whole table (as an insurance table's rare flags), and a 0/1 label. Each case is a
random 80/20 split (4,000 training rows, 1,000 eval rows); the check gets the training part's
profile and signature through ``CheckContext.from_model`` (a real, fitted ``DummyClassifier``:
the check reads the data, not the model).

* **clean**: ``SPLITS`` random splits as they are. A rare indicator is all zero in the holdout in
  most of them (3 ones: 0.8 ** 3 = 51% of splits), which the earlier fixed rule called
  "constant in the eval data". Goal: ``data_quality`` fails at most 5% of them. The baseline is
  the earlier rule, measured on the same splits by giving the check the profile as an older
  version has it (without the frequencies), where it falls back to that rule.
* **broken** (``BROKEN_SPLITS`` splits each): the 30% indicator constant in the holdout, the
  region constant, income missing on every row, income as text, a new region on 10% of the rows,
  10% of the rows pasted twice. Goal: every one fails.

``run(smoke=True)`` uses a few splits. Run it alone with ``python -m benchmarks.bench_rare_columns
[--smoke]``.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from benchmarks._common import quiet_mlflow, row

SPLITS, SMOKE_SPLITS = 200, 40
BROKEN_SPLITS, SMOKE_BROKEN_SPLITS = 20, 5
ROWS, EVAL_SHARE, TARGET = 5000, 0.2, "label"
RARE_ONES = (3, 5, 7, 9)
FAIL_GOAL = 0.05
_NEW_KEYS = {"count", "top", "top_complete", "counts", "singletons"}
TEXT_NOTE = (
    " (through today's fallback, which fails it too; the check before issue 24 said 'error': "
    "could not run)"
)


def table(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    """The generated table (see the module docstring)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.normal(50.0, 15.0, rows).round(2),
            "age": rng.uniform(18.0, 80.0, rows).round(1),
            "visits": rng.poisson(3.0, rows),
            "region": rng.choice(["north", "south", "east", "west"], rows, p=[0.4, 0.3, 0.2, 0.1]),
            "flag": (rng.random(rows) < 0.3).astype(int),
        }
    )
    for i, ones in enumerate(RARE_ONES):
        column = np.zeros(rows, dtype=int)
        column[rng.choice(rows, ones, replace=False)] = 1
        frame[f"rare_{i}"] = column
    score = (frame["income"] - 50.0) / 15.0 + 0.5 * frame["flag"] + rng.normal(0.0, 1.0, rows)
    frame[TARGET] = (score > 0.5).astype(int)
    return frame


def split(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A random 80/20 split of ``frame``: training and eval rows."""
    idx = np.random.default_rng(seed).permutation(len(frame))
    cut = len(frame) - round(EVAL_SHARE * len(frame))
    return frame.iloc[idx[:cut]], frame.iloc[idx[cut:]]


def context_for(train: pd.DataFrame, evaluation: pd.DataFrame):
    """The check's context: the training part's profile and signature, the eval rows."""
    from sklearn.dummy import DummyClassifier

    from workbench.checks import CheckContext

    x = train.drop(columns=TARGET)
    model = DummyClassifier().fit(x, train[TARGET])
    return CheckContext.from_model(model, evaluation, TARGET, train=x)


def old_profile(profile: dict) -> dict:
    """``profile`` as a version logged before the frequencies were kept has it."""
    return {
        "rows": profile["rows"],
        "columns": {
            n: {k: v for k, v in e.items() if k not in _NEW_KEYS}
            for n, e in profile["columns"].items()
        },
    }


def verdicts(context) -> dict[str, bool]:
    """Whether ``data_quality`` fails, with the training profile as logged now and as an older
    version has it."""
    from workbench.checks import DataQuality

    new = DataQuality()(context)
    old = DataQuality()(replace(context, profile=old_profile(context.profile)))
    return {"new": new.status == "fail", "old": old.status == "fail", "detail": new.detail}


def broken_cases(evaluation: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Eval rows with one column truly constant or broken (see the module docstring)."""
    ev = evaluation.drop(columns=TARGET)
    new_region = ev.copy()
    new_region.loc[new_region.index[: len(ev) // 10], "region"] = "central"
    tenth = len(ev) // 10
    return {
        "30% indicator constant in the holdout": ev.assign(flag=0),
        "region constant in the holdout": ev.assign(region="north"),
        "income missing on every row": ev.assign(income=np.nan),
        "income as text": ev.assign(income="n/a"),
        "a new region on 10% of the rows": new_region,
        "10% of the rows pasted twice": pd.concat(
            [ev.iloc[: len(ev) - tenth], ev.iloc[:tenth]], ignore_index=True
        ),
    }


def run(smoke: bool = False) -> list[dict]:
    """Benchmark rows (name, value, unit, baseline, ratio, goal, met)."""
    quiet_mlflow()
    splits = SMOKE_SPLITS if smoke else SPLITS
    broken_splits = SMOKE_BROKEN_SPLITS if smoke else BROKEN_SPLITS
    started = time.perf_counter()
    frame = table()
    clean, all_zero, examples = [], 0, []
    caught: dict[str, list[dict[str, bool]]] = {}
    for i in range(splits):
        train, evaluation = split(frame, 10_000 + i)
        all_zero += bool((evaluation[[c for c in frame if c.startswith("rare_")]] == 0).all().any())
        context = context_for(train, evaluation)
        v = verdicts(context)
        clean.append(v)
        if v["new"] and len(examples) < 2:
            examples.append(v["detail"][:300])
        if i < broken_splits:
            for name, broken in broken_cases(evaluation).items():
                v = verdicts(replace(context, data=broken, target=None))
                caught.setdefault(name, []).append(v)
    n = len(clean)
    rate = sum(v["new"] for v in clean) / n
    old_rate = sum(v["old"] for v in clean) / n
    label = f"rare columns, {n} random 80/20 splits of {ROWS:,} rows"
    rows = [
        row(
            f"{label}: data_quality failure rate",
            rate,
            "share",
            old_rate,
            f"<= {FAIL_GOAL}",
            rate <= FAIL_GOAL,
            ratio=None,
            note=(
                f"baseline: the earlier fixed rules (profile without frequencies) on the same "
                f"splits; a rare indicator was all zero in {all_zero} of {n} holdouts"
                + (f"; failures, e.g.: {' | '.join(examples)}" if examples else "")
            ),
        ),
        row(f"{label}: earlier fixed rules' failure rate", old_rate, "share", None, None, None),
    ]
    for name, cases in caught.items():
        share = sum(v["new"] for v in cases) / len(cases)
        old = sum(v["old"] for v in cases) / len(cases)
        rows.append(
            row(
                f"{name}, {len(cases)} splits: data_quality catch rate",
                share,
                "share",
                old,
                1.0,
                share == 1.0,
                ratio=None,
                note="baseline: the earlier fixed rules on the same cases"
                + (TEXT_NOTE if name == "income as text" else ""),
            )
        )
    rows.append(
        row("rare-column benchmark: time", time.perf_counter() - started, "s", None, None, None)
    )
    return rows


if __name__ == "__main__":
    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
