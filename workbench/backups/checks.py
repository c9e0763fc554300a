"""What a backup's store says about itself, judged from a copy before anything is restored.

The manifest's digests say each file is the file that was archived; they cannot say the files
belong together. A file swapped for another with the manifest fixed up passes them, so the staged
copy is also held to what the backup recorded when it was taken, and to what the store says of
itself:

* the database passes SQLite's integrity check;
* its models, versions, aliases, chain heads and audit-entry counts are the manifest's record;
* every version's files are in the archive and hash to the digest the record gives;
* each model's audit chain verifies (hashes, links, signatures against the archived public keys)
  as well as it did when the backup was taken, and each version an alias holds by the log hashes
  to the digest its promotion recorded and signed.

A substituted store, artifact or key file therefore disagrees with the signed chain or with the
record; one who rewrites the record, every digest and the chain alike needs a registered user's
private key, and even then the restoring account's witness (:mod:`workbench.registry.keys`) finds
a chain cut back below what it saw.

Example:
    >>> version_folder({"location": "file:///w/mlruns/artifacts/e/models/m-1/artifacts"},
    ...                "/w/mlruns/artifacts")
    'artifacts/e/models/m-1/artifacts'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from workbench.backups.archive import folder_digest_of
from workbench.backups.snapshot import audit_entries, local_path, store_record
from workbench.registry.chain import verify_entries
from workbench.registry.keys import SERVER_SIGNER, registered_keys

__all__ = ["chain_check", "record_problems", "version_folder", "versions_problems"]


def version_folder(version: dict[str, Any], artifact_root: str | Path) -> str | None:
    """The archive folder (``artifacts/...``) of a version's files; None when they lie outside
    the workspace's artifact root (or not on this machine)."""
    location = str(version.get("location") or "")
    if location.startswith("mlflow-artifacts:"):  # a team server's proxied artifact root
        rel = urlsplit(location).path.strip("/")
        return f"artifacts/{rel}" if rel and ".." not in rel.split("/") else None
    path = local_path(location)
    if path is None:
        return None
    try:
        rel = path.relative_to(Path(artifact_root))
    except ValueError:
        return None
    return "artifacts/" + rel.as_posix() if rel.parts else "artifacts"


def chain_check(
    db: Path,
    keys_root: Path,
    model: str,
    info: dict[str, Any],
    digests: dict[str, str | None],
    witness: tuple[int, str] | None = None,
) -> dict[str, Any]:
    """Verify ``model``'s audit chain in the store copy ``db``.

    Args:
        db: The SQLite copy.
        keys_root: The folder whose ``keys/`` holds the registered public keys.
        model: Registered model name.
        info: The model's entry of :func:`~workbench.backups.snapshot.store_record`.
        digests: Version (as text) -> the digest of its files (None: not archived).
        witness: This account's witness of the model in the store restored to, if any.

    Returns:
        ``{"ok", "entries", "trusted", "problems"}``: problems of the chain, aliases moved
        outside the workbench, and promoted versions whose files differ from their entry.
    """
    entries = audit_entries(db, model)
    head = tuple(info["head"]) if info.get("head") else None
    check = verify_entries(
        model,
        entries,
        head,  # type: ignore[arg-type]
        dict(info.get("aliases", {})),
        keys=registered_keys(keys_root),
        witness=witness,
        signers=lambda by: {by, SERVER_SIGNER},
    )
    problems = [*check.problems, *check.moved]
    trusted = [e for e in entries if e.get("hash") and 0 < _int(e.get("seq")) <= check.trusted]
    trusted.sort(key=lambda e: _int(e.get("seq")))
    held = {e.get("alias"): str(e.get("new_version")) for e in trusted}
    recorded = {str(e.get("new_version")): e for e in trusted if e.get("digest")}
    for version in sorted(set(held.values()) & set(recorded), key=_int):
        entry = recorded[version]
        if digests.get(version) != entry["digest"]:
            found = (digests.get(version) or "missing")[:12]
            problems.append(
                f"the files of v{version} hash to {found}, but audit entry #{entry.get('seq')} "
                f"promoted {str(entry['digest'])[:12]}"
            )
    return {
        "ok": not problems,
        "entries": check.entries,
        "trusted": check.trusted,
        "problems": problems,
    }


def versions_problems(
    files: dict[str, Any], record: dict[str, Any], artifact_root: str | Path
) -> list[tuple[str, str]]:
    """``(archive folder, problem)`` for each version whose files are not in the archive
    (``files``: the manifest's list) or do not hash to the digest the ``record`` gives."""
    out = []
    for model, info in sorted(record.get("models", {}).items()):
        for version, meta in sorted(info.get("versions", {}).items(), key=lambda kv: _int(kv[0])):
            folder = version_folder(meta, artifact_root)
            digest = folder_digest_of(files, folder) if folder else None
            if digest is None or f"{folder}/MLmodel" not in files:
                where = folder or str(meta.get("location"))
                out.append((where, f"the files of {model} v{version} are not in the archive"))
            elif meta.get("digest") != digest:
                out.append(
                    (
                        str(folder),
                        f"the files of {model} v{version} hash to {digest[:12]}, the backup's "
                        f"record says {str(meta.get('digest'))[:12]}",
                    )
                )
    return out


def record_problems(db: Path | dict[str, Any], recorded: dict[str, Any]) -> list[str]:
    """How the store ``db`` (a SQLite file, or a record already read) differs from the
    ``recorded`` models, versions, aliases and heads."""
    now = (db if isinstance(db, dict) else store_record(db))["models"]
    then = recorded.get("models", {})
    out = []
    for name in sorted(set(now) ^ set(then)):
        where = "the store holds" if name in now else "the record names"
        out.append(f"{where} model {name!r} and the other does not")
    for name in sorted(set(now) & set(then)):
        a, b = now[name], then[name]
        if a["aliases"] != b.get("aliases"):
            out.append(
                f"aliases of {name}: the store says {a['aliases']}, the record {b['aliases']}"
            )
        if a["head"] != b.get("head"):
            out.append(f"audit head of {name}: the store says {a['head']}, the record {b['head']}")
        if a["audit_entries"] != b.get("audit_entries"):
            out.append(
                f"audit entries of {name}: the store holds {a['audit_entries']}, the record "
                f"{b.get('audit_entries')}"
            )
        keys = ("source", "location", "run_id")
        mine = {v: {k: m.get(k) for k in keys} for v, m in a["versions"].items()}
        theirs = {v: {k: m.get(k) for k in keys} for v, m in b.get("versions", {}).items()}
        if mine != theirs:
            out.append(f"versions of {name} differ from the record")
    return out


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
