"""Small private helpers shared by the stage modules."""

from __future__ import annotations

import html
import os
import subprocess
from functools import lru_cache
from pathlib import Path

import workbench


def workbench_version() -> str:
    return workbench.__version__


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
    """Who is running: ``WORKBENCH_USER``, else the login name."""
    import getpass

    try:
        return os.environ.get("WORKBENCH_USER") or getpass.getuser()
    except Exception:
        return "unknown"


def html_table(rows: list[tuple[str, object]], title: str | None = None) -> str:
    """A small two-column HTML table for ``_repr_html_`` cards."""
    head = f"<h4 style='margin:4px 0'>{html.escape(title)}</h4>" if title else ""
    body = "".join(
        f"<tr><th style='text-align:left;padding-right:12px'>{html.escape(str(k))}</th>"
        f"<td style='text-align:left'>{_fmt(v)}</td></tr>"
        for k, v in rows
    )
    return f"{head}<table>{body}</table>"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))
