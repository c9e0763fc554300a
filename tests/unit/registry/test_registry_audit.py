"""The audit log's replay: where a rollback goes after promotions, rollbacks and outside moves."""

from __future__ import annotations

import pandas as pd

from workbench.registry.audit import AuditEntry, previous_holder


def _log(*moves):
    return pd.DataFrame(
        [{"action": a, "old_version": o, "new_version": n} for a, o, n in moves],
        columns=["action", "old_version", "new_version"],
    ).astype({"old_version": "Int64", "new_version": "Int64"})


def test_each_rollback_undoes_one_promotion():
    log = _log(("promote", None, 1), ("promote", 1, 2), ("promote", 2, 3))
    assert previous_holder(log, 3) == 2
    log = _log(*log.itertuples(index=False), ("rollback", 3, 2))
    assert previous_holder(log, 2) == 1
    log = _log(*log.itertuples(index=False), ("rollback", 2, 1))
    assert previous_holder(log, 1) is None


def test_an_alias_moved_outside_the_workbench_goes_back_to_the_last_known_holder():
    log = _log(("promote", None, 1), ("promote", 1, 2))
    assert previous_holder(log, 9) == 2
    assert previous_holder(_log(), None) is None


def test_a_first_promotion_over_an_existing_holder_remembers_it():
    assert previous_holder(_log(("promote", 4, 5)), 5) == 4


def test_an_entry_summarises_itself_and_flags_forced_promotions():
    entry = AuditEntry("t", "promote", "m", "champion", 1, 2, "bob", "hotfix", True, "failed")
    assert entry.summary() == "promote m@champion: v1 -> v2 by bob (checks failed, FORCED): hotfix"
    assert "#cf222e" in entry._repr_html_()
    assert entry.to_dict()["run_id"] is None
