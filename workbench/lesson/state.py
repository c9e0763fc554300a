"""What the exercises' checks read: the real state of a learner's model.

Each reader returns what is there (an empty list or ``None`` when nothing is), never raises for a
model that does not exist yet: a learner who has not started gets "not yet", not an error.
Versions the lesson's setup made carry the tag ``lesson.role`` (``weak``, ``strong``, ``good``,
``bad``); the setup's own promotions give a reason that starts with :data:`SETUP_REASON`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "GOOD_TAG",
    "ROLE_TAG",
    "SETUP_REASON",
    "check_reports",
    "files_folder",
    "learner_versions",
    "monitoring_runs",
    "role_versions",
    "traffic_rows",
    "user_history",
]

ROLE_TAG = "lesson.role"
#: On the version lesson 5's bad release replaced (it may hold a role of its own already).
GOOD_TAG = "lesson.good"
SETUP_REASON = "lesson setup:"


def files_folder() -> Path:
    """The lesson's data files, in the open workspace: ``lesson-data/``."""
    from workbench.workspace import current_workspace

    return current_workspace().root / "lesson-data"


def _versions(model: str) -> list[Any]:
    from workbench.errors import WorkbenchError
    from workbench.registry import versions

    with contextlib.suppress(WorkbenchError):
        return versions(model)
    return []


def role_versions(model: str) -> dict[str, Any]:
    """The setup's versions of ``model`` by role (``weak`` -> its ModelVersion)."""
    found = _versions(model)
    roles = {mv.tags[ROLE_TAG]: mv for mv in found if mv.tags.get(ROLE_TAG)}
    for mv in found:
        if mv.tags.get(GOOD_TAG):
            roles["good"] = mv
    return roles


def learner_versions(model: str) -> list[Any]:
    """The versions of ``model`` the learner logged (not the setup's), oldest first."""
    found = [mv for mv in _versions(model) if not mv.tags.get(ROLE_TAG)]
    return sorted(found, key=lambda mv: int(mv.version))


def user_history(model: str) -> pd.DataFrame:
    """The audit entries of ``model``, oldest first (empty when none)."""
    from workbench.errors import WorkbenchError
    from workbench.registry import history

    with contextlib.suppress(WorkbenchError):
        return history(model)
    return pd.DataFrame(columns=["action", "alias", "new_version", "reason", "forced"])


def check_reports(model: str, version: int | None = None, limit: int = 10) -> list[Any]:
    """The newest check reports (``CheckReport``) of ``model`` (of ``version`` only, when given),
    newest first, read from their runs' ``checks.json``."""
    import mlflow

    from workbench._core.names import TAG
    from workbench.checks import CheckReport

    query = f"tags.`{TAG.KIND}` = 'checks' and tags.`{TAG.MODEL}` = '{_quoted(model)}'"
    if version is not None:
        query += f" and tags.`{TAG.MODEL_VERSION}` = '{int(version)}'"
    try:
        runs = mlflow.search_runs(
            search_all_experiments=True, filter_string=query, max_results=limit,
            order_by=["attributes.start_time DESC"], output_format="list",
        )  # fmt: skip
    except Exception:  # no experiment yet, or none readable
        return []
    reports = []
    for run in runs:
        with contextlib.suppress(Exception):  # a run still being written has no file yet
            path = mlflow.artifacts.download_artifacts(
                run_id=run.info.run_id, artifact_path=CheckReport.FILE_NAME
            )
            reports.append(CheckReport.load(path))
    return reports


def monitoring_runs(model: str) -> pd.DataFrame:
    """The monitoring history of ``model`` (empty when there is none)."""
    from workbench.errors import WorkbenchError
    from workbench.monitoring import monitoring_history

    with contextlib.suppress(WorkbenchError):
        return monitoring_history(model).frame
    return pd.DataFrame(columns=["run_id", "drift_detected", "drifted_columns"])


def traffic_rows(model: str) -> int:
    """How many requests the model server logged for ``model``."""
    from workbench.serving.inference_log import read_traffic, traffic_folder

    folder = traffic_folder(f"models:/{model}@champion")
    return 0 if not folder.is_dir() else len(read_traffic(folder))


def _quoted(text: str) -> str:
    return str(text).replace("'", "\\'")
