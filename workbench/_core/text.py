"""Small text and identity helpers: a message's first line, who runs, the git commit, the version."""

from __future__ import annotations

import os
import subprocess
from functools import lru_cache
from pathlib import Path

__all__ = ["VERSION", "first_line", "git_commit", "user_name"]

#: The package version (``workbench.__version__`` reads it from here).
VERSION = "0.1.0"


def first_line(text: object, limit: int = 300) -> str:
    r"""The first non-empty line of ``text`` (an error message, a log), cut to ``limit`` characters.

    Example:
        >>> first_line("  boom\nTraceback ...")
        'boom'
    """
    text = str(text or "").strip()
    return text.splitlines()[0][:limit] if text else ""


@lru_cache(maxsize=8)
def git_commit(folder: str) -> str | None:
    """The HEAD commit of the git checkout holding ``folder``, or None outside one."""
    path = Path(folder).resolve()
    if not any((p / ".git").exists() for p in (path, *path.parents)):
        return None
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def user_name() -> str:
    """Who is running: the tracking server's login (``MLFLOW_TRACKING_USERNAME``) when one is set,
    else ``WORKBENCH_USER``, else the operating system's login name."""
    import getpass

    try:
        return (
            os.environ.get("MLFLOW_TRACKING_USERNAME", "").strip()
            or os.environ.get("WORKBENCH_USER")
            or getpass.getuser()
        )
    except Exception:
        return "unknown"
