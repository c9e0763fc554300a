"""The check contract's failing case for the checks that start a real model server (kept out of
``tests/unit``, where no server starts): each fails the case it declares."""

from __future__ import annotations

import pytest

from tests.unit.checks.test_checks_contract import CHECKS, SERVES, assert_fails_the_case_it_declares

pytestmark = [pytest.mark.server]


@pytest.mark.parametrize("cls", [c for c in CHECKS if c.__name__ in SERVES], ids=sorted(SERVES))
def test_fails_the_case_it_declares(cls, workspace):
    assert_fails_the_case_it_declares(cls)  # the server resolves models in ``workspace``
