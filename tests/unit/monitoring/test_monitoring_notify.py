"""The words of an alert: one subject per outcome, naming the model, its version, the drifted
columns and where the report is; who gets an alert, and what a target may be."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from workbench._core.notify import alert_kind, body, check_targets, notify, subject
from workbench.errors import UsageError

DRIFT = {
    "status": "drift",
    "model_name": "credit-risk",
    "model_version": "3",
    "model_uri": "models:/credit-risk@champion",
    "drifted_columns": ["income", "loan_amount"],
    "columns": [{"column": c} for c in ("age", "income", "loan_amount", "region")],
    "report_path": "/srv/wb/reports/monitoring/20261122T021500Z/report.html",
    "report_folder": "/srv/wb/reports/monitoring/20261122T021500Z",
    "run_url": "http://127.0.0.1:5000/#/experiments/1/runs/abc",
    "exit_code": 3,
    "retrain": {"requested": False, "reason": "drift in 1 of the last 3 runs"},
}


def test_each_outcome_has_its_own_subject():
    invalid = DRIFT | {"status": "invalid", "drifted_columns": [], "exit_code": 2}
    invalid["reasons"] = ["column 'region' is missing from the current batch"]
    failed = DRIFT | {"status": "failed", "exit_code": 1, "error": "cell 7 timed out after 1 s"}
    retrain = DRIFT | {"retrain": {"requested": True, "reason": "drift in 2 of the last 3 runs"}}
    ok = DRIFT | {"status": "ok", "drifted_columns": [], "exit_code": 0}
    assert subject(DRIFT) == "[workbench] DRIFT credit-risk v3: income, loan_amount"
    assert subject(invalid) == (
        "[workbench] INVALID DATA credit-risk v3: column 'region' is missing from the current batch"
    )
    assert (
        subject(failed) == "[workbench] MONITOR FAILED credit-risk v3: cell 7 timed out after 1 s"
    )
    assert subject(retrain) == "[workbench] RETRAIN REQUESTED credit-risk v3: income, loan_amount"
    assert subject(ok) == "[workbench] OK credit-risk v3: no drift"
    kinds = [alert_kind(s) for s in (DRIFT, invalid, failed, retrain, ok)]
    assert kinds == ["drift", "invalid", "failed", "retrain", "ok"]


def test_the_body_names_the_model_the_columns_and_the_links():
    text = body(DRIFT)
    assert text.startswith("Drift in 2 of 4 tested columns.")
    for line in (
        "model: credit-risk v3",
        "model URI: models:/credit-risk@champion",
        "drifted columns: income, loan_amount",
        f"report: {DRIFT['report_path']}",
        f"report folder: {DRIFT['report_folder']}",
        f"MLflow run: {DRIFT['run_url']}",
        "exit code: 3",
    ):
        assert line in text.splitlines()
    retrain = body(DRIFT | {"retrain": {"requested": True, "reason": "drift in 2 of 3 runs"}})
    assert "retraining is requested" in retrain and "retrain: drift in 2 of 3 runs" in retrain


def test_a_failed_run_without_a_verdict_names_the_model_from_its_uri():
    failed = {"status": "failed", "exit_code": 1, "error": "the kernel died\nTraceback ..."}
    assert subject(failed | {"model_uri": "models:/credit-risk@champion"}) == (
        "[workbench] MONITOR FAILED credit-risk @champion: the kernel died Traceback ..."
    )
    assert subject(failed | {"model_uri": "models:/credit-risk/7"}).startswith(
        "[workbench] MONITOR FAILED credit-risk v7: "
    )
    assert subject(failed | {"model_uri": "models:/credit-risk"}).startswith(
        "[workbench] MONITOR FAILED credit-risk: "
    )
    assert subject(failed | {"current": "/data/batch-2026-11-22.csv"}).startswith(
        "[workbench] MONITOR FAILED data batch-2026-11-22.csv: "
    )


def test_a_subject_is_one_bounded_line_whatever_the_column_names():
    columns = [f"col\n{i}\r\nBcc: x@evil.example" for i in range(10)]
    text = subject(DRIFT | {"drifted_columns": columns})
    assert "\n" not in text and "\r" not in text and len(text) <= 200
    short = subject(DRIFT | {"drifted_columns": [f"c{i}" for i in range(9)]})
    assert short.endswith("c0, c1, c2, c3, c4, c5 (+3 more)")


def test_a_clean_run_alerts_nobody_unless_asked(tmp_path):
    ok = DRIFT | {"status": "ok", "drifted_columns": []}
    assert notify(ok, ["not a target"], dead_letter_dir=tmp_path) == []
    [sent] = notify(ok, ["not a target"], dead_letter_dir=tmp_path, always=True)
    assert sent.subject == "[workbench] OK credit-risk v3: no drift" and not sent.delivered
    assert json.loads(Path(sent.dead_letter).read_text())["payload"]["status"] == "ok"


def test_targets_are_urls_or_addresses():
    good = ["https://hooks.example.org/x", "http://127.0.0.1:8080/", "ml@example.org"]
    good += ["mailto:ml@example.org", "mailto:a@example.org,b@example.org", "root@localhost"]
    assert check_targets(good) == good
    for bad in ("ftp://example.org", "ml-team", "mailto:", "ml team@example.org", "https://"):
        with pytest.raises(UsageError, match="--notify"):
            check_targets([bad])


def test_the_console_never_shows_a_webhook_secret(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens there
    url = f"http://bot:hunter22@127.0.0.1:{port}/services/T000/SECRETTOKEN?key=k3y"
    [sent] = notify(DRIFT, [url], dead_letter_dir=tmp_path, tries=1)
    assert sent.target == f"http://127.0.0.1:{port}/services/…"
    assert "SECRETTOKEN" not in sent.text() and "hunter22" not in sent.text()
    letter = json.loads(Path(sent.dead_letter).read_text())
    assert letter["target"] == f"http://bot:***@127.0.0.1:{port}/services/T000/SECRETTOKEN?key=k3y"
    assert "hunter22" not in json.dumps(letter)
