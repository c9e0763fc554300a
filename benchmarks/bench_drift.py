"""Drift benchmark: ``workbench.drift_report`` against plain Evidently on large tables.

25 columns (17 float, 3 wide-range integer, 2 small-range integer, 3 text categories; a few
percent nulls; 6 columns drifted), 10k reference rows against 100k and 1M current rows. Each side
runs in its own fresh subprocess that reads the same Parquet files, so time and peak memory
(``VmHWM``) are per process:

* plain Evidently: ``Report([DataDriftPreset(), DataSummaryPreset()]).run(current, reference)``
  on the full tables, default column inference (what a user writes);
* the workbench: ``drift_report(reference, current)``: validation, column roles, every column's
  Evidently score and verdict plus the corrected decision (K-S / chi-square p-values, Holm, minimum
  effect) on all rows (numpy/scipy), and the same two Evidently presets on a 50k-row uniform
  sample.

Rows: time and peak-memory ratios (goals 0.3x and 0.5x at 1M rows), and per-column agreement of
Evidently's verdicts (goal: all columns, scores within 0.01; the workbench's corrected decision is
measured in ``bench_alarms``). ``run(smoke=True)`` uses 2k against 5k
rows. Run it alone with ``python -m benchmarks.bench_drift [--smoke]``; it prints JSON rows.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import row

TIME_GOAL, MEMORY_GOAL, SCORE_TOLERANCE = 0.3, 0.5, 0.01


def _table(n: int, seed: int, drift: bool):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    cols = {}
    for i in range(17):
        shift = 0.4 if drift and i < 4 else 0.0
        values = rng.normal(10 + i + shift * (1 + i % 3), 1 + i % 5, n)
        values[rng.random(n) < 0.03] = np.nan
        cols[f"num_{i:02d}"] = values
    for i in range(3):
        cols[f"int_{i}"] = rng.integers(0, 500 + 100 * i, n).astype("int64")
    for i in range(2):
        cols[f"level_{i}"] = rng.integers(0, 5, n).astype("int64")
    for i, cats in enumerate(
        (["a", "b", "c", "d"], ["north", "south", "east", "west"], ["x", "y"])
    ):
        p = np.full(len(cats), 1 / len(cats))
        if drift and i == 0:
            p = np.array([0.55, 0.15, 0.15, 0.15])
        cols[f"cat_{i}"] = rng.choice(cats, n, p=p)
    if drift:
        cols["int_0"] = cols["int_0"] + rng.integers(0, 120, n)
    return pd.DataFrame(cols)


def _status() -> dict[str, float]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0]) / 1024.0  # MB
    return out


def _worker(side: str, ref_path: str, cur_path: str, out_path: str) -> None:
    import evidently  # noqa: F401 - both sides pay the import before the clock starts
    import pandas as pd

    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    started = time.perf_counter()
    if side == "evidently":
        from evidently import Report
        from evidently.presets import DataDriftPreset, DataSummaryPreset

        snapshot = Report([DataDriftPreset(), DataSummaryPreset()], include_tests=True).run(
            current_data=cur, reference_data=ref
        )
        seconds = time.perf_counter() - started
        verdicts = {}
        for m in snapshot.dict()["metrics"]:
            cfg = m["config"]
            if cfg["type"].endswith("ValueDrift"):
                value, threshold, method = float(m["value"]), cfg["threshold"], cfg["method"]
                if "p_value" in method:
                    drifted = value <= threshold if method.startswith("K-S") else value < threshold
                else:
                    drifted = value >= threshold
                verdicts[cfg["column"]] = [method, value, drifted]
    else:
        from workbench.monitoring import drift_report

        result = drift_report(ref, cur)
        seconds = time.perf_counter() - started
        # Evidently's own (uncorrected) per-column verdict, which the workbench keeps beside its
        # corrected decision: the like-for-like comparison with plain Evidently
        verdicts = {c.column: [c.method, c.score, c.evidently_drifted] for c in result.columns}
    Path(out_path).write_text(
        json.dumps({"seconds": seconds, "peak_mb": _status()["VmHWM"], "verdicts": verdicts})
    )


def _run_side(side: str, ref: Path, cur: Path, folder: Path) -> dict:
    out = folder / f"{side}-{cur.stem}.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_drift",
            "--worker",
            side,
            str(ref),
            str(cur),
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=str(Path(__file__).resolve().parents[1]),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{side} worker failed: {proc.stderr[-2000:]}")
    return json.loads(out.read_text())


def run(smoke: bool = False) -> list[dict]:
    """Benchmark rows (name, value, unit, baseline, ratio, goal, met)."""
    ref_rows, sizes = (2_000, (5_000,)) if smoke else (10_000, (100_000, 1_000_000))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ref = folder / "reference.parquet"
        _table(ref_rows, 0, drift=False).to_parquet(ref)
        for n in sizes:
            cur = folder / f"current_{n}.parquet"
            _table(n, 1, drift=True).to_parquet(cur)
            plain = _run_side("evidently", ref, cur, folder)
            ours = _run_side("workbench", ref, cur, folder)
            label = f"drift {ref_rows // 1000}k vs {n // 1000}k rows, 25 columns"
            t_ratio = ours["seconds"] / plain["seconds"]
            m_ratio = ours["peak_mb"] / plain["peak_mb"]
            rows.append(
                row(
                    f"{label}: time",
                    ours["seconds"],
                    "s",
                    plain["seconds"],
                    TIME_GOAL,
                    t_ratio <= TIME_GOAL,
                )
            )
            rows.append(
                row(
                    f"{label}: peak memory",
                    ours["peak_mb"],
                    "MB",
                    plain["peak_mb"],
                    MEMORY_GOAL,
                    m_ratio <= MEMORY_GOAL,
                )
            )
            pv, ov = plain["verdicts"], ours["verdicts"]
            same_cols = set(pv) == set(ov)
            agree = sum(pv[c][2] == ov[c][2] for c in ov if c in pv) / max(len(pv), 1)
            diff = max((abs(pv[c][1] - ov[c][1]) for c in ov if c in pv), default=float("inf"))
            drifted = sum(v[2] for v in pv.values())
            rows.append(
                row(
                    f"{label}: same verdict per column ({drifted} of {len(pv)} drifted)",
                    agree,
                    "share",
                    1.0,
                    1.0,
                    same_cols and agree == 1.0,
                    ratio=round(agree, 3),
                )
            )
            rows.append(
                row(
                    f"{label}: largest score difference",
                    diff,
                    "score",
                    0.0,
                    SCORE_TOLERANCE,
                    diff <= SCORE_TOLERANCE,
                    ratio=None,
                )
            )
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(*sys.argv[2:6])
    else:
        print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
