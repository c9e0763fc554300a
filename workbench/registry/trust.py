"""What a logged model promises to whoever loads it: its input signature, the types skops may
load, and the packages it needs.

* :func:`signature_frame` makes integer and boolean columns float64, so that a NaN later does not
  break schema enforcement;
* :func:`trusted_types` lists the types skops must trust to load the model, and refuses types from
  outside scikit-learn, numpy and scipy that the user did not name;
* :func:`trusted_skops_bytes` serialises the model with skops and refuses it when skops would not
  load it back with those types;
* :func:`pip_requirements` pins the installed versions of what the model needs.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import UntrustedTypeError
from workbench.registry._mlflow_private import skops_bytes, untrusted_types

__all__ = [
    "BASE_REQUIREMENTS",
    "TRUSTED_ROOTS",
    "pip_requirements",
    "signature_frame",
    "trusted_skops_bytes",
    "trusted_types",
    "types_in",
]

#: Module roots whose types are trusted for skops without asking the user.
TRUSTED_ROOTS = ("sklearn", "numpy", "scipy", "builtins", "collections", "pandas")
#: What every logged model needs at serving time, whatever it holds.
BASE_REQUIREMENTS = ("mlflow", "scikit-learn", "numpy", "pandas", "scipy", "skops", "cloudpickle")


def signature_frame(x: pd.DataFrame) -> pd.DataFrame:
    """``x`` with integer and boolean columns as float64.

    An integer column that may hold NaN later must not break schema enforcement (MLflow cannot
    put NaN in a ``long`` column).

    Example:
        >>> import pandas as pd
        >>> signature_frame(pd.DataFrame({"n": [1, 2], "s": ["a", "b"]})).dtypes.tolist()
        [dtype('float64'), dtype('O')]
    """
    ints = [c for c in x.columns if pd.api.types.is_integer_dtype(x[c].dtype)]
    bools = [c for c in x.columns if pd.api.types.is_bool_dtype(x[c].dtype)]
    if not ints and not bools:
        return x
    return x.astype({c: "float64" for c in ints} | {c: "float64" for c in bools})


def trusted_types(model: Any, user_trusted: list[str]) -> list[str]:
    """Every type inside ``model`` that skops must be told to trust when it loads the model.

    Types from scikit-learn, numpy and scipy are trusted without asking; anything else must be in
    ``user_trusted`` or the call fails with the list of names to pass.

    Raises:
        UntrustedTypeError: the model holds types nobody vouched for (the message names them).
    """
    found = types_in(model)
    untrusted = sorted(
        t for t in found if t.split(".")[0] not in TRUSTED_ROOTS and t not in user_trusted
    )
    if untrusted:
        names = ", ".join(repr(t) for t in untrusted)
        raise UntrustedTypeError(
            f"the model holds types that skops does not trust: {names}. If you trust the code "
            f"that defines them, pass trusted_types=[{names}] to log_model; the serving "
            "environment must be able to import them too."
        )
    return sorted(found | set(user_trusted) | {"numpy.dtype"})


def trusted_skops_bytes(model: Any, trusted: list[str]) -> bytes:
    """The model's skops file, once it is certain skops will load it back with ``trusted``.

    Raises:
        UntrustedTypeError: skops would refuse a type that is not in ``trusted`` (a function,
            say); the message names it.
    """
    data, schema = skops_bytes(model)
    missing = sorted(untrusted_types(data, schema) - set(trusted))
    if missing:
        names = ", ".join(repr(t) for t in missing)
        raise UntrustedTypeError(
            f"skops would refuse to load this model: it holds {names}, which are not trusted. "
            f"If you trust them, pass trusted_types=[{names}] to log_model; the serving "
            "environment must be able to import them too."
        )
    return data


def types_in(obj: Any) -> set[str]:
    """Qualified names of the non-builtin types reachable from ``obj``'s attributes."""
    seen: set[int] = set()
    names: set[str] = set()
    stack = [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, str | bytes | int | float | bool | type(None) | complex):
            continue
        if isinstance(item, np.ndarray):
            if item.dtype == object:
                stack.extend(item.ravel()[:10_000].tolist())
            continue
        if isinstance(item, np.generic):
            continue
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
            continue
        if isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
            continue
        cls = type(item)
        if cls.__module__ != "builtins":
            names.add(f"{cls.__module__}.{cls.__qualname__}")
        if isinstance(item, type) or callable(item) and not hasattr(item, "__dict__"):
            continue
        state = getattr(item, "__dict__", None)
        if state is None and hasattr(item, "__getstate__"):
            try:
                state = item.__getstate__()
            except Exception:
                state = None
        if isinstance(state, dict):
            stack.extend(state.values())
    return names


def pip_requirements(model: Any) -> list[str]:
    """Pinned requirements from the installed versions of what the model needs.

    MLflow infers these by loading the model in a subprocess (seconds); this reads the installed
    versions of the packages whose types the model holds, plus the flavor's own needs.
    """
    roots = {t.split(".")[0] for t in types_in(model)} - {"builtins", "collections", "__main__"}
    dists = set(BASE_REQUIREMENTS)
    for root in roots:
        dists.update(_distributions().get(root, []))
    return [f"{d}=={v}" for d in sorted(dists, key=str.lower) if (v := _installed_version(d))]


@lru_cache(maxsize=1)
def _distributions() -> dict[str, list[str]]:
    from importlib.metadata import packages_distributions

    return packages_distributions()


@lru_cache(maxsize=256)
def _installed_version(dist: str) -> str | None:
    """The installed version of ``dist`` (each lookup scans ``sys.path``: a few ms; cached)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None
