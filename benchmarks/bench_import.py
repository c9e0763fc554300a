"""Start-up costs, each in fresh Python processes (median of several):

* ``import workbench`` (goal <= 0.3 s), timed inside the child around the import alone; baseline:
  ``import mlflow`` timed the same way (what an eager import of the stack would cost);
* ``workbench --help`` (goal <= 0.5 s), wall time of the whole command; baseline: a bare
  ``python -c pass`` (the interpreter's own start-up).

Run alone with ``python -m benchmarks.bench_import [--smoke]`` (prints JSON rows).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._common import median, row, timed

IMPORT_GOAL_S = 0.3
HELP_GOAL_S = 0.5

_TIME_IMPORT = (
    "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
)


def _import_seconds(module: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _TIME_IMPORT.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return float(out.stdout.strip().splitlines()[-1])


def _wall_seconds(cmd: list[str]) -> float:
    seconds, _ = timed(lambda: subprocess.run(cmd, capture_output=True, check=True, timeout=120))
    return seconds


def _help_command() -> list[str]:
    script = Path(sys.executable).parent / "workbench"
    return (
        [str(script), "--help"]
        if script.exists()
        else [sys.executable, "-m", "workbench.cli", "--help"]
    )


def run(smoke: bool = False) -> list[dict]:
    """Rows (name, value, unit, baseline, ratio, goal, met) for start-up times."""
    repeats = 1 if smoke else 7
    if not smoke:
        _import_seconds("workbench")  # warm the file cache and bytecode once, untimed
    ours = median([_import_seconds("workbench") for _ in range(repeats)])
    theirs = median([_import_seconds("mlflow") for _ in range(repeats)])
    help_cmd = _help_command()
    if not smoke:
        _wall_seconds(help_cmd)
    help_s = median([_wall_seconds(help_cmd) for _ in range(repeats)])
    bare = median([_wall_seconds([sys.executable, "-c", "pass"]) for _ in range(repeats)])
    return [
        row(
            "import workbench (fresh process)",
            ours,
            "s",
            theirs,
            f"<= {IMPORT_GOAL_S} s (baseline: import mlflow)",
            ours <= IMPORT_GOAL_S,
            note=f"median of {repeats}",
        ),
        row(
            "workbench --help (wall, fresh process)",
            help_s,
            "s",
            bare,
            f"<= {HELP_GOAL_S} s (baseline: python -c pass)",
            help_s <= HELP_GOAL_S,
            note=f"median of {repeats}: {' '.join(help_cmd[-3:])}",
        ),
    ]


if __name__ == "__main__":
    started = time.perf_counter()
    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
    print(f"# {time.perf_counter() - started:.0f} s", file=sys.stderr)
