"""The team server under load, and ``log_model`` against it, each beside the local SQLite store.

The module starts its own team server (``workbench.team.team_up``: PostgreSQL + ``mlflow server
--app-name workbench`` on 127.0.0.1) in a temporary folder and stops it (``team_down``) at the end,
whatever happens. In the same run, on the same machine:

* **load**: 8 client processes (4 log in as ``ds1``, 4 as ``ds2``) loop for a fixed time over what a
  team does: create a run, log params and metrics in one batch, log a small JSON artifact, end the
  run, every other round register a version of one shared model, then search runs, read a version
  and read the ``@challenger`` alias (``@champion`` is the gate's). Each MLflow client call is one timed operation (about one
  request). The same load runs on a local SQLite store (``sqlite:///.../mlflow.db``, the
  workbench's default). Rows: operations per second, p95 latency of an operation, errors; the
  server's figure is the value, the local store's the baseline. Errors on the server must be 0;
  the rest is informational (SQLite takes one writer at a time: its errors are "database is
  locked").
* **log_model**: ``wb.train_and_log`` of the small demo forest (credit risk, 2,000 rows, 10 trees of
  depth 2) as ``ds1`` on the server against the same call on the local store, alternating, after a
  warm-up on each side, before the load (a store holding thousands of runs is slower). Goal:
  server <= 2x local.
* the time ``team_up`` took (PostgreSQL's ``initdb`` included), informational.

Without PostgreSQL the rows say "skipped: PostgreSQL not installed", unless ``CI=true``: then the
module fails. ``run(smoke=True)`` loads for 3 s per store with 2 clients and times one ``log_model``
per side (about 40 s in all). Run alone with ``python -m benchmarks.bench_team_load [--smoke]``.
"""

from __future__ import annotations

import contextlib
import json
import math
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import median, quiet_mlflow, row, timed

CLIENTS = 8
SMOKE_CLIENTS = 2  # one per login: the harness runs, without 8 imports of MLflow on 2 cores
LOAD_SECONDS = 20.0
SMOKE_LOAD_SECONDS = 3.0
GOAL_LOG_MODEL_RATIO = 2.0
MODEL = "bench-load"
EXPERIMENT = "bench-load"
_FOREST = {"family": "random_forest", "params": {"n_estimators": 10, "max_depth": 2}}


# --------------------------------------------------------------------------- client processes


def _client(index: int, commands, results) -> None:
    """One client process: import MLflow once, then run each load phase it is sent."""
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    os.environ["DO_NOT_TRACK"] = "true"
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    import mlflow  # noqa: F401 - the import is the slow part: done before the clock starts

    results.put(("ready", index, None))
    while (phase := commands.get()) is not None:
        try:
            out = _load(index, phase, lambda: (results.put(("warm", index, None)), commands.get()))
        except Exception as err:  # a phase that could not start at all
            out = {"ops": [], "errors": [f"{type(err).__name__}: {err}"]}
        results.put(("done", index, out))


def _load(index: int, phase: dict[str, Any], warm) -> dict[str, Any]:
    """Set up a client, say so and get the start time (``warm()``); then loop over a team's
    calls from then for ``phase["seconds"]``."""
    from mlflow import MlflowClient

    for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        os.environ.pop(key, None)
    if phase.get("user"):
        os.environ["MLFLOW_TRACKING_USERNAME"] = phase["user"]
        os.environ["MLFLOW_TRACKING_PASSWORD"] = phase["password"]
    client = MlflowClient(phase["uri"], phase["uri"])
    experiment_id = phase["experiment_id"]
    client.get_experiment(experiment_id)  # store opened, connection and login warmed, not timed
    client.get_model_version_by_alias(MODEL, "challenger")
    _, start = warm()
    ops: list[tuple[str, float, float]] = []  # (kind, start, seconds)
    errors: list[str] = []
    version = "1"

    def call(kind: str, fn, *args, **kwargs):
        started = time.time()
        t0 = time.perf_counter()
        try:
            out = fn(*args, **kwargs)
        except Exception as err:
            errors.append(f"{kind}: {type(err).__name__}: {str(err)[:200]}")
            return None
        ops.append((kind, started, time.perf_counter() - t0))
        return out

    time.sleep(max(0.0, start - time.time()))
    end = start + phase["seconds"]
    rounds = 0
    while time.time() < end:
        rounds += 1
        run = call("create_run", client.create_run, experiment_id, run_name=f"load-{index}")
        if run is not None:
            run_id = run.info.run_id
            now = int(time.time() * 1000)
            from mlflow.entities import Metric, Param

            call(
                "log_batch",
                client.log_batch,
                run_id,
                metrics=[Metric(f"m{i}", i / 7, now, rounds) for i in range(5)],
                params=[Param(f"p{i}", str(i * index)) for i in range(5)],
            )
            call("log_artifact", client.log_dict, run_id, {"round": rounds}, "small.json")
            call("end_run", client.set_terminated, run_id)
            if rounds % 2 == 0:
                mv = call(
                    "register",
                    client.create_model_version,
                    MODEL,
                    f"{run.info.artifact_uri}/small.json",
                    run_id=run_id,
                    await_creation_for=0,
                )
                version = mv.version if mv is not None else version
        call("search_runs", client.search_runs, [experiment_id], max_results=10)
        call("get_version", client.get_model_version, MODEL, version)
        call("get_alias", client.get_model_version_by_alias, MODEL, "challenger")
    return {"ops": ops, "errors": errors}


class _Clients:
    """``count`` spawned processes, started at once so that their imports overlap the server's
    start; :meth:`run` sends every one the same phase and gathers what they measured."""

    def __init__(self, count: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.results = ctx.Queue()
        self.commands = [ctx.Queue() for _ in range(count)]
        self.procs = [
            ctx.Process(target=_client, args=(i, q, self.results), daemon=True)
            for i, q in enumerate(self.commands)
        ]
        for proc in self.procs:
            proc.start()
        self.ready = False

    def _wait_ready(self, timeout: float = 180.0) -> None:
        if self.ready:
            return
        for _ in self.procs:
            kind, _, _ = self.results.get(timeout=timeout)
            assert kind == "ready"
        self.ready = True

    def run(self, phases: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
        """Run ``phases[i]`` in client ``i``, all starting together; the pooled figures."""
        self._wait_ready()
        for queue, phase in zip(self.commands, phases, strict=True):
            queue.put({**phase, "seconds": seconds})
        outcomes: dict[int, Any] = {}
        warm = 0
        while warm < len(self.procs):  # a client that failed to set up reports "done" at once
            kind, index, out = self.results.get(timeout=120)
            if kind == "done":
                outcomes[index] = out
            warm += 1
        start = time.time() + 0.2
        for index, queue in enumerate(self.commands):
            if index not in outcomes:
                queue.put(start)
        while len(outcomes) < len(self.procs):
            _, index, out = self.results.get(timeout=seconds + 120)
            outcomes[index] = out
        outcomes = list(outcomes.values())
        ops = [op for out in outcomes for op in out["ops"]]
        errors = [e for out in outcomes for e in out["errors"]]
        wall = max((s + d for _, s, d in ops), default=start + seconds) - start
        latencies = sorted(d for _, _, d in ops)
        return {
            "ops": len(ops),
            "rps": len(ops) / wall if wall > 0 else 0.0,
            "p95_ms": 1000 * _percentile(latencies, 0.95),
            "p50_ms": 1000 * _percentile(latencies, 0.50),
            "errors": len(errors),
            "first_errors": errors[:3],
            "wall": wall,
        }

    def stop(self) -> None:
        for queue in self.commands:
            with contextlib.suppress(Exception):
                queue.put(None)
        for proc in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


# --------------------------------------------------------------------------- the two stores


@contextlib.contextmanager
def _as(env: dict[str, str] | None):
    """MLflow (and the workbench) pointed at the team server as ``env``'s user, or at nothing."""
    keys = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
    old = {k: os.environ.get(k) for k in keys}
    for key in keys:
        os.environ.pop(key, None)
    os.environ.update(env or {})
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _seed(folder: Path, env: dict[str, str] | None) -> tuple[str, str]:
    """Open a workspace on the store, make the experiment and version 1 of the shared model with
    ``@challenger``; returns (tracking URI, experiment id)."""
    import mlflow

    import workbench as wb

    with _as(env):
        ws = wb.open_workspace(folder)
        client = mlflow.MlflowClient(ws.tracking_uri, ws.tracking_uri)
        experiment_id = ws.experiment_id(EXPERIMENT)
        run = client.create_run(experiment_id, run_name="seed")
        client.log_dict(run.info.run_id, {"seed": True}, "small.json")
        client.set_terminated(run.info.run_id)
        client.create_registered_model(MODEL)
        mv = client.create_model_version(
            MODEL, f"{run.info.artifact_uri}/small.json", run_id=run.info.run_id,
            await_creation_for=0,
        )  # fmt: skip
        client.set_registered_model_alias(MODEL, "challenger", mv.version)
        return ws.tracking_uri, experiment_id


def _load_rows(
    local: dict[str, Any], team: dict[str, Any], seconds: float, count: int
) -> list[dict]:
    label = f"team load ({count} clients, {seconds:.0f} s)"
    note = (
        f"team server {team['ops']} ops (p50 {team['p50_ms']:.0f} ms), local SQLite "
        f"{local['ops']} ops (p50 {local['p50_ms']:.0f} ms)"
    )
    first = team["first_errors"] or local["first_errors"]
    return [
        row(
            f"{label}: ops/s, team server vs local SQLite",
            team["rps"],
            "ops/s",
            local["rps"],
            "informational (higher is better)",
            None,
            note=note,
        ),
        row(
            f"{label}: p95 latency of an operation, team server vs local SQLite",
            team["p95_ms"],
            "ms",
            local["p95_ms"],
            "informational",
            None,
        ),
        row(
            f"{label}: errors, team server (baseline: local SQLite)",
            team["errors"],
            "errors",
            local["errors"],
            "0 on the team server",
            team["errors"] == 0,
            ratio=None,
            note=f"first errors: {'; '.join(first)}" if first else None,
        ),
    ]


def _log_model_row(folder: Path, env: dict[str, str], repeats: int) -> dict:
    """``train_and_log`` of the demo forest, team server against the local store, alternating."""
    import workbench as wb
    from workbench.data import credit_risk

    frame = credit_risk(2000, seed=1)
    sides = {"team": (folder / "client", env), "local": (folder / "local", None)}

    def once(side: str) -> float:
        where, side_env = sides[side]
        with _as(side_env):
            wb.open_workspace(where)
            seconds, _ = timed(
                lambda: wb.train_and_log(frame, "default", name="bench-forest", **_FOREST)
            )
        return seconds

    once("local")  # warm-up: imports, the store's first tables, the experiment
    once("team")
    times: dict[str, list[float]] = {"team": [], "local": []}
    for i in range(repeats):
        for side in ("team", "local") if i % 2 == 0 else ("local", "team"):
            times[side].append(once(side))
    value, baseline = median(times["team"]), median(times["local"])
    ratio = value / baseline
    return row(
        "log_model demo forest (train_and_log, 10 trees): team server vs local SQLite",
        value,
        "s",
        baseline,
        f"<= {GOAL_LOG_MODEL_RATIO}",
        ratio <= GOAL_LOG_MODEL_RATIO,
        ratio=round(ratio, 4),
        note=(
            f"median of {repeats}; team {', '.join(f'{t:.3f}' for t in times['team'])} s; "
            f"local {', '.join(f'{t:.3f}' for t in times['local'])} s"
        ),
    )


# --------------------------------------------------------------------------- entry point


def _skipped() -> list[dict]:
    from workbench.team.postgres import find_pg_bin

    if find_pg_bin() is not None:
        return []
    if os.environ.get("CI") == "true":
        raise RuntimeError(
            "PostgreSQL is not installed and CI=true: the team-server benchmark must run "
            "(apt-get install -y postgresql)"
        )
    note = "skipped: PostgreSQL not installed (apt-get install -y postgresql)"
    return [row("team load and log_model against the team server", None, "", None, None, None,
                note=note)]  # fmt: skip


def run(smoke: bool = False) -> list[dict]:
    """Rows for the team server's load figure and its ``log_model`` ratio."""
    quiet_mlflow()
    skipped = _skipped()
    if skipped:
        return skipped
    from workbench.team import team_down, team_up

    seconds = SMOKE_LOAD_SECONDS if smoke else LOAD_SECONDS
    count = SMOKE_CLIENTS if smoke else CLIENTS
    # Not under a 0700 folder: PostgreSQL runs as another user and must reach its data.
    root = Path(tempfile.mkdtemp(prefix="wb-bench-team-"))
    root.chmod(0o755)
    clients = None
    try:
        clients = _Clients(count)  # their imports overlap the server's start
        up_seconds, server = timed(lambda: team_up(root / "team-ws"))
        users = [server.env("ds1" if i % 2 == 0 else "ds2") for i in range(count)]
        team_uri, team_exp = _seed(root / "client", users[0])
        local_uri, local_exp = _seed(root / "local", None)
        log_model = _log_model_row(root, users[0], 1 if smoke else 5)  # on stores not yet loaded
        local = clients.run([{"uri": local_uri, "experiment_id": local_exp}] * count, seconds)
        team = clients.run(
            [
                {
                    "uri": team_uri,
                    "experiment_id": team_exp,
                    "user": env["MLFLOW_TRACKING_USERNAME"],
                    "password": env["MLFLOW_TRACKING_PASSWORD"],
                }
                for env in users
            ],
            seconds,
        )
        clients.stop()
        clients = None
        rows = [log_model, *_load_rows(local, team, seconds, count)]
        rows.append(
            row("team_up: PostgreSQL (initdb) + MLflow ready", up_seconds, "s", None,
                "informational", None)
        )  # fmt: skip
        return rows
    finally:
        if clients is not None:
            clients.stop()
        with contextlib.suppress(Exception):
            team_down(root / "team-ws")
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    started = time.perf_counter()
    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
    print(f"# {time.perf_counter() - started:.0f} s", file=sys.stderr)
