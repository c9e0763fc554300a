"""The production loop end to end (issue 25's done-when), nothing mocked: the champion is served on
loopback and answers 2,000 requests of demo data whose second half drifts; its /metrics is scraped;
labels come back for half of the requests (the CLI); `workbench monitor --traffic --notify` judges
the traffic and its drift alert reaches a local SMTP server and a local webhook."""

from __future__ import annotations

import contextlib
import io
import json
import os
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

import workbench as wb
from tests.integration.test_notify import smtp_server, webhook
from tests.integration.test_serving_metrics import _by, _page, _until
from tests.integration.test_traffic_loop import _post
from workbench.cli import main
from workbench.data import credit_risk, production_batch

pytestmark = [pytest.mark.server, pytest.mark.notebook]

DROP = ["default", "application_date"]
N = 2000
REQUESTS = "workbench_serving_requests_total"


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*argv])
    return code, out.getvalue(), err.getvalue()


def test_serve_log_feedback_monitor_and_alert(tmp_path, monkeypatch):
    ws = wb.open_workspace(tmp_path / "ws")
    train = credit_risk(3000, seed=1)
    mv = wb.train_and_log(train, "default", name="loop", family="logistic_regression", plots=False)
    wb.promote("loop", mv.version, force=True, reason="the production loop's end-to-end test")
    reference = tmp_path / "reference.csv"
    train.to_csv(reference, index=False)
    traffic = pd.concat(
        [production_batch(1, "none", n=N // 2), production_batch(6, "gradual_shift", n=N // 2)],
        ignore_index=True,
    )  # the drift starts halfway
    monkeypatch.setenv("WORKBENCH_LOG_FLUSH_SECONDS", "0.5")
    with wb.serve("models:/loop@champion", workers=2) as server:
        rows = traffic.drop(columns=DROP)
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(
                lambda i: _post(server.url, rows.iloc[[i]], f"q{i}"), range(N)
            ))  # fmt: skip
        assert all(len(a["predictions"]) == 1 for a in answers) and len(answers) == N
        # an answer is counted just after it is sent: the last ones may land a moment later
        _until(lambda: _by(_page(server.url)[1], REQUESTS, "status").get("200", 0) >= N)
        found = _page(server.url)[1]
    served = _by(found, REQUESTS, "status")
    assert served.get("200") == N, served
    assert all(
        s.labels["model"] == "loop" and s.labels["version"] == str(mv.version)
        for s in found[REQUESTS]
    )
    # labels come back for every other request, through the CLI
    labels = tmp_path / "labels.csv"
    pd.DataFrame(
        {"request_id": [f"q{i}" for i in range(0, N, 2)], "default": traffic["default"].iloc[::2]}
    ).to_csv(labels, index=False)
    code, out, err = _cli("--workspace", str(ws.root), "feedback", "loop", "--data", str(labels),
                          "--json")  # fmt: skip
    assert code == 0, err
    recorded = json.loads(out)
    assert recorded["accepted"] == N // 2 and recorded["unknown"] == 0, recorded
    # the nightly monitor of the traffic: drift, and the alert reaches the mailbox and the webhook
    with smtp_server() as (inbox, port), webhook() as (received, url):
        monkeypatch.setenv("WORKBENCH_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("WORKBENCH_SMTP_PORT", str(port))
        monkeypatch.setenv("WORKBENCH_SMTP_FROM", "workbench@example.org")
        code, out, err = _cli(
            "--workspace", str(ws.root), "monitor", "--reference", str(reference),
            "--traffic", "models:/loop@champion", "--since", "2h", "--target", "default",
            "--fail-on-drift", "--json", "--notify", url, "--notify", "ml-team@example.org",
        )  # fmt: skip
    assert code == 3, err[-3000:]
    summary = json.loads(out)
    assert summary["status"] == "drift" and summary["rows_current"] == N, summary
    assert summary["performance"], summary  # measured on the labelled half
    assert any(f"{N // 2:,} of {N:,} rows" in note for note in summary.get("notes", [])), summary
    subject = f"[workbench] DRIFT loop v{mv.version}: "
    [(_, payload)] = received
    assert payload["subject"].startswith(subject) and payload["alert"] == "drift"
    [message] = inbox.messages
    assert message["Subject"].startswith(subject)
    assert "traffic of models:/loop@champion" in json.dumps(summary.get("data_ids", {}))
    assert os.path.isdir(ws.root / "inference" / "loop")
