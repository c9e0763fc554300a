"""A challenger tried on real traffic end to end (issue 26's done-when), nothing mocked: champion
and challenger served behind one port on loopback with a 20% split; 2,000 requests of demo data,
labels for half; the arms' shares, sticky customers, the A/B verdict before and after the labels,
and a challenger whose worker dies cut off by the guardrail, the cut logged and alerted."""

from __future__ import annotations

import http.client
import json
import math
import os
import signal
import time
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
import pytest

import workbench as wb
from tests.integration.test_notify import webhook
from tests.integration.test_production_loop import _cli
from workbench.data import credit_risk
from workbench.serving.experiment import cut_record
from workbench.serving.inference_log import read_traffic

pytestmark = [pytest.mark.server]

NAME, N, SPLIT = "ab-credit", 2000, 20.0
DROP = ["default", "application_date"]


def _share_bounds(n: int, p: float = SPLIT / 100) -> tuple[float, float]:
    """A binomial share's bounds at 4 standard deviations (a false alarm 1 time in 15,000)."""
    spread = 4 * math.sqrt(p * (1 - p) / n)
    return p - spread, p + spread


class _Caller:
    """One kept-alive connection to the server; each answer's arm and version."""

    def __init__(self, url: str):
        host, port = url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)

    def post(self, row: pd.DataFrame, request_id: str) -> tuple[int, str, str]:
        split = json.loads(row.to_json(orient="split", index=False))
        body = json.dumps({"dataframe_split": split})
        self.connection.request(
            "POST", "/invocations", body,
            {"Content-Type": "application/json", "X-Request-Id": request_id},
        )  # fmt: skip
        answer = self.connection.getresponse()
        answer.read()
        return (
            answer.status,
            answer.getheader("X-Workbench-Arm"),
            answer.getheader("X-Workbench-Version"),
        )


def _wait_for_rows(folder: Path, count: int, seconds: float = 30) -> pd.DataFrame:
    deadline = time.monotonic() + seconds
    while True:
        found = read_traffic(folder) if folder.exists() else pd.DataFrame()
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_a_challenger_meets_a_share_of_traffic_and_earns_its_verdict(workspace, monkeypatch):
    monkeypatch.setenv("WORKBENCH_LOG_FLUSH_SECONDS", "0.3")
    frame = credit_risk(3000, seed=3).reset_index(drop=True)
    frame.insert(0, "customer_id", range(len(frame)))
    # a champion that learned the labels upside down, and a challenger that learned them right
    inverted = frame.assign(default=1 - frame["default"])
    options = dict(name=NAME, family="logistic_regression", id_columns=["customer_id"])
    champion = wb.train_and_log(inverted, "default", plots=False, **options)
    challenger = wb.train_and_log(frame, "default", plots=False, **options)
    folder = workspace.root / "inference" / NAME
    # 1,500 requests of 375 customers (each comes 4 times), 500 without an id (split by request)
    customers = frame.sample(375, random_state=1)
    with_ids = pd.concat([customers] * 4).sample(frac=1, random_state=2)
    anonymous = frame.drop(index=customers.index).sample(500, random_state=3)
    anonymous = anonymous.drop(columns=["customer_id"])
    plan = [(r, True) for _, r in with_ids.iterrows()] + [
        (r, False) for _, r in anonymous.iterrows()
    ]
    order = pd.Series(range(len(plan))).sample(frac=1, random_state=4).tolist()
    plan = [plan[i] for i in order]
    assert len(plan) == N

    with webhook() as (received, hook):
        with wb.serve(
            champion.model_uri, workers=1, challenger=challenger.model_uri, split=SPLIT,
            notify=[hook],
        ) as server:  # fmt: skip
            assert server.challenger is not None and server.challenger.running
            caller = _Caller(server.url)
            answers = []
            for i, (row, _) in enumerate(plan):
                answers.append(
                    caller.post(row.drop(labels=DROP).to_frame().T.infer_objects(), f"q{i}")
                )
                if i == 49:  # 50 requests in, half of them labelled: too early to tell
                    _wait_for_rows(folder, 50)
                    _label(plan, range(0, 50, 2))
                    early = wb.abtest(NAME, since="1h", record=False)
                    assert early.verdict == "not yet known", early.summary()
            assert {status for status, _, _ in answers} == {200}

            # the shares: within binomial bounds, for customers and for anonymous requests
            arms = [arm for _, arm, _ in answers]
            versions = {arm: {v for _, a, v in answers if a == arm} for arm in set(arms)}
            assert versions == {
                "main": {str(champion.version)},
                "challenger": {str(challenger.version)},
            }
            by_customer = defaultdict(set)
            for (row, has_id), arm in zip(plan, arms, strict=True):
                if has_id:
                    by_customer[int(row["customer_id"])].add(arm)
            assert all(len(seen) == 1 for seen in by_customer.values())  # sticky
            share = sum("challenger" in s for s in by_customer.values()) / len(by_customer)
            low, high = _share_bounds(len(by_customer))
            assert low <= share <= high, share
            loose = [a for (_, has_id), a in zip(plan, arms, strict=True) if not has_id]
            low, high = _share_bounds(len(loose))
            assert low <= loose.count("challenger") / len(loose) <= high

            # labels for half of the requests come back: the challenger is better, and says so
            logged = _wait_for_rows(folder, N)
            assert Counter(logged["arm"]) == Counter(arms)
            _label(plan, range(50, N, 2))
            result = wb.abtest(NAME, since="1h", min_effect=0.05)
            assert result.verdict == "better", result.summary()
            assert result.comparison["lower"] > 0 and result.labelled["challenger"] > 100
            assert result.run_id and result.challenger_version == str(challenger.version)
            code, out, err = _cli(
                "abtest", NAME, "--since", "1h", "--no-record", "--json",
                "--workspace", str(workspace.root),
            )  # fmt: skip
            assert code == 0 and json.loads(out)["verdict"] == "better", err

            # the challenger's worker dies: the guardrail cuts it off, users never see it
            os.killpg(os.getpgid(server.challenger.pid), signal.SIGKILL)
            after = [
                caller.post(row.drop(labels=DROP).to_frame().T.infer_objects(), f"z{i}")
                for i, (row, _) in enumerate(plan[:300])
            ]
            assert {status for status, _, _ in after} == {200}
            assert {arm for _, arm, _ in after[-100:]} == {"main"}
            cut = cut_record(server.experiment_state)
            assert cut is not None and "error rate" in cut["reason"], cut
            events = folder / "_events"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not list(events.glob("guardrail-*.json")):
                time.sleep(0.2)
            [record] = [json.loads(p.read_text()) for p in events.glob("guardrail-*.json")]
            assert record["challenger_version"] == str(challenger.version)
            assert record["alerts"] and record["alerts"][0]["delivered"], record
        [(_, alert)] = received
        assert alert["subject"].startswith(f"[workbench] GUARDRAIL {NAME} v{challenger.version}")
    assert not server.running and not server.challenger.running
    assert wb.abtest(NAME, since="1h", record=False).guardrail  # the cut shows in the verdict


def _label(plan: list, indices) -> None:
    labels = pd.DataFrame(
        {"request_id": [f"q{i}" for i in indices],
         "default": [int(plan[i][0]["default"]) for i in indices]}
    )  # fmt: skip
    wb.feedback(NAME, labels, label_column="default")


def test_the_panel_starts_the_pair_sends_traffic_and_shows_both_arms(workspace):
    from workbench.ui import ABTestPanel

    frame = credit_risk(1500, seed=5)
    champion = wb.train_and_log(frame, "default", name="ab-panel", family="logistic_regression",
                                alias="champion", plots=False)  # fmt: skip
    wb.train_and_log(frame, "default", name="ab-panel", family="logistic_regression",
                     params={"C": 0.1}, plots=False)  # fmt: skip
    panel = ABTestPanel("ab-panel", split=30, data=frame.drop(columns=["default"]).head(50))
    assert panel.send_button.disabled and panel.send_traffic(5) == 0  # nothing started yet
    try:
        server = panel.start()
        assert server is not None and server.challenger is not None, panel.status.value
        assert "answers 30% of requests" in panel.status.value
        assert panel.send_traffic(120) == 120
        _wait_for_rows(workspace.root / "inference" / "ab-panel", 120)
        result = panel.refresh()
        assert result is not None, panel.status.value
        assert result.requests["main"] + result.requests["challenger"] == 120
        assert 10 <= result.requests["challenger"] <= 70  # 30% of 120, loosely
        figures = panel.figures.value
        assert "wb-abtest-arms" in figures and f"v{champion.version}" in figures
        assert "not yet known" in figures  # no labels yet
    finally:
        panel.stop()
    assert not server.running and not server.challenger.running
    assert panel.stop_button.disabled
