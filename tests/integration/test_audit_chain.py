"""The audit log is hash-chained: edits, deletions, insertions and outside alias moves show.

Versions here are cheap copies of the session's logged forest, promoted with force and a reason
(copied check tags no longer pass the gate), since these tests are about the log, not the checks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import mlflow
import pandas as pd
import pytest

import workbench as wb
from tests.integration.audit_models import cli, make_versions, promote_three, run_of
from workbench._core.names import AUDIT_EXPERIMENT, AUDIT_PREFIX


def test_an_intact_chain_verifies_and_rolls_back(trained):
    promote_three("chain-ok", trained)
    wb.rollback("chain-ok", by="dan", reason="latency")
    check = wb.registry.verify_history("chain-ok")
    assert check.ok and check.entries == 4, check.summary()
    log = wb.history("chain-ok")
    assert list(log["seq"]) == [1, 2, 3, 4]
    assert list(log["prev_hash"].iloc[1:]) == list(log["hash"].iloc[:-1])
    out = cli("history", "chain-ok", "--verify", root=trained.ws.root)
    assert out.returncode == 0 and "intact (4 entries" in out.stdout


def test_an_edited_entry_is_found_and_blocks_the_gate(trained):
    promote_three("chain-edit", trained)
    client = mlflow.MlflowClient()
    client.set_tag(run_of("chain-edit", 2), AUDIT_PREFIX + "by", "mallory")
    check = wb.registry.verify_history("chain-edit")
    assert not check.ok
    assert any("entry #2" in p and "was edited" in p for p in check.problems), check.problems
    with pytest.raises(wb.GateError, match="was edited"):
        wb.rollback("chain-edit", by="dan", reason="follows the altered log?")
    out = cli("history", "chain-edit", "--verify", root=trained.ws.root)
    assert out.returncode == 3 and "entry #2" in out.stderr and "edited" in out.stderr
    forced = wb.promote("chain-edit", 1, by="dan", reason="known edit, acting anyway", force=True)
    assert forced.forced and forced.seq == 4


def test_a_deleted_entry_leaves_a_gap(trained):
    promote_three("chain-del", trained)
    mlflow.MlflowClient().delete_run(run_of("chain-del", 2))
    problems = wb.registry.verify_history("chain-del").problems
    assert any("#2 is missing (deleted)" in p for p in problems), problems


def test_the_last_entry_deleted_is_found_by_the_head(trained):
    promote_three("chain-last", trained)
    mlflow.MlflowClient().delete_run(run_of("chain-last", 3))
    check = wb.registry.verify_history("chain-last")
    assert any("last entries were deleted" in p for p in check.problems), check.problems
    assert check.moved  # @champion is v3, the log now ends with v2


def test_a_forged_back_dated_entry_is_found(trained):
    promote_three("chain-forge", trained)
    client = mlflow.MlflowClient()
    first = client.get_run(run_of("chain-forge", 1)).data.tags
    tags = {k: v for k, v in first.items() if k.startswith(AUDIT_PREFIX)}
    tags.update({AUDIT_PREFIX + "seq": "2", AUDIT_PREFIX + "by": "mallory",
                 AUDIT_PREFIX + "time": "2020-01-01T00:00:00+00:00"})  # fmt: skip
    experiment = client.get_experiment_by_name(AUDIT_EXPERIMENT).experiment_id
    client.create_run(experiment, tags=tags)
    problems = wb.registry.verify_history("chain-forge").problems
    assert any("appears twice" in p for p in problems), problems
    assert any("was edited" in p for p in problems), problems


def test_an_alias_moved_outside_the_workbench_is_flagged(trained):
    promote_three("chain-moved", trained)
    mlflow.MlflowClient().set_registered_model_alias("chain-moved", "champion", "1")
    check = wb.registry.verify_history("chain-moved")
    assert not check.problems and check.moved
    assert "@champion points at v1" in check.moved[0] and "moved outside" in check.moved[0]
    with pytest.raises(wb.GateError, match="moved outside"):
        wb.rollback("chain-moved", by="ana", reason="builds on it?")
    entry = wb.promote("chain-moved", 3, by="ana", reason="put it back", force=True)
    assert entry.old_version == 1  # the holder it really replaced
    assert wb.registry.verify_history("chain-moved").ok


def test_concurrent_promoters_each_record_what_they_replaced(trained):
    make_versions("chain-race", trained.forest.model_uri, 4)
    code = textwrap.dedent(
        f"""
        import sys, workbench as wb
        wb.open_workspace({str(trained.ws.root)!r})
        wb.promote("chain-race", int(sys.argv[1]), by="p" + sys.argv[1], reason="race", force=True)
        """
    )
    env = dict(os.environ)
    procs = [subprocess.Popen([sys.executable, "-c", code, str(v)], env=env) for v in (1, 2, 3, 4)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0, 0]
    log = wb.history("chain-race")
    assert list(log["seq"]) == [1, 2, 3, 4]
    olds = [None if pd.isna(v) else int(v) for v in log["old_version"]]
    assert olds == [None, *[int(v) for v in log["new_version"].iloc[:-1]]]
    assert wb.registry.verify_history("chain-race").ok
