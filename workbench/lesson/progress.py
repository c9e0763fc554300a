"""Where a learner's checks are kept, and the class's progress the instructor reads.

Every **Check my work** records into the learner's own tracking store: experiment
``lesson/<learner>``, one run named ``progress``, and per exercise the tags
``lesson.<id>.state`` (``done``, ``tried`` or ``not started``), ``lesson.<id>.hint`` (the last hint
given), ``lesson.<id>.at`` and ``lesson.<id>.tries``. ``done`` stays done: a later lesson that
moves the alias again does not take an exercise back.

:func:`class_progress` reads them for a whole class (``class.json``): each learner's SQLite store
directly for a local class (no MLflow import, no schema upgrade of 10 stores), the team server's
REST API with the admin's login for a team class.

Example:
    >>> tags_of({"lesson.2.1.state": "tried", "lesson.2.1.hint": "compare", "other": "x"})
    {'2.1': {'state': 'tried', 'hint': 'compare'}}
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from workbench.errors import UsageError
from workbench.lesson.answer import Answer
from workbench.lesson.catalogue import EXERCISES

__all__ = [
    "EXPERIMENT_PREFIX",
    "RUN_NAME",
    "TAG_PREFIX",
    "class_progress",
    "learner_progress",
    "record",
    "tags_of",
]

EXPERIMENT_PREFIX = "lesson/"
RUN_NAME = "progress"
TAG_PREFIX = "lesson."
_FIELDS = ("state", "hint", "at", "tries")


def tags_of(tags: dict[str, str]) -> dict[str, dict[str, str]]:
    """Exercise id -> its recorded fields, from a progress run's tags."""
    out: dict[str, dict[str, str]] = {}
    for key, value in tags.items():
        if not key.startswith(TAG_PREFIX):
            continue
        exercise, _, fieldname = key[len(TAG_PREFIX) :].rpartition(".")
        if exercise and fieldname in _FIELDS:
            out.setdefault(exercise, {})[fieldname] = value
    return out


def record(answer: Answer, learner: str) -> None:
    """Record ``answer`` in ``learner``'s progress run (created on first use)."""
    from mlflow.entities import RunTag

    from workbench.workspace import current_workspace, mlflow_client

    client = mlflow_client()
    experiment = current_workspace().experiment_id(EXPERIMENT_PREFIX + learner)
    runs = client.search_runs([experiment], f"attributes.run_name = '{RUN_NAME}'", max_results=1)
    run = runs[0] if runs else client.create_run(experiment, run_name=RUN_NAME)
    before = tags_of(run.data.tags if runs else {}).get(answer.exercise, {})
    state = "done" if before.get("state") == "done" else answer.state
    tries = int(before.get("tries") or 0) + (1 if answer.attempted or answer.done else 0)
    prefix = f"{TAG_PREFIX}{answer.exercise}."
    values = {"state": state, "hint": answer.hint[:4000], "at": answer.at, "tries": str(tries)}
    client.log_batch(run.info.run_id, tags=[RunTag(prefix + k, v) for k, v in values.items()])


def learner_progress(db: str | Path, learner: str) -> dict[str, dict[str, str]]:
    """The recorded progress of ``learner`` in the SQLite store ``db`` (empty when none)."""
    db = Path(db)
    if not db.exists():
        return {}
    sql = (
        "SELECT t.key, t.value FROM tags t JOIN runs r ON r.run_uuid = t.run_uuid "
        "JOIN experiments e ON e.experiment_id = r.experiment_id WHERE e.name = ? AND "
        "r.name = ? AND r.lifecycle_stage = 'active' AND substr(t.key, 1, ?) = ?"
    )
    try:
        with contextlib.closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as con:
            rows = con.execute(
                sql, (EXPERIMENT_PREFIX + learner, RUN_NAME, len(TAG_PREFIX), TAG_PREFIX)
            ).fetchall()
    except sqlite3.Error:  # a store being created, or no runs table yet
        return {}
    return tags_of(dict(rows))


def class_progress(roster: str | Path) -> list[dict[str, Any]]:
    """One row per learner and exercise of the class in ``roster`` (its ``class.json``): learner,
    exercise, title, state (``done``, ``tried`` or ``not started``), hint, at, tries.

    Raises:
        UsageError: the file is missing or is not a class file.
    """
    path = Path(roster)
    try:
        data = json.loads(path.read_text())
        learners = list(data["learners"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UsageError(
            f"{path} is not a class file ({err}): make one with `workbench class up`"
        ) from err
    if data.get("mode") == "team":
        found = _team_progress(path, str(data.get("tracking_uri") or ""), learners)
    else:
        found = {
            str(one["name"]): learner_progress(
                Path(one["workspace"]) / "mlruns" / "mlflow.db", str(one["name"])
            )
            for one in learners
        }
    rows = []
    for one in learners:
        name = str(one["name"])
        for exercise, title in EXERCISES.items():
            got = found.get(name, {}).get(exercise, {})
            rows.append(
                {
                    "learner": name,
                    "exercise": exercise,
                    "title": title,
                    "state": got.get("state") or "not started",
                    "hint": got.get("hint") or "",
                    "at": got.get("at") or "",
                    "tries": int(got.get("tries") or 0),
                }
            )
    return rows


def _team_progress(
    roster: Path, url: str, learners: list[dict[str, Any]]
) -> dict[str, dict[str, dict[str, str]]]:
    """Each learner's progress run on the team server, read with the admin's login."""
    import requests

    creds_file = roster.parent / "credentials.json"
    try:
        password = json.loads(creds_file.read_text())["admin"]
    except (OSError, ValueError, KeyError) as err:
        raise UsageError(
            f"the admin's login is not readable in {creds_file} ({err}): run the class "
            "dashboard where `workbench team up` ran"
        ) from err
    auth, out = ("admin", password), {}
    for one in learners:
        name = str(one["name"])
        resp = requests.get(
            f"{url}/api/2.0/mlflow/experiments/get-by-name",
            params={"experiment_name": EXPERIMENT_PREFIX + name}, auth=auth, timeout=30,
        )  # fmt: skip
        if not resp.ok:
            out[name] = {}
            continue
        experiment = resp.json()["experiment"]["experiment_id"]
        found = requests.post(
            f"{url}/api/2.0/mlflow/runs/search",
            json={"experiment_ids": [experiment], "max_results": 1,
                  "filter": f"attributes.run_name = '{RUN_NAME}'"},
            auth=auth, timeout=30,
        )  # fmt: skip
        runs = found.json().get("runs", []) if found.ok else []
        tags = {t["key"]: t["value"] for t in (runs[0]["data"].get("tags", []) if runs else [])}
        out[name] = tags_of(tags)
    return out
