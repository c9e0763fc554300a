"""Serving benchmark: launch-to-ready, latency at one connection, throughput by workers.

For a logistic regression and a 100-tree forest (credit-risk demo data), in a temporary workspace:

* launch-to-ready of the workbench launcher against plain ``mlflow models serve`` (same run), and
  side by side at 1 and 2 workers, each server started alone (goal: never slower; the launcher
  takes the caller's safety verdict for the same digest instead of importing skops to audit again);
* p50 and p99 at one connection, tuned launcher against plain ``mlflow models serve`` (goal: never
  slower), and p99 <= 3x p50. Both servers run at once (one worker each, idle while the other is
  measured) and are measured in ``ROUNDS`` alternating rounds, latencies pooled per side: a machine
  that slows down mid-run slows both alike instead of whichever side came second;
* p50 over HTTP against the in-process ``predict`` of the same rows (the floor; goal <= 1.5x);
* req/s with the default workers (one per core) against 1 worker, at 4 connections;
* the inference log's cost: the same tuned server with and without the log (metrics off in both),
  alternating rounds: p50 at one connection (goal <= 1.05x) and req/s at 8 connections
  (goal >= 0.95x);
* the shadow's cost: a server mirroring every request to a challenger against the same server
  without one (both logging), alternating rounds: p50 at one connection (goal <= 1.1x); and the
  p50 of a 20% split, informational (a fifth of requests take one more hop).

``run(smoke=True)`` does the logistic regression only, with fewer requests (and the shadow). Run it alone with
``python -m benchmarks.bench_serving [--smoke]``; it prints the rows as JSON.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time

from benchmarks._common import row

ROUNDS = 6  # alternating rounds of one-connection requests per side (full run)


def _one_connection(server, rows, requests):
    import workbench as wb

    wb.load_test(server, rows, requests=min(50, requests), concurrency=1, floor_samples=0)  # warm
    return wb.load_test(server, rows, requests=requests, concurrency=1, max_seconds=120)


def _bench_smoke(label, uri, rows, requests):
    """One server, one worker: enough to keep the harness from rotting, in a few seconds."""
    import workbench as wb

    with wb.serve(uri, workers=1) as tuned:
        one = _one_connection(tuned, rows, requests)
    return [
        row(f"serve_{label}_launch_to_ready_s", tuned.launch_seconds, "s", None, "informational", True),
        row(f"serve_{label}_p99_over_p50_1conn", one.p99_ms / one.p50_ms, "x", None, "<= 3",
             one.p99_ms <= 3 * one.p50_ms),
    ]  # fmt: skip


def _side_by_side(plain, tuned, rows, requests):
    """One-connection latencies of both servers in alternating rounds, pooled per side:
    ``{"plain": (p50, p99), "tuned": (p50, p99)}`` in ms, and the in-process p50 (the floor)."""
    import numpy as np

    import workbench as wb

    for server in (plain, tuned):  # warm both
        wb.load_test(server, rows, requests=min(50, requests), concurrency=1, floor_samples=0)
    pooled: dict[str, list[float]] = {"plain": [], "tuned": []}
    floor = None
    for r in range(ROUNDS):
        sides = [("plain", plain), ("tuned", tuned)]
        for name, server in sides if r % 2 == 0 else sides[::-1]:
            first = name == "tuned" and floor is None
            result = wb.load_test(server, rows, requests=max(1, requests // ROUNDS),
                                  concurrency=1, max_seconds=60, floor_samples=200 if first else 0)  # fmt: skip
            floor = result.in_process_p50_ms if first else floor
            pooled[name] += result.latencies_ms
    out = {k: (float(np.percentile(v, 50)), float(np.percentile(v, 99))) for k, v in pooled.items()}
    return out, floor


def _log_overhead(label, uri, rows, requests):
    """The same server with and without the inference log, measured in alternating rounds."""
    import numpy as np

    import workbench as wb

    folder = tempfile.mkdtemp(prefix="wb-bench-log-")
    pooled: dict[str, list[float]] = {"off": [], "on": []}
    rps: dict[str, list[float]] = {"off": [], "on": []}
    with wb.serve(uri, workers=1, traffic_log=False, metrics=False) as off, wb.serve(
        uri, workers=1, traffic_log=folder, metrics=False
    ) as on:  # fmt: skip
        sides = [("off", off), ("on", on)]
        for _, server in sides:
            wb.load_test(server, rows, requests=min(50, requests), concurrency=1, floor_samples=0)
        for r in range(ROUNDS):
            for name, server in sides if r % 2 == 0 else sides[::-1]:
                one = wb.load_test(server, rows, requests=max(1, requests // ROUNDS),
                                   concurrency=1, max_seconds=60, floor_samples=0)  # fmt: skip
                pooled[name] += one.latencies_ms
                many = wb.load_test(server, rows, requests=max(8, requests // ROUNDS),
                                    concurrency=8, max_seconds=60, floor_samples=0)  # fmt: skip
                rps[name].append(many.rps)
    p50 = {k: float(np.percentile(v, 50)) for k, v in pooled.items()}
    rate = {k: float(np.median(v)) for k, v in rps.items()}
    return [
        row(f"serve_{label}_p50_ms_1conn_logged", p50["on"], "ms", p50["off"],
             "<= 1.05x without the log", p50["on"] <= 1.05 * p50["off"]),
        row(f"serve_{label}_rps_8conn_logged", rate["on"], "req/s", rate["off"],
             ">= 0.95x without the log", rate["on"] >= 0.95 * rate["off"]),
    ]  # fmt: skip


def _shadow_overhead(label, uri, challenger, rows, requests):
    """A server with a shadow (and with a 20% split) against one without, alternating rounds."""
    import numpy as np

    import workbench as wb

    folder = tempfile.mkdtemp(prefix="wb-bench-shadow-")
    pooled: dict[str, list[float]] = {"off": [], "shadow": [], "split": []}
    common = dict(workers=1, metrics=False)
    with wb.serve(uri, traffic_log=f"{folder}/off", **common) as off, wb.serve(
        uri, traffic_log=f"{folder}/shadow", challenger=challenger, shadow=True, **common
    ) as shadow, wb.serve(
        uri, traffic_log=f"{folder}/split", challenger=challenger, split=20, **common
    ) as split:  # fmt: skip
        sides = [("off", off), ("shadow", shadow), ("split", split)]
        for _, server in sides:
            wb.load_test(server, rows, requests=min(50, requests), concurrency=1, floor_samples=0)
        for r in range(ROUNDS):
            for name, server in sides if r % 2 == 0 else sides[::-1]:
                one = wb.load_test(server, rows, requests=max(1, requests // ROUNDS),
                                   concurrency=1, max_seconds=60, floor_samples=0)  # fmt: skip
                pooled[name] += one.latencies_ms
    p50 = {k: float(np.percentile(v, 50)) for k, v in pooled.items()}
    return [
        row(f"serve_{label}_p50_ms_1conn_shadow", p50["shadow"], "ms", p50["off"],
             "<= 1.1x without a shadow", p50["shadow"] <= 1.1 * p50["off"]),
        row(f"serve_{label}_p50_ms_1conn_split20", p50["split"], "ms", p50["off"],
             "informational (a fifth of requests take one more hop)", True),
    ]  # fmt: skip


def _launch_side_by_side(label, uri, rounds=2):
    """Launch-to-ready of the workbench's server and plain ``mlflow models serve`` at 1 and 2
    workers, each started alone (nothing else loading), alternating which goes first; medians."""
    import numpy as np

    import workbench as wb

    seconds: dict[tuple[str, int], list[float]] = {}
    for r in range(rounds):
        for workers in (1, 2):
            sides = [("plain", False), ("tuned", True)]
            for name, tuned in sides if r % 2 == 0 else sides[::-1]:
                with wb.serve(uri, workers=workers, gc_tuned=tuned, traffic_log=False) as server:
                    seconds.setdefault((name, workers), []).append(server.launch_seconds)
    out = []
    for workers in (1, 2):
        tuned, plain = (float(np.median(seconds[(n, workers)])) for n in ("tuned", "plain"))
        out.append(row(f"serve_{label}_launch_to_ready_{workers}w_vs_plain_s", tuned, "s", plain,
                       "<= plain mlflow models serve", tuned <= plain))  # fmt: skip
    return out


def _bench_model(label, uri, rows, requests, workers_default):
    import workbench as wb

    out = []
    with wb.serve(uri, workers=1, gc_tuned=False) as plain, wb.serve(uri, workers=1) as tuned:
        plain_launch, tuned_launch = plain.launch_seconds, tuned.launch_seconds
        latency, floor = _side_by_side(plain, tuned, rows, requests)
        rps_1 = wb.load_test(tuned, rows, requests=requests, concurrency=8, floor_samples=0).rps
    with wb.serve(uri, workers=workers_default) as many:
        many_launch = many.launch_seconds
        wb.load_test(many, rows, requests=50, concurrency=8, floor_samples=0)  # warm every worker
        rps_n = wb.load_test(many, rows, requests=requests, concurrency=8, floor_samples=0).rps

    (plain_p50, plain_p99), (p50, p99) = latency["plain"], latency["tuned"]
    tail, plain_tail = p99 / p50, plain_p99 / plain_p50
    out += [
        row(f"serve_{label}_launch_to_ready_s", tuned_launch, "s", plain_launch, "<= plain mlflow x1.2",
             tuned_launch <= 1.2 * plain_launch),
        row(f"serve_{label}_launch_to_ready_{workers_default}w_s", many_launch, "s", tuned_launch,
             "informational", True),
        row(f"serve_{label}_p50_ms_1conn", p50, "ms", plain_p50, "<= plain mlflow", p50 <= plain_p50),
        row(f"serve_{label}_p99_ms_1conn", p99, "ms", plain_p99, "<= plain mlflow", p99 <= plain_p99),
        row(f"serve_{label}_p99_over_p50_1conn", tail, "x", plain_tail, "<= 3", tail <= 3),
        row(f"serve_{label}_p50_over_in_process", p50, "ms", floor,
             "<= 1.5x in-process predict (HTTP + JSON overhead)", p50 <= 1.5 * floor),
        row(f"serve_{label}_rps_{workers_default}w_8conn", rps_n, "req/s", rps_1,
             f">= 1.6x 1 worker ({workers_default} workers, 8 connections)", rps_n >= 1.6 * rps_1),
    ]  # fmt: skip
    return out


def run(smoke: bool = False) -> list[dict]:
    """Measure serving; one dict per number (name, value, unit, baseline, ratio, goal, met)."""
    import workbench as wb
    from workbench.data import credit_risk
    from workbench.serving import default_workers

    folder = tempfile.mkdtemp(prefix="wb-bench-serving-")
    wb.open_workspace(folder)
    frame = credit_risk(1000 if smoke else 3000, seed=1)
    rows = frame.drop(columns=["default", "application_date"]).head(300)
    requests = 40 if smoke else 1800  # per side at one connection: p99 is then the 18th slowest
    models = [("logreg", "logistic_regression", {})]
    if not smoke:
        models.append(("forest100", "random_forest", {"n_estimators": 100}))
    results = []
    for label, family, params in models:
        mv = wb.train_and_log(frame, "default", name=f"bench-{label}", family=family, params=params)
        if label == "logreg":  # a second version: the challenger of the shadow and the split
            other = wb.train_and_log(frame, "default", name=f"bench-{label}", family=family,
                                     params={"C": 0.5}, plots=False)  # fmt: skip
            results += _shadow_overhead(label, mv.model_uri, other.model_uri, rows,
                                        120 if smoke else requests)  # fmt: skip
        if smoke:
            results += _bench_smoke(label, mv.model_uri, rows, requests)
        else:
            results += _bench_model(label, mv.model_uri, rows, requests, default_workers())
            if label == "logreg":  # the fastest model: the log's cost shows most
                results += _log_overhead(label, mv.model_uri, rows, requests)
                results += _launch_side_by_side(label, mv.model_uri)
    return results


if __name__ == "__main__":
    started = time.perf_counter()
    rows = run(smoke="--smoke" in sys.argv)
    print(json.dumps(rows, indent=2))
    print(f"# {time.perf_counter() - started:.0f} s", file=sys.stderr)
