"""The server is ours and all of it stops: port probes with address reuse, the listening socket's
owner, and a recorded process family stopped even when its leader died first."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time

import psutil
import pytest

import workbench as wb
from workbench._core.process import ManagedProcess
from workbench.serving import _ownership


def _closed_server_port():
    """A port whose server (bound as uvicorn binds, with address reuse) closed while a kept-alive
    client still holds its connection: the server side waits in FIN-WAIT/TIME-WAIT."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = listener.accept()
    conn.close()  # the server closes first
    listener.close()
    return port, client


def test_a_port_an_outside_client_still_holds_is_free_to_bind_with_address_reuse():
    port, client = _closed_server_port()
    try:
        with socket.socket() as plain, pytest.raises(OSError):
            plain.bind(("127.0.0.1", port))  # what the old probe did: "in use" for about 60 s
        _ownership.probe_port(port)  # as uvicorn binds it: free at once
    finally:
        client.close()


def test_a_listening_port_is_in_use_and_its_owner_is_known():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(wb.ServingError, match=f"port {port} on 127.0.0.1 is in use"):
            _ownership.probe_port(port)
        me = [psutil.Process()]
        assert _ownership.listens_on(me, port)
        assert not _ownership.listens_on(me, port + 1 if port < 65535 else port - 1)


def test_tokens_are_fresh_per_start():
    assert _ownership.new_nonce() != _ownership.new_nonce()
    assert len(_ownership.new_nonce()) >= 30


def test_stop_kills_every_recorded_member_even_when_the_leader_died_first():
    """A child that left the process group survives a group kill; the recorded family does not."""
    code = (
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'],"
        " start_new_session=True)\n"
        "time.sleep(120)\n"
    )
    process = ManagedProcess("fake server", [sys.executable, "-c", code]).start()
    deadline = time.monotonic() + 20
    while len(_ownership.family(process.pid)) < 2:
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.05)
    server = wb.ModelServer("models:/fake/1")
    server._process = process
    server._family = _ownership.family(process.pid)
    members = [p.pid for p in server._family]
    assert os.getpgid(members[1]) != os.getpgid(members[0])  # it left the group
    os.kill(process.pid, signal.SIGKILL)
    process.popen.wait(10)
    server.stop(grace=2)

    def gone(pid):
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    deadline = time.monotonic() + 5
    while not all(gone(pid) for pid in members):
        assert time.monotonic() < deadline, f"still alive: {[p for p in members if not gone(p)]}"
        time.sleep(0.05)
