"""Invalid data is never "no drift": each case raises a DataError naming its column, or (scheduled
use) returns a result marked invalid with the reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.data import credit_risk, production_batch
from workbench.monitoring import DataQualityError, check_status, drift_report

REF = credit_risk(2000)


def _case(name):
    cur = production_batch(2, "none", n=500)
    if name == "missing_column":
        return cur.drop(columns="region"), wb.MissingColumnError, "region"
    if name == "extra_column":
        return cur.assign(channel="web"), wb.SchemaMismatchError, "channel"
    if name == "text_in_numeric":
        cur["income"] = cur["income"].astype(object)
        cur.loc[cur.index[:3], "income"] = "n/a"
        return cur, wb.SchemaMismatchError, "income"
    if name == "changed_type":
        cur["purpose"] = np.arange(len(cur)) % 5
        return cur, wb.SchemaMismatchError, "purpose"
    if name == "null_surge":
        return production_batch(2, "null_surge", n=500), DataQualityError, "income"
    if name == "all_null":
        cur["loan_amount"] = np.nan
        return cur, DataQualityError, "loan_amount"
    if name == "too_few_rows":
        return cur.head(5), DataQualityError, "5 rows"
    if name == "empty":
        return cur.head(0), wb.DataError, "empty"
    raise AssertionError(name)


CASES = [
    "missing_column",
    "extra_column",
    "text_in_numeric",
    "changed_type",
    "null_surge",
    "all_null",
    "too_few_rows",
    "empty",
]


@pytest.mark.parametrize("case", CASES)
def test_invalid_data_raises_naming_the_column(case):
    cur, error, named = _case(case)
    with pytest.raises(error) as info:
        drift_report(REF, cur, target="default")
    assert named in str(info.value)
    assert isinstance(info.value, wb.DataError)


@pytest.mark.parametrize("case", CASES)
def test_scheduled_use_returns_invalid_never_no_drift(case):
    cur, _, named = _case(case)
    result = drift_report(REF, cur, target="default", on_invalid="return")
    assert result.valid is False and result.status == "invalid"
    assert result.drift_detected is None
    assert any(named in r for r in result.reasons)
    assert "INVALID" in result._repr_html_()
    assert result.to_dict()["status"] == "invalid"
    with pytest.raises(DataQualityError, match=named):
        check_status(result)
    assert check_status(result, fail_on_invalid=False) == "invalid"


def test_target_missing_from_reference_is_named():
    with pytest.raises(wb.MissingColumnError, match="'label'"):
        drift_report(REF, production_batch(1, n=200), target="label")


def test_labels_may_be_absent_from_the_current_batch():
    cur = production_batch(1, "none", n=500, with_target=False)
    result = drift_report(REF, cur, target="default", build_report=False)
    assert result.valid and "no labels" in result.skipped["default"]


def test_an_unlabelled_batch_without_a_target_names_the_ways_out():
    cur = production_batch(1, "none", n=500, with_target=False)
    with pytest.raises(wb.MissingColumnError) as info:
        drift_report(REF, cur, build_report=False)
    message = str(info.value)
    assert "'default'" in message and "--target" in message and "--ignore default" in message
    result = drift_report(REF, cur, ignore=["default"], build_report=False)
    assert result.valid and result.skipped["default"] == "ignored on request"
    assert "default" not in {c.column for c in result.columns}


def test_ignore_takes_one_name_as_text_and_refuses_a_misspelt_one():
    cur = production_batch(1, "none", n=300)
    result = drift_report(REF, cur, target="default", ignore="region", build_report=False)
    assert result.skipped["region"] == "ignored on request"
    with pytest.raises(wb.UsageError, match="'regoin'"):
        drift_report(REF, cur, ignore=["regoin"], build_report=False)


def test_non_finite_values_make_the_batch_invalid():
    from workbench.monitoring.validation import validate

    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"age": rng.normal(40, 9, 300), "x": rng.normal(size=300)})
    cur = ref.sample(150, random_state=1).reset_index(drop=True)
    cur.loc[:49, "age"] = np.inf
    cur.loc[50, "x"] = -np.inf
    reasons = validate(ref, cur, on_invalid="return")
    assert any("'age' holds 50 non-finite" in r and "33.3%" in r for r in reasons), reasons
    assert any("'x' holds 1 non-finite" in r for r in reasons), reasons
    assert validate(ref, cur.replace([np.inf, -np.inf], 1.0), on_invalid="return") == []


def test_both_engines_get_their_checks_from_validation():
    from workbench.errors import UsageError
    from workbench.monitoring.validation import check_options, ignored_columns, validation_columns

    assert ignored_columns("a", ["a", "b"], ["b"]) == ["a"]
    with pytest.raises(UsageError, match="'zz'"):
        ignored_columns(["zz"], ["a"], ["a"])
    for bad in ({"on_invalid": "ignore"}, {"correction": "sidak"}, {"alpha": 1.5}):
        with pytest.raises(UsageError):
            check_options(**{"on_invalid": "raise", "correction": "holm", "alpha": 0.05, **bad})
    assert validation_columns(None, "y", ["x"], ["i"], None) == {
        "target": None,  # the contract's target may be absent from the reference
        "ignore": ["i"],
        "optional": ["y"],
    }
