"""No model is deserialised before its format is checked.

Loading a pickled model runs whatever its objects' ``__reduce__`` says; a skops file runs only the
types its loader trusts, and MLflow takes that list from the model's own ``MLmodel`` file, which
whoever logged the model wrote. So before any load, the workbench reads ``MLmodel`` as YAML and the
skops file's schema (an audit that builds no object), and refuses:

* pickle and cloudpickle formats (the sklearn flavor's ``serialization_format``, or a flavor that
  only has ``pickled_model``/``python_model`` files), and
* skops types from outside scikit-learn, numpy, scipy, pandas and Python's own, unless the version
  was logged through the workbench with those types declared (``log_model(trusted_types=...)``
  records them) or the caller passes them.

``allow_pickle=True`` (``--allow-pickle``) lets a refused model through; the caller records that
choice (on the version and in the audit entry). Every path that loads a model goes through
:func:`fetch_model` or :func:`ensure_loadable`: checks, serving (in the server process too),
scoring, monitoring with a model, the panels.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from workbench._core.names import TAG
from workbench._core.text import first_line
from workbench.errors import ModelNotFoundError, UnsafeModelError
from workbench.registry._mlflow_private import untrusted_types
from workbench.registry.trust import TRUSTED_ROOTS

__all__ = [
    "ALLOW_PICKLE_ENV",
    "ArtifactSafety",
    "PICKLE_FORMATS",
    "ensure_loadable",
    "fetch_model",
    "inspect_model_dir",
]

PICKLE_FORMATS = frozenset({"pickle", "cloudpickle"})
#: ``1`` in a server's environment: its launcher may load a model the checks refuse (recorded).
ALLOW_PICKLE_ENV = "WORKBENCH_ALLOW_PICKLE"


@dataclass
class ArtifactSafety:
    """What a model's files say about how loading it would run code.

    Example:
        >>> ArtifactSafety("m", ["sklearn"], "skops").safe
        True
        >>> ArtifactSafety("m", ["sklearn"], "cloudpickle").problems()[0][:40]
        'it is saved as cloudpickle: loading it r'
    """

    source: str
    flavors: list[str]
    serialization_format: str
    untrusted: list[str] = field(default_factory=list)
    declared_trusted: list[str] = field(default_factory=list)

    @property
    def safe(self) -> bool:
        """True when loading it runs no code beyond trusted library types."""
        return not self.problems()

    def problems(self) -> list[str]:
        """Why loading it could run arbitrary code, in plain words."""
        out = []
        if self.serialization_format in PICKLE_FORMATS or self.serialization_format == "unknown":
            out.append(
                f"it is saved as {self.serialization_format}: loading it runs whatever code its "
                "objects carry"
            )
        if self.untrusted:
            out.append(
                "its skops file holds types nobody vouched for: " + ", ".join(self.untrusted[:8])
            )
        return out


def inspect_model_dir(folder: str | os.PathLike, source: str | None = None) -> ArtifactSafety:
    """Read a downloaded model folder's ``MLmodel`` and skops schema; loads nothing."""
    import yaml

    folder = Path(folder)
    source = source or str(folder)
    try:
        meta = yaml.safe_load((folder / "MLmodel").read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise UnsafeModelError(
            f"cannot read the MLmodel file of {source} ({first_line(err)}): without it the "
            "model's format is unknown, so it is not loaded."
        ) from err
    flavors = meta.get("flavors") or {}
    sk = flavors.get("sklearn")
    if sk is not None:
        fmt = str(sk.get("serialization_format") or "pickle")
        declared = list(sk.get("skops_trusted_types") or [])
        untrusted: list[str] = []
        if fmt == "skops":
            untrusted = _untrusted_in(folder / str(sk.get("pickled_model") or "model.skops"))
        return ArtifactSafety(source, sorted(flavors), fmt, untrusted, declared)
    pyfunc = flavors.get("python_function") or {}
    fmt = (
        "cloudpickle"
        if pyfunc.get("python_model") or pyfunc.get("cloudpickle_version")
        else "unknown"
    )
    return ArtifactSafety(source, sorted(flavors), fmt)


def ensure_loadable(
    folder: str | os.PathLike,
    source: str | None = None,
    *,
    allow_pickle: bool = False,
    trusted_types: list[str] | tuple[str, ...] = (),
) -> ArtifactSafety:
    """Refuse a model folder whose loading could run arbitrary code.

    Args:
        folder: The downloaded model folder (holding ``MLmodel``).
        source: The model URI, for messages.
        allow_pickle: Load it anyway (the caller records this choice).
        trusted_types: Skops types the caller (or the version's logger) vouched for.

    Raises:
        UnsafeModelError: pickle/cloudpickle format, or untrusted skops types (exit code 2).
    """
    safety = inspect_model_dir(folder, source)
    vouched = set(trusted_types)
    safety.untrusted = [t for t in safety.untrusted if t not in vouched]
    if safety.safe or allow_pickle:
        return safety
    raise UnsafeModelError(
        f"refused to load {safety.source}: {'; '.join(safety.problems())}. Nothing was loaded. "
        "Log the model with workbench.log_model (skops, trusted types only); or, if you trust "
        "whoever made it, pass allow_pickle=True (--allow-pickle), which is recorded."
    )


def fetch_model(
    model_uri: str,
    dst: str | os.PathLike,
    *,
    allow_pickle: bool = False,
    trusted_types: list[str] | tuple[str, ...] = (),
) -> tuple[Path, ArtifactSafety]:
    """Download ``model_uri``'s files to ``dst`` (no loading) and refuse an unsafe one.

    Types the version's logger declared through the workbench (tag ``workbench.trusted_types``)
    count as vouched for.

    Raises:
        ModelNotFoundError: the model cannot be found or downloaded.
        UnsafeModelError: see :func:`ensure_loadable`.
    """
    import mlflow

    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(dst)))
    except Exception as err:
        raise ModelNotFoundError(
            f"cannot find model {model_uri} ({first_line(err)}): check the name, version or alias "
            "(`workbench history NAME`)."
        ) from err
    vouched = [*trusted_types, *_declared_by_workbench(model_uri)]
    safety = ensure_loadable(local, model_uri, allow_pickle=allow_pickle, trusted_types=vouched)
    return local, safety


def _declared_by_workbench(model_uri: str) -> list[str]:
    from workbench._core.refs import registry_version

    try:
        mv = registry_version(model_uri)
    except Exception:
        return []
    if mv is None:
        return []
    return [t for t in (mv.tags or {}).get(TAG.TRUSTED_TYPES, "").split(",") if t]


def _untrusted_in(path: Path) -> list[str]:
    if not path.exists():
        return []  # no skops file: MLflow will fail to load it, harmlessly
    try:
        data = path.read_bytes()
        with zipfile.ZipFile(path) as zf:
            schema = zf.read("schema.json").decode()
    except (OSError, zipfile.BadZipFile, KeyError) as err:
        raise UnsafeModelError(
            f"the skops file {path.name} cannot be audited ({first_line(err)}): not loaded."
        ) from err
    found = untrusted_types(data, schema)
    return sorted(t for t in found if t.split(".")[0] not in TRUSTED_ROOTS)
