"""One parser of model references: every form a user types, and the registry behind them."""

from __future__ import annotations

import pytest

from workbench._core.refs import model_name_of, parse_model_uri, registry_version, version_uri
from workbench.errors import ModelNotFoundError


@pytest.mark.parametrize(
    "uri, kind, name, version, alias",
    [
        ("models:/credit-risk/3", "version", "credit-risk", "3", None),
        ("models:/credit-risk/3/", "version", "credit-risk", "3", None),
        ("models:/credit-risk@champion", "alias", "credit-risk", None, "champion"),
        ("models:/m-0123abcd", "logged", None, None, None),
        ("runs:/abc/model", "run", None, None, None),
        ("/tmp/model", "path", None, None, None),
        ("models:/credit-risk", "path", None, None, None),  # no version: not a registered ref
        ("models:/a/b/c", "path", None, None, None),
    ],
)
def test_parse_every_form(uri, kind, name, version, alias):
    ref = parse_model_uri(uri)
    assert (ref.kind, ref.name, ref.version, ref.alias) == (kind, name, version, alias)
    assert ref.registered == (kind in ("version", "alias"))


def test_pinned_replaces_only_an_alias():
    assert parse_model_uri("models:/m@champion").pinned(4) == "models:/m/4"
    assert parse_model_uri("models:/m/2").pinned(4) == "models:/m/2"
    assert parse_model_uri("runs:/x/model").pinned(4) == "runs:/x/model"
    assert version_uri("m", 7) == "models:/m/7"


def test_model_name_of():
    assert model_name_of("models:/credit-risk/3") == "credit-risk"
    assert model_name_of("credit-risk") == "credit-risk"
    assert model_name_of(None) is None


def test_registry_version_reads_the_real_registry(trained):
    mv = registry_version("models:/credit-risk/1")
    assert str(mv.version) == "1" and mv.name == "credit-risk"
    by_alias = registry_version(f"models:/credit-risk@{'challenger'}")
    assert str(by_alias.version) == "2"
    assert registry_version("models:/credit-risk/99") is None
    assert registry_version("runs:/x/model") is None
    with pytest.raises(ModelNotFoundError, match="credit-risk/99"):
        registry_version("models:/credit-risk/99", strict=True)
