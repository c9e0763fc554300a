"""Stage 3 against the real server: predictions, bad requests, load, stopping, failures, compare.

One server (the logistic regression, version 2 of the session's ``credit-risk``) is started for the
module; tests that stop or break a server start their own.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

import workbench as wb
from workbench.serving import decode_predictions, encode_frame, in_process_predict

pytestmark = pytest.mark.server


def _features(trained, n=60):
    frame = trained.frame.drop(columns=["default", "application_date"]).head(n).copy()
    frame.loc[frame.index[:5], "income"] = np.nan  # the pipeline imputes: served must match
    return frame


@pytest.fixture(scope="module")
def server(_trained_session):
    wb.open_workspace(_trained_session.ws.root)
    with wb.serve("models:/credit-risk@challenger", workers=1) as srv:
        yield srv


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_served_predictions_equal_in_process_predictions(server, trained):
    assert server.version == "2" and server.launch_seconds > 0
    x = server.validate(_features(trained))
    served = server.predict(x)
    np.testing.assert_array_equal(served, in_process_predict(trained.linear.model_uri, x))
    assert server.health()["ok"] is True
    assert "Uvicorn running" in server.logs() or "Application startup complete" in server.logs()


@pytest.mark.parametrize(
    "case, error, names",
    [
        ("missing column", wb.MissingColumnError, "income"),
        ("extra column", wb.SchemaMismatchError, "incme"),
        ("text in a number column", wb.SchemaMismatchError, "loan_amount"),
        ("boolean in a number column", wb.SchemaMismatchError, "age"),
        ("infinite value", wb.SchemaMismatchError, "loan_amount"),
        ("empty frame", wb.DataError, "no rows"),
    ],
)
def test_bad_frames_are_refused_on_the_client_naming_the_column(
    server, trained, case, error, names
):
    x = _features(trained, 3)
    if case == "missing column":
        x = x.drop(columns="income")
    elif case == "extra column":
        x = x.assign(incme=1.0)
    elif case == "text in a number column":
        x = x.astype({"loan_amount": object})
        x.loc[x.index[0], "loan_amount"] = "lots"
    elif case == "boolean in a number column":
        x["age"] = True
    elif case == "infinite value":
        x.loc[x.index[1], "loan_amount"] = np.inf
    elif case == "empty frame":
        x = x.iloc[:0]
    with pytest.raises(error, match=names):
        server.predict(x)


@pytest.mark.parametrize(
    "case, fragment",
    [
        ("missing column", "income"),
        ("text in a number column", "loan_amount"),
        ("empty frame", ""),
        ("malformed JSON", "JSON"),
    ],
)
def test_bad_requests_get_4xx_without_stack_trace_and_the_server_keeps_serving(
    server, trained, case, fragment
):
    x = _features(trained, 2)
    if case == "missing column":
        body = encode_frame(x.drop(columns="income"))
    elif case == "text in a number column":
        body = encode_frame(x.astype({"loan_amount": object}).assign(loan_amount="lots"))
    elif case == "empty frame":
        body = encode_frame(x.iloc[:0])
    else:
        body = b'{"dataframe_split": {"columns": ['
    status, raw = server.post(body)
    assert 400 <= status < 500, raw[:300]
    with pytest.raises(wb.ServerRequestError) as info:
        decode_predictions(status, raw)
    assert info.value.status_code == status
    assert fragment in str(info.value)
    assert "Traceback" not in str(info.value) and "stack_trace" not in str(info.value)
    assert server.predict(x).shape == (2,)  # still serving


def test_connect_attaches_a_client_and_never_stops_the_server(server, trained):
    other = wb.ModelServer.connect(server.url, model_uri="models:/credit-risk@challenger")
    x = _features(trained, 4)
    np.testing.assert_array_equal(other.predict(x), server.predict(x))
    assert other.stop() is None and server.running
    with pytest.raises(wb.MissingColumnError, match="income"):
        other.predict(x.drop(columns="income"))


def test_curl_line_sends_the_same_request(server, trained):
    x = _features(trained, 6).iloc[5:6]
    line = server.curl(x)
    assert line.startswith(f"curl -s -X POST {server.url}/invocations")
    out = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=30)
    assert json.loads(out.stdout)["predictions"] == server.predict(x).tolist()


def test_bounded_load_test_reports_latency_against_the_in_process_floor(server, trained, tmp_path):
    steps = []
    result = wb.load_test(
        server,
        _features(trained, 50),
        requests=150,
        concurrency=2,
        max_seconds=60,
        progress=lambda step, done: steps.append(done),
    )
    assert result.completed == 150 and result.errors == 0
    assert 0 < result.p50_ms <= result.p95_ms <= result.p99_ms <= result.max_ms
    assert result.rps > 0 and result.in_process_p50_ms > 0
    assert steps[-1] == 1.0
    assert len(result.plot().axes[0].patches) > 0
    saved = json.loads(result.save(tmp_path).read_text())
    assert saved["completed"] == 150 and len(saved["latencies_ms"]) == 150
    assert "Load test" in result._repr_html_()
    capped = wb.load_test(server, _features(trained, 5), requests=100_000, max_seconds=0.5)
    assert capped.stopped_early and capped.completed < 100_000
    with pytest.raises(wb.ServingError, match="loopback"):
        wb.load_test(wb.ModelServer(None), _features(trained, 5))


def test_stop_mid_load_finishes_in_flight_requests_frees_the_port_and_leaves_no_process(
    trained,
):
    server = wb.serve(trained.linear.model_uri, workers=2)
    pids = [p.pid for p in psutil.Process(server.pid).children(recursive=True)] + [server.pid]
    assert len(pids) >= 3  # the launcher and its two workers
    rows = trained.frame.drop(columns=["default", "application_date"])
    rows = rows.sample(30_000, replace=True, random_state=0)
    body = encode_frame(rows)  # encoded before: on a busy machine that alone can take seconds
    answer = {}
    sent = threading.Event()

    def slow_request():
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("POST", "/invocations", body, {"Content-Type": "application/json"})
        sent.set()  # the whole body is on its way: the request is in flight
        reply = conn.getresponse()
        answer["preds"] = decode_predictions(reply.status, reply.read())

    under_load = threading.Event()

    def progress(step, done):
        if done > 0.004:
            under_load.set()

    def hammer():
        answer["load"] = wb.load_test(
            server, _features(trained), requests=5000, max_seconds=30, progress=progress,
            floor_samples=0,
        )  # fmt: skip

    load = threading.Thread(target=hammer)
    request = threading.Thread(target=slow_request)
    load.start()
    assert under_load.wait(30)
    request.start()
    assert sent.wait(60)
    time.sleep(0.5)  # the big request is being parsed and predicted now
    started = time.monotonic()
    code = server.stop()
    request.join(60)
    load.join(60)
    assert len(answer["preds"]) == 30_000  # the in-flight request finished
    assert answer["load"].completed > 0
    assert code in (0, -signal.SIGTERM)
    assert time.monotonic() - started < 20
    deadline = time.monotonic() + 5
    while not (_port_free(server.port) and all(_gone(p) for p in pids)):
        assert time.monotonic() < deadline, "port or processes still there 5 s after stop"
        time.sleep(0.1)


def test_unknown_model_fails_fast_without_starting_anything(trained):
    started = time.monotonic()
    with pytest.raises(wb.ModelNotFoundError, match="credit-risk/99") as info:
        wb.serve("models:/credit-risk/99")
    assert info.value.exit_code == 2  # as in promote and everywhere
    assert time.monotonic() - started < 10


def test_a_model_that_dies_at_start_fails_with_the_tail_of_its_log(trained, tmp_path):
    import mlflow

    local = Path(mlflow.artifacts.download_artifacts(trained.linear.model_uri, dst_path=tmp_path))
    mlmodel = (local / "MLmodel").read_text()
    (local / "MLmodel").write_text(mlmodel.replace("loader_module: mlflow.sklearn",
                                                   "loader_module: no_such_loader"))  # fmt: skip
    with pytest.raises(wb.UnsafeModelError, match="no_such_loader"):  # a foreign loader: refused
        wb.serve(str(local), workers=1)
    started = time.monotonic()
    with pytest.raises(wb.ServingError) as info:  # allowed: MLflow's own loader, which dies
        wb.serve(str(local), workers=1, allow_pickle=True)
    message = str(info.value)
    assert "exited at start" in message and "Last lines of its log" in message
    assert "no_such_loader" in message.split("Last lines of its log")[1]  # the cause, from the log
    assert time.monotonic() - started < 60


def test_a_model_file_that_cannot_be_audited_is_refused_before_anything_starts(trained, tmp_path):
    import mlflow

    local = Path(mlflow.artifacts.download_artifacts(trained.linear.model_uri, dst_path=tmp_path))
    (local / "model.skops").write_bytes(b"not a model")
    started = time.monotonic()
    with pytest.raises(wb.UnsafeModelError, match="cannot be audited"):
        wb.serve(str(local), workers=1)
    assert time.monotonic() - started < 10


def test_busy_port_is_refused_with_advice(server):
    with pytest.raises(wb.ServingError, match=f"port {server.port}.*in use"):
        wb.serve("models:/credit-risk@challenger", port=server.port)


def test_champion_vs_challenger_reports_disagreement_and_latency_side_by_side(trained, tmp_path):
    result = wb.compare_servers(
        "credit-risk", trained.frame.head(40), aliases=("1", "challenger"), rows=40
    )
    assert result.versions == ("1", "2") and result.rows == 40
    assert 0.0 <= result.disagreement <= 1.0
    assert set(result.latency) == {"1", "challenger"}
    assert all(v["p50_ms"] > 0 for v in result.latency.values())
    table = result.table()
    assert list(table.columns) == ["v1", "@challenger"]
    assert "disagree" in result._repr_html_()
    assert json.loads(result.save(tmp_path).read_text())["rows"] == 40
    with pytest.raises(wb.ModelNotFoundError, match="champion"):
        wb.compare_servers("credit-risk", trained.frame.head(5), rows=5)


def test_serving_smoke_check_passes_for_a_sound_version(trained):
    from workbench.checks import ServingSmokeCheck

    data = trained.frame.drop(columns="application_date").head(200)
    report = wb.run_checks(
        trained.linear.model_uri,
        data=data,
        target="default",
        suite=[ServingSmokeCheck(rows=10)],
        progress=False,
        log=False,
    )
    result = report["serving_smoke"]
    assert result.status == "pass", result.detail
    assert list(result.table["got"])[1:4] == ["400", "400", "400"]


# --------------------------------------------------------------------------- probabilities


def _in_process_proba(model_uri, x):
    from workbench.serving import in_process_model

    return in_process_model(model_uri).get_raw_model().predict_proba(x)


def test_raw_json_csv_and_curl_requests_get_the_positive_class_probability(server, trained):
    x = server.validate(_features(trained, 25))
    expected = _in_process_proba(trained.linear.model_uri, x)
    labels = in_process_predict(trained.linear.model_uri, x)
    csv = x.to_csv(index=False).encode()
    answers = [server.post(encode_frame(x)), server.post(csv, content_type="text/csv")]
    for status, raw in answers:
        assert status == 200, raw[:300]
        payload = json.loads(raw)
        assert payload["labels"] == [0, 1] and payload["positive_label"] == 1
        assert payload["predictions"] == labels.tolist()
        probs = np.asarray(payload["probabilities"])
        assert probs.shape == (25,)
        np.testing.assert_allclose(probs, expected[:, 1], rtol=0, atol=1e-12)
        np.testing.assert_allclose(probs + expected[:, 0], 1.0, rtol=0, atol=1e-12)
    out = subprocess.run(["bash", "-c", server.curl(x.head(2))], capture_output=True, text=True)
    np.testing.assert_allclose(json.loads(out.stdout)["probabilities"], expected[:2, 1], atol=1e-12)
    # the answer names the class of its probabilities; the label column may come along, ignored
    status, raw = server.post(encode_frame(x.assign(default=1)))
    assert status == 200, raw[:300]
    payload = json.loads(raw)
    assert payload["probability_of"] == 1 and payload["predictions"] == labels.tolist()


def test_predict_proba_gives_labels_and_the_contracts_probability_columns(server, trained):
    x = _features(trained, 8)
    x.index = range(100, 108)
    table = server.predict_proba(x)
    contract = wb.model_contract(trained.linear.model_uri)
    assert table.columns.tolist() == ["prediction", *contract.probability_columns()]
    assert table.index.tolist() == list(range(100, 108))
    np.testing.assert_array_equal(table["prediction"], server.predict(x))  # predict: labels still
    expected = _in_process_proba(trained.linear.model_uri, server.validate(x))[:, 1]
    np.testing.assert_allclose(table["proba_1"], expected, atol=1e-12)
    assert server.contract.positive_label == 1


@pytest.fixture(scope="module")
def iris_uri(_trained_session):
    from sklearn.datasets import load_iris

    wb.open_workspace(_trained_session.ws.root)
    data = load_iris(as_frame=True)
    frame = data.frame.drop(columns="target")
    frame["species"] = np.asarray(data.target_names, dtype=object)[data.target]
    version = wb.train_and_log(frame, "species", name="iris-serving", family="logistic_regression")
    return version.model_uri, frame.drop(columns="species")


def test_a_multiclass_string_label_model_answers_each_class_in_the_contracts_order(iris_uri):
    uri, x = iris_uri
    contract = wb.model_contract(uri)
    assert contract.labels == ["setosa", "versicolor", "virginica"]
    rows = x.iloc[[0, 60, 120, 75, 140]]
    with wb.serve(uri, workers=1) as srv:
        status, raw = srv.post(encode_frame(srv.validate(rows)))
        table = srv.predict_proba(rows)
    payload = json.loads(raw)
    assert status == 200 and payload["labels"] == contract.labels
    assert payload["positive_label"] is None
    expected = _in_process_proba(uri, rows)
    np.testing.assert_allclose(payload["probabilities"], expected, atol=1e-12)
    np.testing.assert_allclose(np.sum(payload["probabilities"], axis=1), 1.0, atol=1e-12)
    assert payload["predictions"] == in_process_predict(uri, rows).tolist()
    assert set(payload["predictions"]) == {"setosa", "versicolor", "virginica"}
    assert table.columns.tolist() == ["prediction", *contract.probability_columns()]
    assert table.columns.tolist()[1:] == ["proba_setosa", "proba_versicolor", "proba_virginica"]


def test_a_regressor_answers_as_before_and_has_no_probabilities(trained):
    from workbench.data import diabetes

    frame = diabetes()
    version = wb.train_and_log(frame, "target", name="diabetes-serving", family="linear_regression")
    x = frame.drop(columns="target").head(5)
    with wb.serve(version.model_uri, workers=1) as srv:
        status, raw = srv.post(encode_frame(srv.validate(x)))
        with pytest.raises(wb.ServingError, match="without probabilities"):
            srv.predict_proba(x)
    payload = json.loads(raw)
    assert status == 200 and set(payload) == {"predictions"}
    np.testing.assert_allclose(payload["predictions"], in_process_predict(version.model_uri, x))


def test_plain_mlflow_serving_stays_plain(trained):
    x = _features(trained, 3)
    with wb.serve(trained.linear.model_uri, workers=1, gc_tuned=False) as plain:
        status, raw = plain.post(encode_frame(plain.validate(x)))
        with pytest.raises(wb.ServingError, match="plain `mlflow models serve`"):
            plain.predict_proba(x)
    assert status == 200 and set(json.loads(raw)) == {"predictions"}


# --------------------------------------------------------------------------- the edge, on our model


def _raw(server, body, content_type="application/json", headers=None):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("POST", "/invocations", body=body,
                     headers={"Content-Type": content_type, **(headers or {})})  # fmt: skip
        answer = conn.getresponse()
        return answer.status, answer.read().decode()
    finally:
        conn.close()


def _one_row(server, trained, **changes):
    payload = json.loads(encode_frame(server.validate(_features(trained, 1))))
    split = payload["dataframe_split"]
    row = dict(zip(split["columns"], split["data"][0]), **changes)
    return json.dumps({"dataframe_split": {"columns": list(row), "data": [list(row.values())]}})


@pytest.mark.parametrize(
    "case, change, column",
    [
        ("quoted number", {"age": "30"}, "age"),
        ("true in a number column", {"age": True}, "age"),
        ("null where the signature requires a value", {"loan_amount": None}, "loan_amount"),
        ("extra column", {"incme": 1.0}, "incme"),
        ("number in a text column", {"region": 3}, "region"),
    ],
)
def test_raw_requests_the_client_would_refuse_are_refused_at_the_edge(
    server, trained, case, change, column
):
    status, body = _raw(server, _one_row(server, trained, **change))
    assert status == 400, body
    answer = json.loads(body)
    assert set(answer) == {"error_code", "message"} and f"'{column}'" in answer["message"]
    assert "Traceback" not in body and 'File "' not in body and "site-packages" not in body
    status, body = _raw(server, _one_row(server, trained, income=None))  # optional: accepted
    assert status == 200, body


def test_foreign_hosts_and_origins_get_nothing(server, trained):
    good = _one_row(server, trained)
    assert _raw(server, good)[0] == 200
    assert _raw(server, good, headers={"Host": "evil.example"})[0] == 421
    csv = server.validate(_features(trained, 2)).to_csv(index=False).encode()
    assert _raw(server, csv, "text/csv")[0] == 200
    assert _raw(server, csv, "text/csv", {"Origin": "http://evil.example"})[0] == 403


# --------------------------------------------------------------------------- the server's life


def test_two_serves_on_one_port_at_once_cannot_both_report_ready(trained):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    first = wb.ModelServer(trained.linear.model_uri, port=port, workers=1)
    second = wb.ModelServer(trained.forest.model_uri, port=port, workers=1)
    outcomes = {}
    try:
        first.launch()
        second.launch()  # both checked the port before either bound it

        def wait(name, srv):
            try:
                srv.wait_until_ready()
                outcomes[name] = "ready"
            except wb.ServingError as err:
                outcomes[name] = str(err)

        threads = [threading.Thread(target=wait, args=x) for x in (("1", first), ("2", second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        ready = [name for name, outcome in outcomes.items() if outcome == "ready"]
        assert len(ready) == 1, outcomes
        loser = outcomes["2" if ready == ["1"] else "1"]
        assert str(port) in loser, loser
        winner = first if ready == ["1"] else second
        assert winner.predict(_features(trained, 2)).shape == (2,)
    finally:
        first.stop()
        second.stop()


def test_kill_9_of_the_supervisor_leaves_no_worker_serving(trained):
    from workbench.serving.client import HttpClient

    server = wb.serve(trained.linear.model_uri, workers=2)
    try:
        family = [p.pid for p in psutil.Process(server.pid).children(recursive=True)]
        assert len(family) >= 2
        os.kill(server.pid, signal.SIGKILL)
        time.sleep(0.5)
        orphans_serving = HttpClient(server.url).pings()  # workers outlive their supervisor
    finally:
        server.stop(grace=5)
    deadline = time.monotonic() + 10
    while not (all(_gone(p) for p in family) and _port_free(server.port)):
        assert time.monotonic() < deadline, f"left behind: {[p for p in family if not _gone(p)]}"
        time.sleep(0.1)
    assert orphans_serving and not HttpClient(server.url).pings()


def test_a_restart_on_a_port_a_kept_alive_client_still_holds_works_at_once(trained):
    from workbench.serving.client import HttpClient

    first = wb.serve(trained.linear.model_uri, port=0, workers=1)
    assert first.port and first.url.endswith(f":{first.port}")  # 0 means "pick one", reported
    outside = HttpClient(first.url)
    status, _ = outside.request("POST", "/invocations", 30, encode_frame(
        first.validate(_features(trained, 1))), {"Content-Type": "application/json"})  # fmt: skip
    assert status == 200  # the outside client keeps this connection open
    try:
        first.stop()
        started = time.monotonic()
        with wb.serve(trained.linear.model_uri, port=first.port, workers=1) as second:
            assert second.port == first.port
            assert second.predict(_features(trained, 2)).shape == (2,)
        assert time.monotonic() - started < 60  # no wait for the old connection to time out
    finally:
        outside.close()


# --------------------------------------------------------------------------- unsafe models


@pytest.fixture
def hostile(trained, tmp_path, monkeypatch):
    """A pickled classifier logged with plain MLflow (see ``pickled_models``)."""
    from tests.integration.pickled_models import MARKER_ENV, log_pickled

    marker = tmp_path / "payload-ran"
    monkeypatch.setenv(MARKER_ENV, str(marker))
    uri = log_pickled("hostile-serving", ["loan_amount", "income"])
    assert not marker.exists()
    return uri, marker


def test_serve_refuses_a_pickled_model_before_a_byte_is_unpickled(hostile):
    uri, marker = hostile
    started = time.monotonic()
    with pytest.raises(wb.UnsafeModelError, match="saved as pickle") as info:
        wb.serve(uri, workers=1)
    assert info.value.exit_code == 2 and not marker.exists()
    assert time.monotonic() - started < 20
    with pytest.raises(wb.UnsafeModelError):
        wb.serving.in_process_model(uri)
    assert not marker.exists()


def test_the_launcher_itself_refuses_it_when_run_directly(hostile, trained):
    from workbench.serving.launch import LAUNCHER, launch_environment

    uri, marker = hostile
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = launch_environment(trained.ws.tracking_uri)  # no WORKBENCH_ALLOW_PICKLE
    out = subprocess.run(
        [sys.executable, "-m", LAUNCHER, "-m", uri, "-p", str(port), "-w", "1"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr[-2000:]
    assert "refused to load" in out.stderr and "Traceback" not in out.stderr
    assert not marker.exists() and _port_free(port)


def test_a_forged_verdict_handed_to_the_launcher_never_loads_it(hostile, trained):
    # the launcher trusts a handed verdict for files of the handed digest (no second skops
    # audit); the server process still judges the folder before it loads anything
    from workbench.registry.resolved import resolve
    from workbench.serving.launch import LAUNCHER, launch_environment

    uri, marker = hostile
    with resolve(uri, allow_pickle=True) as rm:
        digest, verdict = rm.digest, rm.safety.to_dict()
    forged = {**verdict, "serialization_format": "skops", "flavor_problems": [], "untrusted": []}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = launch_environment(trained.ws.tracking_uri, digest=digest, verdict=forged)
    out = subprocess.run(
        [sys.executable, "-m", LAUNCHER, "-m", uri, "-p", str(port), "-w", "1"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode != 0 and "refused to load" in out.stderr, out.stderr[-2000:]
    assert not marker.exists() and _port_free(port)


def test_the_launcher_audits_again_only_files_of_another_digest(trained):
    from workbench.registry.resolved import resolve

    uri = trained.linear.model_uri
    with resolve(uri) as rm:
        digest, verdict = rm.digest, rm.safety.to_dict()
    probe = (
        "import json, sys\n"
        "from workbench.registry.resolved import resolve\n"
        f"with resolve({uri!r}, audited=({{digest!r}}, json.loads({json.dumps(verdict)!r}))) as rm:\n"
        "    print(json.dumps(['skops' in sys.modules, rm.safety.safe, rm.safety.trusted]))\n"
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": trained.ws.tracking_uri}
    seen = {}
    for label, handed in (("same", digest), ("other", "0" * 64)):
        code = probe.replace("{digest!r}", repr(handed))
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=120)  # fmt: skip
        assert out.returncode == 0, out.stderr[-2000:]
        seen[label] = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["same"] == [False, True, verdict["trusted"]]  # skops never imported
    assert seen["other"][0] is True and seen["other"][1] is True  # audited as usual


def test_allow_pickle_serves_it_and_is_recorded_on_the_version(hostile):
    uri, marker = hostile
    with wb.serve(uri, workers=1, allow_pickle=True) as srv:
        assert marker.exists()  # the payload ran, in the server process, because it was allowed
        assert "warning: loading" in srv.logs()
        rows = pd.DataFrame({"loan_amount": [0.3, -2.0], "income": [1.0, 0.5]})
        assert srv.predict(rows).shape == (2,)
    version = wb.registry.get_version("hostile-serving", uri.rsplit("/", 1)[1])
    assert version.tags.get("workbench.allow_pickle") == "true"
