"""Every built-in check honours the same contract, as scikit-learn's ``parametrize_with_checks``
holds every estimator to one.

The classes are discovered from the modules of :mod:`workbench.checks.builtin`, not listed by
hand: a check written tomorrow is held to this contract the day it is added. Each one

* has a unique ``name``, derived from its class name (three documented exceptions), and its
  results carry that name;
* says in plain words what it ``protects`` against;
* stores its ``__init__`` arguments as attributes of the same name, and nothing else;
* returns a valid status on a small sound context (a real fitted pipeline, small DataFrames), and
  does not fail it;
* fails the ``failing_example()`` it declares (the serving smoke check starts a real server).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

import workbench.checks
import workbench.checks.builtin as builtin
from workbench.checks import STATUSES, Check, CheckResult, MetricThreshold
from workbench.checks.builtin._examples import PROTECTED, example_context


def _discover() -> list[type[Check]]:
    found: dict[str, type[Check]] = {}
    for info in pkgutil.iter_modules(builtin.__path__, builtin.__name__ + "."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, Check)
                and obj is not Check
                and obj.__module__ == module.__name__
            ):
                found[obj.__name__] = obj
    return [found[name] for name in sorted(found)]


CHECKS = _discover()
#: Values for the arguments a check requires (scikit-learn's ``_construct_instance`` does the same).
REQUIRED = {
    "MetricThreshold": {"metric": "roc_auc", "minimum": 0.5},
    "FairnessGap": {"protected": PROTECTED},
}
#: Names reports, version tags and gate policies have always shown; documented in
#: workbench.checks.builtin. Every other name is the class name in snake case, less "Check".
KEPT_NAMES = {"HandlesMissingValues": "handles_missing", "LatencyBudget": "latency"}
SERVES = {"ServingSmokeCheck"}  # its failing example starts a real model server


def _params(cls: type[Check]) -> list[str]:
    signature = inspect.signature(cls.__init__)
    return [
        name
        for name, p in signature.parameters.items()
        if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def _construct(cls: type[Check]) -> Check:
    kwargs = REQUIRED.get(cls.__name__, {})
    signature = inspect.signature(cls.__init__)
    missing = [
        name
        for name in _params(cls)
        if signature.parameters[name].default is inspect.Parameter.empty and name not in kwargs
    ]
    assert not missing, f"{cls.__name__} requires {missing}: give them values in REQUIRED"
    return cls(**kwargs)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _expected_name(check: Check) -> str:
    cls = type(check).__name__
    if isinstance(check, MetricThreshold):
        return f"metric_{check.metric}"
    return KEPT_NAMES.get(cls) or _snake(cls.removesuffix("Check"))


def _ids(classes):
    return [cls.__name__ for cls in classes]


@pytest.fixture(scope="module")
def small_context():
    """A sound model (imputers, one-hot encoder, logistic regression) on 240 fresh rows."""
    return example_context()


def test_every_check_is_discovered_and_exported():
    names = {cls.__name__ for cls in CHECKS}
    assert len(names) >= 12, names
    assert names == set(builtin.__all__)
    assert names <= set(workbench.checks.__all__)


def test_names_are_unique():
    names = [_construct(cls).name for cls in CHECKS]
    assert len(names) == len(set(names)), names


@pytest.mark.parametrize("cls", CHECKS, ids=_ids(CHECKS))
def test_name_agrees_with_the_class_name_and_is_documented(cls):
    check = _construct(cls)
    assert check.name == _expected_name(check)
    documented = "metric_<metric>" if isinstance(check, MetricThreshold) else check.name
    rows = [line for line in builtin.__doc__.splitlines() if f"``{cls.__name__}``" in line]
    assert rows and f"``{documented}``" in rows[0], f"document {cls.__name__} in builtin's table"


@pytest.mark.parametrize("cls", CHECKS, ids=_ids(CHECKS))
def test_protects_says_in_plain_words_what_it_guards_against(cls):
    protects = cls.protects
    assert isinstance(protects, str) and protects != Check.protects
    assert re.fullmatch(r"[A-Za-z0-9 ,;:'()\-]+", protects), f"plain words only: {protects!r}"
    assert len(protects.split()) >= 4, protects


@pytest.mark.parametrize("cls", CHECKS, ids=_ids(CHECKS))
def test_the_constructor_stores_only_its_arguments(cls):
    params = _params(cls)
    given = {name: object() for name in params}  # sentinels: stored as they are, or not at all
    check = cls(**given)
    assert set(vars(check)) == set(params), "store each argument under its own name, nothing else"
    for name, value in given.items():
        assert getattr(check, name) is value, f"{cls.__name__}.{name} is not what was given"
    assert set(vars(_construct(cls))) == set(params)
    assert repr(check).startswith(f"{cls.__name__}(")


@pytest.mark.parametrize("cls", CHECKS, ids=_ids(CHECKS))
def test_returns_a_valid_status_on_a_small_context_and_does_not_fail_it(cls, small_context):
    check = _construct(cls)
    result = check(small_context)
    assert isinstance(result, CheckResult)
    assert result.status in STATUSES and result.name == check.name
    assert result.seconds >= 0
    assert result.status != "fail", result.detail  # a sound model fails only a built-to-fail case


@pytest.mark.parametrize(
    "cls",
    [c for c in CHECKS if c.__name__ not in SERVES],
    ids=_ids([c for c in CHECKS if c.__name__ not in SERVES]),
)
def test_fails_the_case_it_declares(cls):
    """(The checks that start a model server: tests/integration/test_checks_contract_serving.py.)"""
    assert_fails_the_case_it_declares(cls)


def assert_fails_the_case_it_declares(cls):
    """``cls``'s own failing example fails it."""
    check, context = cls.failing_example()
    assert type(check) is cls
    result = check(context)
    assert result.name == check.name
    assert result.status == "fail", result.detail
