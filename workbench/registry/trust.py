"""What a logged model promises to whoever loads it: its input signature, the types skops may
load, and the packages it needs.

* :func:`signature_frame` makes integer and boolean columns float64, so that a NaN later does not
  break schema enforcement;
* :func:`trusted_types` lists the types skops may be told to trust when it loads the model: skops'
  own defaults (which need no listing), the exact names of :data:`EXACT_TRUSTED`, and exact names
  the user declared (never a whole module, never a name of :func:`never_trusted`);
* :func:`trusted_skops_bytes` serialises the model with skops and refuses it when skops would not
  load it back with those types; it returns the exact types the file needs;
* :func:`pip_requirements` pins the installed versions of what the model needs.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import UntrustedTypeError

__all__ = [
    "BASE_REQUIREMENTS",
    "EXACT_TRUSTED",
    "TRUSTED_ROOTS",
    "never_trusted",
    "pip_requirements",
    "signature_frame",
    "trusted_skops_bytes",
    "trusted_types",
    "types_in",
]

#: Module roots whose types ``log_model`` does not ask the user about before skops audits the dump
#: (skops itself then decides, type by type: these roots are never trusted wholesale at load).
TRUSTED_ROOTS = ("sklearn", "numpy", "scipy", "builtins", "collections", "pandas")
#: Exact types trusted beyond skops' defaults: fitted state of scikit-learn's own estimators that
#: skops does not list. ``Tree`` holds a forest's or a boosted model's nodes (arrays, built by
#: scikit-learn's Cython ``__setstate__``, which runs no code it is given); the others hold arrays
#: and numbers. No function, no module: a function is a type a user must name, exactly.
EXACT_TRUSTED = frozenset(
    {
        "numpy.dtype",
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    }
)
#: Modules whose names are never trusted, even when declared: they run code, read or write files,
#: or reach the interpreter (``builtins.exec``, ``operator.attrgetter``, ``importlib.import_module``).
_NEVER_ROOTS = frozenset(
    "builtins __builtin__ os posix nt sys subprocess importlib operator functools pickle "
    "_pickle cloudpickle dill joblib marshal runpy shutil socket ctypes code codeop pty io _io "
    "pathlib tempfile webbrowser urllib http types inspect gc threading multiprocessing asyncio "
    "signal ssl select mmap shelve dbm sqlite3 zipimport pkgutil site".split()
)
#: numpy functions that read or write files or load pickles.
_NEVER_NUMPY = frozenset(
    "load save savez savez_compressed fromfile tofile loadtxt savetxt genfromtxt memmap fromregex "
    "frompyfunc vectorize piecewise apply_along_axis apply_over_axes".split()
)
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

    Types from scikit-learn, numpy and scipy pass this first look without asking; anything else
    must be in ``user_trusted`` or the call fails with the list of names to pass. What skops is
    finally told to trust is skops' defaults, :data:`EXACT_TRUSTED` and ``user_trusted``:
    :func:`trusted_skops_bytes` then audits the file itself.

    Raises:
        UntrustedTypeError: the model holds types nobody vouched for, or the user vouched for a
            name that is never trusted (the message names them).
    """
    refused = [t for t in user_trusted if never_trusted(t)]
    if refused:
        raise UntrustedTypeError(
            f"trusted_types names {', '.join(repr(t) for t in refused)}: "
            f"{never_trusted(refused[0])}. Replace it with a transformer of your own (declared "
            "by its exact class name) or a scikit-learn estimator."
        )
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
    return sorted(EXACT_TRUSTED | set(user_trusted))


def never_trusted(name: str) -> str | None:
    """Why the type or function ``name`` may never be trusted for skops (``None``: it may be
    declared). Whole modules are never trusted either: a name must be a dotted, exact one.

    Example:
        >>> never_trusted("builtins.exec")
        "'builtins' runs code, reads files or reaches the interpreter"
        >>> never_trusted("numpy") is None, never_trusted("mylib.Scaler") is None
        (False, True)
    """
    parts = str(name).split(".")
    if len(parts) < 2 or not all(p.isidentifier() for p in parts):
        return "a trusted type is one exact, dotted name (module.Type), never a whole module"
    if parts[0] in _NEVER_ROOTS:
        return f"{parts[0]!r} runs code, reads files or reaches the interpreter"
    if parts[0] == "numpy" and (parts[-1] in _NEVER_NUMPY or "ctypeslib" in parts):
        return f"{name!r} reads or writes files or calls arbitrary functions"
    return None


def trusted_skops_bytes(model: Any, trusted: list[str]) -> tuple[bytes, list[str]]:
    """The model's skops file, once it is certain skops will load it back with ``trusted``, and
    the exact types beyond skops' defaults that it needs (what ``MLmodel`` records).

    Raises:
        UntrustedTypeError: skops would refuse a type that is not in ``trusted`` (a function,
            say); the message names it.
    """
    import skops.io

    data = skops.io.dumps(model)
    needed = set(skops.io.get_untrusted_types(data=data))
    missing = sorted(needed - set(trusted))
    if missing:
        names = ", ".join(repr(t) for t in missing)
        raise UntrustedTypeError(
            f"skops would refuse to load this model: it holds {names}, which are not trusted. "
            f"If you trust them, pass trusted_types=[{names}] to log_model; the serving "
            "environment must be able to import them too."
        )
    return data, sorted(needed)


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
