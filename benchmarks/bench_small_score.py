"""``workbench score`` on a small file against the plain MLflow way: whole processes, both fresh.

A scheduled job that scores a small file pays for the interpreter, the imports, the model's
load and the checks, not for the rows. This compares the real command,
``python -m workbench.cli --workspace WS score models:/credit-risk@champion --data F --out G``,
against a plain script doing ``mlflow.pyfunc.load_model(uri).predict(pd.read_csv(F))`` and writing
the predictions with ``to_csv`` (same model, same SQLite store through ``MLFLOW_TRACKING_URI``, the
same file). The plain script casts the integer columns to float64 first: the workbench declares
integers as double, and MLflow's schema enforcement refuses int64 for them (NOTES.md, "Integers in
signatures"); without the cast it exits with an error.

The workbench's run does more: it checks the model's format before loading it (no pickle), reads
the CSV with the contract's kinds, conforms every chunk to the signature, checks the ranges and
writes the probabilities as well as the labels, atomically.

The model: the demo family ``default`` trained on ``credit_risk(5000, seed=1)`` and registered as
``credit-risk@champion`` in a temporary workspace. Rows: 100 rows (goal <= 1.5) and 10,000 rows
(informational). The two run interleaved, after one untimed round (page cache, the store's first
open), median of 3 each (smoke: 100 rows, one run each). The load average is in the note. Run it
alone with ``python -m benchmarks --only small_score``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import (
    check_exit,
    clean_env,
    median,
    not_available,
    register_champion,
    row,
    seconds_left,
    store_uri,
    timed,
)

NAME = "workbench score 100 rows vs plain pyfunc script"
NAME_10K = "workbench score 10,000 rows vs plain pyfunc script"
GOAL = 1.5
REPEATS = 3
TIMEOUT_S = 300.0
MODEL_URI = "models:/credit-risk@champion"

PLAIN_SCRIPT = """\
import sys

import mlflow.pyfunc
import pandas as pd

model = mlflow.pyfunc.load_model(sys.argv[1])
data = pd.read_csv(sys.argv[2])
# the signature declares integers as double: MLflow refuses int64 for them
data = data.astype(dict.fromkeys(data.select_dtypes("integer").columns, "float64"))
pd.DataFrame({"prediction": model.predict(data)}).to_csv(sys.argv[3], index=False)
"""


def run(smoke: bool = False) -> list[dict]:
    """Rows: 100 rows (goal <= 1.5) and, in a full run, 10,000 rows (informational)."""
    if seconds_left(600) < (90 if smoke else 240):
        reason = f"only {seconds_left(600):.0f} s left in the run's budget"
        return [not_available(NAME, reason, goal=f"<= {GOAL}")]
    sizes = [100] if smoke else [100, 10_000]
    with tempfile.TemporaryDirectory(prefix="wb-bench-small-score-") as tmp:
        folder = Path(tmp)
        ws = folder / "ws"
        env = clean_env()
        script = folder / "plain_pyfunc.py"
        script.write_text(PLAIN_SCRIPT)
        try:
            register_champion(ws, env, TIMEOUT_S)
            files = _demo_files(folder, sizes)
            plain_env = {**env, "MLFLOW_TRACKING_URI": store_uri(ws)}
            cases = {}
            for n, data in files.items():
                cases[f"plain-{n}"] = (
                    [sys.executable, str(script), MODEL_URI, str(data)],
                    plain_env,
                )
                cmd = [sys.executable, "-m", "workbench.cli", "--workspace", str(ws), "score"]
                cases[f"workbench-{n}"] = ([*cmd, MODEL_URI, "--data", str(data), "--out"], env)
            times = _interleaved(cases, folder, repeats=1 if smoke else REPEATS, smoke=smoke)
        except RuntimeError as err:
            return [not_available(NAME, str(err), goal=f"<= {GOAL}")]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    what = "1 run each (smoke)" if smoke else f"median of {REPEATS} each, interleaved"
    rows = [_row(NAME, times, 100, what, load, goal=True)]
    if not smoke:
        rows.append(_row(NAME_10K, times, 10_000, what, load, goal=False))
    return rows


def _row(name: str, times: dict[str, list[float]], n: int, what: str, load: str, *, goal: bool):
    plain, ours = times[f"plain-{n}"], times[f"workbench-{n}"]
    base, value = median(plain), median(ours)
    ratio = round(value / base, 4) if base else None
    note = (
        f"{what}; workbench runs {', '.join(f'{s:.2f}' for s in ours)} s, plain runs "
        f"{', '.join(f'{s:.2f}' for s in plain)} s; load average {load} (1, 5, 15 min)"
    )
    if goal:
        met = ratio is not None and ratio <= GOAL
        return row(name, value, "s", base, f"<= {GOAL}", met, ratio=ratio, note=note)
    return row(name, value, "s", base, "informational", True, ratio=ratio, note=note)


def _demo_files(folder: Path, sizes: list[int]) -> dict[int, Path]:
    """A CSV of ``n`` new demo rows (other seed than the training data) for each size."""
    from workbench.data import credit_risk

    files = {}
    for n in sizes:
        files[n] = folder / f"rows-{n}.csv"
        credit_risk(n, seed=7).to_csv(files[n], index=False)
    return files


_QUIET: dict[str, Any] = {"capture_output": True, "text": True, "timeout": TIMEOUT_S}


def _interleaved(
    cases: dict[str, tuple[list[str], dict[str, str]]], folder: Path, *, repeats: int, smoke: bool
) -> dict[str, list[float]]:
    """Wall seconds of each case, round after round (one untimed round first, in a full run)."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for round_no in range(repeats + (0 if smoke else 1)):
        for name, (cmd, env) in cases.items():
            out = folder / f"{name}-{round_no}.csv"
            full = [*cmd, str(out)]
            seconds, proc = timed(
                lambda full=full, env=env: subprocess.run(full, env=env, **_QUIET)
            )
            check_exit(proc, name)
            _check_output(out, name, int(name.rsplit("-", 1)[1]))
            if smoke or round_no > 0:
                times[name].append(seconds)
    return times


def _check_output(out: Path, name: str, rows: int) -> None:
    """Each run really wrote one prediction per row (a header line, then the rows)."""
    if not out.exists():
        raise RuntimeError(f"{name} wrote no {out.name}")
    with open(out) as handle:
        header, lines = handle.readline(), sum(1 for _ in handle)
    if "prediction" not in header or lines != rows:
        raise RuntimeError(f"{name} wrote {lines} rows (header {header.strip()!r}), not {rows}")


if __name__ == "__main__":
    started = time.perf_counter()
    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
    print(f"# {time.perf_counter() - started:.0f} s", file=sys.stderr)
