"""LoadTestResult and ComparisonResult follow the result protocol: to_dict, save, load, HTML."""

from __future__ import annotations

import json
import math

import pytest

from workbench.serving import ComparisonResult, LoadTestResult
from workbench.serving.model_info import pinned_uri, resolved_version


def _load(**changes) -> LoadTestResult:
    values = dict(
        url="http://127.0.0.1:5001",
        model_uri="models:/credit-risk/2",
        requests=4,
        completed=4,
        concurrency=2,
        rows_per_request=1,
        seconds=0.5,
        rps=8.0,
        p50_ms=2.0,
        p95_ms=3.0,
        p99_ms=4.0,
        max_ms=4.5,
        errors=0,
        in_process_p50_ms=0.5,
        latencies_ms=[1.0, 2.0, 3.0, 4.5],
    )
    return LoadTestResult(**{**values, **changes})


def test_load_test_result_saves_latencies_atomically_and_loads_back(tmp_path):
    result = _load()
    assert result.overhead_ratio == 4.0
    assert "latencies_ms" not in result.to_dict() and result.to_dict()["overhead_ratio"] == 4.0
    path = result.save(tmp_path)
    assert path.name == "load_test.json"
    saved = json.loads(path.read_text())
    assert saved["latencies_ms"] == [1.0, 2.0, 3.0, 4.5] and saved["overhead_ratio"] == 4.0
    assert LoadTestResult.load(tmp_path) == result
    assert not list(tmp_path.glob(".*tmp"))


def test_load_test_result_without_answers_saves_valid_json(tmp_path):
    empty = _load(completed=0, p50_ms=math.nan, max_ms=math.nan, latencies_ms=[])
    saved = json.loads(empty.save(tmp_path / "x.json").read_text())
    assert saved["p50_ms"] is None and saved["max_ms"] is None


def test_load_test_result_logs_metrics_and_its_json(workspace):
    import mlflow

    with mlflow.start_run() as run:
        _load().log_to_mlflow()
    client = mlflow.MlflowClient()
    metrics = client.get_run(run.info.run_id).data.metrics
    assert metrics["load_p50_ms"] == 2.0 and metrics["load_in_process_p50_ms"] == 0.5
    assert "load_test.json" in [a.path for a in client.list_artifacts(run.info.run_id)]


@pytest.fixture
def comparison() -> ComparisonResult:
    return ComparisonResult(
        model_name="credit-risk",
        labels=("1", "challenger"),
        versions=("1", "2"),
        rows=4,
        disagreement=0.25,
        disagreeing_rows=[3],
        latency={"1": {"p50_ms": 2.0, "p99_ms": 3.0}, "challenger": {"p50_ms": 2.5, "p99_ms": 4}},
        prediction_share={"1": {"0": 0.5, "1": 0.5}, "challenger": {"0": 0.75, "1": 0.25}},
    )


def test_comparison_result_table_html_save_and_load(comparison, tmp_path):
    table = comparison.table()
    assert list(table.columns) == ["v1", "@challenger"]
    assert table.loc["predictions", "@challenger"] == "0: 75%, 1: 25%"
    assert "disagree on <b>25.0%</b>" in comparison._repr_html_()
    path = comparison.save(tmp_path)
    assert path.name == "comparison.json" and json.loads(path.read_text())["rows"] == 4
    loaded = ComparisonResult.load(path)
    assert loaded.disagreement == 0.25 and list(loaded.labels) == ["1", "challenger"]


def test_versions_and_pinned_uris_need_no_store_for_numbers_runs_and_paths():
    assert resolved_version("models:/credit-risk/3") == "3"
    assert resolved_version("runs:/abc/model") is None
    assert resolved_version("models:/m-0123abcd") is None
    assert resolved_version("/tmp/model") is None
    assert pinned_uri("models:/credit-risk/3") == "models:/credit-risk/3"
    assert pinned_uri("/tmp/model") == "/tmp/model"


def test_an_alias_is_pinned_to_the_version_it_points_at(trained):
    assert resolved_version("models:/credit-risk@challenger") == "2"
    assert pinned_uri("models:/credit-risk@challenger") == "models:/credit-risk/2"
    assert resolved_version("models:/credit-risk@nobody") is None
    assert pinned_uri("models:/credit-risk@nobody") == "models:/credit-risk@nobody"
