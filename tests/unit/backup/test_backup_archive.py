"""The backup archive on its own: names it takes, what it refuses, its manifest (no store)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tempfile
from pathlib import Path

import pytest

from workbench.backups.archive import (
    MANIFEST,
    ArchiveWriter,
    DamagedArchiveError,
    extract_verified,
    folder_digest_of,
    manifest_checksum,
    safe_name,
)
from workbench.backups.create import ARCHIVE_PATTERN, prune
from workbench.errors import UsageError, WorkbenchError
from workbench.registry.digest import folder_digest

BASE = {"format": "workbench-backup", "format_version": 1}


@pytest.mark.parametrize(
    "name",
    ["manifest.json", "store/mlflow.db", "artifacts/1/abc/artifacts/model/MLmodel", "workspace/k"],
)
def test_safe_names(name):
    assert safe_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "/etc/passwd",
        "../x",
        "artifacts/../../x",
        "artifacts/./x",
        "artifacts//x",
        "artifacts\\..\\x",
        "other/x",
        "artifacts",
        "store/a\x00b",
    ],
)
def test_unsafe_names(name):
    assert not safe_name(name)


def _source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "model").mkdir(parents=True)
    (src / "model" / "MLmodel").write_text("flavors: {}\n")
    (src / "model" / "model.skops").write_bytes(bytes(range(256)) * 50)
    (src / "db").write_bytes(b"SQLite format 3\x00" + b"x" * 100)
    return src


def _archive(tmp_path: Path) -> Path:
    src = _source(tmp_path)
    with ArchiveWriter(tmp_path / "a.tar.gz") as writer:
        writer.add_file(src / "db", "store/mlflow.db")
        writer.add_tree(src / "model", "artifacts/e/m")
        return writer.finish(dict(BASE, record={}))


def test_a_written_archive_extracts_verified(tmp_path):
    archive = _archive(tmp_path)
    assert not list(tmp_path.glob(".*.tmp")), "temporary file left behind"
    out = tmp_path / "out"
    manifest = extract_verified(archive, out)
    assert sorted(manifest["files"]) == [
        "artifacts/e/m/MLmodel",
        "artifacts/e/m/model.skops",
        "store/mlflow.db",
    ]
    assert (out / "artifacts/e/m/model.skops").read_bytes() == bytes(range(256)) * 50
    # the version digest computed from the manifest alone is the registry's digest of the folder
    assert folder_digest_of(manifest["files"], "artifacts/e/m") == folder_digest(
        tmp_path / "src" / "model"
    )
    assert folder_digest_of(manifest["files"], "artifacts/none") is None


def test_a_failed_write_leaves_no_file(tmp_path):
    with pytest.raises(RuntimeError), ArchiveWriter(tmp_path / "a.tar.gz") as writer:
        writer.add_file(_source(tmp_path) / "db", "store/mlflow.db")
        raise RuntimeError("disk full")
    assert not (tmp_path / "a.tar.gz").exists() and not list(tmp_path.glob(".a.tar.gz*"))


def _members(path: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(path, "r:gz") as tar:
        return [(m, tar.extractfile(m).read() if m.isfile() else b"") for m in tar.getmembers()]


def _rewrite(path: Path, members, manifest_edit=None) -> Path:
    out = path.with_name("crafted.tar.gz")
    with tarfile.open(out, "w:gz") as tar:
        for info, data in members:
            if info.name == MANIFEST and manifest_edit is not None:
                manifest = json.loads(data)
                manifest_edit(manifest)
                manifest["checksum"] = manifest_checksum(manifest)
                data = json.dumps(manifest).encode()
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return out


def _refused(archive: Path, tmp_path: Path, member: str | None, words: str) -> None:
    with pytest.raises(DamagedArchiveError) as caught:
        extract_verified(archive, Path(tempfile.mkdtemp(dir=tmp_path)))
    err = caught.value
    assert isinstance(err, WorkbenchError) and err.exit_code == 2
    assert err.member == member and str(archive) in str(err) and words in str(err), str(err)


def test_an_unlisted_member_is_refused(tmp_path):
    members = _members(_archive(tmp_path))
    extra = tarfile.TarInfo("artifacts/e/m/extra.py")
    crafted = _rewrite(tmp_path / "a.tar.gz", [(extra, b"import os"), *members])
    _refused(crafted, tmp_path, "artifacts/e/m/extra.py", "does not list it")


def test_a_missing_member_is_refused(tmp_path):
    members = [(m, d) for m, d in _members(_archive(tmp_path)) if not m.name.endswith("MLmodel")]
    crafted = _rewrite(tmp_path / "a.tar.gz", members)
    _refused(crafted, tmp_path, "artifacts/e/m/MLmodel", "missing")


def test_a_changed_member_is_refused(tmp_path):
    members = [
        (m, d.replace(b"flavors", b"flavorz") if m.name.endswith("MLmodel") else d)
        for m, d in _members(_archive(tmp_path))
    ]
    crafted = _rewrite(tmp_path / "a.tar.gz", members)
    _refused(crafted, tmp_path, "artifacts/e/m/MLmodel", "SHA-256")


def test_a_member_twice_or_after_the_manifest_is_refused(tmp_path):
    members = _members(_archive(tmp_path))
    twice = _rewrite(tmp_path / "a.tar.gz", [members[0], *members])
    _refused(twice, tmp_path, members[0][0].name, "twice")
    late = tarfile.TarInfo("store/late.db")
    after = _rewrite(tmp_path / "a.tar.gz", [*members, (late, b"x")])
    _refused(after, tmp_path, "store/late.db", "after the manifest")


@pytest.mark.parametrize(
    "kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE]
)
def test_links_and_devices_are_refused(tmp_path, kind):
    info = tarfile.TarInfo("artifacts/e/m/evil")
    info.type, info.linkname = kind, "/etc/passwd"
    crafted = _rewrite(tmp_path / "a.tar.gz", [(info, b""), *_members(_archive(tmp_path))])
    _refused(crafted, tmp_path, "artifacts/e/m/evil", "link or a device")


@pytest.mark.parametrize("name", ["../../evil", "/tmp/evil-abs", "artifacts/../../evil"])
def test_paths_out_of_the_archive_are_refused_before_a_byte_is_written(tmp_path, name):
    info = tarfile.TarInfo(name)
    crafted = _rewrite(tmp_path / "a.tar.gz", [(info, b"x"), *_members(_archive(tmp_path))])
    _refused(crafted, tmp_path, name, "leaves")
    assert not [p for p in tmp_path.rglob("*evil*") if p.name != "crafted.tar.gz"]
    assert not Path("/tmp/evil-abs").exists() and not (tmp_path.parent / "evil").exists()


def test_a_manifest_that_lies_or_is_foreign_is_refused(tmp_path):
    members = _members(_archive(tmp_path))
    no_manifest = _rewrite(
        tmp_path / "a.tar.gz", [(m, d) for m, d in members if m.name != MANIFEST]
    )
    _refused(no_manifest, tmp_path, MANIFEST, "no manifest")

    def foreign(manifest):
        manifest["format"] = "something-else"

    _refused(
        _rewrite(tmp_path / "a.tar.gz", members, foreign), tmp_path, MANIFEST, "not a workbench"
    )

    def edited(manifest):
        manifest["record"] = {"models": {"x": {}}}

    crafted = _rewrite(tmp_path / "a.tar.gz", members, edited)
    data = [(m, d) for m, d in _members(crafted)]
    unsealed = [
        (m, d.replace(b'"x"', b'"y"') if m.name == MANIFEST else d) for m, d in data
    ]  # the record changed, the checksum not
    _refused(_rewrite(tmp_path / "b.tar.gz", unsealed), tmp_path, MANIFEST, "checksum")


def test_a_truncated_or_flipped_archive_is_refused(tmp_path):
    data = _archive(tmp_path).read_bytes()
    for n, blob in enumerate([data[: len(data) - 8], data[:100], data[:-1]]):
        (tmp_path / f"cut{n}.tar.gz").write_bytes(blob)
        _refused(tmp_path / f"cut{n}.tar.gz", tmp_path, None, "cannot be read")
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 1
    (tmp_path / "flip.tar.gz").write_bytes(bytes(flipped))
    with pytest.raises(DamagedArchiveError):
        extract_verified(tmp_path / "flip.tar.gz", tmp_path / "sf")


def test_prune_keeps_the_newest_archives_and_nothing_else(tmp_path):
    names = [f"workbench-backup-202612{d:02d}T000000000000Z.tar.gz" for d in range(1, 6)]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "other.tar.gz").write_bytes(b"")
    gone = prune(tmp_path, 2)
    assert [Path(p).name for p in gone] == names[:3]
    assert sorted(p.name for p in tmp_path.glob(ARCHIVE_PATTERN)) == names[3:]
    assert (tmp_path / "notes.txt").exists() and (tmp_path / "other.tar.gz").exists()
    assert prune(tmp_path, 5) == []
    with pytest.raises(UsageError, match="keep at least 1"):
        prune(tmp_path, 0)


def test_the_manifest_checksum_covers_everything_but_itself():
    a = manifest_checksum({"a": 1, "files": {"x": {"size": 1}}})
    assert a == manifest_checksum({"files": {"x": {"size": 1}}, "a": 1, "checksum": "zz"})
    assert a != manifest_checksum({"a": 2, "files": {"x": {"size": 1}}})
    assert len(a) == len(hashlib.sha256().hexdigest())


@pytest.mark.parametrize(
    ("every", "cron", "calendar"),
    [
        ("1d", "0 2 * * *", "OnCalendar=daily"),
        ("1w", "0 2 * * 0", "OnCalendar=weekly"),
        ("1h", "0 * * * *", "OnCalendar=hourly"),
        ("6h", "0 */6 * * *", "OnCalendar=*-*-* 00/6:00:00"),
    ],
)
def test_schedule_lines(every, cron, calendar, tmp_path):
    from workbench.backups import schedule

    text = schedule("/backups/", keep=7, every=every, workspace=tmp_path)
    first = text.splitlines()[0]
    assert first.startswith(f"{cron}  cd {tmp_path.resolve()} && /")
    assert first.endswith("-m workbench.cli backup --out /backups/ --keep 7")
    assert calendar in text and "Persistent=true" in text


@pytest.mark.parametrize("every", ["5h", "2d", "1m", "", "d"])
def test_schedule_refuses_what_cron_cannot_say(every):
    from workbench.backups import schedule

    with pytest.raises(UsageError, match="--every"):
        schedule("/b/", every=every)
