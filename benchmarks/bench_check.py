"""``workbench check`` against MLflow's own validation: whole processes, both fresh (issue 27).

The real command, ``python -m workbench.cli --workspace WS check models:/credit-risk/2 --data
eval.csv --target default --json`` (the default suite: ten checks), against a plain script doing
what MLflow offers for the same decision (:data:`PLAIN_SCRIPT`): ``mlflow.models.evaluate(uri,
data, targets="default", model_type="classifier", evaluators=["default"])`` for the candidate and
for the ``@champion`` on the same rows (each in a run of its own, as ``evaluate`` starts one),
then ``mlflow.validate_evaluation_results(validation_thresholds=..., candidate_result=...,
baseline_result=...)`` with two ``MetricThreshold`` bars: ROC AUC at least 0.65 and not below the
champion's (``min_absolute_change`` must be positive in MLflow, so a tolerance cannot be
expressed), accuracy at least 0.6. It catches ``ModelValidationFailedException`` and prints the
verdict. Same registered models, same SQLite store (``MLFLOW_TRACKING_URI``), same CSV. The
plain script drops ``application_date`` (a date the contract leaves out of the features) and
casts the integer features to float64: the workbench declares integers as double and MLflow's
schema enforcement refuses int64 for them (NOTES.md, "Integers in signatures").

The workbench's run does more: schema contract, metric bar, no regression against the champion,
data quality, noise stability, missing values, unseen categories, latency, reload
reproducibility and the artifact's safety audit (checked before any byte is deserialised), then a
sealed run with ``checks.json``, ``checks.html`` and the model card, the gate's tags on the
version, and the gate's verdict. The benchmark parses its ``--json`` output and refuses a run in
which any of the ten checks is missing or errored (exit 3, a failing check, is accepted).

The models: the demo family ``default`` trained on ``credit_risk(5000, seed=1)`` as
``credit-risk@champion`` (version 1), then a random forest with other parameters as version 2
(the candidate). Eval rows: ``credit_risk(2000, seed=7)`` (smoke: 300 rows). The two run
interleaved after one untimed round, median of 3 each (smoke: one run each). The load average is
in the note. Run it alone with ``python -m benchmarks --only check``.
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
    row,
    seconds_left,
    store_uri,
    timed,
)

NAME = "workbench check (10 checks, 2,000 rows) vs mlflow evaluate x2 + validate script"
GOAL = 1.0
REPEATS = 3
TIMEOUT_S = 300.0
CANDIDATE = "models:/credit-risk/2"
CHAMPION = "models:/credit-risk@champion"

PLAIN_SCRIPT = """\
import sys

import mlflow
import pandas as pd
from mlflow.models import MetricThreshold

candidate_uri, champion_uri, path = sys.argv[1:4]
data = pd.read_csv(path).drop(columns=["application_date"])  # not a model input
# the signature declares integers as double: MLflow refuses int64 for them
ints = data.drop(columns=["default"]).select_dtypes("integer").columns
data = data.astype(dict.fromkeys(ints, "float64"))


def evaluate(uri):  # a run of its own each (evaluate starts one)
    return mlflow.models.evaluate(
        uri, data, targets="default", model_type="classifier", evaluators=["default"]
    )


candidate, champion = evaluate(candidate_uri), evaluate(champion_uri)
thresholds = {  # min_absolute_change must be > 0: "not worse than the champion"
    "roc_auc": MetricThreshold(threshold=0.65, min_absolute_change=1e-6, greater_is_better=True),
    "accuracy_score": MetricThreshold(threshold=0.6, greater_is_better=True),
}
try:
    mlflow.validate_evaluation_results(
        validation_thresholds=thresholds, candidate_result=candidate, baseline_result=champion
    )
    print("VERDICT passed")
except mlflow.exceptions.MlflowException as err:  # ModelValidationFailedException
    print(f"VERDICT failed: {err}")
"""


def run(smoke: bool = False) -> list[dict]:
    """One row: the command against the plain script (goal <= 1.0)."""
    if seconds_left(600) < (90 if smoke else 240):
        reason = f"only {seconds_left(600):.0f} s left in the run's budget"
        return [not_available(NAME, reason, goal=f"<= {GOAL}")]
    n = 300 if smoke else 2000
    with tempfile.TemporaryDirectory(prefix="wb-bench-check-") as tmp:
        folder = Path(tmp)
        ws = folder / "ws"
        env = clean_env()
        script = folder / "plain_validate.py"
        script.write_text(PLAIN_SCRIPT)
        data = folder / "eval.csv"
        try:
            _register_models(ws, env, smoke)
            from workbench.data import credit_risk

            credit_risk(n, seed=7).to_csv(data, index=False)
            plain_env = {**env, "MLFLOW_TRACKING_URI": store_uri(ws)}
            cmd = [sys.executable, "-m", "workbench.cli", "--workspace", str(ws), "check"]
            cases = {
                "plain": ([sys.executable, str(script), CANDIDATE, CHAMPION, str(data)], plain_env),
                "workbench": (
                    [*cmd, CANDIDATE, "--data", str(data), "--target", "default", "--json"],
                    env,
                ),
            }
            times = _interleaved(cases, folder, repeats=1 if smoke else REPEATS, smoke=smoke)
        except RuntimeError as err:
            return [not_available(NAME, str(err), goal=f"<= {GOAL}")]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    what = f"1 run each ({n} rows, smoke)" if smoke else f"median of {REPEATS} each, interleaved"
    plain, ours = times["plain"], times["workbench"]
    base, value = median(plain), median(ours)
    ratio = round(value / base, 4) if base else None
    note = (
        f"{what}; workbench runs {', '.join(f'{s:.2f}' for s in ours)} s, plain runs "
        f"{', '.join(f'{s:.2f}' for s in plain)} s; load average {load} (1, 5, 15 min)"
    )
    met = ratio is not None and ratio <= GOAL
    return [row(NAME, value, "s", base, f"<= {GOAL}", met, ratio=ratio, note=note)]


def _register_models(ws: Path, env: dict[str, str], smoke: bool) -> None:
    """Version 1 (the default family) as ``@champion``, version 2 (another forest) after it."""
    code = (
        "import sys, workbench as wb\n"
        "from workbench.data import credit_risk\n"
        "wb.open_workspace(sys.argv[1])\n"
        "train = credit_risk(int(sys.argv[2]), seed=1)\n"
        "wb.train_and_log(train, 'default', name='credit-risk', alias='champion')\n"
        "wb.train_and_log(train, 'default', name='credit-risk', family='random_forest',\n"
        "                 params={'n_estimators': 120}, seed=3, alias='challenger')\n"
    )
    rows = "1000" if smoke else "5000"
    proc = subprocess.run([sys.executable, "-c", code, str(ws), rows], env=env, **_QUIET)
    check_exit(proc, "training")


_QUIET: dict[str, Any] = {"capture_output": True, "text": True, "timeout": TIMEOUT_S}


def _interleaved(
    cases: dict[str, tuple[list[str], dict[str, str]]], folder: Path, *, repeats: int, smoke: bool
) -> dict[str, list[float]]:
    """Wall seconds of each case, round after round (one untimed round first, in a full run).
    The plain script runs in ``folder``: MLflow's Default experiment keeps artifacts there."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for round_no in range(repeats + (0 if smoke else 1)):
        for name, (cmd, env) in cases.items():
            seconds, proc = timed(
                lambda cmd=cmd, env=env: subprocess.run(cmd, env=env, cwd=folder, **_QUIET)
            )
            if name == "plain":
                check_exit(proc, name)
                if "VERDICT" not in proc.stdout:
                    raise RuntimeError(f"the plain script printed no verdict: {proc.stdout!r}")
            else:
                _check_workbench(proc)
            if smoke or round_no > 0:
                times[name].append(seconds)
    return times


def _check_workbench(proc: subprocess.CompletedProcess) -> None:
    """Exit 0 or 3 (a failing check), and every one of the ten checks ran to a verdict."""
    if proc.returncode not in (0, 3):
        check_exit(proc, "workbench check")
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as err:
        raise RuntimeError(f"workbench check printed no JSON: {err}") from err
    statuses = {r["name"]: r["status"] for r in report.get("results", [])}
    from workbench.checks import default_suite

    missing = [c.name for c in default_suite() if c.name not in statuses]
    broken = [name for name, status in statuses.items() if status not in ("pass", "fail", "warn")]
    if missing or broken or not report.get("run_id"):
        raise RuntimeError(
            f"workbench check: missing {missing}, errored {broken}, run {report.get('run_id')}"
        )


if __name__ == "__main__":
    started = time.perf_counter()
    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
    print(f"# {time.perf_counter() - started:.0f} s", file=sys.stderr)
