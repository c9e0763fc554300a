"""The model server's ``/metrics`` (issue 25, part 4) against a real server with two workers:
what the page counts is what was sent, summed over the workers, in Prometheus' text format.

The workers' own files (prometheus-client's multiprocess folder, read one at a time with its
``MultiProcessCollector.merge``) show that both answered requests; the page, whichever worker
answers it, shows the sum.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

import workbench as wb

pytestmark = pytest.mark.server

ROWS = (1, 3, 7, 2)  # rows per good request, in turn


def _body(trained, n: int, start: int, extra: str | None = None) -> bytes:
    frame = trained.frame.drop(columns=["default", "application_date"]).iloc[start : start + n]
    records = json.loads(frame.to_json(orient="split", index=False))
    if extra:  # a column the model does not know
        records["columns"].append(extra)
        for row in records["data"]:
            row.append(1.0)
    return json.dumps({"dataframe_split": records}).encode()


def _post(url: str, body: bytes) -> tuple[int, dict]:
    """One request on a connection of its own (so the workers share them)."""
    request = urllib.request.Request(
        url + "/invocations", body, {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _page(url: str) -> tuple[str, dict[str, list]]:
    with urllib.request.urlopen(url + "/metrics", timeout=30) as answer:
        assert answer.status == 200
        kind, text = answer.headers["Content-Type"], answer.read().decode()
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return kind, found


def _by(found, name, label) -> dict[str, float]:
    return {s.labels[label]: s.value for s in found.get(name, [])}


def _until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _per_worker_requests(folder: Path) -> dict[int, float]:
    """``{worker pid: requests it answered}``, read from each worker's own counter file."""
    counts = {}
    for file in folder.glob("counter_*.db"):
        metrics = MultiProcessCollector.merge([str(file)])
        counts[int(file.stem.split("_")[1])] = sum(
            s.value
            for m in metrics
            for s in m.samples
            if s.name == "workbench_serving_requests_total"
        )
    return counts


def test_metrics_count_what_was_sent_summed_over_the_workers(trained):
    with wb.serve(trained.linear.model_uri, workers=2, traffic_log=False) as server:
        folder = Path(psutil.Process(server.pid).environ()["PROMETHEUS_MULTIPROC_DIR"])
        # /ping answered: one worker is up; the other may still be loading the model. Each
        # makes its files as it builds the app (after the model loads)
        assert _until(lambda: len(_per_worker_requests(folder)) == 2, 120.0), server.logs(20)
        statuses, reasons, classes = Counter(), Counter(), Counter()
        rows = 0

        def send(bodies: list[bytes]) -> None:
            nonlocal rows
            with ThreadPoolExecutor(4) as pool:
                for status, answer in pool.map(lambda b: _post(server.url, b), bodies):
                    assert status == 200, answer
                    statuses[status] += 1
                    classes.update(str(p) for p in answer["predictions"])
                    rows += len(answer["predictions"])

        sizes = [ROWS[k % len(ROWS)] for k in range(16)]
        send([_body(trained, n, 40 * k) for k, n in enumerate(sizes)])
        assert _until(lambda: sum(_per_worker_requests(folder).values()) == 16)
        answered = _per_worker_requests(folder)
        print(f"requests per worker after the first 16: {answered}")
        if len([n for n in answered.values() if n > 0]) < 2:
            # one worker took every connection (its accept loop is first): pause it a moment,
            # the other one must accept the next ones (well within uvicorn's 5 s health check)
            busiest = psutil.Process(max(answered, key=answered.get))
            busiest.suspend()
            try:
                send([_body(trained, 3, 500), _body(trained, 1, 600)])
            finally:
                busiest.resume()
            assert _until(lambda: sum(_per_worker_requests(folder).values()) == 18)
            answered = _per_worker_requests(folder)
        assert len([n for n in answered.values() if n > 0]) == 2, answered  # both answered

        refused = [_body(trained, 2, 0, extra="not_a_column")] * 3 + [b"{not json"] * 2
        for body in refused:
            status, answer = _post(server.url, body)
            assert status == 400, answer
            statuses[status] += 1
            reasons[answer["error_code"]] += 1
        assert reasons["INVALID_PARAMETER_VALUE"] >= 3 and reasons["BAD_REQUEST"] >= 2, reasons

        total = sum(statuses.values())
        # a worker counts an answer just after sending it: give the last one that moment
        assert _until(lambda: sum(_per_worker_requests(folder).values()) == total)
        for _ in range(4):  # whichever worker answers the page: the same sums
            kind, found = _page(server.url)
            assert kind.startswith("text/plain; version=0.0.4")
            by_status = _by(found, "workbench_serving_requests_total", "status")
            assert by_status == {str(s): n for s, n in statuses.items()}
            assert _by(found, "workbench_serving_refusals_total", "reason") == dict(reasons)
            [count] = found["workbench_serving_request_seconds_count"]
            assert count.value == total
            by_class = _by(found, "workbench_serving_predictions_total", "class")
            assert by_class == dict(classes) and sum(by_class.values()) == rows
            assert found["workbench_serving_rows_total"][0].value == rows
            assert "workbench_serving_predicted_value_bucket" not in found  # a classifier
            for samples in found.values():
                for sample in samples:
                    assert sample.labels["model"] == "credit-risk"
                    assert sample.labels["version"] == server.version == "2"
                    assert sample.labels["arm"] == "main"
        assert sum(_per_worker_requests(folder).values()) == total
    assert not folder.exists()  # the start's folder goes with the server


def test_one_worker_answers_metrics_and_metrics_false_answers_none(trained):
    with wb.serve(trained.linear.model_uri, workers=1, traffic_log=False) as server:
        status, answer = _post(server.url, _body(trained, 4, 0))
        assert status == 200
        status, _ = _post(server.url, b"[1, 2")
        assert status == 400

        def counted() -> bool:
            by_status = _by(_page(server.url)[1], "workbench_serving_requests_total", "status")
            return by_status == {"200": 1, "400": 1}

        assert _until(counted)
        found = _page(server.url)[1]
        assert found["workbench_serving_rows_total"][0].value == 4
        assert sum(_by(found, "workbench_serving_predictions_total", "class").values()) == 4
    with wb.serve(
        trained.linear.model_uri, workers=1, traffic_log=False, metrics=False
    ) as server:  # fmt: skip
        assert "PROMETHEUS_MULTIPROC_DIR" not in psutil.Process(server.pid).environ()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(server.url + "/metrics", timeout=30)
        assert refused.value.code == 404
        assert _post(server.url, _body(trained, 2, 0))[0] == 200
