"""Wall time of the whole journey headless: ``python -m workbench.cli demo`` (what ``make demo`` runs,
without the venv check) in a fresh temporary workspace, so the project's own ``mlruns/`` is left alone.

Informational: one run, no baseline. Skipped in smoke mode. If the command fails or runs out of the
run's time, the row says "not available" with the command's last lines. Run alone with
``python -m benchmarks.bench_demo``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from benchmarks._common import not_available, row, seconds_left, timed

NAME = "workbench demo (whole journey, fresh workspace)"
MAX_SECONDS = 480.0


def run(smoke: bool = False) -> list[dict]:
    """One row: the demo's wall time, or why it is not available."""
    if smoke:
        return [not_available(NAME, "skipped in smoke mode")]
    timeout = min(MAX_SECONDS, seconds_left(MAX_SECONDS) - 5)
    if timeout < 30:
        return [not_available(NAME, f"only {timeout:.0f} s left in the run's budget")]
    with tempfile.TemporaryDirectory(prefix="wb-bench-demo-") as folder:
        cmd = [sys.executable, "-m", "workbench.cli", "demo", "--workspace", folder]
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("MLFLOW_TRACKING_URI", "WORKBENCH_WORKSPACE")
        }
        try:
            seconds, proc = timed(
                lambda: subprocess.run(
                    cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=timeout
                )
            )
        except subprocess.TimeoutExpired:
            return [not_available(NAME, f"still running after {timeout:.0f} s")]
    if proc.returncode != 0:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        return [not_available(NAME, f"exit code {proc.returncode}: {tail}")]
    return [row(NAME, seconds, "s", None, "informational", True, note="one run; make demo = this")]


if __name__ == "__main__":
    started = time.perf_counter()
    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
    print(f"# {time.perf_counter() - started:.0f} s", file=sys.stderr)
