"""Backups and restores on the session's real SQLite store (issue 30).

A backup holds the store (SQLite's online backup), the artifacts, the policy and the public keys;
a restore verifies all of it before it writes a byte, then verifies the audit chains and every
version's files through the registry. Models here are the test's own ("bk-..."), made of copies
of the session's two logged models (the forest and the logistic regression), promoted with force.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import subprocess
import sys
import tarfile
import textwrap
import time
from pathlib import Path

import mlflow
import pandas as pd
import pytest

import workbench as wb
from workbench.backups import DamagedArchiveError, StoreNotEmptyError, backup, restore
from workbench.backups.archive import manifest_checksum
from workbench.backups.create import LAST_BACKUP_FILE, last_backup

FEATURES_ROWS = 200


def _versions(name: str, uris: list[str]) -> None:
    client = mlflow.MlflowClient()
    client.create_registered_model(name)
    for uri in uris:
        info = mlflow.models.get_model_info(uri)
        client.create_model_version(name, info.model_uri, tags={"workbench.task": "classification"})


@pytest.fixture(scope="module")
def story(_trained_session):
    """Model "bk-story": v1 forest, v2 logistic regression, v3 forest; v1 then v2 champion, v3
    challenger (three signed audit entries by two users)."""
    wb.open_workspace(_trained_session.ws.root)
    t = _trained_session
    _versions("bk-story", [t.forest.model_uri, t.linear.model_uri, t.forest.model_uri])
    wb.promote("bk-story", 1, by="ana", reason="first", force=True)
    wb.promote("bk-story", 2, by="bob", reason="better recall", force=True)
    wb.promote("bk-story", 3, alias="challenger", by="ana", reason="try it", force=True)
    return t


@pytest.fixture
def archive(story, tmp_path) -> Path:
    wb.open_workspace(story.ws.root)
    return Path(backup(tmp_path / "backups" / "b.tar.gz").archive)


def _registry_view(name: str) -> dict:
    client = mlflow.MlflowClient()
    model = client.get_registered_model(name)
    versions = sorted(int(v.version) for v in client.search_model_versions(f"name = '{name}'"))
    log = wb.history(name)
    keep = ["seq", "time", "action", "alias", "old_version", "new_version", "by", "hash"]
    return {"versions": versions, "aliases": dict(model.aliases), "log": log[keep]}


def test_backup_then_restore_into_a_new_workspace_is_the_same_registry(story, tmp_path):
    wb.open_workspace(story.ws.root)
    rows = story.frame.head(FEATURES_ROWS)
    before = wb.score("models:/bk-story@champion", rows, progress=False)
    view = _registry_view("bk-story")
    result = backup(tmp_path / "out.tar.gz")
    assert result.models >= 1 and result.versions >= 3 and result.audit_entries >= 3
    assert result.size == (tmp_path / "out.tar.gz").stat().st_size and not result.warnings
    assert last_backup(story.ws.root)["archive"] == result.archive
    assert (story.ws.root / "mlruns" / LAST_BACKUP_FILE).is_file()

    target = tmp_path / "restored"
    restored = restore(result.archive, target)
    assert restored.intact, str(restored)
    assert restored.chains["bk-story"]["ok"] and restored.relocated > 0
    assert wb.current_workspace().root == target.resolve()
    again = _registry_view("bk-story")
    assert again["versions"] == view["versions"] and again["aliases"] == view["aliases"]
    pd.testing.assert_frame_equal(again["log"], view["log"])
    assert wb.registry.verify_history("bk-story").ok
    cli = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "--workspace", str(target)]
        + ["history", "bk-story", "--verify"],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 0 and "intact" in cli.stdout, cli.stdout + cli.stderr
    # The champion loads from the restored folder, not the original one, and predicts the same.
    source = mlflow.MlflowClient().get_model_version("bk-story", "2")
    location = mlflow.MlflowClient().get_logged_model(source.source.split("/")[-1])
    assert location.artifact_location.startswith(target.resolve().as_uri())
    after = wb.score("models:/bk-story@champion", rows, progress=False)
    pd.testing.assert_frame_equal(before, after)
    assert (target / "keys").is_dir() and not list((target / "keys").glob("*.key"))


def test_backup_during_concurrent_promotions_and_monitoring_restores_whole(story, tmp_path):
    """20 promotions (4 processes) and monitoring runs (2 processes) write while three backups
    are taken; each backup restores to a store whose chain verifies and whose every version and
    finished run has its files."""
    root = story.ws.root
    wb.open_workspace(root)
    _versions("bk-race", [story.forest.model_uri, story.linear.model_uri] * 2)
    promoter = textwrap.dedent(
        f"""
        import sys, workbench as wb
        wb.open_workspace({str(root)!r})
        me = int(sys.argv[1])
        for i in range(5):
            wb.promote("bk-race", 1 + (me + i) % 4, by=f"p{{me}}", reason=f"round {{i}}",
                       force=True)
        """
    )
    monitor = textwrap.dedent(
        f"""
        import sys, time, mlflow, workbench as wb
        ws = wb.open_workspace({str(root)!r})
        exp = ws.experiment_id("bk-monitor")
        for i in range(8):
            with mlflow.start_run(experiment_id=exp, run_name=f"m{{sys.argv[1]}}-{{i}}"):
                mlflow.log_text("<html>report %d</html>" % i, "drift/report.html")
                time.sleep(0.3)  # a run under way while a backup is taken
                mlflow.log_metrics({{"drifted_share": i / 10, "rows": 1000 + i}})
                mlflow.set_tag("workbench.kind", "monitoring")
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", promoter, str(p)]) for p in range(4)]
    procs += [subprocess.Popen([sys.executable, "-c", monitor, str(m)]) for m in range(2)]
    archives, seen = [], []
    try:
        db = root / "mlruns" / "mlflow.db"
        deadline = time.time() + 300
        while len(archives) < 3 and time.time() < deadline:
            entries = _race_entries(db)
            if entries >= 1 + 6 * len(archives) or all(p.poll() is not None for p in procs):
                archives.append(backup(tmp_path / f"race-{len(archives)}.tar.gz"))
                seen.append(entries)
            time.sleep(0.2)
    finally:
        codes = [p.wait(timeout=300) for p in procs]
    assert codes == [0] * 6
    print(
        f"backups taken at audit entries {seen}, runs in flight {[len(a.in_flight_runs) for a in archives]}"
    )
    assert wb.registry.verify_history("bk-race").ok
    assert len(archives) == 3 and any(
        a.in_flight_runs or 0 < s < 20 for a, s in zip(archives, seen)
    )
    for n, made in enumerate(archives):
        restored = restore(made.archive, tmp_path / f"restored-{n}")
        assert restored.intact, str(restored)
        if made.in_flight_runs:  # said, so the on-call person knows those runs are partial
            assert any("still running" in note for note in restored.notes), restored.notes
        check = wb.registry.verify_history("bk-race")
        assert check.ok, check.summary()
        log = wb.history("bk-race")
        assert list(log["seq"]) == list(range(1, len(log) + 1)) and len(log) <= 20
        _every_finished_run_has_its_files(tmp_path / f"restored-{n}")
    wb.open_workspace(root)
    assert len(wb.history("bk-race")) == 20


def _race_entries(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=30) as con:
            row = con.execute(
                "SELECT value FROM registered_model_tags WHERE name = 'bk-race' AND key = ?",
                ("workbench.audit.head",),
            ).fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0].split(":")[0]) if row else 0


def _every_finished_run_has_its_files(root: Path) -> None:
    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name("bk-monitor")
    if experiment is None:
        return
    assert experiment.artifact_location.startswith(root.resolve().as_uri())
    for run in client.search_runs([experiment.experiment_id]):
        if run.info.status == "FINISHED":
            path = Path(run.info.artifact_uri.removeprefix("file://")) / "drift" / "report.html"
            assert path.is_file(), run.info.run_id


# --------------------------------------------------------------------------- refused archives


def _members(path: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(path, "r:gz") as tar:
        return [(m, tar.extractfile(m).read() if m.isfile() else b"") for m in tar.getmembers()]


def _write(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def _fixed_manifest(members, edit) -> list[tuple[tarfile.TarInfo, bytes]]:
    """Apply ``edit(manifest, contents)`` and give the manifest digests and a checksum that fit."""
    contents = {m.name: data for m, data in members}
    manifest = json.loads(contents["manifest.json"])
    edit(manifest, contents)
    for name, data in contents.items():
        if name != "manifest.json":
            manifest["files"][name] = {
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
    manifest["checksum"] = manifest_checksum(manifest)
    contents["manifest.json"] = json.dumps(manifest).encode()
    return [(m, contents[m.name]) for m, _ in members]


def _refused(archive: Path, target: Path, member: str | None = None) -> DamagedArchiveError:
    before = sorted(p.name for p in target.parent.iterdir())
    with pytest.raises(DamagedArchiveError) as caught:
        restore(archive, target)
    err = caught.value
    assert err.exit_code == 2 and str(archive.resolve()) in str(err)
    if member is not None:
        assert err.member is not None and err.member.startswith(member), str(err)
    assert not target.exists(), "a refused restore wrote the workspace"
    assert sorted(p.name for p in target.parent.iterdir()) == before, "staging left behind"
    return err


def test_a_truncated_archive_is_refused(archive, tmp_path):
    data = archive.read_bytes()
    for n, keep in enumerate((len(data) // 2, len(data) - 40, 100)):
        cut = tmp_path / f"cut-{n}.tar.gz"
        cut.write_bytes(data[:keep])
        assert "damaged or was tampered with" in str(_refused(cut, tmp_path / f"ws-{n}"))


@pytest.mark.parametrize("where", [0.05, 0.3, 0.5, 0.7, 0.95])
def test_a_bit_flipped_archive_is_refused(archive, tmp_path, where):
    data = bytearray(archive.read_bytes())
    data[int(len(data) * where)] ^= 0x10
    flipped = tmp_path / "flipped.tar.gz"
    flipped.write_bytes(bytes(data))
    _refused(flipped, tmp_path / "ws")


def test_a_bit_flipped_file_with_its_manifest_left_alone_is_named(archive, tmp_path):
    members = _members(archive)
    name = next(m.name for m, _ in members if m.name.endswith("/MLmodel"))
    changed = [(m, d.replace(b"flavors", b"flavorz") if m.name == name else d) for m, d in members]
    err = _refused(_write(tmp_path / "edited.tar.gz", changed), tmp_path / "ws", name)
    assert "SHA-256" in str(err)


def _linear_folder(members) -> str:
    names = [m.name for m, _ in members]
    manifest = json.loads(next(d for m, d in members if m.name == "manifest.json"))
    meta = manifest["record"]["models"]["bk-story"]["versions"]["2"]
    suffix = meta["location"].split("/mlruns/artifacts/", 1)[1]
    folder = "artifacts/" + suffix
    assert f"{folder}/MLmodel" in names
    return folder


def _forest_file(members, name: str) -> bytes:
    manifest = json.loads(next(d for m, d in members if m.name == "manifest.json"))
    meta = manifest["record"]["models"]["bk-story"]["versions"]["1"]
    folder = "artifacts/" + meta["location"].split("/mlruns/artifacts/", 1)[1]
    return next(d for m, d in members if m.name == f"{folder}/{name}")


def test_a_substituted_model_file_with_a_fixed_up_manifest_is_refused(archive, tmp_path):
    members = _members(archive)
    folder = _linear_folder(members)
    forest = _forest_file(members, "model.skops")

    def swap(manifest, contents):
        contents[f"{folder}/model.skops"] = forest  # the champion's file is another model's

    err = _refused(
        _write(tmp_path / "swapped.tar.gz", _fixed_manifest(members, swap)), tmp_path / "ws"
    )
    assert err.member == folder and "v2" in str(err) and "record" in str(err)


def test_a_substitution_with_the_record_fixed_up_too_disagrees_with_the_signed_chain(
    archive, tmp_path
):
    members = _members(archive)
    folder = _linear_folder(members)
    forest = _forest_file(members, "model.skops")

    def swap(manifest, contents):
        contents[f"{folder}/model.skops"] = forest
        files = {**manifest["files"], f"{folder}/model.skops": {
            "size": len(forest), "sha256": hashlib.sha256(forest).hexdigest()}}  # fmt: skip
        from workbench.backups.archive import folder_digest_of

        for model in manifest["record"]["models"].values():
            for meta in model["versions"].values():
                if meta["location"].endswith(folder.removeprefix("artifacts")):
                    meta["digest"] = folder_digest_of(files, folder)

    fixed = _write(tmp_path / "swapped.tar.gz", _fixed_manifest(members, swap))
    err = _refused(fixed, tmp_path / "ws", "store/mlflow.db")
    assert "audit chain of bk-" in str(err) and "promoted" in str(err)  # any model using it


def test_a_substituted_store_is_refused(archive, tmp_path):
    """The store swapped for one where @champion was moved back by hand, manifest digests fixed:
    the store disagrees with the backup's record."""
    members = _members(archive)
    db = tmp_path / "other.db"
    db.write_bytes(next(d for m, d in members if m.name == "store/mlflow.db"))
    with sqlite3.connect(db) as con:
        con.execute(
            "UPDATE registered_model_aliases SET version = 1 WHERE name = 'bk-story' AND "
            "alias = 'champion'"
        )
    con.close()

    def swap(manifest, contents):
        contents["store/mlflow.db"] = db.read_bytes()

    err = _refused(
        _write(tmp_path / "swapped.tar.gz", _fixed_manifest(members, swap)), tmp_path / "ws"
    )
    assert "aliases of bk-story" in str(err)


def test_a_path_traversing_archive_is_refused_and_writes_nothing_outside(archive, tmp_path):
    members = _members(archive)
    for n, evil in enumerate(("../evil.txt", "artifacts/../../evil.txt", "/tmp/evil.txt")):
        info = tarfile.TarInfo(evil)
        bad = [(info, b"owned"), *members]

        def add(manifest, contents, evil=evil):
            contents[evil] = b"owned"

        crafted = _write(tmp_path / f"trav-{n}.tar.gz", _fixed_manifest(bad, add))
        err = _refused(crafted, tmp_path / f"ws-{n}", evil)
        assert "leaves" in str(err)
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()


def test_a_link_in_an_archive_is_refused(archive, tmp_path):
    members = _members(archive)
    link = tarfile.TarInfo("artifacts/x/passwd")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    crafted = _write(tmp_path / "link.tar.gz", [(link, b""), *members])
    assert "link" in str(_refused(crafted, tmp_path / "ws", "artifacts/x/passwd"))


# --------------------------------------------------------------------------- non-empty stores


def test_restore_into_a_non_empty_store_is_refused_without_force(story, archive, tmp_path):
    db = story.ws.root / "mlruns" / "mlflow.db"
    stat = db.stat()
    with pytest.raises(StoreNotEmptyError) as caught:
        restore(archive, story.ws.root)
    assert caught.value.exit_code == 2 and str(story.ws.root) in str(caught.value)
    assert "--force" in str(caught.value)
    assert (db.stat().st_mtime_ns, db.stat().st_size) == (stat.st_mtime_ns, stat.st_size)


def test_an_older_backup_forced_over_the_same_store_is_restored_but_not_intact(archive, tmp_path):
    target = tmp_path / "ws"
    assert restore(archive, target).intact
    wb.promote("bk-story", 1, by="ana", reason="after the backup", force=True)  # entry #4 here
    with pytest.raises(StoreNotEmptyError):
        restore(archive, target)
    again = restore(archive, target, force=True)
    assert not again.intact, "an older backup over a store this account saw further passed"
    assert any("older backup" in p for p in again.problems), again.problems
    assert again.replaced and (Path(again.replaced) / "mlflow.db").is_file()
    assert Path(again.replaced, "artifacts").is_dir()
    assert len(wb.history("bk-story")) == 3  # the backup's entries; #4 is lost, and said so

    # the person on call accepts the loss: the chain verifies from the backup's head on
    accepted = restore(archive, target, force=True, accept_older=True)
    assert accepted.intact, accepted.problems
    assert any("entries #4 to #4" in n and "are lost" in n for n in accepted.notes), accepted.notes
    assert wb.registry.verify_history("bk-story").ok


def test_a_deleted_workspace_is_restored_in_its_own_folder(archive, tmp_path):
    """The drill: a workspace lost whole comes back in the same folder from its last backup,
    intact (this account's witness saw no more than the backup holds), and serves the same."""
    import shutil

    home = tmp_path / "ws"
    assert restore(archive, home).intact
    rows = mlflow.MlflowClient().get_model_version_by_alias("bk-story", "champion").version
    last = backup(tmp_path / "nightly.tar.gz")
    shutil.rmtree(home)
    back = restore(last.archive, home)
    assert back.intact and back.relocated == 0, str(back)
    assert mlflow.MlflowClient().get_model_version_by_alias("bk-story", "champion").version == rows
    assert wb.registry.verify_history("bk-story").ok


# --------------------------------------------------------------------------- the team server


@pytest.mark.server
def test_a_team_server_is_dumped_from_one_snapshot_without_secrets(
    team_server, tmp_path, monkeypatch
):
    from sklearn.dummy import DummyClassifier

    from workbench.backups.archive import ArchiveWriter
    from workbench.backups.team import dump_team
    from workbench.data import credit_risk, split_xy
    from workbench.team.postgres import find_pg_bin

    for key, value in team_server.env("ds1").items():
        monkeypatch.setenv(key, value)
    root = Path(team_server.workspace)
    ws = wb.open_workspace(root)
    assert ws.shared
    x, y = split_xy(credit_risk(200, seed=4)[["age", "income", "default"]].dropna(), "default")
    wb.log_model(DummyClassifier().fit(x, y), name="bk-team", train=(x, y))
    wb.promote("bk-team", 1, reason="first", force=True)

    result = backup(tmp_path / "team.tar.gz")
    assert result.store == "postgresql" and not result.warnings, str(result)
    with tarfile.open(result.archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert {"store/mlflow.dump", "store/mlflow_auth.dump"} <= set(names)
    assert not [n for n in names if n.endswith((".key", "secrets.json", "credentials.json"))]
    model = manifest["record"]["models"]["bk-team"]
    assert model["aliases"]["champion"] == 1 and model["head"][0] == 1
    assert model["versions"]["1"]["digest"], "the version's files were not archived"
    assert manifest["store"]["kind"] == "postgresql" and manifest["record"]["locks"] == []
    stage = tmp_path / "x"
    from workbench.backups.archive import extract_verified

    extract_verified(result.archive, stage)
    for dump in ("mlflow", "mlflow_auth"):
        listed = subprocess.run(
            [str(find_pg_bin() / "pg_restore"), "--list", str(stage / "store" / f"{dump}.dump")],
            capture_output=True,
            text=True,
        )
        assert listed.returncode == 0 and "TABLE" in listed.stdout, listed.stderr
    with pytest.raises(wb.UsageError, match="team server"):
        restore(result.archive, tmp_path / "restored")  # not a team server's workspace

    # the drill on the real PostgreSQL: a promotion after the backup, then the backup restored
    # over it: the store is the backup's again, and this account's witness says what was lost
    wb.promote("bk-team", 1, alias="stable", reason="after the backup", force=True)
    assert wb.registry.verify_history("bk-team").ok  # this account has seen entry #2 now
    with pytest.raises(StoreNotEmptyError):
        restore(result.archive, root)
    back = restore(result.archive, root, force=True)
    assert len(wb.history("bk-team")) == 1, str(back)
    assert "stable" not in mlflow.MlflowClient().get_registered_model("bk-team").aliases
    assert not back.intact and any("older backup" in p for p in back.problems), str(back)
    assert back.models >= 1 and back.chains["bk-team"]["ok"] is False

    # a promotion under way (its audit lock held; the server refuses the name to clients, so
    # the row is written as the database's owner): the backup waits, then says so
    import psycopg2

    from workbench.team.state import TeamPaths, read_json

    password = read_json(TeamPaths.under(root).secrets)["role_password"]
    conn = psycopg2.connect(
        host="127.0.0.1", port=team_server.postgres_port, user="mlflow", password=password,
        dbname="mlflow",
    )  # fmt: skip
    conn.autocommit = True
    lock = "_workbench-audit-lock.bk-team"
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO registered_models (name, creation_time, last_updated_time, workspace) "
            "VALUES (%s, 0, 0, 'default')",
            (lock,),
        )
    try:
        with pytest.raises(wb.ConflictError, match="held the audit lock"):
            with ArchiveWriter(tmp_path / "locked.tar.gz") as writer:
                dump_team(writer, root, tmp_path, wait=1.0)
    finally:
        with conn.cursor() as cur:
            cur.execute("DELETE FROM registered_models WHERE name = %s", (lock,))
        conn.close()
    assert not (tmp_path / "locked.tar.gz").exists()
