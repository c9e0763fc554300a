"""The managed process: started in its own session, ready or explained, stopped with its family."""

from __future__ import annotations

import os
import sys

import psutil
import pytest

from workbench._core.process import ManagedProcess, free_port
from workbench.errors import ServingError

FAMILY = (
    "import subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "print('child', child.pid, flush=True)\n"
    "time.sleep(60)\n"
)


def _child(proc):
    lines = [ln for ln in proc.logs().splitlines() if ln.startswith("child ") and ln[6:].isdigit()]
    return int(lines[0].split()[1]) if lines else None


def test_stop_takes_the_whole_family(tmp_path):
    proc = ManagedProcess("family", [sys.executable, "-c", FAMILY], log_path=tmp_path / "f.log")
    proc.start()
    proc.wait_until(lambda: _child(proc) is not None, timeout=20)
    child = _child(proc)
    assert os.getpgid(proc.pid) == proc.pid != os.getpgid(0)  # its own session and group
    proc.stop(grace=5)
    assert not proc.running
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


def test_orphans_of_a_dead_leader_are_stopped(tmp_path):
    proc = ManagedProcess("family", [sys.executable, "-c", FAMILY], log_path=tmp_path / "f.log")
    proc.start()
    proc.wait_until(lambda: _child(proc) is not None, timeout=20)
    child = _child(proc)
    os.kill(proc.pid, 9)
    proc.popen.wait(5)
    proc.stop(grace=2)
    psutil.wait_procs([psutil.Process(child)], timeout=5) if psutil.pid_exists(child) else None
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


def test_a_process_that_dies_at_start_is_explained(tmp_path):
    code = "import sys; print('cannot bind the port'); sys.exit(3)"
    proc = ManagedProcess("server", [sys.executable, "-c", code], log_path=tmp_path / "s.log")
    proc.start()
    with pytest.raises(ServingError, match=r"(?s)exited at start \(code 3\).*cannot bind"):
        proc.wait_until(lambda: False, timeout=20, error=ServingError)
    assert not proc.running


def test_a_silent_process_times_out_and_is_stopped(tmp_path):
    cmd = [sys.executable, "-c", "import time; time.sleep(60)"]
    proc = ManagedProcess("slow", cmd, log_path=tmp_path / "s.log").start()
    with pytest.raises(ServingError, match="did not become ready within 1 s"):
        proc.wait_until(lambda: False, timeout=1, error=ServingError)
    assert not proc.running


def test_free_port_prefers_the_given_one():
    port = free_port()
    assert free_port(port) == port and 0 < port < 65536


def test_environment_sets_values_for_the_block_and_puts_back_what_was_there(monkeypatch):
    from workbench._core.process import environment

    monkeypatch.setenv("WB_ENV_KEPT", "before")
    monkeypatch.delenv("WB_ENV_NEW", raising=False)
    with pytest.raises(RuntimeError), environment({"WB_ENV_KEPT": "in", "WB_ENV_NEW": "in"}):
        assert os.environ["WB_ENV_KEPT"] == os.environ["WB_ENV_NEW"] == "in"
        raise RuntimeError("the block failed")
    assert os.environ["WB_ENV_KEPT"] == "before" and "WB_ENV_NEW" not in os.environ
