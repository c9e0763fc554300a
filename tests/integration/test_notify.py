"""`workbench monitor --notify`: the alert reaches a real SMTP server (aiosmtpd) and a real webhook
receiver (http.server), both on 127.0.0.1; a receiver that is down leaves a dead letter and the
monitor's exit code as the verdict says. Nothing is mocked: the CLI runs notebook 04 for real."""

from __future__ import annotations

import base64
import contextlib
import email
import email.policy
import io
import json
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from workbench._core.notify import notify
from workbench.cli import main
from workbench.data import credit_risk, production_batch

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult
except ImportError:  # pragma: no cover - a test dependency (pyproject.toml)
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("aiosmtpd is not installed: pip install aiosmtpd", allow_module_level=True)

PASSWORD = "s3cret-Pa55word-never-shown"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler keeping what it receives."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it so
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


@contextlib.contextmanager
def smtp_server(**options):
    """A real SMTP server on 127.0.0.1; yields (inbox, port)."""
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@contextlib.contextmanager
def webhook(answers=(), headers=None):
    """A real HTTP receiver on 127.0.0.1 answering ``answers`` in turn (then 200); yields the
    list of (path, JSON body) it received and its URL; each request's headers go to ``headers``."""
    received: list[tuple[str, dict]] = []
    todo = list(answers)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # http.server calls it so
            data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append((self.path, json.loads(data)))
            if headers is not None:
                headers.append(dict(self.headers))
            self.send_response(todo.pop(0) if todo else 200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received, f"http://127.0.0.1:{server.server_address[1]}/hooks/ml-team"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("notify-data")
    credit_risk(5000).to_csv(folder / "ref.csv", index=False)
    for scenario in ("none", "gradual_shift"):
        production_batch(3, scenario, n=1000).to_csv(folder / f"{scenario}.csv", index=False)
    production_batch(3, "none", n=1000).drop(columns="region").to_csv(
        folder / "no_region.csv", index=False
    )
    return folder


def _monitor(ws, files, current, *extra):
    """``workbench monitor`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    argv = ["--workspace", str(ws), "monitor", "--reference", str(files / "ref.csv")]
    argv += ["--current", str(files / current), "--target", "default", *extra]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def drift_run(files, tmp_path_factory):
    """One real drift run of a registered model, alerting a webhook, an email address and a
    webhook that is down (nothing listens on its port)."""
    import workbench as wb

    ws = tmp_path_factory.mktemp("notify-ws")
    wb.open_workspace(ws)
    frame = credit_risk(2000, seed=1)
    wb.train_and_log(frame, "default", name="credit-risk", family="logistic_regression")
    down = f"http://127.0.0.1:{_free_port()}/hooks/down"
    out = ws / "reports" / "tonight"
    with (
        pytest.MonkeyPatch.context() as env,
        smtp_server() as (inbox, port),
        webhook() as (received, url),
    ):
        env.setenv("WORKBENCH_SMTP_HOST", "127.0.0.1")
        env.setenv("WORKBENCH_SMTP_PORT", str(port))
        env.setenv("WORKBENCH_SMTP_FROM", "workbench@example.org")
        code, stdout, stderr = _monitor(
            ws,
            files,
            "gradual_shift.csv",
            "--model",
            "models:/credit-risk/1",
            "--fail-on-drift",
            "--json",
            "--out",
            str(out),
            "--notify",
            url,
            "--notify",
            "mailto:ml-team@example.org",
            "--notify",
            down,
        )
    return {
        "code": code,
        "summary": json.loads(stdout),
        "stderr": stderr,
        "received": received,
        "inbox": inbox.messages,
        "ws": ws,
        "out": out,
    }


@pytest.mark.notebook
def test_a_drift_alert_reaches_the_webhook_and_the_mailbox(drift_run):
    summary, out = drift_run["summary"], drift_run["out"]
    assert drift_run["code"] == 3 and summary["status"] == "drift"
    columns = summary["drifted_columns"]
    assert {"income", "loan_amount"} <= set(columns)
    expected = "[workbench] DRIFT credit-risk v1: " + ", ".join(columns)

    [(path, payload)] = drift_run["received"]
    assert path == "/hooks/ml-team"
    assert payload["subject"] == expected and payload["alert"] == "drift"
    assert payload["drifted_columns"] == columns and payload["model_version"] == "1"
    assert payload["report_folder"] == str(out) and payload["run_url"] == summary["run_url"]
    assert expected in payload["text"]

    [message] = drift_run["inbox"]
    assert message["Subject"] == expected
    assert message["To"] == "ml-team@example.org"
    assert message["From"] == "workbench@example.org"
    text = message.get_body(("plain",)).get_content()
    assert "model: credit-risk v1" in text
    assert f"drifted columns: {', '.join(columns)}" in text
    assert f"report: {out / 'report.html'}" in text and (out / "report.html").exists()
    assert f"MLflow run: {summary['run_url']}" in text
    attached = next(part for part in message.iter_attachments())
    assert json.loads(attached.get_content())["drifted_columns"] == columns


@pytest.mark.notebook
def test_a_receiver_that_is_down_leaves_a_dead_letter_and_the_exit_code(drift_run):
    assert drift_run["code"] == 3  # the verdict's code, whatever became of the alerts
    sent = drift_run["summary"]["notifications"]
    assert [d["delivered"] for d in sent] == [True, True, False]
    failed = sent[2]
    assert failed["attempts"] == 4 and "refused" in failed["reason"].lower()
    letters = sorted((drift_run["ws"] / "reports" / "notify-dead-letter").glob("*.json"))
    assert [str(p) for p in letters] == [failed["dead_letter"]]
    letter = json.loads(letters[0].read_text())
    assert letter["reason"] == failed["reason"] and letter["attempts"] == 4
    assert letter["target"].endswith("/hooks/down")
    assert letter["payload"]["status"] == "drift"
    assert letter["payload"]["drifted_columns"] == drift_run["summary"]["drifted_columns"]
    assert "warning: alert not delivered to webhook" in drift_run["stderr"]
    assert failed["dead_letter"] in drift_run["stderr"]


@pytest.mark.notebook
def test_invalid_data_and_a_failed_run_send_their_own_subjects(files, tmp_path, monkeypatch):
    with smtp_server() as (inbox, port), webhook() as (received, url):
        monkeypatch.setenv("WORKBENCH_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("WORKBENCH_SMTP_PORT", str(port))
        invalid = _monitor(tmp_path, files, "no_region.csv", "--notify", "ops@example.org")
        failed = _monitor(tmp_path, files, "none.csv", "--timeout", "1", "--notify", url)
        missing = _monitor(tmp_path, files, "nope.csv", "--notify", "ops@example.org")

    assert invalid[0] == 2 and failed[0] == 1 and missing[0] == 2
    first, second = (m["Subject"] for m in inbox.messages)
    assert first.startswith("[workbench] INVALID DATA data no_region.csv: ") and "region" in first
    assert second.startswith("[workbench] INVALID DATA data nope.csv: ") and "nope.csv" in second
    text = inbox.messages[0].get_body(("plain",)).get_content()
    assert "no drift verdict" in text and "'region'" in text
    [(_, payload)] = received
    assert payload["alert"] == "failed" and payload["exit_code"] == 1
    assert payload["subject"].startswith("[workbench] MONITOR FAILED data none.csv: ")
    assert "timed out" in payload["subject"]
    assert Path(payload["executed_notebook"]).exists()
    assert "alert sent to webhook" in failed[2] and "timed out" in failed[2]


def test_a_webhook_answering_500_twice_is_tried_again_and_delivered(tmp_path):
    summary = {"status": "drift", "model_name": "credit-risk", "model_version": "3"}
    summary["drifted_columns"] = ["income"]
    with webhook(answers=[500, 500]) as (received, url):
        [delivery] = notify(summary, [url], dead_letter_dir=tmp_path)
    assert delivery.delivered and delivery.attempts == 3 and delivery.dead_letter is None
    assert len(received) == 3 and received[0] == received[2]
    assert received[2][1]["subject"] == "[workbench] DRIFT credit-risk v3: income"
    assert not list(tmp_path.iterdir())


def test_a_webhook_refusing_the_alert_is_not_tried_again(tmp_path):
    with webhook(answers=[404]) as (received, url):
        [delivery] = notify(
            {"status": "invalid", "reasons": ["x"]}, [url], dead_letter_dir=tmp_path
        )
    assert not delivery.delivered and delivery.attempts == 1 and len(received) == 1
    assert "HTTP 404" in delivery.reason and Path(delivery.dead_letter).exists()


def test_the_smtp_password_never_reaches_a_dead_letter_or_a_warning(tmp_path, monkeypatch):
    summary = {"status": "drift", "model_name": "credit-risk", "model_version": "3"}
    summary["drifted_columns"] = ["income"]
    monkeypatch.setenv("WORKBENCH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("WORKBENCH_SMTP_USER", "alerts")
    monkeypatch.setenv("WORKBENCH_SMTP_PASSWORD", PASSWORD)
    refuse = {
        "authenticator": lambda *_: AuthResult(success=False, handled=False),
        "auth_require_tls": False,
    }
    with smtp_server(**refuse) as (inbox, port):
        monkeypatch.setenv("WORKBENCH_SMTP_PORT", str(port))
        [refused] = notify(summary, ["ml@example.org"], dead_letter_dir=tmp_path / "a")
    monkeypatch.setenv("WORKBENCH_SMTP_PORT", str(_free_port()))  # nothing listens there
    [down] = notify(summary, ["ml@example.org"], dead_letter_dir=tmp_path / "b", backoff=0.05)

    assert not inbox.messages
    assert not refused.delivered and refused.attempts == 1 and "535" in refused.reason
    assert not down.delivered and down.attempts == 4
    for delivery in (refused, down):
        letter = Path(delivery.dead_letter).read_text()
        assert PASSWORD not in letter and PASSWORD not in delivery.text()
        assert (
            json.loads(letter)["payload"]["subject"] == "[workbench] DRIFT credit-risk v3: income"
        )


def test_a_missing_smtp_host_is_named_in_the_dead_letter(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKBENCH_SMTP_HOST", raising=False)
    monkeypatch.setenv("WORKBENCH_SMTP_PASSWORD", PASSWORD)
    [delivery] = notify(
        {"status": "failed", "error": "boom"}, ["ml@example.org"], dead_letter_dir=tmp_path
    )
    assert not delivery.delivered and delivery.attempts == 1
    assert "WORKBENCH_SMTP_HOST is not set" in delivery.text()
    letter = json.loads(Path(delivery.dead_letter).read_text())
    assert "WORKBENCH_SMTP_HOST" in letter["reason"]
    assert letter["payload"]["subject"].startswith("[workbench] MONITOR FAILED data: boom")
    assert PASSWORD not in json.dumps(letter)


def test_a_webhook_url_with_a_login_sends_it_as_basic_auth_and_shows_it_nowhere(tmp_path):
    seen: list[dict] = []
    with webhook(headers=seen) as (received, url):
        url = url.replace("http://", "http://ml-bot:p%40ss-w0rd@")
        [delivery] = notify(
            {"status": "invalid", "reasons": ["x"]}, [url], dead_letter_dir=tmp_path
        )
    assert delivery.delivered and len(received) == 1
    assert seen[0]["Authorization"] == "Basic " + base64.b64encode(b"ml-bot:p@ss-w0rd").decode()
    assert "p%40ss-w0rd" not in delivery.text() and "ml-bot" not in delivery.text()
