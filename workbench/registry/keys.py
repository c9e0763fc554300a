"""Signing keys of the audit log, their registry in the workspace, and this account's witness.

Each user who promotes or rolls back gets one Ed25519 key, created on first use:

* the private key stays with the operating-system account, outside the workspace:
  ``~/.config/workbench/keys/<user>.key`` (or ``$WORKBENCH_KEYS_DIR/<user>.key``), mode 0600 in a
  0700 folder; a key file that others may read is refused, as ssh refuses one;
* its public key is registered in the workspace, ``<workspace>/keys/<user>.pub``, one line per key
  (``<key id> ed25519 <base64> <user>``), like git's ``allowed_signers``: commit that folder with
  the project so that teammates verify each other's entries. A user who already has a registered
  key that this account does not hold is refused (no silent second key for a name); adding one is
  a reviewed edit of that file.
* on a shared tracking server the key is also published in the store (a tag of the audit
  experiment), and a teammate's workspace pins a published key on first sight (:func:`pin`, trust on
  first use, as ssh's ``known_hosts``) for a user it has no key of; a user it knows keeps the keys
  it registered. On a plain MLflow server whoever may write the audit experiment can publish a key
  for a name nobody has pinned yet; a workbench team server refuses those writes to everyone but
  itself, and signs every entry with its own key (:data:`SERVER_SIGNER`, created at ``team up``,
  its public key served at ``/api/workbench/info``).

The key id is a short fingerprint: the first 16 hex digits of the SHA-256 of the raw public key.

The witness (``witness.json`` in the same private folder, mode 0600) remembers, per tracking store
and model, the highest ``(seq, hash)`` this account wrote or verified. It is evidence held outside
the MLflow store: someone who can only write the store cannot lower it, so a log cut back below it
(last entry deleted, head tag reset, alias moved back) is found. It shows only what this account
saw: entries written after this account last looked, by others, are not covered, and an account
that never saw the model has no witness. It cannot tell a truncation from a store deliberately
restored from an older backup.

Example:
    >>> kid, signature = sign("ana", b"entry hash")  # doctest: +SKIP
    >>> verify_signature(public_key("ana"), b"entry hash", signature)  # doctest: +SKIP
    True
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from workbench._core.text import SIGN_AS_ENV  # the service processes set it to SERVER_SIGNER
from workbench.errors import GateError, WorkspaceError

__all__ = [
    "KEYS_DIR_ENV",
    "SERVER_SIGNER",
    "SIGN_AS_ENV",
    "WITNESS_FILE",
    "key_id",
    "keys_dir",
    "line_of",
    "parse_line",
    "pin",
    "public_key",
    "register",
    "registered_keys",
    "registry_dir",
    "remember",
    "sign",
    "signer_for",
    "store_id",
    "verify_signature",
    "witnessed",
    "accept_restored",
]

#: Environment variable that moves the private key folder (tests point it at a temp folder).
KEYS_DIR_ENV = "WORKBENCH_KEYS_DIR"
#: The signer name of a workbench team server's key: on such a server every audit entry and every
#: check run that counts is signed by it (the entry names the login it acted for).
SERVER_SIGNER = "workbench-server"
#: The witness file in the private key folder.
WITNESS_FILE = "witness.json"

_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")
_keys: dict[Path, object] = {}  # key file -> loaded private key (signing stays cheap)
_registered: set[tuple[Path, str]] = set()  # (registry folder, key id) known to be registered


def keys_dir() -> Path:
    """The folder of this account's private keys and witness (``$WORKBENCH_KEYS_DIR`` or
    ``~/.config/workbench/keys``)."""
    env = os.environ.get(KEYS_DIR_ENV, "").strip()
    return Path(env).expanduser() if env else Path.home() / ".config" / "workbench" / "keys"


def signer_for(user: str) -> str:
    """Whose key signs what ``user`` does in this process: ``user``, or the identity named by
    ``$WORKBENCH_SIGN_AS`` (a team server's service process signs as the server)."""
    return os.environ.get(SIGN_AS_ENV, "").strip() or user


def registry_dir(root: str | os.PathLike) -> Path:
    """The folder of registered public keys in the workspace at ``root``."""
    return Path(root) / "keys"


def key_id(public: bytes) -> str:
    """The short fingerprint of a raw 32-byte Ed25519 public key (16 hex digits).

    Example:
        >>> key_id(bytes(32))
        '66687aadf862bd77'
    """
    return hashlib.sha256(public).hexdigest()[:16]


def public_key(user: str, folder: Path | None = None) -> bytes:
    """The raw public key of ``user``'s signing key (created on first use), in this account's
    key folder or in ``folder`` (a team server keeps its own)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = _private_key(user, folder)
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)  # type: ignore[attr-defined]


def sign(user: str, message: bytes) -> tuple[str, str]:
    """Sign ``message`` with ``user``'s key (created on first use).

    Returns:
        ``(key id, signature in hex)``.
    """
    key = _private_key(user)
    return key_id(public_key(user)), key.sign(message).hex()  # type: ignore[attr-defined]


def verify_signature(public: bytes, message: bytes, signature: str) -> bool:
    """Whether ``signature`` (hex) is ``public``'s signature of ``message``."""
    from cryptography.exceptions import InvalidSignature

    try:
        _public(public).verify(bytes.fromhex(signature), message)  # type: ignore[attr-defined]
    except (InvalidSignature, ValueError):
        return False
    return True


def register(user: str, root: str | os.PathLike) -> str:
    """Register ``user``'s public key in the workspace at ``root`` (once); returns its key id.

    Raises:
        GateError: ``user`` already has a registered key that this account does not hold.
        WorkspaceError: the key or the registry cannot be written.
    """
    folder = registry_dir(root)
    kid = key_id(public_key(user))
    if (folder, kid) in _registered:
        return kid
    path = folder / f"{_file_name(user)}.pub"
    line = line_of(user, public_key(user))
    theirs = [k for k, (owner, _) in registered_keys(root).items() if owner == user]
    if kid not in theirs:
        if theirs:
            raise GateError(
                f"refused: {user!r} already has a registered signing key ({', '.join(theirs)} "
                f"in {path}) that this account does not hold, so it may not sign as {user!r}. "
                f"Use that key ({keys_dir() / (_file_name(user) + '.key')}), or have this key "
                f"added to {path} after review: {line}"
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as out:
                out.write(line + "\n")
        except OSError as err:
            raise WorkspaceError(
                f"registering the public key of {user!r} in {path} failed: {err}"
            ) from err
    _registered.add((folder, kid))
    return kid


def line_of(user: str, public: bytes) -> str:
    """The registry line of ``user``'s raw public key: ``<key id> ed25519 <base64> <user>``."""
    return f"{key_id(public)} ed25519 {base64.b64encode(public).decode()} {user}"


def parse_line(text: str) -> tuple[str, str, bytes] | None:
    """``(key id, user, raw public key)`` of a registry line; None when it is malformed or its id
    is not its key's fingerprint."""
    parts = text.split(maxsplit=3)
    if len(parts) != 4 or parts[1] != "ed25519":
        return None
    try:
        raw = base64.b64decode(parts[2], validate=True)
    except ValueError:
        return None
    if len(raw) != 32 or key_id(raw) != parts[0]:
        return None
    return parts[0], parts[3], raw


def pin(user: str, public: bytes, root: str | os.PathLike) -> bool:
    """Register a published key of ``user`` in the workspace at ``root`` when the workspace has no
    key of ``user`` yet (trust on first use); True when it is registered now."""
    known = registered_keys(root)
    kid = key_id(public)
    if kid in known:
        return known[kid][0] == user
    if any(owner == user for owner, _ in known.values()):
        return False
    path = registry_dir(root) / f"{_file_name(user)}.pub"
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as out:
            out.write(line_of(user, public) + "\n")
        return True
    return False


def registered_keys(root: str | os.PathLike) -> dict[str, tuple[str, bytes]]:
    """Every key registered in the workspace at ``root``: key id -> (user, raw public key).

    A line whose id is not its key's fingerprint, or that sits in another user's file, is skipped.
    """
    found: dict[str, tuple[str, bytes]] = {}
    folder = registry_dir(root)
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.pub")):
        with contextlib.suppress(OSError, UnicodeDecodeError):
            for text in path.read_text(encoding="utf-8").splitlines():
                parsed = parse_line(text)
                if parsed and _file_name(parsed[1]) == path.stem:
                    found.setdefault(parsed[0], (parsed[1], parsed[2]))
    return found


def store_id(tracking_uri: str) -> str:
    """The tracking store as the witness names it: the URI without a login or password.

    Example:
        >>> store_id("http://ana:secret@host:5000")
        'http://host:5000'
    """
    parts = urlsplit(tracking_uri)
    if "@" in parts.netloc:
        parts = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1])
        return urlunsplit(parts)
    return tracking_uri


def witnessed(store: str, model: str) -> tuple[int, str] | None:
    """The highest ``(seq, hash)`` of ``model`` in ``store`` this account wrote or verified."""
    seen = _read_witness().get(store, {}).get(model)
    if isinstance(seen, list) and len(seen) == 2 and isinstance(seen[0], int):
        return seen[0], str(seen[1])
    return None


def remember(store: str, model: str, seq: int, digest: str) -> None:
    """Raise this account's witness of ``model`` in ``store`` to ``(seq, digest)`` (never lower:
    an equal number with another hash keeps the first one, the evidence)."""
    folder = _private_folder()
    with _witness_lock(folder):
        data = _read_witness()
        known = data.get(store, {}).get(model)
        if isinstance(known, list) and known and int(known[0]) >= seq:
            return
        data.setdefault(store, {})[model] = [int(seq), digest]
        _write_private(folder / WITNESS_FILE, json.dumps(data, indent=1, sort_keys=True))


def accept_restored(store: str, model: str, seq: int, digest: str) -> tuple[int, str] | None:
    """Set this account's witness of ``model`` in ``store`` to ``(seq, digest)``, LOWER included:
    the person on call restored an older backup on purpose and accepts that the entries after it
    are lost (``workbench restore --accept-older``). Returns what the witness said before, for
    the record. Nothing else may lower a witness."""
    folder = _private_folder()
    with _witness_lock(folder):
        data = _read_witness()
        known = data.get(store, {}).get(model)
        data.setdefault(store, {})[model] = [int(seq), digest]
        _write_private(folder / WITNESS_FILE, json.dumps(data, indent=1, sort_keys=True))
    if isinstance(known, list) and len(known) == 2:
        return int(known[0]), str(known[1])
    return None


# --------------------------------------------------------------------------- private files


def _file_name(user: str) -> str:
    """A file name for ``user``: the name itself when it is plain, else a hash of it."""
    if _SAFE.fullmatch(user) and user not in (".", ".."):
        return user
    return "u-" + hashlib.sha256(user.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=256)
def _public(raw: bytes) -> object:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(raw)


def _private_folder(folder: Path | None = None) -> Path:
    folder = folder or keys_dir()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as err:
        raise WorkspaceError(f"the key folder {folder} cannot be created: {err}") from err
    return folder


def _private_key(user: str, folder: Path | None = None) -> object:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        load_pem_private_key,
    )

    path = _private_folder(folder) / f"{_file_name(user)}.key"
    if path in _keys:
        return _keys[path]
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        with contextlib.suppress(FileExistsError):  # another process made it first: read theirs
            _write_private(path, pem.decode(), exclusive=True)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise WorkspaceError(
                f"the signing key {path} may be read by others (mode {mode:o}): refused. "
                f"Run `chmod 600 {path}` (and make a new key if others did read it)."
            )
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as err:
        raise WorkspaceError(f"the signing key {path} cannot be read: {err}") from err
    if not isinstance(key, Ed25519PrivateKey):
        raise WorkspaceError(f"the signing key {path} is not an Ed25519 key")
    _keys[path] = key
    return key


def _write_private(path: Path, text: str, exclusive: bool = False) -> None:
    """Write ``text`` to ``path`` with mode 0600 (atomically unless ``exclusive``)."""
    target = path if exclusive else path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    try:
        fd = os.open(target, flags, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        if not exclusive:
            os.replace(target, path)
    except FileExistsError:
        raise
    except OSError as err:
        raise WorkspaceError(f"{path} cannot be written: {err}") from err


def _read_witness() -> dict:
    path = keys_dir() / WITNESS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@contextlib.contextmanager
def _witness_lock(folder: Path) -> Iterator[None]:
    import fcntl

    fd = os.open(folder / ".witness.lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
