"""The cost curve of the Spark engine: batch scoring and drift, pandas path against Spark path.

In a temporary workspace: a logistic regression trained on the credit-risk demo data, a 5,000-row
reference table, and Parquet files of 1M, 5M and 20M rows of the same schema plus a ``loan_id``
(smoke: 20,000 rows), generated chunk by chunk. For each size, each of these runs in its own process
(the ``workbench`` command, as a nightly job would), and reports its wall time and its peak memory:
the Python driver's (``workbench score`` itself; for ``monitor``, the notebook kernel it starts) and,
for Spark, the JVM's too (in local mode the JVM is the driver and the executors at once):

* ``workbench score MODEL --data F --out G --id-column loan_id`` and the same with ``--engine spark``;
* ``workbench monitor --reference R --current F`` and the same with ``--engine spark``.

Rows: scoring rows/s and drift wall time of Spark against pandas at each size (ratio < 1 for time:
Spark faster); the driver's peak memory of each; the first size where Spark overtakes pandas; that
the drift verdicts agree. Run it alone with ``python -m benchmarks.bench_spark [--smoke]``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks._common import not_available, row, seconds_left
from benchmarks.bench_scoring import generate

FULL_SIZES = (1_000_000, 5_000_000, 20_000_000)
SMOKE_SIZES = (20_000,)
REFERENCE_ROWS = 5_000
RESULT_PREFIX = "WB_BENCH_RESULT "


def label(rows: int) -> str:
    return f"{rows // 1_000_000}M" if rows >= 1_000_000 else f"{rows // 1000}k"


def child(args: list[str]) -> int:
    """In the child: the ``workbench`` command ``args``; then, on stderr, its wall time, exit code,
    its own peak memory, the largest peak of a Python process it started (the notebook kernel: the
    Python driver), the JVM's peak, and the peak of all the processes it started together."""
    import psutil

    from workbench.cli import main

    peaks: dict[str, float] = {"all": 0.0, "python": 0.0, "java": 0.0}
    done = threading.Event()

    def watch() -> None:
        me = psutil.Process()
        while not done.wait(0.2):
            total = 0
            for proc in me.children(recursive=True):
                try:
                    rss, name = proc.memory_info().rss, proc.name()
                except psutil.Error:
                    continue
                total += rss
                kind = "java" if name.startswith("java") else "python"
                if kind == "java" or name.startswith("python"):
                    peaks[kind] = max(peaks[kind], rss / 2**20)
            peaks["all"] = max(peaks["all"], total / 2**20)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.perf_counter()
    code = 1
    try:
        code = main(args)
    finally:
        seconds = time.perf_counter() - started
        done.set()
        hwm = next(
            int(line.split()[1])
            for line in Path("/proc/self/status").read_text().splitlines()
            if line.startswith("VmHWM:")
        )
        # The command runs notebook 04 in a kernel (a child): that kernel is the Python driver.
        result = {"seconds": seconds, "code": code, "command_mb": hwm / 1024}
        result.update(driver_mb=peaks["python"], jvm_mb=peaks["java"], all_mb=peaks["all"])
        print(f"\n{RESULT_PREFIX}{json.dumps(result)}", file=sys.stderr, flush=True)
    return code


def measured(args: list[str], env: dict[str, str], timeout: float) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.bench_spark", "--child", *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    found = [line for line in proc.stderr.splitlines() if line.startswith(RESULT_PREFIX)]
    if not found:
        raise RuntimeError(f"{' '.join(args[:2])} exited {proc.returncode}: {proc.stderr[-800:]}")
    result = json.loads(found[-1][len(RESULT_PREFIX) :])
    result["stdout"] = proc.stdout
    if result["code"] not in (0, 3):  # 3: drift found, a valid outcome
        raise RuntimeError(f"{' '.join(args[:2])} exited {result['code']}: {proc.stderr[-800:]}")
    return result


def run(smoke: bool = False) -> list[dict]:
    """Measure the cost curve; one dict per figure."""
    try:
        from workbench.spark import check_spark

        check_spark()
    except Exception as err:
        if os.environ.get("CI") == "true":
            raise
        return [not_available("spark_cost_curve", str(err))]
    folder = Path(tempfile.mkdtemp(prefix="wb-bench-spark-"))
    try:
        return _measure(folder, SMOKE_SIZES if smoke else FULL_SIZES, smoke)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # GBs of Parquet in a full run


def _measure(folder: Path, sizes: tuple[int, ...], smoke: bool) -> list[dict]:
    import workbench as wb
    from workbench.data import credit_risk

    ws = wb.open_workspace(folder / "ws")
    train = credit_risk(REFERENCE_ROWS, seed=1)
    mv = wb.train_and_log(train, "default", name="bench-spark", family="logistic_regression")
    reference = folder / "reference.parquet"
    train.to_parquet(reference, index=False)
    env = {**os.environ, "MLFLOW_TRACKING_URI": ws.tracking_uri, "PYSPARK_PYTHON": sys.executable}
    base = ["--workspace", str(ws.root)]
    rows: list[dict] = []
    curve: list[tuple[int, float, float]] = []  # rows, pandas s, spark s (drift)
    last: tuple[int, float] | None = None  # rows and seconds of the size before
    for size in sizes:
        left = seconds_left(3600)
        # a size the run's deadline would cut is skipped (its rows say why), not killed midway
        need = 120.0 if last is None else 60.0 + last[1] * size / last[0]
        if left < need and curve:
            rows.append(not_available(
                f"spark_{label(size)}", f"about {need:.0f} s needed, {left:.0f} s left in the run"
            ))  # fmt: skip
            break
        started = time.perf_counter()
        data = folder / f"batch-{label(size)}.parquet"
        generate(data, size, seed=300)
        score = [*base, "score", mv.model_uri, "--data", str(data), "--id-column", "loan_id"]
        timings = {}
        for engine in ("pandas", "spark"):
            out = folder / f"scored-{engine}-{label(size)}.parquet"
            extra = ["--engine", "spark"] if engine == "spark" else []
            timings[("score", engine)] = measured([*score, "--out", str(out), *extra], env, left)
            if out.is_dir():
                shutil.rmtree(out, ignore_errors=True)
            else:
                out.unlink(missing_ok=True)
        monitor = [*base, "monitor", "--reference", str(reference), "--current", str(data)]
        monitor += ["--model", mv.model_uri, "--ignore", "loan_id", "--json"]
        monitor += ["--out", str(folder / "reports")]
        for engine in ("pandas", "spark"):
            extra = ["--engine", "spark"] if engine == "spark" else []
            timings[("drift", engine)] = measured([*monitor, *extra], env, left)
        data.unlink(missing_ok=True)
        rows += _figures(size, timings, smoke)
        drift = (timings[("drift", "pandas")]["seconds"], timings[("drift", "spark")]["seconds"])
        curve.append((size, *drift))
        last = (size, time.perf_counter() - started)
    rows.append(_crossover(curve, smoke))
    return rows


def _verdict(result: dict) -> object:
    """(valid, drift detected, drifted columns) from ``--json``'s summary; the exit code without it."""
    try:
        summary = json.loads(result["stdout"])
    except ValueError:
        return result["code"]
    columns = summary.get("columns") or []
    drifted = sorted(c["column"] for c in columns if isinstance(c, dict) and c.get("drifted"))
    return (summary.get("valid"), summary.get("drift_detected"), drifted)


def _figures(size: int, t: dict, smoke: bool) -> list[dict]:
    name = label(size)
    sp, pd_ = t[("score", "spark")], t[("score", "pandas")]
    dp, dd = t[("drift", "spark")], t[("drift", "pandas")]
    same = _verdict(dp) == _verdict(dd)
    info = "informational (smoke)" if smoke else "informational: the cost curve"
    return [
        row(f"spark_score_{name}_rows_per_s", size / sp["seconds"], "rows/s", size / pd_["seconds"],
            info, None, ratio=round(pd_["seconds"] / sp["seconds"], 4),
            note="ratio > 1: Spark faster; whole command incl. Python start, model load, Spark start"),
        row(f"spark_drift_{name}_seconds", dp["seconds"], "s", dd["seconds"], info, None,
            note="workbench monitor --engine spark vs pandas; whole command"),
        row(f"spark_drift_{name}_driver_peak_mb", dp["driver_mb"], "MB", dd["driver_mb"],
            "<= 1024 MB (Python driver)" if not smoke else info,
            None if smoke else dp["driver_mb"] <= 1024,
            note=f"the notebook kernel's peak; JVM (driver + local executors) {dp['jvm_mb']:.0f} MB, "
                 f"all processes {dp['all_mb']:.0f} MB (pandas {dd['all_mb']:.0f} MB); baseline: "
                 "the pandas path's kernel"),
        row(f"spark_score_{name}_driver_peak_mb", sp["command_mb"], "MB", pd_["command_mb"], info,
            None, note=f"the command's own peak (it is the driver); JVM peak {sp['jvm_mb']:.0f} MB"),
        row(f"spark_drift_{name}_same_verdict", 1.0 if same else 0.0, "bool", None,
            "drifted and drifted columns equal", same,
            note=f"pandas {_verdict(dd)}; spark {_verdict(dp)}"),
    ]  # fmt: skip


def _crossover(curve: list[tuple[int, float, float]], smoke: bool) -> dict:
    faster = [size for size, pandas_s, spark_s in curve if spark_s < pandas_s]
    value = float(faster[0]) if faster else None
    note = "; ".join(f"{label(n)}: pandas {p:.1f} s, spark {s:.1f} s" for n, p, s in curve)
    if value is None:
        return row("spark_drift_overtakes_at_rows", None, "rows", None, "informational", None,
                   note=f"Spark did not overtake pandas at the sizes run ({note})")  # fmt: skip
    return row("spark_drift_overtakes_at_rows", value, "rows", None, "informational", None,
               note=note)  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        sys.exit(child(sys.argv[2:]))
    started = time.perf_counter()
    result = run(smoke="--smoke" in sys.argv)
    print(json.dumps(result, indent=2))
    print(f"# {time.perf_counter() - started:.0f} s", file=sys.stderr)
