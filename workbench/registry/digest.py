"""The artifact digest: SHA-256 over every file of a model folder, as a manifest.

A verdict is bound to the exact bytes it judged. The manifest lists each file's path (relative,
``/``-separated), size and SHA-256; the digest is the SHA-256 of the manifest in canonical JSON, so
a renamed, added, removed or changed file changes it. ``registered_model_meta``, which MLflow writes
into a folder when it downloads a ``models:/NAME/V`` URI, is not part of the model and is left out.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "MLmodel").write_text("flavors: {}")
    >>> a = folder_digest(d)
    >>> _ = (d / "model.skops").write_bytes(b"x")
    >>> a != folder_digest(d), len(a)
    (True, 64)
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

__all__ = ["DOWNLOAD_ONLY_FILES", "folder_digest", "manifest", "short"]

#: Files MLflow adds to a folder when it downloads a registered version: not the model's.
DOWNLOAD_ONLY_FILES = frozenset({"registered_model_meta"})
_CHUNK = 16 << 20  # few, large reads: hashlib frees the GIL for each whole update


def manifest(folder: str | os.PathLike) -> dict[str, dict[str, int | str]]:
    """Relative path -> ``{"size", "sha256"}`` for every file under ``folder`` (links not
    followed: a symbolic link is listed by its target text, so it cannot smuggle in a file from
    elsewhere unseen)."""
    root = Path(folder)
    out: dict[str, dict[str, int | str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if rel in DOWNLOAD_ONLY_FILES:
                continue
            if path.is_symlink():
                target = os.readlink(path).encode()
                out[rel] = {"size": -1, "sha256": "link:" + hashlib.sha256(target).hexdigest()}
                continue
            digest = hashlib.sha256()
            size = 0
            with open(path, "rb") as fh:
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
            out[rel] = {"size": size, "sha256": digest.hexdigest()}
    return out


def folder_digest(folder: str | os.PathLike) -> str:
    """The SHA-256 (hex) of ``folder``'s :func:`manifest`."""
    text = json.dumps(manifest(folder), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def short(digest: str | None) -> str:
    """The first 12 hex digits, for messages (``-`` when there is none)."""
    return (digest or "")[:12] or "-"
