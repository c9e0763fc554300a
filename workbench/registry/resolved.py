"""Resolve a model once: :func:`resolve` -> :class:`ResolvedModel`.

A model reference (``models:/NAME@champion``, ``models:/NAME/3``, a run or a folder) is looked up
once, with one error policy, and every stage works on what that gave: the version and its tags, the
files downloaded to a private folder, their digest (SHA-256 over every file, see
:mod:`workbench.registry.digest`), the safety verdict of every flavor, the contract, and a lazy
:meth:`ResolvedModel.load` that loads only through the checked flavor. No stage re-reads tags or
the contract with an error policy of its own.

:meth:`ResolvedModel.verify_promoted` binds serving and scoring to the gate: the files must be the
ones the alias's audit entry promoted (or, for a version never promoted, the ones its check run
judged, or the ones it was logged with). A mismatch is :class:`~workbench.errors.ArtifactChangedError`
(exit 2): "artifact of v3 changed after it was checked".
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench._core.names import CHECKS_DIGEST_TAG, TAG
from workbench._core.refs import parse_model_uri, registry_version, version_uri
from workbench.errors import ArtifactChangedError
from workbench.registry.digest import folder_digest, short
from workbench.registry.safety import (
    ArtifactSafety,
    declared_by_workbench,
    download_model,
    ensure_loadable,
    load_checked,
)

__all__ = ["ResolvedModel", "expected_digest", "resolve", "version_digest"]


@dataclass
class ResolvedModel:
    """A model looked up once: version, files, digest, safety verdict, contract, lazy load.

    Attributes:
        uri: The reference as the caller wrote it.
        model_uri: The pinned reference (``models:/NAME/V`` for an alias).
        name: Registered model name (``None`` outside the registry).
        version: Version number (``None`` outside the registry).
        alias: The alias the reference named, if any.
        run_id: The run that logged it.
        tags: The version's tags, as read once.
        local: The downloaded model folder (owned by this object unless the caller gave it).
        digest: SHA-256 over every file of ``local``.
        safety: What loading it would run (every flavor and file judged).
        allow_pickle: The caller let an unsafe format load (recorded by the caller).

    Example:
        >>> import workbench as wb
        >>> rm = wb.resolve("models:/credit-risk@champion")  # doctest: +SKIP
        >>> rm.version, rm.digest[:12], rm.safety.safe  # doctest: +SKIP
        (3, '9f2c0e1d4b7a', True)
        >>> rm.load().predict(frame)  # doctest: +SKIP
    """

    uri: str
    model_uri: str
    name: str | None
    version: int | None
    alias: str | None
    run_id: str | None
    tags: dict[str, str]
    local: Path
    digest: str
    safety: ArtifactSafety
    allow_pickle: bool = False
    _owned: str | None = field(default=None, repr=False)
    _model: Any = field(default=None, repr=False)
    _contract: Any = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """``NAME vN`` for a registered version, else the URI: what messages name."""
        return f"{self.name} v{self.version}" if self.name else self.uri

    @property
    def declared_types(self) -> list[str]:
        """Exact types the version's logger declared as trusted (approved with a promotion)."""
        return declared_by_workbench(self.model_uri, self.tags)

    @property
    def contract(self) -> Any:
        """The model's contract (read once; rebuilt from the signature for older versions).

        Raises:
            ModelNotFoundError: it cannot be read.
        """
        if self._contract is None:
            from workbench.registry.contracts import model_contract

            self._contract = model_contract(self.model_uri)
        return self._contract

    def load(self) -> Any:
        """The model as MLflow's pyfunc model, loaded once through the checked flavor."""
        if self._model is None:
            self._model = load_checked(self.local, self.safety)
        return self._model

    def verify_promoted(self, expected: str | None = None) -> str | None:
        """Refuse files that differ from the ones checked or promoted; returns the digest they
        were held to (``None`` when nothing was ever recorded: a model outside the registry).

        Args:
            expected: The digest a caller checked itself (a server's launcher is handed the one
                its caller checked); default: the record's (:func:`expected_digest`).

        Raises:
            ArtifactChangedError: the digest differs (exit code 2).
        """
        source = "checked"
        if not expected:
            expected, source = expected_digest(self)
        if expected and expected != self.digest:
            raise ArtifactChangedError(
                f"artifact of {self.label} changed after it was {source}: its files hash to "
                f"{short(self.digest)}, the record says {short(expected)}. Nothing was loaded. "
                "Restore the files, or log the model again and check and promote the new version.",
                expected=expected,
                found=self.digest,
            )
        return expected

    def close(self) -> None:
        """Remove the downloaded folder when this object made it."""
        if self._owned:
            shutil.rmtree(self._owned, ignore_errors=True)
            self._owned = None

    def __enter__(self) -> ResolvedModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def resolve(
    uri: str,
    dst: str | Path | None = None,
    *,
    allow_pickle: bool = False,
    trusted_types: list[str] | tuple[str, ...] = (),
    client: Any = None,
    verify: bool = False,
    audited: tuple[str, dict[str, Any]] | None = None,
) -> ResolvedModel:
    """Look ``uri`` up once: its version, files, digest and safety verdict.

    Args:
        uri: ``models:/NAME@alias``, ``models:/NAME/3``, ``runs:/...`` or a local folder.
        dst: Where to download the files (default: a private temporary folder, removed by
            :meth:`ResolvedModel.close` or the ``with`` block).
        allow_pickle: Let a model whose loading could run code through (the caller records it).
        trusted_types: Exact skops types the caller vouches for, beside the version's declared.
        client: An ``MlflowClient`` (default: one on MLflow's current tracking URI, which
            ``open_workspace`` sets; a model server's process gets it from its environment).
        verify: Refuse files that differ from the ones checked and promoted
            (:meth:`ResolvedModel.verify_promoted`): what serving and scoring ask for.
        audited: ``(digest, verdict)`` the caller reached on files with that digest (the
            server's launcher gets them from the process that checked the model): when the
            files downloaded here have that digest, the verdict is judged as it stands, without
            importing skops to audit them again; otherwise they are audited as usual.

    Raises:
        ModelNotFoundError: the model, version or alias does not exist or cannot be downloaded.
        UnsafeModelError: loading it could run code and ``allow_pickle`` was not given.
        ArtifactChangedError: ``verify`` and the files changed after they were checked.
    """
    ref = parse_model_uri(uri)
    mv = None
    if ref.registered:
        import mlflow

        from workbench.registry.versions import registered_model

        client = client or mlflow.MlflowClient()  # a server process has no workspace
        registered_model(client, ref.name)  # names the model when it is not there at all
        mv = registry_version(ref, client, strict=True)
    pinned = version_uri(mv.name, mv.version) if mv is not None else ref.uri
    owned = None
    if dst is None:
        owned = tempfile.mkdtemp(prefix="wb-model-")
        dst = Path(owned) / "model"
    try:
        local = download_model(pinned, dst)
        tags = dict(mv.tags or {}) if mv is not None else {}
        declared = declared_by_workbench(pinned, tags)
        digest = folder_digest(local)
        known = None
        if audited is not None and audited[0] == digest:  # the same files: the same verdict
            known = ArtifactSafety.from_dict({**audited[1], "source": pinned})
        safety = ensure_loadable(
            local, pinned, allow_pickle=allow_pickle, trusted_types=[*trusted_types, *declared],
            known=known,
        )  # fmt: skip
        rm = ResolvedModel(
            uri=str(uri),
            model_uri=pinned,
            name=mv.name if mv is not None else None,
            version=int(mv.version) if mv is not None else None,
            alias=ref.alias,
            run_id=mv.run_id if mv is not None else None,
            tags=tags,
            local=Path(local),
            digest=digest,
            safety=safety,
            allow_pickle=bool(allow_pickle and not safety.safe),
            _owned=owned,
        )
        if verify:
            rm.verify_promoted()
        return rm
    except BaseException:
        if owned:
            shutil.rmtree(owned, ignore_errors=True)
        raise


def version_digest(name: str, version: int | str, client: Any = None) -> str:
    """The digest of a registered version's files as the store holds them now, loading nothing.

    On a local store the files are hashed where they lie; elsewhere they are downloaded to a
    temporary folder first. What the gate compares with the digest a check run judged.

    Raises:
        ModelNotFoundError: the version or its files cannot be found.
    """
    from workbench.workspace import mlflow_client

    client = client or mlflow_client()
    folder = _local_files(client, name, version)
    if folder is not None:
        return folder_digest(folder)
    with tempfile.TemporaryDirectory(prefix="wb-digest-") as tmp:
        return folder_digest(download_model(version_uri(name, version), Path(tmp) / "model"))


def _local_files(client: Any, name: str, version: int | str) -> Path | None:
    """The folder of a version's files on a local artifact store (``None`` elsewhere)."""
    from urllib.parse import unquote, urlsplit

    try:
        source = str(client.get_model_version(name, str(version)).source)
        ref = parse_model_uri(source)
        location = (
            client.get_logged_model(source.removeprefix("models:/").strip("/")).artifact_location
            if ref.kind == "logged"
            else source
        )
    except Exception:
        return None
    parts = urlsplit(str(location))
    if parts.scheme not in ("", "file") or parts.netloc not in ("", "localhost"):
        return None
    folder = Path(unquote(parts.path))
    return folder if (folder / "MLmodel").is_file() else None


def expected_digest(rm: ResolvedModel) -> tuple[str | None, str]:
    """The digest ``rm``'s files must have, and what recorded it.

    In order: the newest sealed audit entry, signed by a key registered to its user, that put this
    version under an alias (``promoted``), the version's check run (``checked``), the digest
    recorded when it was logged (``logged``).
    """
    if rm.name is None or rm.version is None:
        return None, ""
    from workbench.registry.audit import promoted_digest

    promoted = promoted_digest(rm.name, rm.version)
    if promoted:
        return promoted, "checked and promoted"
    if rm.tags.get(CHECKS_DIGEST_TAG):
        return rm.tags[CHECKS_DIGEST_TAG], "checked"
    if rm.tags.get(TAG.DIGEST):
        return rm.tags[TAG.DIGEST], "logged"
    return None, ""
