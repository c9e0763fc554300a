"""What the team server's enforced gate costs: promote through its endpoint, checks run by it.

The module starts its own team server (``team_up``: PostgreSQL + ``mlflow server --app-name
workbench``) in a temporary folder and stops it at the end. A small pipeline (imputer + logistic
regression, credit risk, 3,000 rows) is logged twice, on the server as ``ds1`` and on a local SQLite
store; both versions are checked on each side. Then, alternating versions 1 and 2 so that every
call really moves ``@champion``:

* **promote**: ``wb.promote`` through ``POST /api/workbench/promote`` (the server's service process
  runs the gate, signs the entry and moves the alias) against ``wb.promote`` on the local store.
* **check**: ``wb.run_checks`` on the server (the eval table uploaded, the suite run by the server's
  service process) against the same suite run by the client on the same server (a client-side run
  that does not count), and against the local store.

Rows: medians over the rounds; the server's figure is the value, the other side the baseline;
informational (the issue asks to measure and report the extra latency). Without PostgreSQL the rows
say "skipped", unless ``CI=true``. Run alone with ``python -m benchmarks.bench_team_gate [--smoke]``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import median, quiet_mlflow, row, timed
from benchmarks.bench_team_load import _skipped

ROWS = 3000


def _table():
    from workbench.data import credit_risk, split_xy

    table = credit_risk(ROWS, seed=8)[
        ["age", "income", "loan_amount", "num_late_payments", "default"]
    ]
    return split_xy(table.astype({"age": float}), "default")


def _model(x, y):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(SimpleImputer(), LogisticRegression(max_iter=300)).fit(x, y)


def _use(env: dict[str, str] | None, folder: Path) -> None:
    """Point the workbench at the team server as a user (``env``), or at a local store."""
    import workbench as wb

    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        os.environ.pop(key, None)
    os.environ.update(env or {})
    wb.open_workspace(folder)


def _side(name: str, data, rounds: int, client_suite: bool) -> dict[str, list[float]]:
    """Log two versions, check both, then time checks and promotions, alternating versions."""
    import workbench as wb
    from workbench.checks.presets import default_suite

    x, y = data.drop(columns="default"), data["default"]
    for _ in range(2):
        wb.log_model(_model(x, y), name=name, train=(x, y))
    times: dict[str, list[float]] = {"check": [], "client check": [], "promote": []}
    for version in (1, 2):  # warm-up and the verdicts the promotions need
        wb.run_checks(f"models:/{name}/{version}", data=data, target="default", progress=False)
    for i in range(rounds):
        version = 1 + i % 2
        uri = f"models:/{name}/{version}"
        took, _ = timed(lambda u=uri: wb.run_checks(u, data=data, target="default", progress=False))
        times["check"].append(took)
        if client_suite:
            suite = default_suite("classification")
            took, _ = timed(
                lambda u=uri, s=suite: wb.run_checks(
                    u, data=data, target="default", progress=False, suite=s
                )
            )
            times["client check"].append(took)
    wb.promote(name, 1, reason="warm-up")
    for i in range(rounds):
        version = 2 - i % 2  # 2, 1, 2, ...: every call moves the alias
        took, _ = timed(lambda v=version, r=i: wb.promote(name, v, reason=f"round {r}"))
        times["promote"].append(took)
    return times


def run(smoke: bool = False) -> list[dict]:
    """Rows: promote through the endpoint vs local; checks by the server vs the client."""
    quiet_mlflow()
    skipped = _skipped()
    if skipped:
        return skipped
    from workbench.team import team_down, team_up

    rounds = 1 if smoke else 5
    root = Path(tempfile.mkdtemp(prefix="wb-bench-gate-"))
    root.chmod(0o755)  # PostgreSQL runs as another user and must reach its data
    x, y = _table()
    data = x.assign(default=y)
    try:
        server = team_up(root / "team-ws")
        _use(server.env("ds1"), root / "client")
        team = _side("bench-gate", data, rounds, client_suite=True)
        _use(None, root / "local")
        local = _side("bench-gate", data, rounds, client_suite=False)
    finally:
        for key in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            os.environ.pop(key, None)
        with contextlib.suppress(Exception):
            team_down(root / "team-ws")
        shutil.rmtree(root, ignore_errors=True)
    note = f"median of {rounds}; {ROWS} rows, imputer + logistic regression"
    return [
        row(
            "team gate: promote through POST /api/workbench/promote vs local store",
            median(team["promote"]), "s", median(local["promote"]), "informational", None,
            note=note,
        ),
        row(
            "team gate: checks run by the server vs the same suite run by the client (same server)",
            median(team["check"]), "s", median(team["client check"]), "informational", None,
            note=note + "; the client's run does not count for promotion",
        ),
        row(
            "team gate: checks run by the server vs checks on the local store",
            median(team["check"]), "s", median(local["check"]), "informational", None, note=note,
        ),
    ]  # fmt: skip


if __name__ == "__main__":
    started = time.perf_counter()
    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
    print(f"# {time.perf_counter() - started:.0f} s", file=sys.stderr)
