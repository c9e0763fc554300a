"""The data-quality check judges rare values against sample size.

A rare indicator that a random holdout happens to miss, or a rare category it happens to hold, is
no data problem; the same finding on a common value is. Real tables, real scikit-learn models,
real training profiles (``CheckContext.from_model``); a profile logged before the frequencies were
kept is made by removing them, as an older version's ``profile.json`` lacks them.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier

from workbench._core.profile import training_profile
from workbench.checks import CheckContext, DataQuality

TARGET = "label"
RARE = {"rare_0": 3, "rare_1": 5, "rare_2": 7, "rare_3": 9}  # positives in the whole table


def _table(rows: int = 5000, seed: int = 0) -> pd.DataFrame:
    """Ordinary columns, a common indicator and four indicators with 3-9 ones."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.normal(50.0, 15.0, rows).round(2),
            "age": rng.uniform(18.0, 80.0, rows).round(1),
            "region": rng.choice(["north", "south", "east", "west"], rows),
            "flag": (rng.random(rows) < 0.3).astype(int),
        }
    )
    for name, ones in RARE.items():
        column = np.zeros(rows, dtype=int)
        column[rng.choice(rows, ones, replace=False)] = 1
        frame[name] = column
    frame[TARGET] = (rng.random(rows) < 0.4).astype(int)
    return frame


def _context(train: pd.DataFrame, evaluation: pd.DataFrame) -> CheckContext:
    x = train.drop(columns=TARGET)
    model = DummyClassifier().fit(x, train[TARGET])
    return CheckContext.from_model(model, evaluation, TARGET, train=x)


def _ordinary(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without the rare indicators."""
    return frame.drop(columns=list(RARE))


def _old_profile(profile: dict) -> dict:
    """The profile as a version logged before the frequencies were kept has it (no value
    counts, no ``duplicate_patterns``)."""
    new_keys = {"count", "top", "top_complete", "counts", "singletons"}
    return {
        "rows": profile["rows"],
        "columns": {
            n: {k: v for k, v in e.items() if k not in new_keys}
            for n, e in profile["columns"].items()
        },
    }


@pytest.fixture(scope="module")
def holdout():
    """A training part holding every one of the rare indicators' ones, and a holdout of 1,000
    rows in which they are all zero (as a random split often has it: 0.8 ** 3 = 51% for 3)."""
    table = _table()
    ones = table[list(RARE)].any(axis=1)
    rest = table[~ones].sample(frac=1.0, random_state=1)
    evaluation = rest.head(1000)
    train = pd.concat([table[ones], rest.iloc[1000:]])
    assert (evaluation[list(RARE)] == 0).all().all() and len(train) == 4000
    return train, evaluation


def test_rare_indicator_all_zero_in_a_holdout_passes(holdout):
    train, evaluation = holdout
    context = _context(train, evaluation)
    result = DataQuality()(context)
    assert result.status == "pass", result.detail
    table = result.table.set_index("column")
    assert table.loc[list(RARE), "constant"].all()  # shown as constant, judged as usual
    assert (table.loc[list(RARE), "constant_chance"] > 0.1).all()
    context.profile = _old_profile(context.profile)  # the fixed rule failed this very split
    old = DataQuality()(context)
    assert old.status == "fail" and "'rare_0' is constant in the eval data" in old.detail


def test_column_constant_in_eval_but_common_in_training_fails(holdout):
    train, evaluation = holdout
    result = DataQuality()(_context(train, evaluation.assign(flag=0)))
    assert result.status == "fail", result.detail
    assert "column 'flag' is constant (0) in the eval data's 1,000 values" in result.detail
    assert "training values differ from it" in result.detail
    # a rare value everywhere: improbable however rare the other value is
    result = DataQuality()(_context(train, evaluation.assign(rare_2=1)))
    assert result.status == "fail" and "column 'rare_2' is constant (1)" in result.detail


def test_a_column_constant_in_training_too_passes(holdout):
    train, evaluation = holdout
    result = DataQuality()(_context(train.assign(flag=1), evaluation.assign(flag=1)))
    assert result.status == "pass", result.detail


def test_the_constant_rule_weighs_the_size_of_the_eval_data(holdout):
    """A 30% indicator all zero: usual in 5 rows (0.7 ** 5 = 17%), impossible in 1,000."""
    train, evaluation = holdout
    small = evaluation[evaluation["flag"] == 0].head(5)
    assert DataQuality()(_context(train, small)).status == "pass"
    big = DataQuality()(_context(train, evaluation.assign(flag=0)))
    assert big.status == "fail" and "'flag'" in big.detail


def test_frequent_unseen_category_fails_a_rare_one_does_not(holdout):
    train, evaluation = holdout
    frequent = evaluation.copy()
    frequent.loc[frequent.index[:100], "region"] = "central"
    result = DataQuality()(_context(train, frequent))
    assert result.status == "fail", result.detail
    assert "10.0% of column 'region' (100 of 1,000 values) are categories never seen" in (
        result.detail
    )
    rare = evaluation.copy()
    rare.loc[rare.index[:3], "region"] = "central"
    result = DataQuality()(_context(train, rare))
    assert result.status == "pass", result.detail
    assert result.table.set_index("column").loc["region", "unseen"] == pytest.approx(0.003)


def test_an_unseen_category_is_judged_against_the_training_size(holdout):
    """The same 15 new values in 300 eval rows: improbable after 4,000 training rows (all 15
    in the eval part: 0.07 ** 15), usual after 40 (0.88 ** 15 = 15%)."""
    train, evaluation = _ordinary(holdout[0]), _ordinary(holdout[1])
    batch = evaluation.head(300).copy()
    batch.loc[batch.index[:15], "region"] = "central"
    result = DataQuality()(_context(train, batch))
    assert result.status == "fail", result.detail
    assert "5.0% of column 'region' (15 of 300 values)" in result.detail
    result = DataQuality()(_context(train.head(40), batch))
    assert result.status == "pass", result.detail
    assert result.table.set_index("column").loc["region", "unseen"] == pytest.approx(0.05)


def test_many_one_off_categories_are_expected_where_training_had_many(holdout):
    """A column where training saw 180 categories once: 7% new values in the eval data is what
    such a column does (the fixed 5% rule failed it)."""
    train, evaluation = _ordinary(holdout[0]).head(2000), _ordinary(holdout[1])
    shops = np.array(["shop_a", "shop_b", "shop_c"])
    train["shop"] = shops[np.arange(len(train)) % 3]
    train.loc[train.index[:180], "shop"] = [f"one_off_{i}" for i in range(180)]
    evaluation = evaluation.copy()
    evaluation["shop"] = shops[np.arange(len(evaluation)) % 3]
    evaluation.loc[evaluation.index[:70], "shop"] = [f"new_{i}" for i in range(70)]
    context = _context(train, evaluation)
    result = DataQuality()(context)
    assert result.status == "pass", result.detail
    context.profile = _old_profile(context.profile)
    old = DataQuality()(context)
    assert old.status == "fail" and "7% of column 'shop' are categories never seen" in old.detail
    # the same 7% new values in a column whose training showed no one-offs fails
    strict = DataQuality()(
        _context(train.assign(shop=shops[np.arange(len(train)) % 3]), evaluation)
    )
    assert strict.status == "fail" and "column 'shop'" in strict.detail


@pytest.mark.parametrize("broken", ["all_missing", "text", "constant_unseen"])
def test_a_broken_column_still_fails(holdout, broken):
    train, evaluation = holdout
    evaluation = evaluation.copy()
    if broken == "all_missing":
        evaluation["income"] = np.nan
        expected = "column 'income' is 100% missing"
    elif broken == "text":
        evaluation["income"] = "n/a"
        expected = "column 'income'"
    else:
        evaluation["region"] = "unknown"
        expected = "column 'region' is constant ('unknown')"
    result = DataQuality()(_context(train, evaluation))
    assert result.status == "fail", result.detail
    assert expected in result.detail


def test_an_empty_column_fails_where_training_had_values():
    """A column with values on 2.5% of training rows: empty in 1,000 eval rows is improbable
    (all 100 values in the training part: about 0.8 ** 100), although its missing share rises by
    2.5 points only; empty in 20 rows is usual (0.995 ** 100 = 61%)."""
    train, evaluation = _table(4000, 1), _table(1000, 2)
    train["note"] = np.where(np.arange(4000) < 100, 1.0, np.nan)
    evaluation["note"] = np.nan
    result = DataQuality()(_context(train, evaluation))
    assert result.status == "fail", result.detail
    assert "column 'note' is empty in the eval data (all 1,000 rows missing)" in result.detail
    result = DataQuality()(_context(train, evaluation.head(20)))
    assert result.status == "pass", result.detail


def test_duplicates_are_judged_against_the_training_rows():
    """A table of few columns repeats its rows: a random holdout of it is no copy-paste."""
    table = _table(5000, 3)[["region", "flag", "rare_0", TARGET]]
    train, evaluation = table.iloc[:4000], table.iloc[4000:]
    assert evaluation.drop(columns=TARGET).duplicated().mean() > 0.9
    context = _context(train, evaluation)
    result = DataQuality()(context)
    assert result.status == "pass", result.detail
    context.profile = {**context.profile}
    del context.profile["duplicate_patterns"]  # an older profile: the fixed 5% share
    assert "of the rows are duplicates (limit 5%)" in DataQuality()(context).detail


def test_pasted_rows_fail_where_training_rows_were_unique(holdout):
    train, evaluation = holdout
    pasted = pd.concat([evaluation.head(450), evaluation.head(50)], ignore_index=True)
    result = DataQuality()(_context(train, pasted))
    assert result.status == "fail", result.detail
    assert "10.0% of the rows are duplicates (50 of 500; limit 5%)" in result.detail


def test_an_old_profile_without_the_frequencies_still_works(holdout):
    train, evaluation = _ordinary(holdout[0]), _ordinary(holdout[1])
    context = _context(train, evaluation)
    context.profile = json.loads(json.dumps(_old_profile(context.profile)))
    result = DataQuality()(context)
    assert result.status == "pass", result.detail
    assert "predates the value frequencies" in result.detail
    assert "constant-column, unseen-category, duplicate-row" in result.detail
    broken = _context(train, evaluation.assign(region="north"))
    broken.profile = _old_profile(broken.profile)
    result = DataQuality()(broken)
    assert result.status == "fail"
    assert "column 'region' is constant in the eval data but varied in training" in result.detail
    assert "predates the value frequencies" in result.detail


def test_the_profile_keeps_the_frequencies_the_rules_need():
    frame = pd.DataFrame(
        {
            "flag": [0.0] * 7 + [1.0, np.nan, 0.0],
            "city": ["a", "a", "b", "c", "a", None, "a", "b", "a", "d"],
        }
    )
    profile = json.loads(json.dumps(training_profile(pd.concat([frame, frame.head(2)]))))
    flag, city = profile["columns"]["flag"], profile["columns"]["city"]
    assert flag["count"] == 11 and flag["top"] == [[0.0, 10], [1.0, 1]] and flag["top_complete"]
    assert city["counts"] == {"a": 7, "b": 2, "c": 1, "d": 1} and city["singletons"] == 2
    assert city["count"] == 11 and city["top"][0] == ["a", 7]
    assert profile["duplicate_patterns"] == {"6": 1}  # (0, a): 4 times, and its 2 copies
