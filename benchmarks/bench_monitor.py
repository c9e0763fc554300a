"""``workbench monitor`` against the tool it wraps: the real command, a fresh process each time as a
scheduler runs it, against a plain script that reads the same two CSV files, runs Evidently's
``Report([DataDriftPreset()])`` and saves the HTML.

The workbench's run does more: validation, verdicts (every column, corrected), the Evidently report
with the data summary too, ``summary.json``, an MLflow run with metrics, tags and the reports as
artifacts (recorded by the command's own process, the kernel never loads MLflow), the retrain
policy over the history, and the executed notebook kept under ``runs/``.
The demo files of issue 15: 5,000 reference rows (``credit_risk(5000, seed=1)``) and 1,000 current
rows (``production_batch(1000, seed=2)``). Rows: without a model (goal 1.1, issue 27) and with a
registered model (``--model models:/credit-risk@champion``: both tables scored, performance
measured; goal 1.3) against the plain script that loads the model with ``mlflow.pyfunc.load_model``
and adds a prediction column to both tables (:data:`PLAIN_MODEL_SCRIPT`).

Baseline and workbench run interleaved, after one untimed run of each (the new SQLite store's
migrations, the page cache), median of 3 each (smoke: tiny tables, one run each, no model row).
The load average is in the note. Run alone with ``python -m benchmarks --only monitor``.

The nightly fleet (issue 27): ``workbench monitor --plan plan.yaml -j 2`` over 20 jobs (each a
1,000-row production day, half of them shifting, against the 5,000 reference rows) against the
same 20 plain scripts run one after another, as a scheduler running a script per model would; goal
0.3. Each fleet job does what one ``workbench monitor`` does (validation, corrected verdicts, the
Evidently report with the data summary, ``summary.json``, an MLflow run, the retrain policy). One
round of each after an untimed plain run; ``-j 1`` is shown beside (informational). Smoke: 3 jobs
on tiny tables, checked for a report and a run per job.
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

NAME = "workbench monitor vs plain Evidently script (1,000 vs 5,000 rows, no model)"
NAME_MODEL = "workbench monitor --model vs plain Evidently script (1,000 vs 5,000 rows)"
NAME_FLEET = "nightly fleet: monitor --plan, 20 jobs, -j 2 vs 20 plain Evidently scripts"
NAME_FLEET_1 = "nightly fleet: monitor --plan, 20 jobs, -j 1 vs 20 plain Evidently scripts"
GOAL_FLEET = 0.3
FLEET_JOBS = 20
GOAL = 1.1
GOAL_MODEL = 1.3
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

#: The plain way with a model (issue 27): MLflow loads it, both tables get a prediction column.
PLAIN_MODEL_SCRIPT = """\
import sys

import mlflow.pyfunc
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

reference, current = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
model = mlflow.pyfunc.load_model(sys.argv[4])
for frame in (reference, current):
    features = frame.drop(columns=["default"])
    ints = features.select_dtypes("integer").columns  # the signature says double: MLflow refuses
    features[ints] = features[ints].astype("float64")
    frame["prediction"] = model.predict(features)
snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
snapshot.save_html(sys.argv[3])
"""
MODEL_URI = "models:/credit-risk@champion"


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
        env = clean_env()
        plain = [sys.executable, str(script), str(ref), str(cur)]
        monitor = [sys.executable, "-m", "workbench.cli", "--workspace", str(ws), "monitor"]
        monitor += ["--reference", str(ref), "--current", str(cur)]
        cases = {"plain": plain, "workbench": monitor}
        if not smoke:
            register_champion(ws, env, TIMEOUT_S)
            model_script = folder / "plain_evidently_model.py"
            model_script.write_text(PLAIN_MODEL_SCRIPT)
            cases["plain_model"] = [sys.executable, str(model_script), str(ref), str(cur)]
            cases["model"] = [*monitor, "--model", MODEL_URI]
        try:
            store = {"MLFLOW_TRACKING_URI": store_uri(ws)}
            times = _interleaved(
                cases, folder, env, repeats=1 if smoke else REPEATS, smoke=smoke, extra_env=store
            )
        except RuntimeError as err:
            return [not_available(NAME, str(err), goal=f"<= {GOAL}")]
        try:
            fleet_rows = _fleet(folder, ref, script, ws, env, smoke)
        except RuntimeError as err:
            fleet_rows = [not_available(NAME_FLEET, str(err), goal=f"<= {GOAL_FLEET}")]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    base = median(times["plain"])
    what = "1 run each (smoke, tiny tables)" if smoke else f"median of {REPEATS} each, interleaved"
    rows = [_row(NAME, times["workbench"], base, what, load, goal=GOAL)]
    if "model" in times:
        base_model = median(times["plain_model"])
        rows.append(_row(NAME_MODEL, times["model"], base_model, what, load, goal=GOAL_MODEL))
    return rows + fleet_rows


def _fleet(
    folder: Path, ref: Path, script: Path, ws: Path, env: dict[str, str], smoke: bool
) -> list[dict]:
    """The plan's jobs with ``-j 2`` (and ``-j 1``) against the plain scripts one by one."""
    from workbench.data import production_batch

    count = 3 if smoke else FLEET_JOBS
    currents = []
    for i in range(count):
        cur = folder / f"day{i + 1:02d}.csv"
        scenario = "gradual_shift" if i % 2 else "none"
        production_batch(i + 1, scenario, n=100 if smoke else 1000, seed=2).to_csv(cur, index=False)
        currents.append(cur)
    plan = folder / "plan.yaml"
    lines = [f"defaults:\n  reference: {ref}\njobs:"]
    lines += [f"  - current: {cur}" for cur in currents]
    plan.write_text("\n".join(lines) + "\n")
    monitor = [sys.executable, "-m", "workbench.cli", "--workspace", str(ws), "monitor"]

    def plain_all() -> None:
        for i, cur in enumerate(currents):
            out = folder / f"plain-fleet-{i}.html"
            check_exit(subprocess.run([sys.executable, str(script), str(ref), str(cur), str(out)],
                                  env=env, **_QUIET), "plain script")  # fmt: skip

    def fleet(workers: int) -> None:
        out = folder / f"fleet-j{workers}"
        cmd = [*monitor, "--plan", str(plan), "-j", str(workers), "--json", "--out", str(out)]
        proc = subprocess.run(cmd, env=env, **_QUIET | {"timeout": 900})
        if proc.returncode not in (0, 3):
            check_exit(proc, f"monitor --plan -j {workers}")
        result = json.loads(proc.stdout)
        for job in result["jobs"]:
            if job["status"] not in ("ok", "drift") or not job["run_id"]:
                raise RuntimeError(f"fleet job {job['name']}: {job['status']} {job['error']}")
            _check_outputs(Path(job["report_folder"]), "fleet")

    if not smoke:
        plain_all()  # untimed: the page cache, the interpreter's files
    plain, _ = timed(plain_all)
    fleet2, _ = timed(lambda: fleet(2))
    fleet1, _ = timed(lambda: fleet(1)) if not smoke else (None, None)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    note = (
        f"{count} jobs ({'tiny tables, smoke' if smoke else '1,000 vs 5,000 rows'}); "
        f"plain scripts one after another {plain:.1f} s; one run each; load average {load}"
    )
    ratio = round(fleet2 / plain, 4)
    met = None if smoke else ratio <= GOAL_FLEET  # tiny tables: the fixed costs, not the goal's
    rows = [row(NAME_FLEET, fleet2, "s", plain, f"<= {GOAL_FLEET}", met, note=note)]
    if fleet1 is not None:
        rows.append(row(NAME_FLEET_1, fleet1, "s", plain, "informational", True, note=note))
    return rows


def _row(name: str, seconds: list[float], base: float, what: str, load: str, *, goal: float):
    value = median(seconds)
    ratio = round(value / base, 4) if base else None
    note = (
        f"{what}; workbench runs {', '.join(f'{s:.1f}' for s in seconds)} s; "
        f"load average {load} (1, 5, 15 min)"
    )
    return row(name, value, "s", base, f"<= {goal}", ratio is not None and ratio <= goal, note=note)


def _demo_files(folder: Path, smoke: bool) -> tuple[Path, Path]:
    from workbench.data import credit_risk, production_batch

    ref, cur = folder / "reference.csv", folder / "current.csv"
    credit_risk(300 if smoke else 5000, seed=1).to_csv(ref, index=False)
    production_batch(1000, seed=2, n=100 if smoke else 1000).to_csv(cur, index=False)
    return ref, cur


_QUIET: dict[str, Any] = {"capture_output": True, "text": True, "timeout": TIMEOUT_S}


def _interleaved(
    cases: dict[str, list[str]],
    folder: Path,
    env: dict[str, str],
    *,
    repeats: int,
    smoke: bool,
    extra_env: dict[str, str] | None = None,
) -> dict[str, list[float]]:
    """Wall seconds of each case, round after round (one untimed round first, in a full run);
    the plain script with a model also gets ``extra_env`` (the workspace's store)."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for round_no in range(repeats + (0 if smoke else 1)):
        for name, cmd in cases.items():
            out = folder / f"{name}-{round_no}"
            if name.startswith("plain"):
                full = [*cmd, str(out / "report.html"), *([MODEL_URI] if name != "plain" else [])]
            else:
                full = [*cmd, "--out", str(out)]
            out.mkdir(exist_ok=True)
            run_env = {**env, **(extra_env or {})} if name == "plain_model" else env
            seconds, proc = timed(
                lambda full=full, run_env=run_env: subprocess.run(full, env=run_env, **_QUIET)
            )
            check_exit(proc, name)
            _check_outputs(out, name)
            if smoke or round_no > 0:
                times[name].append(seconds)
    return times


def _check_outputs(out: Path, name: str) -> None:
    """Each run really produced its report (and the workbench its verdict)."""
    report = out / "report.html"
    if not report.exists() or report.stat().st_size < 100_000:
        raise RuntimeError(f"{name} wrote no complete report.html in {out}")
    if not name.startswith("plain"):
        summary = json.loads((out / "summary.json").read_text())
        if summary.get("status") not in ("ok", "drift"):
            raise RuntimeError(f"{name}: summary.json says {summary.get('status')!r}")


if __name__ == "__main__":
    started = time.perf_counter()
    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
    print(f"# {time.perf_counter() - started:.0f} s", file=sys.stderr)
