"""The corrected drift decision holds statistically on seeded splits (the fast guard of what
``make bench``'s ``bench_alarms`` measures on 200+ splits): clean batches rarely alarm, even where
Evidently's uncorrected per-column rule cries wolf, and a 0.5-SD shift or a 10-point category move
on 1,000 rows is caught."""

from __future__ import annotations

import pytest

from benchmarks.bench_alarms import clean_split, shifted_split, tables, verdicts


@pytest.fixture(scope="module")
def credit():
    return tables()[0]


def test_clean_small_batches_rarely_raise_an_alarm(credit):
    cases = [verdicts(*clean_split(credit, 500 + i, 800, 200), credit.target) for i in range(40)]
    alarms = sum(c["workbench"] for c in cases)
    old_rule = sum(c["any_column"] for c in cases)
    assert alarms <= 3, alarms
    assert old_rule >= 10  # the uncorrected rule on the same splits: about every other batch


def test_a_shifted_column_on_1000_rows_is_caught(credit):
    caught = on_column = 0
    for i in range(20):  # even seeds: 0.5-SD numeric shift; odd: 10-point category move
        ref, cur, column = shifted_split(credit, 900 + i)
        found = verdicts(ref, cur, credit.target)
        caught += found["workbench"]
        on_column += column in found["drifted"]
    assert caught >= 19 and on_column >= 19, (caught, on_column)
