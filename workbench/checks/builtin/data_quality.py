"""The data-quality check: the eval data looks like the training data (from its profile).

Each rule judges a finding against what the training data predicts for a sample of the size at
hand, not against a fixed share: it fails only when eval data drawn like the training data would
show the finding less than ``alpha`` of the time (Bonferroni over the columns), and the finding
is big enough to matter. The chances are in :mod:`workbench.checks.builtin._chance`.

* **Out of range.** The share of a distribution lying outside the minimum and maximum of ``n``
  values drawn from it is itself random, ``Beta(2, n - 1)`` whatever the distribution (order
  statistics), so the number of ``m`` fresh values outside is beta-binomial. A column fails when
  its count is above that distribution's ``1 - alpha`` quantile and more than
  ``min_out_of_range_share`` of its values lie outside.
* **Constant.** A column whose ``m`` eval values are all one value, while ``k`` of the training
  values differ from it, fails when all ``k`` landing in training is improbable: about
  ``(1 - p) ** m`` with ``p = k / training values``. An indicator with 5 ones in 4,000 training
  rows is often all zeros in 1,000 eval rows (chance 0.33); a column with 30% ones never is. A
  column constant in training too passes; a value training never saw fails.
* **Empty.** A column missing on every eval row fails when training had values in it (the same
  chance, for the missing value).
* **Unseen categories.** A new category seen ``k`` times fails when all ``k`` landing in the eval
  part is improbable (about ``(m / (n + m)) ** k``); many new values fail when training held few
  categories seen once (Good-Turing). Either needs more than ``min_unseen_share`` of the values.
* **Duplicates.** Duplicated rows fail when rows drawn like the training rows (which may repeat
  themselves) hold that many only ``alpha`` of the time, and they are more than
  ``max_duplicate_share`` of the rows.

A profile logged before the frequencies were kept (no ``count`` per column, no
``duplicate_patterns``) gets the earlier fixed rules, and the result says so.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from workbench.checks.base import Check, CheckResult
from workbench.checks.builtin._chance import (
    all_in_first,
    duplicate_bound,
    out_of_range_bound,
    unseen_chance,
)
from workbench.checks.context import CheckContext
from workbench.errors import SchemaMismatchError

__all__ = ["DataQuality", "out_of_range_bound"]

_OLD_PROFILE_NOTE = (
    "the training profile predates the value frequencies, so the {rules} rule(s) used fixed "
    "limits instead of the training data's frequencies: log the model again with "
    "workbench.log_model to judge them against sample size"
)


class DataQuality(Check):
    """The eval data looks like the training data: missing shares, constant or empty columns,
    duplicate rows, values outside the training range and categories never seen in training.

    Args:
        max_missing_increase: Largest allowed rise of a column's missing share (0.10 = 10 points).
        max_duplicate_share: Duplicated rows fail only when more than this share of the rows, and
            more than rows like the training rows hold (the whole rule for an older profile).
        out_of_range_alpha: Chance that eval data drawn like the training data still fails the
            range test in some column (0.001: one random split in a thousand).
        min_out_of_range_share: A column fails the range test only when more than this share of
            its values lies outside the training range, too.
        max_unseen_share: Largest allowed share of a column's values in categories training
            never saw, for a profile without category counts (an older version).
        alpha: Chance that eval data drawn like the training data still fails the constant,
            empty, unseen-category or duplicate rule (each, over all columns).
        min_unseen_share: Unseen categories fail only when more than this share of a column's
            values is in them.
    """

    name = "data_quality"
    protects = "testing (and later serving) on data unlike what the model learned from"

    def __init__(
        self,
        max_missing_increase: float = 0.10,
        max_duplicate_share: float = 0.05,
        out_of_range_alpha: float = 0.001,
        min_out_of_range_share: float = 0.01,
        max_unseen_share: float = 0.05,
        alpha: float = 0.001,
        min_unseen_share: float = 0.01,
    ):
        self.max_missing_increase = max_missing_increase
        self.max_duplicate_share = max_duplicate_share
        self.out_of_range_alpha = out_of_range_alpha
        self.min_out_of_range_share = min_out_of_range_share
        self.max_unseen_share = max_unseen_share
        self.alpha = alpha
        self.min_unseen_share = min_unseen_share

    @classmethod
    def failing_example(cls) -> tuple[DataQuality, CheckContext]:
        """Eval data whose incomes are fifty times those seen in training."""
        from workbench.checks.builtin._examples import example_context, example_table

        evaluation = example_table(seed=1)
        evaluation["income"] = evaluation["income"] * 50
        return cls(), example_context(evaluation=evaluation)

    def run(self, context: CheckContext) -> CheckResult:
        """Compare each column of the eval data with the training profile."""
        profile = context.profile
        if not profile:
            return self.result(
                "warn",
                detail="no training-data profile was logged with this version (it predates "
                "profile.json): log it again with workbench.log_model to get this check.",
            )
        try:
            x = context.x
        except SchemaMismatchError as err:  # a broken column: text where numbers belong, ...
            return self.result(
                "fail",
                1,
                0,
                f"{err} The eval data cannot be compared with the training data until it is fixed.",
            )
        columns = {n: e for n, e in profile["columns"].items() if n in x.columns}
        ranged = [n for n, e in columns.items() if e.get("kind") == "numeric" and "min" in e]
        judge = _Judge(
            train_rows=int(profile.get("rows") or 0),
            rows=len(x),
            range_alpha=self.out_of_range_alpha / max(len(ranged), 1),  # Bonferroni
            alpha=self.alpha / max(len(columns), 1),
        )
        old_rules = _old_rules(profile, columns)
        rows, problems = [], []
        for name, entry in columns.items():
            row, issues = self._column(name, x[name], entry, judge)
            rows.append(row)
            problems.extend(issues)
        duplicates, issue = self._duplicates(x, profile, judge)
        if issue:
            problems.append(issue)
        note = ""
        if old_rules:
            note = "; " + _OLD_PROFILE_NOTE.format(rules=", ".join(old_rules))
        table = pd.DataFrame(rows)
        if problems:
            return self.result(
                "fail",
                len(problems),
                0,
                "; ".join(problems[:6]) + ". Fix the data, or retrain on data like it" + note + ".",
                table,
            )
        return self.result(
            "pass",
            0,
            0,
            f"{len(rows)} columns within the training profile (judged for {len(x):,} rows against "
            f"{judge.train_rows:,} training rows); {duplicates:.1%} duplicate rows" + note,
            table,
        )

    def _column(self, name: str, col: pd.Series, entry: dict[str, Any], judge: _Judge):
        n = judge.rows
        issues: list[str] = []
        missing = float(col.isna().mean()) if n else 0.0
        row = {
            "column": name,
            "train_missing": entry.get("missing", 0.0),
            "eval_missing": missing,
            "out_of_range": 0.0,
            "out_of_range_expected_at_most": None,
            "unseen": 0.0,
            "unseen_chance": None,
            "constant": False,
            "constant_chance": None,
        }
        if missing - entry.get("missing", 0.0) > self.max_missing_increase:
            issues.append(
                f"column {name!r} is {missing:.0%} missing (training: {entry.get('missing', 0):.0%})"
            )
        values = col.dropna()
        for rule in (self._constant, self._out_of_range, self._unseen):
            issue = rule(name, values, entry, judge, row)
            if issue and not (issues and not len(values)):  # empty: said once is enough
                issues.append(issue)
        return row, issues

    def _constant(self, name, values, entry, judge, row) -> str | None:
        """Constant (or empty) in the eval data, where training makes that improbable."""
        m, n = len(values), judge.rows
        if "count" not in entry:  # an older profile: constant with 20+ rows, varied in training
            if n >= 20 and values.nunique() <= 1 and entry.get("distinct", 2) > 1:
                row["constant"] = True
                return f"column {name!r} is constant in the eval data but varied in training"
            return None
        train_values = int(entry["count"])
        if m == 0:
            if n == 0 or train_values == 0:
                return None
            chance = all_in_first(judge.train_rows, n, train_values)
            row["constant"], row["constant_chance"] = True, chance
            if chance >= judge.alpha:
                return None
            return (
                f"column {name!r} is empty in the eval data (all {n:,} rows missing), where "
                f"{train_values:,} of {judge.train_rows:,} training rows had a value"
            )
        if values.nunique() > 1:
            return None
        value = values.iloc[0]
        other = train_values - _train_count(entry, value)
        row["constant"] = True
        if other <= 0:  # constant in training too, at this value
            return None
        chance = all_in_first(train_values, m, other)
        row["constant_chance"] = chance
        if chance >= judge.alpha:
            return None
        return (
            f"column {name!r} is constant ({_shown(value)}) in the eval data's {m:,} values, where "
            f"{other:,} of {train_values:,} training values differ from it: data like the "
            f"training data shows none of them in {m:,} values only {chance:.2g} of the time"
        )

    def _out_of_range(self, name, values, entry, judge, row) -> str | None:
        if entry.get("kind") != "numeric" or "min" not in entry or not len(values):
            return None
        numeric = pd.to_numeric(values, errors="coerce")
        text = values[numeric.isna()]
        if len(text):  # no signature cast it: a broken column
            return (
                f"column {name!r} holds {len(text):,} values that are not numbers (such as "
                f"{str(text.iloc[0])!r}) where training had numbers"
            )
        count = int(((numeric < entry["min"]) | (numeric > entry["max"])).sum())
        seen = round(judge.train_rows * (1.0 - float(entry.get("missing", 0.0))))
        bound = out_of_range_bound(len(values), seen, judge.range_alpha)
        outside = count / len(values)
        row["out_of_range"] = outside
        row["out_of_range_expected_at_most"] = bound / len(values)
        if count > bound and outside > self.min_out_of_range_share:
            return (
                f"{outside:.1%} of column {name!r} ({count} of {len(values)} values) lies "
                f"outside the training range [{entry['min']:.4g}, {entry['max']:.4g}], where "
                f"data like the training data puts at most {bound:.0f}"
            )
        return None

    def _unseen(self, name, values, entry, judge, row) -> str | None:
        if entry.get("kind") != "categorical" or not len(values):
            return None
        known = entry.get("counts", entry.get("categories"))
        if known is None:  # more categories than the profile keeps
            return None
        text = values.astype(str)
        unseen_mask = ~text.isin(set(known))
        unseen, m = int(unseen_mask.sum()), len(text)
        share = unseen / m
        row["unseen"] = share
        if not unseen:
            return None
        new = text[unseen_mask].value_counts()
        sample = ", ".join(map(repr, new.index[:3]))
        if "counts" not in entry or "count" not in entry:  # an older profile: a fixed share
            if share > self.max_unseen_share:
                return f"{share:.0%} of column {name!r} are categories never seen in training ({sample})"
            return None
        train_values = int(entry["count"])
        # one frequent new category (Bonferroni over the new ones), or many new values in all
        one = all_in_first(m, train_values, int(new.iloc[0])) * len(new)
        many = unseen_chance(unseen, m, train_values, int(entry.get("singletons", 0)))
        chance = min(1.0, 2.0 * min(one, many))
        row["unseen_chance"] = chance
        if chance >= judge.alpha or share <= self.min_unseen_share:
            return None
        return (
            f"{share:.1%} of column {name!r} ({unseen:,} of {m:,} values) are categories never "
            f"seen in training ({sample}; {int(new.iloc[0]):,} times the most common): data like "
            f"the training data ({train_values:,} values) shows that only {chance:.2g} of the time"
        )

    def _duplicates(self, x: pd.DataFrame, profile: dict[str, Any], judge: _Judge):
        """The share of duplicated rows, and the problem it is (or ``None``)."""
        n = len(x)
        count = int(x.duplicated().sum()) if n else 0
        share = count / n if n else 0.0
        if share <= self.max_duplicate_share:
            return share, None
        limit = f"limit {self.max_duplicate_share:.0%}"
        patterns = profile.get("duplicate_patterns")
        if patterns is None:  # an older profile (or rows it could not compare): a fixed share
            return share, f"{share:.1%} of the rows are duplicates ({limit})"
        bound = duplicate_bound(n, judge.train_rows, patterns, self.alpha)
        if count <= bound:
            return share, None
        repeated = sum(int(k) * v for k, v in patterns.items())
        return share, (
            f"{share:.1%} of the rows are duplicates ({count:,} of {n:,}; {limit}), where rows "
            f"drawn like the training rows ({repeated:,} of {judge.train_rows:,} of them in "
            f"repeated rows) hold at most {bound:.0f}"
        )


class _Judge:
    """What every column's rules share: the sizes and the per-column chances."""

    def __init__(self, train_rows: int, rows: int, range_alpha: float, alpha: float):
        self.train_rows = train_rows
        self.rows = rows
        self.range_alpha = range_alpha
        self.alpha = alpha


def _old_rules(profile: dict[str, Any], columns: dict[str, dict[str, Any]]) -> list[str]:
    """The rules an older profile (without the frequencies) leaves to fixed limits."""
    entries = [e for e in columns.values() if e.get("kind") != "datetime"]
    rules = []
    if any("count" not in e for e in entries):
        rules.append("constant-column")
    if any("categories" in e and "counts" not in e for e in entries):
        rules.append("unseen-category")
    if "duplicate_patterns" not in profile:
        rules.append("duplicate-row")
    return rules


def _train_count(entry: dict[str, Any], value: Any) -> int:
    """How many training values equal ``value`` (at most; from the profile's counts)."""
    if entry.get("kind") == "categorical":
        counts = entry.get("counts")
        if counts is not None:
            return int(counts.get(str(value), 0))
        matches = [c for v, c in entry.get("top", []) if str(v) == str(value)]
    else:
        matches = [c for v, c in entry.get("top", []) if _equal(v, value)]
    if matches:
        return int(matches[0])
    top = entry.get("top", [])
    if entry.get("top_complete", True) or not top:
        return 0
    return int(min(c for _, c in top))  # not among the most common: at most the least of them


def _equal(a: Any, b: Any) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)


def _shown(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return repr(str(value))
    return f"{number:.6g}"
