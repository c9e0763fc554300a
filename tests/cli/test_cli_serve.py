"""`workbench serve`: arguments checked before anything starts (exit 2), a missing or unsafe model
is exit 2, and ``--port 0`` serves on a free port and says which."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time

import pytest

from workbench.cli import main


def _serve(capsys, trained, *argv):
    code = main(["--workspace", str(trained.ws.root), "serve", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--port", "70000"], "not a port number"),
        (["--port", "-5"], "not a port number"),
        (["--port", "http"], "not a port number"),
        (["--workers", "0"], "1 or more"),
        (["--workers", "-1"], "1 or more"),
        (["--max-request-mb", "0"], "megabytes"),
        (["--allow-host", "http://evil.example/"], "not a host name"),
    ],
)
def test_bad_arguments_exit_2_before_anything_starts(capsys, argv, fragment):
    started = time.monotonic()
    with pytest.raises(SystemExit) as info:
        main(["serve", "models:/credit-risk/1", *argv])
    assert info.value.code == 2
    assert fragment in capsys.readouterr().err
    assert time.monotonic() - started < 5


def test_a_missing_model_exits_2(capsys, trained):
    code, _, err = _serve(capsys, trained, "models:/credit-risk/99", "--workers", "1")
    assert code == 2 and err.startswith("error: ") and "credit-risk/99" in err
    assert "Traceback" not in err and "starting the model server" not in err  # not a terminal


def test_a_pickled_model_exits_2_and_nothing_is_unpickled(capsys, trained, tmp_path, monkeypatch):
    from tests.integration.pickled_models import MARKER_ENV, log_pickled

    marker = tmp_path / "payload-ran"
    monkeypatch.setenv(MARKER_ENV, str(marker))
    uri = log_pickled("hostile-cli-serve", ["a", "b"])
    code, out, err = _serve(capsys, trained, uri, "--workers", "1")
    assert code == 2 and "refused to load" in err and "--allow-pickle" in err
    assert not marker.exists() and "serving" not in out


@pytest.mark.server
def test_port_0_picks_a_free_port_serves_and_stops_cleanly_on_ctrl_c(trained):
    """In the foreground, as a terminal user runs it: the line that says where, a prediction,
    then Ctrl-C stops the server, its workers and the port, with exit 0."""
    import psutil

    from tests.integration.test_serving import _features, _gone, _port_free
    from workbench.serving import ModelServer

    env = dict(os.environ, WORKBENCH_WORKSPACE=str(trained.ws.root))
    cmd = [sys.executable, "-m", "workbench.cli", "serve", trained.linear.model_uri,
           "--port", "0", "--workers", "1", "--max-request-mb", "2"]  # fmt: skip
    terminal, stderr = pty.openpty()  # stderr a terminal: the start shows a progress line
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True,
        start_new_session=True,
    )  # fmt: skip
    os.close(stderr)
    try:
        first = proc.stdout.readline()
        edge = proc.stdout.readline()
        version = trained.linear.version
        assert first.startswith(
            f"serving {trained.linear.model_uri} (version {version}) at http://127.0.0.1:"
        ), first
        url = first.split(" at ")[1].split()[0]
        port = int(url.rsplit(":", 1)[1])
        assert port > 0 and not url.endswith(":0"), first
        assert "bodies up to 2 MB" in edge and "127.0.0.1" in edge
        client = ModelServer.connect(url, model_uri=trained.linear.model_uri)
        assert client.predict(_features(trained, 3)).shape == (3,)
        children = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert children and all(_gone(p) for p in children)
        assert _port_free(port)
        shown = b""
        while select.select([terminal], [], [], 0.5)[0]:
            try:
                chunk = os.read(terminal, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            shown += chunk
        assert f"\rstarting the model server for {trained.linear.model_uri}...".encode() in shown
        assert b"stopped" in shown
    finally:
        os.close(terminal)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
