"""The store side of a backup on a real (empty) SQLite store: the copy, its record, the locations
moved, what counts as empty, and the refusals that come before any archive is read."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from workbench.backups import StoreNotEmptyError, backup, last_backup, restore
from workbench.backups.restore import store_is_empty
from workbench.backups.snapshot import (
    copy_store,
    integrity_problem,
    local_path,
    move_locations,
    rewrite_prefix,
    store_record,
)
from workbench.errors import DataFileError, UsageError, WorkspaceError


def test_rewrite_prefix_moves_whole_segments_only():
    old, new = "file:///a/mlruns/artifacts", "file:///b/mlruns/artifacts"
    assert rewrite_prefix(old + "/1/x", old, new) == new + "/1/x"
    assert rewrite_prefix(old, old, new) == new
    assert rewrite_prefix(old + "2/x", old, new) == old + "2/x"  # a sibling folder stays
    assert rewrite_prefix("models:/m-1", old, new) == "models:/m-1"
    assert rewrite_prefix(None, old, new) is None


def test_local_path_reads_file_uris_and_plain_paths():
    assert local_path("file:///w/a%20b/x") == Path("/w/a b/x")
    assert local_path("/w/x") == Path("/w/x")
    assert local_path("s3://bucket/x") is None and local_path("models:/m-1") is None


def test_the_copy_is_a_store_and_its_locations_move(workspace, tmp_path):
    exp = workspace.experiment_id("bk-unit")
    db = workspace.root / "mlruns" / "mlflow.db"
    copy = tmp_path / "copy.db"
    copy_store(db, copy)
    assert integrity_problem(copy) is None
    record = store_record(copy)
    assert record["models"] == {} and record["counts"]["experiments"] >= 2
    new_root = tmp_path / "elsewhere" / "mlruns" / "artifacts"
    assert move_locations(copy, workspace.artifact_root, new_root) >= 1
    with sqlite3.connect(copy) as con:
        (location,) = con.execute(
            "SELECT artifact_location FROM experiments WHERE experiment_id = ?", (exp,)
        ).fetchone()
    con.close()
    assert location == (new_root / "bk-unit").as_uri()
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    assert integrity_problem(tmp_path / "junk.db")


def test_an_opened_but_unused_workspace_is_empty(workspace):
    assert store_is_empty(workspace.root)
    assert store_is_empty(workspace.root.parent / "never-made")
    (workspace.artifact_root / "x").mkdir()
    (workspace.artifact_root / "x" / "f").write_text("a file")
    assert not store_is_empty(workspace.root)


def test_backup_of_an_empty_workspace_and_its_record(workspace, tmp_path):
    assert last_backup(workspace.root) is None
    (workspace.root / "gate_policy.json").write_text('{"thresholds": {}}')
    (workspace.root / "keys").mkdir(exist_ok=True)
    (workspace.root / "keys" / "ana.pub").write_text("line\n")
    (workspace.root / "keys" / "ana.key").write_text("PRIVATE")  # never archived
    result = backup(tmp_path / "b.tar.gz")
    assert result.models == 0 and result.files == 3 and not result.warnings
    assert result.to_dict()["archive"] == str(tmp_path / "b.tar.gz")
    assert "0 models" in result.summary()
    assert last_backup(workspace.root)["size"] == result.size
    import tarfile

    with tarfile.open(tmp_path / "b.tar.gz") as tar:
        names = tar.getnames()
    assert "workspace/keys/ana.pub" in names and "workspace/gate_policy.json" in names
    assert not any(n.endswith(".key") for n in names) and names[-1] == "manifest.json"


def test_refusals_before_any_archive_is_read(workspace, tmp_path):
    with pytest.raises(UsageError, match="inside the store"):
        backup(workspace.artifact_root / "b.tar.gz")
    with pytest.raises(WorkspaceError, match="no store to back up"):
        backup(tmp_path / "b.tar.gz", workspace=tmp_path / "nothing-here")
    with pytest.raises(DataFileError, match="does not exist"):
        restore(tmp_path / "missing.tar.gz", tmp_path / "ws")
    (workspace.artifact_root / "f").write_text("a run's file")
    (tmp_path / "a.tar.gz").write_bytes(b"anything")
    with pytest.raises(StoreNotEmptyError) as caught:
        restore(tmp_path / "a.tar.gz", workspace.root)
    assert caught.value.exit_code == 2 and "--force" in str(caught.value)


def test_version_folders_in_the_archive():
    from workbench.backups.checks import version_folder

    root = "/w/mlruns/artifacts"
    local = {"location": "file:///w/mlruns/artifacts/e/models/m-1/artifacts"}
    assert version_folder(local, root) == "artifacts/e/models/m-1/artifacts"
    assert version_folder({"location": "/w/mlruns/artifacts/e/x"}, root) == "artifacts/e/x"
    assert version_folder({"location": "file:///elsewhere/m"}, root) is None
    proxied = {"location": "mlflow-artifacts:/1/models/m-2/artifacts"}
    assert version_folder(proxied, "/team/artifacts") == "artifacts/1/models/m-2/artifacts"
    assert version_folder({"location": "mlflow-artifacts:/../etc"}, root) is None
    assert version_folder({"location": "s3://bucket/m"}, root) is None


def test_the_process_that_lost_its_workspace_sees_the_restored_store(workspace, tmp_path):
    """The disaster in one process (a notebook): the workspace it had open is deleted and restored
    in place. MLflow's pooled connection still held the deleted file: this process read the lost
    store (the drill's CI failure: a run written after the backup, without its files) and would
    have written into it. After the restore it reads, and writes, the restored file."""
    import shutil

    import mlflow

    import workbench as wb

    client = mlflow.MlflowClient(workspace.tracking_uri, workspace.tracking_uri)
    exp = workspace.experiment_id("bk-disaster")
    kept = client.create_run(exp).info.run_id
    taken = backup(tmp_path / "backups", workspace=workspace.root)
    lost = client.create_run(exp).info.run_id  # after the backup: lost with the workspace
    assert {r.info.run_id for r in client.search_runs([exp])} == {kept, lost}
    shutil.rmtree(workspace.root)
    restore(taken.archive, workspace.root, accept_older=True)
    ws = wb.open_workspace(workspace.root)
    client = mlflow.MlflowClient(ws.tracking_uri, ws.tracking_uri)
    assert {r.info.run_id for r in client.search_runs([exp])} == {kept}
    written = client.create_run(exp).info.run_id  # into the restored file, not the deleted one
    with sqlite3.connect(workspace.root / "mlruns" / "mlflow.db") as con:
        on_disk = {r[0] for r in con.execute("SELECT run_uuid FROM runs")}
    assert on_disk == {kept, written}
