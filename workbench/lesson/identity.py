"""Who the learner is, and the model namespace their exercises use.

A learner is named, first found: ``WORKBENCH_LEARNER``; ``learner.json`` in the open workspace's
folder (``workbench class up --local`` writes one per learner); the tracking server's login; the
operating system's login. Their models are ``<learner>.<base>`` (``learner-01.credit-risk``): a
``/`` would break ``models:/name/version`` addresses, so the namespace ends with a dot.

Example:
    >>> clean_name("Ana María O'Neil")
    'ana-mar-a-o-neil'
"""

from __future__ import annotations

import json
import os
import re

__all__ = ["LEARNER_ENV", "LEARNER_FILE", "clean_name", "learner_name", "lesson_model"]

#: Names the learner outright (a class sheet's line, a test).
LEARNER_ENV = "WORKBENCH_LEARNER"
#: In a learner's workspace folder: ``{"name": ...}``.
LEARNER_FILE = "learner.json"


def clean_name(name: str) -> str:
    """``name`` in lower case, every run of other characters than ``a-z 0-9 _ -`` one ``-``."""
    cleaned = re.sub(r"[^a-z0-9_-]+", "-", str(name).strip().lower()).strip("-")
    return cleaned[:40] or "learner"


def learner_name() -> str:
    """The learner working here (see the module's docstring)."""
    given = os.environ.get(LEARNER_ENV)
    if given:
        return clean_name(given)
    from workbench.workspace import current_workspace

    try:
        data = json.loads((current_workspace().root / LEARNER_FILE).read_text())
        if isinstance(data, dict) and data.get("name"):
            return clean_name(data["name"])
    except (OSError, ValueError):
        pass
    from workbench._core.text import user_name

    return clean_name(user_name())


def lesson_model(base: str = "credit-risk") -> str:
    """The learner's own model: ``<learner>.<base>``."""
    return f"{learner_name()}.{base}"
