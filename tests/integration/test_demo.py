"""`workbench demo` end to end on a fresh workspace, then again on the same one.

The first run also proves that nothing leaves the machine: every Python process it starts (the CLI,
its kernel, the model servers) loads ``netaudit/sitecustomize.py``, which records each outbound
connection attempt and name lookup, and each process's telemetry settings. ``CI`` is unset for it,
as MLflow turns its telemetry off by itself under CI.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest

import workbench as wb
from workbench.runner import notebook_summary

pytestmark = [pytest.mark.notebook, pytest.mark.server]
ROOT = Path(__file__).resolve().parents[2]
NETAUDIT = Path(__file__).resolve().parent / "netaudit"
_CI_MARKERS = ("CI", "PYTEST_CURRENT_TEST", "GITHUB_ACTIONS", "DO_NOT_TRACK")


def _demo(workspace: Path, *extra: str, net_log: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "WORKBENCH_SET_"))}
    if net_log is not None:
        env = {k: v for k, v in env.items() if k not in _CI_MARKERS}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(NETAUDIT), env.get("PYTHONPATH")]))
        env["WB_NET_LOG"] = str(net_log)
    return subprocess.run(
        [sys.executable, "-m", "workbench.cli", "--workspace", str(workspace), "demo", *extra],
        capture_output=True,
        text=True,
        env=env,
        cwd=workspace,
        timeout=600,
    )


def _local(record: dict) -> bool:
    if record["family"] == socket.AF_UNIX:
        return True
    host = str(record["address"][0])
    return host == "localhost" or ipaddress.ip_address(host).is_loopback


def _check_nothing_left_the_machine(net_log: Path) -> None:
    records = [json.loads(line) for line in net_log.read_text().splitlines()]
    starts = [r for r in records if r["event"] == "start"]
    assert len(starts) >= 3, "the CLI, its kernel and the model servers were audited"
    outside = [r for r in records if r["event"] == "connect" and not _local(r)]
    lookups = {r["host"] for r in records if r["event"] == "lookup"}
    assert outside == [], f"outbound connection attempts: {outside[:5]}"
    assert lookups <= {"127.0.0.1", "localhost", "::1", "None"}, f"name lookups: {lookups}"
    children = starts[1:]  # started after the workspace opened: they inherit its settings
    assert all(s["MLFLOW_DISABLE_TELEMETRY"] == "true" for s in children), children
    assert all(s["DO_NOT_TRACK"] == "true" for s in children), children


def test_demo_runs_the_whole_journey_and_reruns(tmp_path):
    net_log = tmp_path / "net.jsonl"
    first = _demo(tmp_path, "--quick", net_log=net_log)
    assert first.returncode == 0, first.stderr[-3000:]
    _check_nothing_left_the_machine(net_log)
    out = first.stdout
    assert "Champion: version 3; retrain requested after the week: True" in out
    assert "mlflow ui --backend-store-uri" in out

    wb.open_workspace(tmp_path)
    versions = {v.version: v for v in wb.versions("credit-risk")}
    assert sorted(versions) == [1, 2, 3]
    assert versions[2].metrics["roc_auc"] > versions[1].metrics["roc_auc"]  # a better challenger
    assert "champion" in versions[3].aliases
    assert versions[2].tags.get("workbench.retrain_requested") == "true"
    history = wb.history("credit-risk")
    assert list(history["new_version"]) == [1, 2, 3]
    runs = sorted((tmp_path / "runs").glob("0*/*.ipynb"))
    assert len(runs) == 8, runs  # every step's executed notebook is kept
    checks = sorted((tmp_path / "runs" / "02_predeploy_checks").glob("*.ipynb"))
    verdicts = [notebook_summary(path) for path in checks]  # fairness ran in every check step
    assert len(verdicts) == 3 and all("PASS   fairness_gap" in v for v in verdicts), verdicts
    assert all(wb.model_contract(v.model_uri).protected == ["age_band"] for v in versions.values())
    monitoring = mlflow.search_runs(experiment_names=["monitoring/credit-risk"])
    assert len(monitoring) == 7  # six days before today, and today

    steps = [line for line in out.splitlines() if line.startswith("[")]
    assert steps[0] == "[1/8] train a baseline: a small random forest ..."
    assert steps[1].startswith("[1/8] done in ") and steps[1].endswith(
        "logged credit-risk v1 (@challenger)"
    )
    assert "[4/8] done in" in out and "v2 checks passed; promoted to @champion" in out

    started = time.monotonic()
    rerun = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "--workspace", str(tmp_path), "demo", "--quick"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "WORKBENCH_SET_"))},
    )  # fmt: skip
    seen = [(time.monotonic() - started, line.rstrip("\n")) for line in rerun.stdout]
    assert rerun.wait(timeout=600) == 0, rerun.stderr.read()[-3000:]
    ended = time.monotonic() - started
    first_done = next(t for t, line in seen if line.startswith("[1/8] done in"))
    assert ended - first_done > 5, "each step is printed as it ends, not at the end"
    text = "\n".join(line for _, line in seen)
    assert "[2/8] check the baseline against the @champion: the gate keeps the better one" in text
    assert "v4 checks failed; not promoted, @champion is v3" in text  # the rerun forces nothing
    assert "Champion: version 6" in text
    log = wb.history("credit-risk")
    assert list(log["new_version"]) == [1, 2, 3, 5, 6] and not any(log["forced"])
