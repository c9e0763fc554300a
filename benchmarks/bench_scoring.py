"""Batch-scoring benchmark: peak memory and speed of ``workbench score`` on a 5M-row Parquet file.

In a temporary workspace: a logistic regression trained on the credit-risk demo data, and a Parquet
file of the same schema plus a ``loan_id`` (5,000,000 rows; smoke: 20,000), generated chunk by
chunk. Each of these runs in its own process, and the kernel reports its peak resident memory
(``os.wait4``'s ``ru_maxrss``):

* ``workbench score MODEL --data F --out G --id-column loan_id`` (chunks of 100,000 rows);
* the plain way, the baseline: ``pd.read_parquet`` of the whole file, ``predict_proba`` of the
  model, the labels and probabilities written with ``to_parquet``;
* ``workbench score`` on a 1,000-row file: the fixed cost (interpreter, MLflow, the model).

Rows: peak memory against the plain way; the growth over the fixed cost against the table's size
in memory (flat memory means the growth stays a small share of it); rows/s against the plain way.
Run it alone with ``python -m benchmarks.bench_scoring [--smoke]``; it prints the rows as JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import row

FULL_ROWS = 5_000_000
SMOKE_ROWS = 20_000
FIXED_ROWS = 1_000
GENERATE_CHUNK = 250_000

#: The line a measured child prints last on stderr: its own peak resident memory.
PEAK_PREFIX = "WB_PEAK_MB "


def generate(path: Path, rows: int, seed: int = 100) -> None:
    """A Parquet file of ``rows`` credit-risk rows with a ``loan_id``, written chunk by chunk."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from workbench.data import credit_risk

    writer = None
    try:
        for i, start in enumerate(range(0, rows, GENERATE_CHUNK)):
            n = min(GENERATE_CHUNK, rows - start)
            chunk = credit_risk(n, seed=seed + i)
            chunk.insert(0, "loan_id", np.arange(start, start + n, dtype="int64"))
            table = pa.Table.from_pandas(chunk, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def plain(uri: str, source: str, target: str) -> dict:
    """The baseline: the whole table in memory, the model's ``predict_proba``, ``to_parquet``."""
    import mlflow
    import pandas as pd

    from workbench.registry import signature_frame

    started = time.perf_counter()
    frame = pd.read_parquet(source)
    model = mlflow.pyfunc.load_model(uri)
    raw = model.get_raw_model()
    x = signature_frame(frame[model.metadata.get_input_schema().input_names()])
    proba = raw.predict_proba(x)
    labels = raw.classes_[proba.argmax(axis=1)]
    out = frame[["loan_id"]].assign(prediction=labels, proba_1=proba[:, 1])
    out.to_parquet(target, index=False)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "frame_bytes": int(frame.memory_usage(deep=True).sum())}


def measured(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Run this module as a child doing ``args``; its peak resident memory (MB) and stdout.

    The child reports its own high-water mark (``VmHWM``) as it exits: the ``ru_maxrss`` of a
    child (``wait4``, ``RUSAGE_CHILDREN``) starts from the parent's size at the fork, so a small
    child of a large parent would read as large as its parent.
    """
    cmd = [sys.executable, "-m", "benchmarks.bench_scoring", "--child", *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args[:3])}... exited {proc.returncode}: {proc.stderr[-800:]}"
        )
    peaks = [line for line in proc.stderr.splitlines() if line.startswith(PEAK_PREFIX)]
    return float(peaks[-1][len(PEAK_PREFIX) :]), proc.stdout


def child(args: list[str]) -> int:
    """In the child: ``score ARGS`` (the ``workbench`` command) or ``plain URI SOURCE TARGET``;
    then its peak resident memory on stderr."""
    try:
        if args[0] == "score":
            from workbench.cli import main

            return main(args)
        print(json.dumps(plain(*args[1:4])))
        return 0
    finally:
        peak_kb = next(
            int(line.split()[1])
            for line in Path("/proc/self/status").read_text().splitlines()
            if line.startswith("VmHWM:")
        )
        print(f"\n{PEAK_PREFIX}{peak_kb / 1024:.1f}", file=sys.stderr, flush=True)


def run(smoke: bool = False) -> list[dict]:
    """Measure batch scoring; one dict per number (name, value, unit, baseline, ratio, goal, met).

    Smoke: 20,000 rows; ``workbench score`` in a child process, the plain way in this process (its
    memory is not measured) and no fixed-cost run.
    """
    folder = Path(tempfile.mkdtemp(prefix="wb-bench-scoring-"))
    try:
        return _measure(folder, smoke)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # a few hundred MB of Parquet in a full run


def _measure(folder: Path, smoke: bool) -> list[dict]:
    import pandas as pd

    import workbench as wb
    from workbench.data import credit_risk

    ws = wb.open_workspace(folder / "ws")
    mv = wb.train_and_log(
        credit_risk(5000, seed=1), "default", name="bench-scoring", family="logistic_regression"
    )
    rows = SMOKE_ROWS if smoke else FULL_ROWS
    big = folder / "big.parquet"
    generate(big, rows)
    env = {**os.environ, "MLFLOW_TRACKING_URI": ws.tracking_uri}
    cli = ["score", "--workspace", str(ws.root), mv.model_uri, "--id-column", "loan_id", "--json"]

    def score(source: Path, target: Path) -> tuple[float, dict]:
        peak, out = measured([*cli, "--data", str(source), "--out", str(target)], env)
        return peak, json.loads(out)

    peak, result = score(big, folder / "big-scored.parquet")
    plain_args = [mv.model_uri, str(big), str(folder / "plain.parquet")]
    if smoke:
        plain_peak, baseline = None, plain(*plain_args)
        fixed_peak = None
    else:
        plain_peak, out = measured(["plain", *plain_args], env)
        baseline = json.loads(out)
        generate(folder / "small.parquet", FIXED_ROWS, seed=7)
        fixed_peak, _ = score(folder / "small.parquet", folder / "small-scored.parquet")

    ours = pd.read_parquet(folder / "big-scored.parquet")
    theirs = pd.read_parquet(folder / "plain.parquet")
    same = bool(
        ours["loan_id"].equals(theirs["loan_id"])
        and (ours["prediction"].to_numpy() == theirs["prediction"].to_numpy()).all()
        and (ours["proba_1"] - theirs["proba_1"]).abs().max() < 1e-9
    )
    table_mb = baseline["frame_bytes"] / 2**20
    rps = result["rows"] / result["seconds"]
    plain_rps = rows / baseline["seconds"]
    label = f"{rows // 1_000_000}M" if rows >= 1_000_000 else f"{rows // 1000}k"
    file_mb = big.stat().st_size / 2**20
    out = [
        row(f"score_{label}_rows_per_s", rps, "rows/s", plain_rps,
            "informational (smoke)" if smoke else ">= 0.5x read_parquet + predict",
            None if smoke else rps >= 0.5 * plain_rps, ratio=round(rps / plain_rps, 4),
            note=f"{result['chunks']} chunk(s) of 100,000; model load included"
                 + (" (the plain way's was cached: smoke runs it in process)" if smoke else "")),
        row(f"score_{label}_same_as_plain", 1.0 if same else 0.0, "bool", None,
            "ids and labels equal, probabilities within 1e-9", same),
    ]  # fmt: skip
    if smoke:
        out.insert(0, row(f"score_{label}_peak_rss_mb", peak, "MB", None, "informational (smoke)",
                          None, note=f"the table takes {table_mb:.0f} MB in memory"))  # fmt: skip
        return out
    growth = max(0.0, peak - fixed_peak)
    return [
        row(f"score_{label}_peak_rss_mb", peak, "MB", plain_peak,
            "<= 0.5x read_parquet + predict", peak <= 0.5 * plain_peak,
            note=f"baseline: pd.read_parquet + predict_proba + to_parquet; file {file_mb:.0f} MB"),
        row(f"score_{label}_rss_growth_mb", growth, "MB", table_mb,
            "<= 0.2x the table in memory (flat)", growth <= 0.2 * table_mb,
            note=f"peak minus the peak of scoring {FIXED_ROWS:,} rows ({fixed_peak:.0f} MB); "
                 "baseline: the table in memory (pandas, deep)"),
        *out,
    ]  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        sys.exit(child(sys.argv[2:]))
    started = time.perf_counter()
    rows = run(smoke="--smoke" in sys.argv)
    print(json.dumps(rows, indent=2))
    print(f"# {time.perf_counter() - started:.0f} s", file=sys.stderr)
