"""nbval on the committed notebooks, as a reader opens them: every cell of every notebook, with its
default parameters, in order (01 trains the model 02 checks, 03 serves and 04 monitors), in a kernel
nbval starts itself (not the workbench's runner), in a fresh workspace. ``--nbval-lax``: a cell
passes when it runs without error (outputs differ run to run: times, run ids, ports).

The papermill tests (test_nb0*.py) check what the cells show; this one checks the notebooks as
committed run top to bottom with nothing injected, and that no model server outlives them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import NOTEBOOKS

pytestmark = [pytest.mark.notebook, pytest.mark.server]


def run_nbval(
    cwd, env: dict[str, str], notebooks: list[str], timeout: float
) -> subprocess.CompletedProcess:
    """nbval (``--nbval-lax``) on ``notebooks`` (paths under ``cwd``) in a pytest of its own."""
    return subprocess.run(
        [
            sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env",
            "--nbval-cell-timeout=600", "-p", "no:cacheprovider", "-q", "-o", "addopts=",
            *notebooks,
        ],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_every_committed_notebook_runs_under_nbval_with_its_defaults(tmp_path):
    from tests.notebooks.test_nb03 import _served_pids

    shutil.copytree(NOTEBOOKS, tmp_path / "notebooks")
    notebooks = sorted(p.name for p in (tmp_path / "notebooks").glob("*.ipynb"))
    assert "01_train_and_log.ipynb" in notebooks and "04_monitor_drift.ipynb" in notebooks
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    env["WORKBENCH_WORKSPACE"] = str(tmp_path)
    before = _served_pids(tmp_path)
    done = run_nbval(tmp_path, env, [f"notebooks/{name}" for name in notebooks], timeout=1500)
    tail = (done.stdout + done.stderr)[-4000:]
    assert done.returncode == 0, tail
    passed = re.search(r"(\d+) passed", done.stdout)
    assert passed and int(passed.group(1)) >= 30, tail  # one item per code cell
    assert "failed" not in done.stdout.splitlines()[-1], tail
    assert (tmp_path / "mlruns").is_dir()  # the notebooks used the fresh workspace
    assert _served_pids(tmp_path) <= before  # 03 stopped its server
