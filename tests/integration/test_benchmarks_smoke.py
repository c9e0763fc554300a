"""`make bench`'s harness cannot rot: every benchmark module runs on tiny sizes (``--smoke``) and
must finish without an error row. One test per module, so pytest-xdist spreads them over the
cores with the rest of the suite (``make bench-smoke`` runs them one after another)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.runner import SMOKE_BUDGET_S, discover

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.server]


@pytest.mark.parametrize("name", discover("benchmarks"))
def test_the_benchmark_runs_on_tiny_sizes(name, tmp_path):
    out = tmp_path / f"{name}.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--only", name, "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=SMOKE_BUDGET_S + 60,
    )  # fmt: skip
    report = json.loads(out.read_text()) if out.exists() else {}
    modules = {m["module"]: m for m in report.get("modules", [])}
    assert done.returncode == 0 and modules.get(name, {}).get("status") == "ok", (
        f"bench_{name} --smoke: exit {done.returncode}, {modules.get(name)}\n"
        + done.stdout[-3000:] + done.stderr[-2000:]
    )  # fmt: skip
    assert report["figures"], f"bench_{name} measured nothing"
