"""``workbench monitor`` against the tool it wraps: the real command, a fresh process each time as a
scheduler runs it, against a plain script that reads the same two CSV files, runs Evidently's
``Report([DataDriftPreset()])`` and saves the HTML.

The workbench's run does more: validation, verdicts (every column, corrected), the Evidently report
with the data summary too, ``summary.json``, an MLflow run with metrics, tags and the reports as
artifacts (recorded by the command's own process, the kernel never loads MLflow), the retrain
policy over the history, and the executed notebook kept under ``runs/``.
The demo files of issue 15: 5,000 reference rows (``credit_risk(5000, seed=1)``) and 1,000 current
rows (``production_batch(1000, seed=2)``). Rows: without a model (the issue's case, goal 1.0) and
with a registered model (``--model models:/credit-risk@champion``: both tables scored, performance
measured; same plain baseline, informational).

Baseline and workbench run interleaved, after one untimed run of each (the new SQLite store's
migrations, the page cache), median of 3 each (smoke: tiny tables, one run each, no model row).
The load average is in the note. Run alone with ``python -m benchmarks --only monitor``.
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

from benchmarks._common import median, not_available, row, seconds_left, timed

NAME = "workbench monitor vs plain Evidently script (1,000 vs 5,000 rows, no model)"
NAME_MODEL = "workbench monitor --model vs plain Evidently script (1,000 vs 5,000 rows)"
GOAL = 1.0
REPEATS = 3
TIMEOUT_S = 300.0

PLAIN_SCRIPT = """\
import sys

import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

reference, current = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
snapshot.save_html(sys.argv[3])
"""


def run(smoke: bool = False) -> list[dict]:
    """Rows: the command without a model (goal 1.0) and, in a full run, with a model."""
    if seconds_left(600) < (60 if smoke else 240):
        reason = f"only {seconds_left(600):.0f} s left in the run's budget"
        return [not_available(NAME, reason, goal=f"<= {GOAL}")]
    with tempfile.TemporaryDirectory(prefix="wb-bench-monitor-") as tmp:
        folder = Path(tmp)
        ref, cur = _demo_files(folder, smoke)
        script = folder / "plain_evidently.py"
        script.write_text(PLAIN_SCRIPT)
        ws = folder / "ws"
        env = _env()
        plain = [sys.executable, str(script), str(ref), str(cur)]
        monitor = [sys.executable, "-m", "workbench.cli", "--workspace", str(ws), "monitor"]
        monitor += ["--reference", str(ref), "--current", str(cur)]
        cases = {"plain": plain, "workbench": monitor}
        if not smoke:
            _register_model(ws, env)
            cases["model"] = [*monitor, "--model", "models:/credit-risk@champion"]
        try:
            times = _interleaved(cases, folder, env, repeats=1 if smoke else REPEATS, smoke=smoke)
        except RuntimeError as err:
            return [not_available(NAME, str(err), goal=f"<= {GOAL}")]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    base = median(times["plain"])
    what = "1 run each (smoke, tiny tables)" if smoke else f"median of {REPEATS} each, interleaved"
    rows = [_row(NAME, times["workbench"], base, what, load, goal=True)]
    if "model" in times:
        rows.append(_row(NAME_MODEL, times["model"], base, what, load, goal=False))
    return rows


def _row(name: str, seconds: list[float], base: float, what: str, load: str, *, goal: bool):
    value = median(seconds)
    ratio = round(value / base, 4) if base else None
    note = (
        f"{what}; workbench runs {', '.join(f'{s:.1f}' for s in seconds)} s; "
        f"load average {load} (1, 5, 15 min)"
    )
    if goal:
        return row(
            name, value, "s", base, f"<= {GOAL}", ratio is not None and ratio <= GOAL, note=note
        )
    return row(name, value, "s", base, "informational", True, note=note + "; same plain baseline")


def _demo_files(folder: Path, smoke: bool) -> tuple[Path, Path]:
    from workbench.data import credit_risk, production_batch

    ref, cur = folder / "reference.csv", folder / "current.csv"
    credit_risk(300 if smoke else 5000, seed=1).to_csv(ref, index=False)
    production_batch(1000, seed=2, n=100 if smoke else 1000).to_csv(cur, index=False)
    return ref, cur


def _env() -> dict[str, str]:
    """The user's environment without a tracking server or workspace of theirs; no telemetry."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "WORKBENCH_WORKSPACE")
    }
    env.update(DO_NOT_TRACK="true", MLFLOW_DISABLE_TELEMETRY="true")
    return env


def _register_model(ws: Path, env: dict[str, str]) -> None:
    """A demo model (the default family) registered as ``credit-risk@champion`` in ``ws``."""
    code = (
        "import sys, workbench as wb\n"
        "from workbench.data import credit_risk\n"
        "wb.open_workspace(sys.argv[1])\n"
        "wb.train_and_log(credit_risk(5000, seed=1), 'default', name='credit-risk', "
        "alias='champion')\n"
    )
    _check(subprocess.run([sys.executable, "-c", code, str(ws)], env=env, **_QUIET), "training")


_QUIET: dict[str, Any] = {"capture_output": True, "text": True, "timeout": TIMEOUT_S}


def _interleaved(
    cases: dict[str, list[str]], folder: Path, env: dict[str, str], *, repeats: int, smoke: bool
) -> dict[str, list[float]]:
    """Wall seconds of each case, round after round (one untimed round first, in a full run)."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for round_no in range(repeats + (0 if smoke else 1)):
        for name, cmd in cases.items():
            out = folder / f"{name}-{round_no}"
            full = (
                [*cmd, str(out / "report.html")] if name == "plain" else [*cmd, "--out", str(out)]
            )
            out.mkdir(exist_ok=True)
            seconds, proc = timed(lambda full=full: subprocess.run(full, env=env, **_QUIET))
            _check(proc, name)
            _check_outputs(out, name)
            if smoke or round_no > 0:
                times[name].append(seconds)
    return times


def _check(proc: subprocess.CompletedProcess, what: str) -> None:
    if proc.returncode != 0:
        tail = " | ".join((proc.stderr or proc.stdout or "").strip().splitlines()[-3:])
        raise RuntimeError(f"{what} exited {proc.returncode}: {tail}")


def _check_outputs(out: Path, name: str) -> None:
    """Each run really produced its report (and the workbench its verdict)."""
    report = out / "report.html"
    if not report.exists() or report.stat().st_size < 100_000:
        raise RuntimeError(f"{name} wrote no complete report.html in {out}")
    if name != "plain":
        summary = json.loads((out / "summary.json").read_text())
        if summary.get("status") not in ("ok", "drift"):
            raise RuntimeError(f"{name}: summary.json says {summary.get('status')!r}")


if __name__ == "__main__":
    started = time.perf_counter()
    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
    print(f"# {time.perf_counter() - started:.0f} s", file=sys.stderr)
