"""`make drill` holds: a backup taken while a journey runs, the workspace lost, the restore in
its place verifies, serves the same predictions and keeps the monitoring history."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.notebook, pytest.mark.server]


def test_the_disaster_drill_passes_and_times_each_step():
    done = subprocess.run(
        [sys.executable, "tools/drill.py", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["ok"] and all(result["checks"].values()), result["checks"]
    assert result["journey_still_running_at_backup"], "the backup was taken during the journey"
    assert result["predictions_that_differ"] == 0 and result["monitoring_runs"] >= 3
    assert {"backup (journey running)", "restore and its verification"} <= set(result["seconds"])
