"""No model is deserialised before every flavor of it is checked, and it loads only as checked.

Loading a pickled model runs whatever its objects' ``__reduce__`` says; a skops file runs only the
types its loader trusts, and MLflow takes that list from the model's own ``MLmodel`` file, which
whoever logged the model wrote. MLflow's pyfunc loader also follows the ``loader_module`` the
artifact names. So before any load, the workbench reads ``MLmodel`` as YAML, every flavor in it and
the skops file's schema (an audit that builds no object), and refuses:

* any flavor but ``sklearn`` saved as skops and a ``python_function`` flavor that points at that
  same file through ``mlflow.sklearn`` (a ``python_model``, ``loader_module`` of another package,
  ``code`` paths, a cloudpickle or pickle file: each would run code the artifact carries);
* files that a loader would unpickle (``.pkl``, ``.pickle``, ``.joblib``, ``.cloudpickle``...);
* skops types beyond skops' defaults, unless they are exact names of
  :data:`~workbench.registry.trust.EXACT_TRUSTED` or were declared when the version was logged
  (``log_model(trusted_types=...)``, recorded on the version), and never a name of
  :func:`~workbench.registry.trust.never_trusted` (``builtins.exec``...).

A checked model is then loaded by :func:`load_checked`: ``skops.io.load`` of the audited file with
exactly the audited types, wrapped as MLflow's pyfunc model, never through the ``loader_module``
of the artifact. ``allow_pickle=True`` (``--allow-pickle``) lets a refused model through MLflow's
own loader; the caller records that choice (on the version and in the audit entry). Every path
that loads a model goes through :func:`~workbench.registry.resolved.resolve` (or
:func:`fetch_model` / :func:`ensure_loadable` and :func:`load_checked`): checks, serving (in the
server process too), scoring, monitoring with a model, the panels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import Any

from workbench._core.names import TAG
from workbench._core.text import first_line
from workbench.errors import ModelNotFoundError, UnsafeModelError
from workbench.registry._mlflow_private import SKOPS_FILE
from workbench.registry.trust import EXACT_TRUSTED, never_trusted

__all__ = [
    "ALLOW_PICKLE_ENV",
    "ArtifactSafety",
    "PICKLE_FORMATS",
    "PICKLE_SUFFIXES",
    "ensure_loadable",
    "fetch_model",
    "inspect_model_dir",
    "load_checked",
]

PICKLE_FORMATS = frozenset({"pickle", "cloudpickle"})
#: File endings of formats a loader would unpickle: refused anywhere in a model folder.
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".cloudpickle", ".dill", ".pt", ".pth", ".sav")
#: ``1`` in a server's environment: its launcher may load a model the checks refuse (recorded).
ALLOW_PICKLE_ENV = "WORKBENCH_ALLOW_PICKLE"
#: The only ``python_function`` loader a checked model may name.
_SKLEARN_LOADER = "mlflow.sklearn"
#: Keys of a ``python_function`` flavor that make MLflow run code the artifact carries.
_CODE_KEYS = ("python_model", "cloudpickle_version", "code", "model_code_path", "artifacts")


@dataclass
class ArtifactSafety:
    """What a model's files say about how loading it would run code.

    Attributes:
        source: The model URI or folder, for messages.
        flavors: Every flavor in its ``MLmodel``.
        serialization_format: The sklearn flavor's format (``skops``, ``pickle``...), or what
            the other flavors imply.
        untrusted: skops types nobody vouched for.
        declared_trusted: Types the version's logger declared (recorded on the version).
        flavor_problems: Flavors or files that would run code the artifact carries.
        trusted: The exact types beyond skops' defaults that the skops file holds and that were
            vouched for: what :func:`load_checked` tells skops to trust, nothing more.
        skops_file: The audited skops file, relative to the folder.

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
    flavor_problems: list[str] = field(default_factory=list)
    trusted: list[str] = field(default_factory=list)
    skops_file: str = SKOPS_FILE

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
        out.extend(self.flavor_problems)
        if self.untrusted:
            out.append(
                "its skops file holds types nobody vouched for: " + ", ".join(self.untrusted[:8])
            )
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArtifactSafety:
        """The verdict :meth:`to_dict` wrote (``safe`` and ``problems`` are derived again)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields, with ``safe``."""
        return {
            "source": self.source,
            "flavors": list(self.flavors),
            "serialization_format": self.serialization_format,
            "untrusted": list(self.untrusted),
            "declared_trusted": list(self.declared_trusted),
            "trusted": list(self.trusted),
            "problems": self.problems(),
            "safe": self.safe,
        }


def inspect_model_dir(
    folder: str | os.PathLike,
    source: str | None = None,
    trusted_types: list[str] | tuple[str, ...] = (),
) -> ArtifactSafety:
    """Judge every flavor and file of a downloaded model folder; loads nothing.

    Args:
        folder: The model folder (holding ``MLmodel``).
        source: The model URI, for messages.
        trusted_types: Exact skops types vouched for (the version's declared ones, the caller's).
    """
    import yaml

    folder = Path(folder)
    source = source or str(folder)
    try:
        meta = yaml.safe_load((folder / "MLmodel").read_text()) or {}
        flavors = meta.get("flavors") or {}
        if not isinstance(flavors, dict):
            raise ValueError("flavors is not a mapping")
    except (OSError, ValueError, yaml.YAMLError, AttributeError) as err:
        raise UnsafeModelError(
            f"cannot read the MLmodel file of {source} ({first_line(err)}): without it the "
            "model's format is unknown, so it is not loaded."
        ) from err
    problems = _flavor_problems(flavors) + _file_problems(folder)
    sk = flavors.get("sklearn") if isinstance(flavors.get("sklearn"), dict) else None
    if sk is None:
        pyfunc = flavors.get("python_function") or {}
        code = isinstance(pyfunc, dict) and any(pyfunc.get(k) for k in _CODE_KEYS)
        return ArtifactSafety(
            source, sorted(map(str, flavors)), "cloudpickle" if code else "unknown",
            flavor_problems=problems,
        )  # fmt: skip
    fmt = str(sk.get("serialization_format") or "pickle")
    declared = [str(t) for t in sk.get("skops_trusted_types") or []]
    skops_file = str(sk.get("pickled_model") or SKOPS_FILE)
    safety = ArtifactSafety(source, sorted(map(str, flavors)), fmt, [], declared, problems)
    if fmt != "skops":
        return safety
    if not _inside(skops_file):
        safety.flavor_problems.append(f"its skops file {skops_file!r} is outside the model folder")
        return safety
    safety.skops_file = skops_file
    found = set(_audit(folder / skops_file))
    vouched = {t for t in trusted_types if not never_trusted(t)} | EXACT_TRUSTED
    safety.untrusted = sorted(found - vouched)
    safety.trusted = sorted(found & vouched)
    return safety


def ensure_loadable(
    folder: str | os.PathLike,
    source: str | None = None,
    *,
    allow_pickle: bool = False,
    trusted_types: list[str] | tuple[str, ...] = (),
    known: ArtifactSafety | None = None,
) -> ArtifactSafety:
    """Refuse a model folder whose loading could run arbitrary code.

    Args:
        folder: The downloaded model folder (holding ``MLmodel``).
        source: The model URI, for messages.
        allow_pickle: Load it anyway (the caller records this choice).
        trusted_types: Skops types the caller (or the version's logger) vouched for, by exact
            name; names that are never trusted (``builtins.exec``) are ignored.
        known: The verdict already reached on these very files (the caller compared their
            digest): judged again as it stands, without a second audit of the skops file.

    Raises:
        UnsafeModelError: a flavor or file that would run code, pickle/cloudpickle format, or
            untrusted skops types (exit code 2).
    """
    safety = known if known is not None else inspect_model_dir(folder, source, trusted_types)
    if safety.safe or allow_pickle:
        return safety
    raise UnsafeModelError(
        f"refused to load {safety.source}: {'; '.join(safety.problems())}. Nothing was loaded. "
        "Log the model with workbench.log_model (skops, trusted types only); or, if you trust "
        "whoever made it, pass allow_pickle=True (--allow-pickle), which is recorded."
    )


def load_checked(folder: str | os.PathLike, safety: ArtifactSafety) -> Any:
    """Load a checked model folder as MLflow's pyfunc model, through the flavor that was checked.

    A safe model is read by ``skops.io.load`` with exactly ``safety.trusted`` (never the
    ``MLmodel``'s own list, never the artifact's ``loader_module``). An unsafe one (only when the
    caller allowed it, see :func:`ensure_loadable`) goes through MLflow's own loader.

    Raises:
        UnsafeModelError: ``safety`` was not judged safe and this is not an allowed load.
        ModelNotFoundError: the files do not load.
    """
    folder = Path(folder)
    if not safety.safe:
        import mlflow

        try:
            return mlflow.pyfunc.load_model(str(folder))
        except Exception as err:
            raise ModelNotFoundError(
                f"cannot load the model {safety.source}: {first_line(err)}"
            ) from err
    from workbench.registry._mlflow_loading import sklearn_pyfunc

    try:
        return sklearn_pyfunc(folder, folder / safety.skops_file, safety.trusted)
    except UnsafeModelError:
        raise
    except Exception as err:
        raise ModelNotFoundError(
            f"cannot load the model {safety.source}: {first_line(err)}. Check the URI "
            "(models:/NAME/VERSION)."
        ) from err


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
    local = download_model(model_uri, dst)
    vouched = [*trusted_types, *declared_by_workbench(model_uri)]
    safety = ensure_loadable(local, model_uri, allow_pickle=allow_pickle, trusted_types=vouched)
    return local, safety


def download_model(model_uri: str, dst: str | os.PathLike) -> Path:
    """``model_uri``'s files in ``dst`` (nothing loaded).

    Raises:
        ModelNotFoundError: the model cannot be found or downloaded.
    """
    import mlflow

    try:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(dst)))
    except Exception as err:
        raise ModelNotFoundError(
            f"cannot find model {model_uri} ({first_line(err)}): check the name, version or alias "
            "(`workbench history NAME`)."
        ) from err


def declared_by_workbench(model_uri: str, tags: dict[str, str] | None = None) -> list[str]:
    """The exact types the version's logger declared (tag ``workbench.trusted_types``)."""
    if tags is None:
        from workbench._core.refs import registry_version

        try:
            mv = registry_version(model_uri)
        except Exception:
            return []
        if mv is None:
            return []
        tags = dict(mv.tags or {})
    return [t for t in tags.get(TAG.TRUSTED_TYPES, "").split(",") if t]


def _flavor_problems(flavors: dict[str, Any]) -> list[str]:
    """Each flavor that is not the checked pair (skops sklearn + its mlflow.sklearn pyfunc)."""
    out = []
    sk = flavors.get("sklearn")
    for name, conf in flavors.items():
        if name == "sklearn":
            continue
        if name != "python_function":
            out.append(f"it has a {name!r} flavor, which the workbench does not check")
            continue
        conf = conf if isinstance(conf, dict) else {}
        loader = conf.get("loader_module")
        if loader != _SKLEARN_LOADER:
            out.append(
                f"its python_function flavor loads through {loader!r}, not {_SKLEARN_LOADER}: "
                "that loader runs code the artifact carries"
            )
        code = [k for k in _CODE_KEYS if conf.get(k)]
        if code:
            out.append(f"its python_function flavor carries {', '.join(code)} (code it would run)")
        wanted = (sk or {}).get("pickled_model") if isinstance(sk, dict) else None
        if loader == _SKLEARN_LOADER and wanted and conf.get("model_path") != wanted:
            out.append(
                f"its python_function flavor loads {conf.get('model_path')!r}, not the checked "
                f"skops file {wanted!r}"
            )
    return out


def _file_problems(folder: Path) -> list[str]:
    found = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name.lower().endswith(PICKLE_SUFFIXES)
    )
    if (folder / "code").is_dir():
        found.append("code/")
    if not found:
        return []
    return [f"it holds files a loader would unpickle or import: {', '.join(found[:5])}"]


def _inside(relative: str) -> bool:
    path = PurePosixPath(relative)
    return not path.is_absolute() and ".." not in path.parts and "\\" not in relative


def _audit(path: Path) -> list[str]:
    """Every type in the skops file beyond skops' defaults (an audit of its schema)."""
    if not path.exists():
        raise UnsafeModelError(f"the skops file {path.name} is missing: not loaded.")
    import skops.io

    try:
        return sorted(set(skops.io.get_untrusted_types(file=path)))
    except Exception as err:  # a crafted schema may break the audit in any way: not loaded
        raise UnsafeModelError(
            f"the skops file {path.name} cannot be audited ({first_line(err)}): not loaded."
        ) from err
