"""Small text and identity helpers: a message's first line, who runs, the git commit, the version."""

from __future__ import annotations

import os
import subprocess
from functools import lru_cache
from pathlib import Path

__all__ = [
    "ACTING_FOR_ENV",
    "SIGN_AS_ENV",
    "VERSION",
    "first_line",
    "git_commit",
    "tracking_login",
    "user_name",
]

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
    """Who is running: the tracking server's login (:func:`tracking_login`) when there is one,
    else ``WORKBENCH_USER``, else the operating system's login name."""
    import getpass

    try:
        return tracking_login() or os.environ.get("WORKBENCH_USER") or getpass.getuser()
    except Exception:
        return "unknown"


#: Makes a process sign as another identity (a team server's service process: the server).
SIGN_AS_ENV = "WORKBENCH_SIGN_AS"
#: Set, with :data:`SIGN_AS_ENV`, in a team server's service process: the login it acts for.
ACTING_FOR_ENV = "WORKBENCH_ACTING_FOR"


def tracking_login() -> str:
    """The user the tracking server authenticated: ``MLFLOW_TRACKING_USERNAME``, else the user
    name written in ``MLFLOW_TRACKING_URI`` (``http://ds1:...@host``); empty when neither. In a
    team server's service process, the login it acts for (:data:`ACTING_FOR_ENV`).

    Example:
        >>> os.environ["MLFLOW_TRACKING_URI"] = "http://ds1:secret@127.0.0.1:5000"  # doctest: +SKIP
        >>> tracking_login()  # doctest: +SKIP
        'ds1'
    """
    from urllib.parse import unquote, urlsplit

    acting = os.environ.get(ACTING_FOR_ENV, "").strip()
    if acting and os.environ.get(SIGN_AS_ENV, "").strip():
        return acting  # a team server's service process: the login that asked the server
    named = os.environ.get("MLFLOW_TRACKING_USERNAME", "").strip()
    if named:
        return named
    try:
        inline = urlsplit(os.environ.get("MLFLOW_TRACKING_URI", "")).username
    except ValueError:
        return ""
    return unquote(inline or "").strip()
