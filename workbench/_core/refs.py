"""One parser and resolver of model references.

A reference is what a user types to name a model:

* ``models:/NAME/3``      a registered version
* ``models:/NAME@alias``  the version an alias points at (it can move: resolve before caching)
* ``models:/m-<id>``      a logged model (no registered name)
* ``runs:/<run>/path``    a model logged in a run
* anything else           a local path or another MLflow URI

Example:
    >>> ref = parse_model_uri("models:/credit-risk@champion")
    >>> ref.kind, ref.name, ref.alias, ref.registered
    ('alias', 'credit-risk', 'champion', True)
    >>> parse_model_uri("models:/credit-risk/3").pinned("7")
    'models:/credit-risk/3'
    >>> parse_model_uri("models:/credit-risk@champion").pinned("7")
    'models:/credit-risk/7'
    >>> model_name_of("models:/credit-risk@champion"), model_name_of("credit-risk")
    ('credit-risk', 'credit-risk')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from workbench.errors import ModelNotFoundError, UsageError

__all__ = [
    "ModelRef",
    "check_alias",
    "check_model_name",
    "model_name_of",
    "parse_model_uri",
    "registry_version",
    "version_uri",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$")
_ALIAS = re.compile(r"^[A-Za-z0-9_-]{1,100}$")

_REGISTERED = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[^/@]+))/?$")
_LOGGED = re.compile(r"^models:/(?P<id>m-[0-9a-fA-F]+)/?$")

Kind = Literal["version", "alias", "logged", "run", "path"]


@dataclass(frozen=True)
class ModelRef:
    """A parsed model reference: what kind, and the registered name/version/alias when it has one."""

    uri: str
    kind: Kind
    name: str | None = None
    version: str | None = None
    alias: str | None = None

    @property
    def registered(self) -> bool:
        """True for ``models:/NAME/V`` and ``models:/NAME@alias``."""
        return self.kind in ("version", "alias")

    def pinned(self, version: str | int | None) -> str:
        """The URI of the version an alias points at now (``version``); other URIs unchanged."""
        if self.kind == "alias" and version is not None:
            return version_uri(self.name or "", version)
        return self.uri


def parse_model_uri(uri: str) -> ModelRef:
    """Parse ``uri`` into a :class:`ModelRef` (no store is contacted)."""
    uri = str(uri).strip()
    match = _REGISTERED.match(uri)
    if match and not _LOGGED.match(uri):
        kind: Kind = "version" if match["version"] else "alias"
        return ModelRef(uri, kind, match["name"], match["version"], match["alias"])
    if _LOGGED.match(uri):
        return ModelRef(uri, "logged")
    if uri.startswith("runs:/"):
        return ModelRef(uri, "run")
    return ModelRef(uri, "path")


def check_model_name(name: object) -> str:
    """``name`` when it is a safe registered-model name, else a :class:`UsageError`.

    Letters, digits, spaces, ``.``, ``_`` and ``-``, starting with a letter or digit, at most 100
    characters, never ``..``: a name also names an experiment and an artifact folder, so a name
    such as ``../../x`` must be refused before anything is created.

    Example:
        >>> check_model_name("credit-risk")
        'credit-risk'
        >>> check_model_name("../x")
        Traceback (most recent call last):
        ...
        workbench.errors.UsageError: model name '../x' is not allowed: use letters, digits, spaces, '.', '_' and '-' (starting with a letter or digit, at most 100 characters), e.g. credit-risk.
    """
    text = str(name) if isinstance(name, str) else ""
    if not _NAME.match(text) or ".." in text or text != text.strip():
        raise UsageError(
            f"model name {name!r} is not allowed: use letters, digits, spaces, '.', '_' and '-' "
            "(starting with a letter or digit, at most 100 characters), e.g. credit-risk."
        )
    return text


def check_alias(alias: object) -> str:
    """``alias`` when MLflow accepts it as an alias (letters, digits, ``_``, ``-``; not ``latest``,
    not ``v`` followed by digits), else a :class:`UsageError`.

    Example:
        >>> check_alias("champion")
        'champion'
    """
    text = alias if isinstance(alias, str) else ""
    if not _ALIAS.match(text) or text.lower() == "latest" or re.fullmatch(r"[vV]\d+", text):
        raise UsageError(
            f"alias {alias!r} is not allowed: use letters, digits, '_' and '-' (not 'latest' and "
            "not v<number>), e.g. champion."
        )
    return text


def version_uri(name: str, version: str | int) -> str:
    """``models:/NAME/VERSION``."""
    return f"models:/{name}/{version}"


def model_name_of(model: str | None) -> str | None:
    """The registered name in a ``models:/`` URI, or ``model`` itself when it is a bare name."""
    if not model:
        return None
    ref = parse_model_uri(model)
    if ref.registered:
        return ref.name
    if model.startswith("models:/"):
        return model[len("models:/") :].split("@")[0].split("/")[0]
    return model


def registry_version(ref: ModelRef | str, client: Any = None, strict: bool = False) -> Any | None:
    """The registry's ``ModelVersion`` a registered reference points at, or None for other kinds.

    Args:
        ref: A :class:`ModelRef` or a URI.
        client: An ``MlflowClient`` (default: a new one on the current tracking URI).
        strict: Raise :class:`ModelNotFoundError` when the name, version or alias does not exist
            (default: return None).
    """
    ref = parse_model_uri(ref) if isinstance(ref, str) else ref
    if not ref.registered:
        return None
    import mlflow

    client = client or mlflow.MlflowClient()
    try:
        if ref.kind == "alias":
            return client.get_model_version_by_alias(ref.name, ref.alias)
        return client.get_model_version(ref.name, ref.version)
    except mlflow.exceptions.MlflowException as err:
        if not strict:
            return None
        from workbench._core.text import first_line

        what = f"alias @{ref.alias}" if ref.kind == "alias" else f"version {ref.version}"
        raise ModelNotFoundError(
            f"model {ref.uri} is not in the registry ({first_line(err)}): check the name and the "
            f"{what} with `workbench history {ref.name}` or in the MLflow UI."
        ) from err
