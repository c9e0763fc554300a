"""The backup archive: a gzipped tar of plain files and a manifest of their SHA-256 digests.

Layout (every name relative, ``/``-separated)::

    store/mlflow.db          the SQLite store, copied through SQLite's online backup API
    artifacts/...            the artifact root (``mlruns/artifacts``), copied after the store
    workspace/gate_policy.json, workspace/keys/<user>.pub, workspace/settings/...
    manifest.json            last: size and SHA-256 of every file above, versions, the record

Writing goes through a temporary file beside the target, ``fsync`` and a rename, so a reader
never sees half an archive. Reading (:func:`extract_verified`) takes regular files and folders
only, under the known top-level folders, each once, hashes every byte as it is extracted into a
staging folder and compares the whole with the manifest: a truncated, bit-flipped, padded or
path-traversing archive raises :class:`DamagedArchiveError` naming the archive and the member.

Example:
    >>> safe_name("artifacts/exp/run/model.skops"), safe_name("../etc/passwd")
    (True, False)
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
import zlib
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from workbench.errors import DamagedArchiveError, StoreNotEmptyError

__all__ = [
    "FORMAT",
    "MANIFEST",
    "TOP_LEVEL",
    "DamagedArchiveError",
    "StoreNotEmptyError",
    "ArchiveWriter",
    "extract_verified",
    "folder_digest_of",
    "manifest_head",
    "manifest_checksum",
    "mlflow_version",
    "safe_name",
]

#: The ``format`` field of every manifest, and its version.
FORMAT = ("workbench-backup", 1)
MANIFEST = "manifest.json"
#: The only top-level folders an archive may hold (besides the manifest).
TOP_LEVEL = ("store", "artifacts", "workspace")
_CHUNK = 1 << 20
_SPOOL = 8 << 20  # files up to this size are held in memory while hashed


def manifest_head(root: Any, created: str) -> dict[str, Any]:
    """What every manifest opens with: the format, when, which workbench, MLflow and Python, and
    the workspace backed up."""
    import platform

    from workbench._core.text import VERSION

    return {
        "format": FORMAT[0],
        "format_version": FORMAT[1],
        "created": created,
        "workbench": VERSION,
        "mlflow": mlflow_version(),
        "python": platform.python_version(),
        "workspace": str(root),
    }


def safe_name(name: str) -> bool:
    """Whether ``name`` may be extracted: relative, normalised, under a known top-level folder."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return False
    parts = PurePosixPath(name).parts
    if any(p in ("", ".", "..") for p in parts) or "/".join(parts) != name.rstrip("/"):
        return False
    return name == MANIFEST or (parts[0] in TOP_LEVEL and len(parts) >= 2)


def manifest_checksum(manifest: dict[str, Any]) -> str:
    """SHA-256 of the manifest's canonical JSON without its own ``checksum`` field."""
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def folder_digest_of(files: dict[str, dict[str, Any]], folder: str) -> str | None:
    """The artifact digest (:func:`workbench.registry.digest.folder_digest`) of the archived
    ``folder``, computed from the manifest's entries alone (None when it holds no file)."""
    prefix = folder.rstrip("/") + "/"
    listed = {
        name[len(prefix) :]: {"size": entry["size"], "sha256": entry["sha256"]}
        for name, entry in files.items()
        if name.startswith(prefix)
    }
    listed.pop("registered_model_meta", None)  # digest.DOWNLOAD_ONLY_FILES
    if not listed:
        return None
    text = json.dumps(listed, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class ArchiveWriter:
    """Write an archive atomically: files first (hashed as they are read), the manifest last.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "a.txt").write_text("a")
        >>> with ArchiveWriter(d / "b.tar.gz") as w:
        ...     ok = w.add_file(d / "a.txt", "workspace/a.txt")
        ...     path = w.finish({})
        >>> sorted(w.files)
        ['workspace/a.txt']
    """

    def __init__(self, out: str | os.PathLike):
        self.out = Path(out)
        self.tmp = self.out.with_name(f".{self.out.name}.{os.getpid()}.tmp")
        self.files: dict[str, dict[str, Any]] = {}
        self._raw: BinaryIO | None = None
        self._tar: tarfile.TarFile | None = None
        self._done = False

    def __enter__(self) -> ArchiveWriter:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._raw = open(self.tmp, "wb")  # noqa: SIM115 - closed in finish/__exit__
        self._tar = tarfile.open(fileobj=self._raw, mode="w:gz", compresslevel=6)
        return self

    def add_file(self, path: str | os.PathLike, name: str) -> bool:
        """Add the regular file ``path`` as ``name``; False when it vanished meanwhile."""
        assert self._tar is not None and safe_name(name), name
        digest, size = hashlib.sha256(), 0
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as spool:
            try:  # one read: the bytes hashed are the bytes archived, however the file moves
                with open(path, "rb") as fh:
                    while chunk := fh.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        spool.write(chunk)
            except FileNotFoundError:
                return False
            spool.seek(0)
            self._tar.addfile(_info(name, size), spool)
        self.files[name] = {"size": size, "sha256": digest.hexdigest()}
        return True

    def add_tree(self, folder: Path, prefix: str, keep=lambda rel: True) -> list[str]:
        """Add every regular file under ``folder`` as ``prefix/<relative path>``; returns the
        relative paths skipped (symbolic links and other non-regular files)."""
        skipped = []
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                rel = path.relative_to(folder).as_posix()
                if not keep(rel):
                    continue
                if path.is_symlink() or not path.is_file() or not safe_name(f"{prefix}/{rel}"):
                    skipped.append(rel)
                    continue
                self.add_file(path, f"{prefix}/{rel}")
        return skipped

    def finish(self, manifest: dict[str, Any]) -> Path:
        """Add the manifest (with the file list and its checksum), fsync and rename into place."""
        assert self._tar is not None and self._raw is not None
        manifest = {**manifest, "files": dict(sorted(self.files.items()))}
        manifest["checksum"] = manifest_checksum(manifest)
        data = json.dumps(manifest, indent=1, sort_keys=True).encode()
        self._tar.addfile(_info(MANIFEST, len(data)), io.BytesIO(data))
        self._tar.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self.tmp, self.out)
        _fsync_dir(self.out.parent)
        self._done = True
        return self.out

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            for closing in (self._tar, self._raw):
                try:
                    if closing is not None:
                        closing.close()
                except Exception:  # noqa: S110 - the temporary file goes below either way
                    pass
            self.tmp.unlink(missing_ok=True)


def extract_verified(archive: str | os.PathLike, staging: Path) -> dict[str, Any]:
    """Extract ``archive`` into ``staging`` and verify it against its manifest.

    Returns:
        The manifest, once every listed file was found with its size and digest, and nothing
        else was found.

    Raises:
        DamagedArchiveError: the archive cannot be read to its end, holds a link, a device, an
            absolute or ``..`` path, a name twice, a file the manifest does not list or lists
            otherwise, or lacks one; or its manifest is unreadable or not a workbench backup's.
    """
    archive = Path(archive)
    found: dict[str, dict[str, Any]] = {}
    manifest_bytes: bytes | None = None
    member = None
    try:
        with gzip.open(archive, "rb") as whole:  # to the end: gzip's length and CRC-32 checked
            while whole.read(_CHUNK):
                pass
        with tarfile.open(archive, mode="r|gz") as tar:
            for info in tar:
                member = info.name
                _check_member(archive, info, found)
                if info.isdir():
                    continue
                source = tar.extractfile(info)
                if source is None:
                    raise DamagedArchiveError(archive, member, "it cannot be read")
                if info.name == MANIFEST:
                    manifest_bytes = source.read(64 << 20)
                    found[MANIFEST] = {}
                    continue
                found[info.name] = _extract(source, staging / info.name)
            member = None
    except DamagedArchiveError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError) as err:
        why = f"it cannot be read to its end ({type(err).__name__}: {err}): truncated or corrupted"
        raise DamagedArchiveError(archive, member, why) from err
    manifest = _parse_manifest(archive, manifest_bytes)
    _compare(archive, manifest.get("files", {}), found)
    return manifest


def _check_member(archive: Path, info: tarfile.TarInfo, found: dict[str, Any]) -> None:
    name = info.name
    if not safe_name(name):
        raise DamagedArchiveError(archive, name, "its path leaves the archive's folders")
    if not (info.isfile() or info.isdir()):
        raise DamagedArchiveError(archive, name, "it is a link or a device, not a plain file")
    if name in found:
        raise DamagedArchiveError(archive, name, "the archive holds it twice")
    if name != MANIFEST and MANIFEST in found:
        raise DamagedArchiveError(archive, name, "it comes after the manifest")


def _extract(source: BinaryIO, target: Path) -> dict[str, Any]:
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with open(target, "xb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return {"size": size, "sha256": digest.hexdigest()}


def _parse_manifest(archive: Path, data: bytes | None) -> dict[str, Any]:
    if data is None:
        raise DamagedArchiveError(archive, MANIFEST, "the archive has no manifest")
    try:
        manifest = json.loads(data)
    except ValueError as err:
        raise DamagedArchiveError(archive, MANIFEST, f"it is not JSON ({err})") from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT[0]:
        raise DamagedArchiveError(archive, MANIFEST, "it is not a workbench backup's manifest")
    if manifest.get("format_version") != FORMAT[1]:
        raise DamagedArchiveError(
            archive, MANIFEST, f"format version {manifest.get('format_version')!r} is unknown here"
        )
    if manifest.get("checksum") != manifest_checksum(manifest):
        raise DamagedArchiveError(archive, MANIFEST, "its checksum does not match its content")
    if not isinstance(manifest.get("files"), dict):
        raise DamagedArchiveError(archive, MANIFEST, "it lists no files")
    return manifest


def _compare(archive: Path, listed: dict[str, Any], found: dict[str, dict[str, Any]]) -> None:
    found = {k: v for k, v in found.items() if k != MANIFEST}
    for name in sorted(set(found) - set(listed)):
        raise DamagedArchiveError(archive, name, "the manifest does not list it (added)")
    for name in sorted(set(listed) - set(found)):
        raise DamagedArchiveError(archive, name, "the manifest lists it but it is missing")
    for name in sorted(listed):
        want, got = listed[name], found[name]
        if not isinstance(want, dict) or want.get("size") != got["size"]:
            raise DamagedArchiveError(
                archive, name, f"its size is {got['size']} bytes, the manifest says {want}"
            )
        if want.get("sha256") != got["sha256"]:
            raise DamagedArchiveError(
                archive, name, "its SHA-256 differs from the manifest's (changed or corrupted)"
            )


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, int(time.time())
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def mlflow_version() -> str:
    """The installed MLflow's version, read without importing it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlflow")
    except PackageNotFoundError:
        return "unknown"
