"""The nightly fleet's plan: a YAML file listing monitoring jobs, read and checked whole before any
job runs (:func:`load_plan`).

A plan is a mapping with ``jobs`` (a list) and optional ``defaults`` (keys every job takes unless
it sets its own), or just the list::

    defaults:
      reference: data/credit_train.csv      # paths are relative to the plan's folder
      fail_on_drift: true
      notify: [https://hooks.example.org/ml-alerts]
    jobs:
      - name: credit-risk
        model: models:/credit-risk@champion
        traffic: true                        # the model's served traffic since `since`
        since: 24h
      - name: credit-risk-branch-7
        current: data/branch7_today.csv
        report: notebook                     # notebook 04 through papermill, kept under runs/

A job's keys are those of ``workbench monitor``: ``reference``, ``current`` or ``traffic``
(``true``: the job's model; or a model URI), ``since``, ``model``, ``target``, ``ignore``, ``out``,
``drift_share``, ``fail_on_drift``, ``notify``, ``notify_always``, ``report`` (``python``, the
default: in the fleet's own process; ``notebook``: notebook 04, one kernel for all such jobs) and
``name`` (default: the model's name, else the current file's stem; a folder name).

A plan is a file someone may hand the scheduler: it is read with YAML's safe loader (no tags that
build objects), a key given twice, an unknown key (with the nearest known one), a value of the
wrong type, two jobs with one name or one report folder are each refused with the file, the job
and the key named (:class:`~workbench.UsageError`, exit code 2), before anything runs. A data
file that is missing is the job's own invalid input (exit code 2 for that job), found when it runs:
the other jobs still run.

Example:
    >>> jobs = load_plan({"jobs": [{"model": "models:/credit-risk@champion",
    ...                             "reference": "/data/ref.csv", "traffic": True}]})
    >>> jobs[0].name, jobs[0].traffic, jobs[0].current
    ('credit-risk', 'models:/credit-risk@champion', None)
    >>> try:
    ...     load_plan({"jobs": [{"reference": "/r.csv", "curent": "/c.csv"}]})
    ... except UsageError as err:
    ...     print(str(err).split(";")[0])
    plan (given as data), job 1: unknown key 'curent' (did you mean 'current'?)
"""

from __future__ import annotations

import difflib
import math
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from workbench.errors import UsageError

__all__ = ["JOB_KEYS", "MAX_JOBS", "MonitorJob", "load_plan"]

#: A plan longer than this is refused (a plan is written by people; a runaway generator is not).
MAX_JOBS = 1000
#: The largest plan file read.
MAX_BYTES = 1_000_000
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_REPORTS = ("python", "notebook")


@dataclass(frozen=True)
class MonitorJob:
    """One monitoring job of a plan: what ``workbench monitor`` takes, as settings.

    Paths are absolute (resolved against the plan's folder); ``traffic`` is a model URI or None;
    ``out`` None means ``reports/monitoring/plan-<time>/<name>`` in the workspace.
    """

    name: str
    reference: str
    current: str | None = None
    traffic: str | None = None
    since: str = "24h"
    model: str | None = None
    target: str | None = None
    ignore: tuple[str, ...] = ()
    out: str | None = None
    drift_share: float = 0.0
    fail_on_drift: bool = False
    notify: tuple[str, ...] = ()
    notify_always: bool = False
    report: str = "python"

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain data."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def notebook_parameters(self, out: str | os.PathLike) -> dict[str, Any]:
        """Notebook 04's parameters for this job, recording left to the caller (``record`` off,
        as ``workbench monitor`` runs it): the verdict is read from ``out/summary.json``."""
        return {
            "reference": self.reference,
            "current": self.current,
            **({"traffic": self.traffic, "since": self.since} if self.traffic else {}),
            "model": self.model,
            "target": self.target,
            "ignore": list(self.ignore) or None,
            "out": str(out),
            "drift_share": self.drift_share,
            "fail_on_drift": False,
            "fail_on_invalid": False,
            "record": False,
        }


#: The keys a job (or ``defaults``) may set, and the type each takes.
JOB_KEYS: dict[str, str] = {
    "name": "text",
    "reference": "path",
    "current": "path",
    "traffic": "traffic",
    "since": "text",
    "model": "text",
    "target": "text",
    "ignore": "texts",
    "out": "path",
    "drift_share": "share",
    "fail_on_drift": "flag",
    "notify": "texts",
    "notify_always": "flag",
    "report": "report",
}


def load_plan(source: str | os.PathLike | dict | list) -> list[MonitorJob]:
    """The jobs of a plan: a YAML file, or the same structure as Python data (paths are then
    relative to the current folder).

    Raises:
        UsageError: the file is missing, too large, not YAML, or a job is malformed (the
            message names the file, the job and the key).
    """
    if isinstance(source, dict | list):
        where, base, data = "plan (given as data)", Path.cwd(), source
    else:
        path = Path(source).expanduser()
        where, base, data = f"plan {path}", path.resolve().parent, _read(path)
    if isinstance(data, list):
        data = {"jobs": data}
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected a mapping with 'jobs' (a list), got {_kind(data)}.")
    extra = sorted(set(map(str, data)) - {"jobs", "defaults"})
    if extra:
        raise UsageError(f"{where}: unknown top-level key {extra[0]!r}; a plan has 'jobs' and "
                         "optionally 'defaults'.")  # fmt: skip
    jobs, defaults = data.get("jobs"), data.get("defaults") or {}
    if not isinstance(jobs, list) or not jobs:
        raise UsageError(f"{where}: 'jobs' must be a non-empty list of jobs, got {_kind(jobs)}.")
    if len(jobs) > MAX_JOBS:
        raise UsageError(f"{where}: {len(jobs)} jobs; a plan holds at most {MAX_JOBS}: split it.")
    if not isinstance(defaults, dict):
        raise UsageError(f"{where}: 'defaults' must be a mapping of job keys.")
    common = _settings(defaults, f"{where}, defaults", base)
    if "name" in common or "out" in common:
        raise UsageError(f"{where}, defaults: 'name' and 'out' are each job's own.")
    out = []
    for number, raw in enumerate(jobs, 1):
        if not isinstance(raw, dict):
            raise UsageError(f"{where}, job {number}: expected a mapping, got {_kind(raw)}.")
        settings = {**common, **_settings(raw, f"{where}, job {number}", base)}
        out.append((_job(settings, where, number), "name" in raw))
    return _unique(out, where)


def _read(path: Path) -> Any:
    import yaml

    if not path.is_file():
        raise UsageError(f"plan {path} does not exist: give the YAML file listing the jobs.")
    if path.stat().st_size > MAX_BYTES:
        raise UsageError(f"plan {path} is over {MAX_BYTES // 1_000_000} MB: not a plan.")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_strict_loader())  # noqa: S506
    except UnicodeDecodeError as err:
        raise UsageError(f"plan {path} is not UTF-8 text ({err.reason}).") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise UsageError(f"plan {path} is not valid YAML{at}: {problem}.") from err


def _strict_loader():
    import yaml

    class StrictLoader(yaml.SafeLoader):
        """YAML's safe loader, refusing a key given twice in one mapping (the safe loader
        keeps the last silently: a plan would then monitor something its author did not read)."""

        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if isinstance(key, list | dict) or key in seen:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"key {key!r} is given twice or is not text",
                        key_node.start_mark,
                    )
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


def _settings(raw: dict, where: str, base: Path) -> dict[str, Any]:
    """``raw``'s keys checked and typed; paths resolved against ``base``."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        kind = JOB_KEYS.get(key) if isinstance(key, str) else None
        if kind is None:
            near = difflib.get_close_matches(str(key), list(JOB_KEYS), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise UsageError(f"{where}: unknown key {str(key)[:80]!r}{hint}; a job takes "
                             f"{', '.join(JOB_KEYS)}.")  # fmt: skip
        if value is None:
            continue
        out[key] = _typed(value, kind, f"{where}: {key}", base)
    return out


def _typed(value: Any, kind: str, where: str, base: Path) -> Any:
    if kind == "flag":
        if not isinstance(value, bool):
            raise UsageError(f"{where} must be true or false, got {_kind(value)}.")
        return value
    if kind == "share":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UsageError(f"{where} must be a number from 0 to 1, got {_kind(value)}.")
        if not (math.isfinite(value) and 0 <= value <= 1):
            raise UsageError(f"{where} must be from 0 to 1, got {value}.")
        return float(value)
    if kind == "traffic" and value is True:
        return True
    if kind == "texts":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise UsageError(f"{where} must be text or a list of text, got {_kind(value)}.")
        return tuple(_text(v, where) for v in items)
    if not isinstance(value, str):
        expected = "true or a model URI" if kind == "traffic" else "text"
        raise UsageError(f"{where} must be {expected}, got {_kind(value)}.")
    text = _text(value, where)
    if kind == "report" and text not in _REPORTS:
        raise UsageError(f"{where} must be one of {', '.join(_REPORTS)}, got {text!r}.")
    if kind == "path":
        return str((base / Path(text).expanduser()).resolve())
    return text


def _text(value: str, where: str) -> str:
    if not value.strip() or "\x00" in value or len(value) > 4096:
        raise UsageError(f"{where}: {value[:60]!r} is empty, too long or holds a NUL byte.")
    return value.strip()


def _job(settings: dict[str, Any], where: str, number: int) -> MonitorJob:
    label = f"{where}, job {number}"
    traffic = settings.get("traffic")
    if traffic is True:
        if not settings.get("model"):
            raise UsageError(f"{label}: 'traffic: true' monitors the job's model: set 'model'.")
        settings["traffic"] = traffic = settings["model"]
    if bool(settings.get("current")) == bool(traffic):
        raise UsageError(
            f"{label}: give the current batch as 'current' (a file) or 'traffic' (the served "
            "traffic of a model), " + ("not both." if traffic else "one of them.")
        )
    if "reference" not in settings:
        raise UsageError(f"{label}: 'reference' (the training or validation table) is missing.")
    if traffic and not settings.get("model"):
        settings["model"] = traffic  # the served model is the one judged, as in the command
    name = settings.get("name") or _default_name(settings)
    if not _NAME.fullmatch(name):
        raise UsageError(
            f"{label}: name {name[:60]!r} is a folder name: letters, digits, '.', '_' and '-', "
            "starting with a letter or digit, at most 100."
        )
    settings["name"] = name
    return MonitorJob(**settings)


def _default_name(settings: dict[str, Any]) -> str:
    model = settings.get("model")
    if model:
        tail = model.split(":/", 1)[-1].strip("/")
        name = re.split(r"[@/]", tail)[0]
    else:
        name = Path(settings["current"]).stem
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")[:90]
    return name or "job"


def _unique(jobs: list[tuple[MonitorJob, bool]], where: str) -> list[MonitorJob]:
    """Names given twice, and report folders given twice, refused; default names made unique
    (``credit-risk``, ``credit-risk-2``)."""
    from dataclasses import replace

    taken: dict[str, int] = {}
    for number, (job, named) in enumerate(jobs, 1):
        if named and job.name in taken:
            raise UsageError(f"{where}, job {number}: job {taken[job.name]} is named "
                             f"{job.name!r} too: each job needs its own name.")  # fmt: skip
        if named:
            taken[job.name] = number
    out: list[MonitorJob] = []
    folders: dict[str, int] = {}
    for number, (job, named) in enumerate(jobs, 1):
        if not named:
            name, count = job.name, 1
            while name in taken:
                count += 1
                name = f"{job.name}-{count}"
            taken[name] = number
            job = replace(job, name=name)
        if job.out and job.out in folders:
            raise UsageError(f"{where}, job {number}: its out folder {job.out} is job "
                             f"{folders[job.out]}'s too: each job needs its own.")  # fmt: skip
        if job.out:
            folders[job.out] = number
        out.append(job)
    return out


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f"text {value[:40]!r}"
    return type(value).__name__
