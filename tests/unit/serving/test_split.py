"""The champion's router, without servers: where a request goes (sticky, by share), what a hostile
body does to the choice, when the guardrail cuts, and the experiment's settings."""

from __future__ import annotations

import json
import math

import pytest

from workbench.errors import UsageError
from workbench.serving._split import (
    MIN_ERRORS,
    MIN_REQUESTS,
    Router,
    _first_key,
    _Guard,
    _status_and_length,
)
from workbench.serving.experiment import Experiment, cut_record


def _router(tmp_path, **options) -> Router:
    settings = dict(url="http://127.0.0.1:9", model="m", main_version="1",
                    challenger_version="2", split=20, state=str(tmp_path))  # fmt: skip
    return Router(**{**settings, **options})


def _split_body(rows: list[dict]) -> bytes:
    columns = list(rows[0])
    return json.dumps(
        {"dataframe_split": {"columns": columns, "data": [[r[c] for c in columns] for r in rows]}}
    ).encode()


def test_the_first_rows_id_is_found_in_every_payload_format():
    rows = [{"customer_id": 7, "age": 30}, {"customer_id": 8, "age": 40}]
    ids = ["customer_id"]
    assert _first_key(_split_body(rows), "application/json", ids) == "7"
    assert _first_key(json.dumps({"dataframe_records": rows}).encode(), "", ids) == "7"
    assert _first_key(json.dumps({"inputs": {"customer_id": [9], "age": [1]}}).encode(), "", ids)
    assert _first_key(b"age,customer_id\n30,11\n40,12\n", "text/csv", ids) == "11"
    assert _first_key(_split_body(rows), "application/json", []) is None  # no id column
    assert _first_key(_split_body([{"age": 1}]), "application/json", ids) is None


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # nested past the recursion limit
        b"\xff\xfe not json",
        b'{"dataframe_split": {"columns": ["customer_id"], "data": []}}',
        b'{"dataframe_split": {"columns": ["customer_id"], "data": [5]}}',
        b'{"dataframe_split": {"columns": "customer_id", "data": [[1]]}}',
        b'{"dataframe_records": [1, 2]}',
        b'{"inputs": {"customer_id": "not a list"}}',
        b"null",
        b'"text"',
    ],
)
def test_a_hostile_body_never_breaks_the_choice(tmp_path, body):
    router = _router(tmp_path)
    assert _first_key(body, "application/json", ["customer_id"]) is None
    assert router.to_challenger(body, "application/json", "r1") in (True, False)


def test_the_split_is_sticky_by_id_and_keeps_its_share(tmp_path):
    router = _router(tmp_path, key_columns=["customer_id"])
    chosen = {
        i: router.to_challenger(_split_body([{"customer_id": i, "age": 1}]), "", f"r{i}")
        for i in range(4000)
    }
    again = {
        i: router.to_challenger(_split_body([{"customer_id": i, "age": 2}]), "", f"other{i}")
        for i in range(4000)
    }
    assert chosen == again  # the same customer, another request: the same arm
    share = sum(chosen.values()) / len(chosen)
    assert abs(share - 0.2) < 4 * math.sqrt(0.2 * 0.8 / 4000), share
    by_request = [router.to_challenger(b"{}", "", f"q{i}") for i in range(4000)]
    assert abs(sum(by_request) / 4000 - 0.2) < 4 * math.sqrt(0.2 * 0.8 / 4000)
    other = _router(tmp_path, key_columns=["customer_id"], challenger_version="3")
    moved = sum(
        other.to_challenger(_split_body([{"customer_id": i, "age": 1}]), "", "x") != chosen[i]
        for i in range(4000)
    )
    assert moved > 400  # another experiment draws its own customers


def test_shadow_and_a_cut_send_nothing_to_the_challenger(tmp_path):
    assert not _router(tmp_path, split=0, shadow=True).to_challenger(b"{}", "", "r")
    router = _router(tmp_path, split=99.99)
    assert router.to_challenger(b"{}", "", "r")
    (tmp_path / "cut.json").write_text(json.dumps({"reason": "another worker cut"}))
    router._looked = 0.0  # noqa: SLF001 - look again now, not in half a second
    assert router.cut and not router.to_challenger(b"{}", "", "r")
    assert cut_record(str(tmp_path))["reason"] == "another worker cut"
    assert cut_record(None) is None and cut_record(str(tmp_path / "none")) is None


def test_the_guard_cuts_on_errors_and_on_slow_answers_not_before_enough_seen():
    guard = _Guard(max_error_rate=0.05, max_p99=1.0)
    for _ in range(MIN_ERRORS - 1):
        assert guard.record(False, 0.01) is None  # too few to judge
    assert "error rate 100%" in guard.record(False, 0.01)
    steady = _Guard(max_error_rate=0.05, max_p99=1.0)
    for _ in range(190):
        assert steady.record(True, 0.01) is None
    outcomes = [steady.record(False, 0.01) for _ in range(12)]
    assert outcomes[:9] == [None] * 9 and outcomes[-1] is not None  # 11 of 200 > 5%
    slow = _Guard(max_error_rate=0.05, max_p99=0.5)
    found = [slow.record(True, 2.0) for _ in range(MIN_REQUESTS)]
    assert found[:-1] == [None] * (MIN_REQUESTS - 1) and "p99 latency 2.000 s" in found[-1]


def test_an_answer_head_is_read_strictly():
    assert _status_and_length(b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n") == (200, 12, False)
    head = b"HTTP/1.1 413 Too Large\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
    assert _status_and_length(head) == (413, 3, True)
    with pytest.raises(ValueError, match="Content-Length"):
        _status_and_length(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    with pytest.raises(ValueError):
        _status_and_length(b"garbage\r\n\r\n")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"split": 0}, "sends no traffic"),
        ({"split": 100}, "sends all traffic"),
        ({"split": "ten"}, "must be a number"),
        ({"split": float("nan")}, "must be a number"),
        ({"split": 10, "shadow": True}, "choose one"),
        ({"split": 10, "max_error_rate": 2}, "outside 0 to 1"),
        ({"split": 10, "max_p99": 0}, "above 0"),
        ({"split": 10, "notify": ["not a target"]}, "neither an http"),
    ],
)
def test_an_experiment_refuses_settings_that_make_no_sense(options, message):
    with pytest.raises(UsageError, match=message):
        Experiment("models:/m@challenger", **options)


def test_an_experiment_names_its_mode_and_arm():
    assert (
        Experiment("models:/m/2", shadow=True).mode,
        Experiment("models:/m/2", shadow=True).arm,
    ) == ("shadow", "shadow")
    assert Experiment("models:/m/2", split=10).arm == "challenger"


@pytest.mark.parametrize("length", [b"-1", b"x", b"99999999999"])
def test_an_answer_declaring_a_bad_length_is_the_challengers_error(length):
    with pytest.raises(ValueError):
        _status_and_length(b"HTTP/1.1 200 OK\r\nContent-Length: " + length + b"\r\n\r\n")
