"""Paths a caller typed, resolved from the caller's folder.

A notebook runs in its own folder (``notebooks/``), while every command reads the paths it is
given from the folder it was started in. So ``workbench run ... -p dataset data/x.csv`` reaches the
notebook as the absolute path of ``data/x.csv`` in the caller's folder, and the notebook reads the
file the caller meant.

Example:
    >>> import tempfile, pathlib
    >>> here = pathlib.Path(tempfile.mkdtemp())
    >>> (here / "x.csv").touch()
    >>> resolved = from_caller({"dataset": "x.csv", "model_name": "x", "n": 3}, cwd=here)
    >>> resolved["dataset"] == str(here / "x.csv"), resolved["model_name"], resolved["n"]
    (True, 'x', 3)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["from_caller"]

#: ``models:/m@champion``, ``runs:/...``, ``s3://...``, ``http://...``: never a local path.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
#: A parameter's help (its comment in the notebook) that says the value is a path.
_PATH_WORDS = re.compile(r"\b(path|file|folder|directory|csv|parquet)\b", re.IGNORECASE)
#: A help that says the value is a folder: a bare new name (``-p out today``) is one to create.
_FOLDER_WORDS = re.compile(r"\b(folder|directory)\b", re.IGNORECASE)


def from_caller(
    params: Mapping[str, Any],
    helps: Mapping[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """``params`` with every relative path the caller named made absolute from ``cwd``.

    A text value is taken for a path, and resolved from ``cwd`` (default: the current folder),
    when it is relative and

    * it names a file or folder that exists there, and has a folder part or a suffix
      (``data/x.csv``, ``x.csv``) or the parameter's help speaks of a path, file, folder, CSV or
      Parquet; or
    * it does not exist yet (an output), the help speaks of a path, it has a folder part or a
      suffix, and its folder exists there (``reports/today``); or it is a bare name the help says
      is a folder (``-p out today``: ``./today``, not ``notebooks/today``).

    ``~`` is expanded. Names, URIs (``models:/...``), numbers and lists are left as given, as are
    relative paths that name nothing in ``cwd`` (the notebook's folder still reads those).

    Args:
        params: Parameter name -> value.
        helps: Parameter name -> its help text (papermill's ``inspect_notebook``).
        cwd: The caller's folder.
    """
    here = Path(cwd) if cwd is not None else Path.cwd()
    helps = helps or {}
    out = dict(params)
    for name, value in params.items():
        if not isinstance(value, str) or not value.strip() or _SCHEME.match(value):
            continue
        path = Path(value).expanduser()
        if path.is_absolute():
            if value.startswith("~"):
                out[name] = str(path)  # the notebook need not expand it
            continue
        target = here / path
        shaped = len(path.parts) > 1 or bool(path.suffix)  # data/x.csv, x.csv, not "champion"
        said = bool(_PATH_WORDS.search(helps.get(name) or ""))
        exists = target.exists() and (shaped or said)
        folder = bool(_FOLDER_WORDS.search(helps.get(name) or ""))
        output = not target.exists() and said and (shaped or folder) and target.parent.is_dir()
        if exists or output:
            out[name] = os.path.abspath(target)
    return out
