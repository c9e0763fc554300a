"""A server's settings are checked before anything starts: ports, workers, hosts, the size cap."""

from __future__ import annotations

import pytest

import workbench as wb
from workbench.serving.options import (
    EDGE_ENV,
    EdgeSettings,
    check_hosts,
    check_max_request_mb,
    check_port,
    check_workers,
    host_name,
)


@pytest.mark.parametrize("value, expected", [(None, None), (0, None), ("0", None), (1, 1),
                                             ("5001", 5001), (65535, 65535)])  # fmt: skip
def test_ports_from_1_to_65535_and_0_or_none_for_a_free_one(value, expected):
    assert check_port(value) == expected


@pytest.mark.parametrize("value", [70000, 65536, -1, "http", 1.5, True, "80.5"])
def test_other_ports_are_usage_errors(value):
    with pytest.raises(wb.UsageError, match="not a port number") as info:
        check_port(value)
    assert info.value.exit_code == 2


def test_workers_are_at_least_one():
    assert check_workers(None) is None and check_workers("3") == 3
    for bad in (0, -1, "two", True):
        with pytest.raises(wb.UsageError, match="1 or more"):
            check_workers(bad)


def test_the_size_cap_is_a_positive_number_of_megabytes():
    assert check_max_request_mb(None) == 16.0 and check_max_request_mb("0.5") == 0.5
    for bad in (0, -3, "lots", float("inf"), float("nan")):
        with pytest.raises(wb.UsageError, match="megabytes"):
            check_max_request_mb(bad)


def test_allowed_hosts_are_plain_names_or_addresses():
    assert check_hosts(["Model.Internal", "10.0.0.5", "[fe80::1]", "model.internal"]) == (
        "model.internal",
        "10.0.0.5",
        "fe80::1",
    )
    for bad in ("http://x", "x:80", "a/b", "*", "", "a b"):
        with pytest.raises(wb.UsageError, match="not a host name"):
            check_hosts([bad])


@pytest.mark.parametrize(
    "header, name",
    [("127.0.0.1:5001", "127.0.0.1"), ("[::1]:80", "::1"), ("[::1]", "::1"),
     ("LocalHost", "localhost"), ("a:b:c", None), ("x:", None), ("[::1", None),
     ("x:1234567", None), ("", None)],
)  # fmt: skip
def test_host_header_names(header, name):
    assert host_name(header) == name


def test_settings_go_to_the_server_through_the_environment():
    settings = EdgeSettings.build(["model.internal"], 2)
    assert settings.max_request_bytes == 2 * 1024 * 1024
    assert EdgeSettings.from_env({EDGE_ENV: settings.to_env()}) == settings
    assert EdgeSettings.from_env({}) == EdgeSettings()  # loopback only, 16 MB
    assert EdgeSettings.from_env({EDGE_ENV: '{"allowed_hosts": ["http://x"]}'}) == EdgeSettings()
    assert not EdgeSettings().allows(None) and EdgeSettings().allows("[::1]:1")


def test_model_server_checks_its_settings_when_made():
    with pytest.raises(wb.UsageError, match="70000"):
        wb.ModelServer("models:/m/1", port=70000)
    with pytest.raises(wb.UsageError, match="1 or more"):
        wb.ModelServer("models:/m/1", workers=0)
    with pytest.raises(wb.UsageError, match="megabytes"):
        wb.ModelServer("models:/m/1", max_request_mb=-1)
    assert wb.ModelServer("models:/m/1", port=0).port is None  # a free one is picked at start
    assert wb.ModelServer("models:/m/1", workers=1).workers == 1
