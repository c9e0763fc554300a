"""The server's ``/metrics`` in process (``_metrics``): what an :class:`EdgeMetrics` counts of the
answers it is shown, read back through Prometheus' own parser.

No multiprocess folder here: each instance answers its own values. The workers' sum is
tested on files written by two real processes (the last test) and against a real server
(``tests/integration/test_serving_metrics.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from mlflow.types import ColSpec, Schema
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.testclient import TestClient

from workbench.serving._edge import Edge, Served
from workbench.serving._metrics import MAX_CLASSES, OTHER, VALUE_BUCKETS, EdgeMetrics
from workbench.serving.options import EdgeSettings

BASE = {"model": "credit-risk", "version": "3", "arm": "main"}


def _ok(predictions, seconds=0.004, **extra) -> Served:
    answer = json.dumps({"predictions": predictions, **extra}).encode()
    return Served("r", 0.0, seconds, 200, rows=[None] * len(predictions), answer=answer)


def _refused(reason, status=400, seconds=0.001) -> Served:
    return Served("r", 0.0, seconds, status, reason=reason)


def _classified(labels, predictions) -> Served:
    proba = [[0.5] * len(labels) for _ in predictions]
    return _ok(predictions, probabilities=proba, probability_of=labels, labels=labels)


def _samples(metrics: EdgeMetrics) -> dict[str, list]:
    status, body, kind = metrics.page()
    assert status == 200 and kind.startswith(b"text/plain; version=0.0.4")
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def _by(samples, name, label) -> dict[str, float]:
    return {s.labels[label]: s.value for s in samples.get(name, [])}


def test_requests_latency_and_refusals_are_counted_with_the_model_labels():
    metrics = EdgeMetrics("credit-risk", "3", "main")
    for _ in range(3):
        metrics.observe(_classified([0, 1], [0, 1, 1]))
    metrics.observe(_refused("INVALID_PARAMETER_VALUE"))
    metrics.observe(_refused("BAD_REQUEST"))
    metrics.observe(_refused("BAD_REQUEST"))
    metrics.observe(_refused("REQUEST_LIMIT_EXCEEDED", status=413))
    metrics.observe(_refused("TIMEOUT", status=504, seconds=61.0))
    found = _samples(metrics)

    assert _by(found, "workbench_serving_requests_total", "status") == {
        "200": 3, "400": 3, "413": 1, "504": 1,
    }  # fmt: skip
    assert _by(found, "workbench_serving_refusals_total", "reason") == {
        "INVALID_PARAMETER_VALUE": 1, "BAD_REQUEST": 2, "REQUEST_LIMIT_EXCEEDED": 1, "TIMEOUT": 1,
    }  # fmt: skip
    assert _by(found, "workbench_serving_predictions_total", "class") == {"0": 3, "1": 6}
    assert found["workbench_serving_rows_total"][0].value == 9
    [count] = found["workbench_serving_request_seconds_count"]
    assert count.value == 8
    buckets = {s.labels["le"]: s.value for s in found["workbench_serving_request_seconds_bucket"]}
    assert buckets["0.001"] == 4 and buckets["0.005"] == 7 and buckets["60.0"] == 7
    assert buckets["+Inf"] == 8  # the 61 s timeout
    for samples in found.values():
        for sample in samples:
            assert {k: sample.labels[k] for k in BASE} == BASE


def test_classes_are_capped_and_the_answers_labels_come_first():
    metrics = EdgeMetrics("m", "1", "challenger")
    labels = [f"c{i}" for i in range(MAX_CLASSES + 10)]
    metrics.observe(_classified(labels, ["c59", "c0", "c59", "zz"]))  # c59: a class past the cap
    by_class = _by(_samples(metrics), "workbench_serving_predictions_total", "class")
    assert by_class == {"c0": 1, OTHER: 3}
    assert len(metrics._classes) == MAX_CLASSES  # noqa: SLF001 - the cap itself

    free = EdgeMetrics("m", "1", "main")  # no labels in the answers: first come, first kept
    for i in range(MAX_CLASSES + 5):
        free.observe(_ok([f"k{i}", f"k{i}"]))
    by_class = _by(_samples(free), "workbench_serving_predictions_total", "class")
    assert len(by_class) == MAX_CLASSES + 1 and by_class[OTHER] == 10
    assert sum(by_class.values()) == 2 * (MAX_CLASSES + 5)


def test_booleans_text_and_integers_are_classes_floats_are_values():
    metrics = EdgeMetrics("m", "1", "main")
    metrics.observe(_ok([True, False, True]))
    metrics.observe(_ok(["yes", "no"]))
    metrics.observe(_ok([2, 2]))
    found = _samples(metrics)
    assert _by(found, "workbench_serving_predictions_total", "class") == {
        "True": 2, "False": 1, "yes": 1, "no": 1, "2": 2,
    }  # fmt: skip
    assert "workbench_serving_predicted_value_count" not in found  # no empty histogram

    regressor = EdgeMetrics("house-price", "2", "main")
    regressor.observe(_ok([0.5, 2.0, 250.0, -4.0, float("nan")]))
    regressor.observe(_ok([1500000.0]))
    found = _samples(regressor)
    assert "workbench_serving_predictions_total" not in found
    assert found["workbench_serving_rows_total"][0].value == 6
    assert found["workbench_serving_predicted_value_count"][0].value == 5  # NaN: not a value
    # a histogram with negative buckets has no _sum in one process (prometheus-client's rule);
    # the workers' summed page has one
    assert "workbench_serving_predicted_value_sum" not in found
    buckets = {s.labels["le"]: s.value for s in found["workbench_serving_predicted_value_bucket"]}
    assert buckets["-3.0"] == 1 and buckets["1.0"] == 2 and buckets["300.0"] == 4
    assert buckets["1e+06"] == 4 and buckets["+Inf"] == 5


def test_the_bulk_histogram_equals_prometheus_own_observe():
    """The regressor's values are put in their buckets once per request, through
    prometheus-client's internals: the result must be what its ``observe`` gives."""
    values = [-2e6, -1.0, -0.01, 0.0, 0.0, 0.005, 0.01, 0.3, 0.31, 7.0, 1e6, 2e6, float("inf")]
    metrics = EdgeMetrics("m", "1", "main")
    metrics.observe(_ok(values))
    reference = CollectorRegistry()
    own = Histogram("workbench_serving_predicted_value", "x", registry=reference,
                    buckets=VALUE_BUCKETS)  # fmt: skip
    for value in values:
        own.observe(value)
    mine = {
        (s.name, s.labels.get("le")): s.value
        for s in metrics.registry.collect()
        if s.name == "workbench_serving_predicted_value"
        for s in s.samples
        if not s.name.endswith("_created")
    }
    theirs = {
        (s.name, s.labels.get("le")): s.value
        for f in reference.collect()
        for s in f.samples
        if not s.name.endswith("_created")
    }
    assert mine == theirs


def test_odd_answers_never_fail_and_odd_reasons_are_bounded():
    metrics = EdgeMetrics("m", "1", "main")
    metrics.observe(_ok([{"a": 1}, {"a": 2}]))  # several outputs per row: rows only
    metrics.observe(Served("r", 0.0, 0.01, 200, answer=b'{"something": "else"}'))
    metrics.observe(_refused(None))
    metrics.observe(_refused("lower case / odd <code>"))
    for i in range(30):
        metrics.observe(_refused(f"CODE_{i}"))
    found = _samples(metrics)
    assert found["workbench_serving_rows_total"][0].value == 2
    assert "workbench_serving_predictions_total" not in found
    reasons = _by(found, "workbench_serving_refusals_total", "reason")
    assert reasons["UNKNOWN"] == 1 and len(reasons) == 21 and reasons[OTHER] == 12
    assert sum(reasons.values()) == 32


def test_two_instances_in_one_process_keep_their_own_counts():
    first, second = EdgeMetrics("m", "1", "main"), EdgeMetrics("m", "1", "main")
    first.observe(_ok([1]))
    for _ in range(3):
        second.observe(_ok([1]))
    assert _by(_samples(first), "workbench_serving_requests_total", "status") == {"200": 1}
    assert _by(_samples(second), "workbench_serving_requests_total", "status") == {"200": 3}


def test_the_edge_answers_get_metrics_and_counts_its_invocations():
    metrics = EdgeMetrics("m", "1", "main")
    edge = Edge(
        Starlette(), lambda frame: json.dumps({"predictions": [1] * len(frame)}).encode(),
        Schema([ColSpec("double", "x")]), EdgeSettings(), None, timeout=5, observers=[metrics],
    )  # fmt: skip
    client = TestClient(edge, base_url="http://127.0.0.1")
    body = {"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.0]]}}
    assert client.post("/invocations", json=body).status_code == 200
    assert client.post("/invocations", content=b"{not json", headers={
        "Content-Type": "application/json"}).status_code == 400  # fmt: skip
    page = client.get("/metrics")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    found = {s.name: s for f in text_string_to_metric_families(page.text) for s in f.samples
             if s.name == "workbench_serving_requests_total" and s.labels["status"] == "200"}  # fmt: skip
    assert found["workbench_serving_requests_total"].value == 1
    assert client.post("/metrics").status_code != 200  # GET only


_WORKER = """
import json, sys
from workbench.serving._edge import Served
from workbench.serving._metrics import EdgeMetrics
metrics = EdgeMetrics("m", "7", "main")
for i in range(int(sys.argv[1])):
    answer = json.dumps({"predictions": [0, 1, 1], "labels": [0, 1]}).encode()
    metrics.observe(Served("r", 0.0, 0.002, 200, answer=answer))
metrics.observe(Served("r", 0.0, 0.001, 400, reason="BAD_REQUEST"))
if len(sys.argv) > 2:
    sys.stdout.write(metrics.page()[1].decode())
"""


def test_the_page_sums_every_workers_files(tmp_path):
    """prometheus-client's multiprocess mode: two processes count, a third answers the sum."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    script = textwrap.dedent(_WORKER)
    workers = [subprocess.Popen([sys.executable, "-c", script, str(n)], env=env) for n in (4, 6)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]
    page = subprocess.run([sys.executable, "-c", script, "0", "page"], env=env, check=True,
                          timeout=120, capture_output=True, text=True).stdout  # fmt: skip
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    assert len(list(tmp_path.glob("*.db"))) >= 3
    assert _by(found, "workbench_serving_requests_total", "status") == {"200": 10, "400": 3}
    assert _by(found, "workbench_serving_predictions_total", "class") == {"0": 10, "1": 20}
    assert found["workbench_serving_request_seconds_count"][0].value == 13
    assert found["workbench_serving_requests_total"][0].labels["version"] == "7"
