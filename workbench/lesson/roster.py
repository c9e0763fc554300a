"""A workspace per learner: ``workbench class up`` makes a class, ``load_class`` reads it back.

Two kinds of class, one class file (``class.json``, the roster the instructor's dashboard reads):

* **local** (``class up --local``): one folder per learner under ``root`` (default ``./class``),
  each a workspace of its own (``mlruns/`` with its own SQLite store), a ``learner.json``
  (``{"name": ...}``, so :func:`workbench.lesson.identity.learner_name` knows who works there) and
  a copy of the lesson notebooks in ``notebooks/lesson/`` (not the instructor's), where
  ``workbench lab --workspace FOLDER`` opens. The roster is ``<root>/class.json``.
* **team** (on the workspace's running team server, ``workbench team up`` first): one login per
  learner with the ``learners`` role (:mod:`workbench.team.access`: workspace USE only), and the
  learner's experiment and model (``<login>.credit-risk``, ``lesson/<login>``) created *as that
  learner*, so they MANAGE them and no one else (but the admin) can read or write them (MLflow
  3.17 still lists their *names* to every workspace member). The roster is
  ``<workspace>/team/class.json`` (no passwords); the passwords are in
  ``team/class-credentials.json`` (0600) and printed once, in the sheet.

Running it again keeps every learner, folder and password it made and adds the new ones; a
learner's notebooks already copied are never overwritten.

Example:
    >>> room = class_up(3, local=True, root="/tmp/class")  # doctest: +SKIP
    >>> print(room.sheet())                                 # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import fcntl
import html
import json
import os
import shutil
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from workbench._core.names import AUDIT_EXPERIMENT
from workbench._core.results import Result, atomic_write, utc_now
from workbench.errors import TeamError, UsageError, WorkspaceError
from workbench.lesson.identity import LEARNER_FILE, clean_name

__all__ = [
    "CLASS_FILE",
    "CREDENTIALS_FILE",
    "LESSON_NOTEBOOKS",
    "Classroom",
    "class_up",
    "load_class",
]

#: The roster's file name.
CLASS_FILE = "class.json"
#: The learners' passwords of a team class, next to ``class.json`` (0600).
CREDENTIALS_FILE = "class-credentials.json"
#: Where the lesson notebooks copied into each local learner's ``lesson/`` come from.
LESSON_NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks" / "lesson"
#: Not copied to learners: the instructor's dashboard (``workbench class dashboard``).
INSTRUCTOR_NOTEBOOK = "instructor.ipynb"
#: The model every learner works on, in their own namespace.
BASE_MODEL = "credit-risk"
MAX_LEARNERS = 500


@dataclass
class Classroom(Result):
    """A class: its mode, its roster and where it lives.

    Attributes:
        mode: ``local`` or ``team``.
        class_file: The roster (``class.json``).
        created: When the class was first made (UTC).
        tracking_uri: The team server's address (None for a local class).
        learners: One dict per learner: ``name``, ``workspace`` (local), ``login`` (team), ``model``.
        added: The learners this call added (empty when all were there already).
        credentials_file: The learners' passwords (team), or None.
        new_passwords: Login -> password, for the learners this call created (never saved here).

    Example:
        >>> room = Classroom("local", "/tmp/c/class.json", "2026-12-07T18:00:00+00:00", None,
        ...                  [{"name": "ana", "workspace": "/tmp/c/ana", "login": None,
        ...                    "model": "ana.credit-risk"}])
        >>> room.names
        ['ana']
    """

    FILE_NAME: ClassVar[str] = CLASS_FILE

    mode: str
    class_file: str
    created: str
    tracking_uri: str | None
    learners: list[dict[str, Any]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    credentials_file: str | None = None
    new_passwords: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def names(self) -> list[str]:
        """The learners' names, in roster order."""
        return [learner["name"] for learner in self.learners]

    def to_dict(self) -> dict[str, Any]:
        """Plain fields, passwords left out."""
        data = super().to_dict()
        data.pop("new_passwords", None)
        return data

    def roster(self) -> dict[str, Any]:
        """What ``class.json`` holds (the shared contract of the lesson track)."""
        return {
            "mode": self.mode,
            "created": self.created,
            "tracking_uri": self.tracking_uri,
            "learners": [dict(learner) for learner in self.learners],
        }

    def sheet(self) -> str:
        """The sheet of logins (team) or folders (local) to hand out; new passwords shown once."""
        count = f"{len(self.learners)} learner{'s' if len(self.learners) != 1 else ''}"
        added = f", {len(self.added)} new" if self.added else ", none new"
        if self.mode == "local":
            lines = [
                f"Class of {count}{added}: one workspace folder each (roster {self.class_file})."
            ]
            width = max((len(n) for n in self.names), default=7)
            for learner in self.learners:
                lines.append(
                    f"  {learner['name']:<{width}}  {learner['workspace']}  "
                    f"(model {learner['model']})"
                )
            lines.append(
                "Each learner runs `workbench lab --workspace FOLDER` and opens notebooks/lesson/: "
                "the lessons work in FOLDER."
            )
            return "\n".join(lines)
        lines = [
            f"Class of {count}{added} on the team server {self.tracking_uri} "
            f"(roster {self.class_file}).",
            "Each learner sets, before starting Jupyter:",
            f"  export MLFLOW_TRACKING_URI={self.tracking_uri}",
            "  export MLFLOW_TRACKING_USERNAME=<login> MLFLOW_TRACKING_PASSWORD=<password>",
            "",
        ]
        width = max((len(n) for n in self.names), default=7)
        lines.append(f"  {'login':<{width}}  {'password':<24}  model")
        for learner in self.learners:
            secret = self.new_passwords.get(learner["login"]) or "(in the credentials file)"
            lines.append(f"  {learner['login']:<{width}}  {secret:<24}  {learner['model']}")
        lines.append(f"Passwords are kept in {self.credentials_file} (mode 0600).")
        if self.new_passwords:
            lines.append("New ones are printed this once; read them from that file later.")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = (
            f"<h4 style='margin:4px 0'>Class ({html.escape(self.mode)}): "
            f"{len(self.learners)} learners, {len(self.added)} new</h4>"
        )
        cells = ("name", "login", "workspace", "model")
        rows = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(str(lr.get(c) or ''))}</td>" for c in cells)
            + "</tr>"
            for lr in self.learners
        )
        heads = "".join(f"<th style='text-align:left'>{c}</th>" for c in cells)
        return f"{head}<table><tr>{heads}</tr>{rows}</table>"


def class_up(
    learners: int | list[str],
    *,
    local: bool,
    root: str | os.PathLike | None = None,
    workspace: str | os.PathLike | None = None,
) -> Classroom:
    """Make (or grow) a class: a workspace per learner.

    Args:
        learners: How many (named ``learner-01`` ...), or the learners' names (cleaned to
            ``a-z 0-9 _ -``).
        local: One folder per learner under ``root`` (True), or one login per learner on the
            workspace's team server (False).
        root: The local class's folder (default ``./class``); not used for a team class.
        workspace: The workspace whose team server it is (default ``WORKBENCH_WORKSPACE`` or the
            nearest project folder); not used for a local class.

    Returns:
        The :class:`Classroom`, with the passwords of the logins this call created.

    Raises:
        UsageError: no learners, too many, names that clash or are the team's own users, or a
            class of the other mode in the same place.
        TeamError: no team server runs for the workspace (``workbench team up`` first), or it
            refused a step (the message says which).
        WorkspaceError: a learner's folder cannot be written.
    """
    names = _names(learners)
    if local:
        if workspace is not None:
            raise UsageError(
                "a local class lives under --root DIR; --workspace names a team server's"
            )
        return _local_class(names, Path(root or "class").expanduser().resolve())
    if root is not None:
        raise UsageError(
            "a team class lives on the workspace's team server (its roster: team/class.json); "
            "--root is for a local class (--local)"
        )
    return _team_class(names, workspace)


def load_class(path: str | os.PathLike) -> Classroom:
    """Read a class back: a ``class.json``, a local class's folder or a team workspace's folder.

    Raises:
        UsageError: no class file there, or one that does not read.
    """
    file = _class_file(Path(path).expanduser().resolve())
    try:
        data = json.loads(file.read_text())
        learners = [dict(lr) for lr in data["learners"]]
        mode = str(data["mode"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UsageError(
            f"{file} is not a class file ({err}): make one with `workbench class up`."
        ) from err
    creds = file.parent / CREDENTIALS_FILE
    return Classroom(
        mode=mode,
        class_file=str(file),
        created=str(data.get("created") or ""),
        tracking_uri=data.get("tracking_uri"),
        learners=learners,
        credentials_file=str(creds) if mode == "team" else None,
    )


# --------------------------------------------------------------------------- local


def _local_class(names: list[str], root: Path) -> Classroom:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise WorkspaceError(f"cannot create the class folder {root}: {err}") from err
    with _locked(root):
        room = _existing(root / CLASS_FILE, "local")
        template: Path | None = None
        for name in names:
            folder = root / name
            if name not in room.names:
                room.learners.append(
                    {"name": name, "workspace": str(folder), "login": None,
                     "model": f"{name}.{BASE_MODEL}"}
                )  # fmt: skip
                room.added.append(name)
            template = _learner_folder(folder, name, template)
        _save(room)
        return room


def _learner_folder(folder: Path, name: str, template: Path | None) -> Path:
    """Make (or complete) one learner's workspace; returns a store to copy for the next one."""
    mlruns = folder / "mlruns"
    try:
        for sub in (mlruns / "artifacts", folder / "reports", folder / "runs"):
            sub.mkdir(parents=True, exist_ok=True)
        marker = folder / LEARNER_FILE
        if not marker.exists():
            atomic_write(marker, json.dumps({"name": name}) + "\n")
        _copy_notebooks(folder / "notebooks" / "lesson")
    except OSError as err:
        raise WorkspaceError(f"cannot write the learner folder {folder}: {err}") from err
    return _store(mlruns, template)


def _copy_notebooks(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    if not LESSON_NOTEBOOKS.is_dir():
        return
    for notebook in sorted(LESSON_NOTEBOOKS.glob("*.ipynb")):
        copy = target / notebook.name
        if notebook.name == INSTRUCTOR_NOTEBOOK:
            continue  # the instructor's view of the class, not an exercise
        if not copy.exists():  # never over a learner's work
            shutil.copyfile(notebook, copy)


def _store(mlruns: Path, template: Path | None) -> Path:
    """The learner's own SQLite store: MLflow makes the first (its migrations take a second), the
    others are copies of it, each with its ``Default`` experiment pointed into its own folder."""
    db = mlruns / "mlflow.db"
    if db.exists() and db.stat().st_size > 0:
        return template or db
    with open(mlruns / ".store.lock", "w") as lock:  # as open_workspace creates a store
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if template is None:
                _new_store(db)
            else:
                with (
                    contextlib.closing(sqlite3.connect(template)) as src,
                    contextlib.closing(sqlite3.connect(db)) as dst,
                ):
                    src.backup(dst)
            with contextlib.closing(sqlite3.connect(db)) as conn, conn:
                conn.execute(
                    "UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0",
                    ((mlruns / "artifacts" / "0").as_uri(),),
                )
        except Exception as err:
            with contextlib.suppress(OSError):
                db.unlink()
            raise WorkspaceError(f"cannot create the learner's MLflow store {db}: {err}") from err
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return template or db


def _new_store(db: Path) -> None:
    import logging

    import mlflow

    chatty = [logging.getLogger(name) for name in ("mlflow.store.db.utils", "alembic")]
    levels = [logger.level for logger in chatty]
    for logger in chatty:  # "Creating initial MLflow database tables..." is not news
        logger.setLevel(logging.WARNING)
    try:
        mlflow.MlflowClient(f"sqlite:///{db}").search_experiments(max_results=1)
    finally:
        for logger, level in zip(chatty, levels):
            logger.setLevel(level)


# --------------------------------------------------------------------------- team


def _team_class(names: list[str], workspace: str | os.PathLike | None) -> Classroom:
    from workbench.team import TEAM, access, team_status
    from workbench.team.app import SERVICE_USER
    from workbench.team.state import new_password, read_json, write_private_json

    reserved = sorted(set(names) & (set(TEAM) | {SERVICE_USER}))
    if reserved:
        raise UsageError(
            f"{', '.join(reserved)} {'is' if len(reserved) == 1 else 'are'} the team's own "
            "user names: choose other names for learners."
        )
    if workspace is None:
        from workbench.workspace import find_root

        workspace = os.environ.get("WORKBENCH_WORKSPACE") or find_root()
    status = team_status(workspace)
    if not status.running or not status.tracking_uri:
        raise TeamError(
            f"no team server runs for the workspace {status.workspace}: start it with "
            "`workbench team up` first, then run `workbench class up` again."
        )
    url = status.tracking_uri.rstrip("/")
    admin_password = read_json(Path(status.credentials_file)).get("admin")
    if not admin_password:
        raise TeamError(
            f"{status.credentials_file} has no admin password: run `workbench class up` on the "
            "machine and in the workspace that ran `workbench team up`."
        )
    admin = ("admin", admin_password)
    folder = Path(status.team_dir)
    with _locked(folder):
        room = _existing(folder / CLASS_FILE, "team")
        room.tracking_uri = url
        creds_file = folder / CREDENTIALS_FILE
        room.credentials_file = str(creds_file)
        creds = read_json(creds_file)
        for name in names:  # on file before the server knows them: a failure loses none
            if name not in creds:
                creds[name] = room.new_passwords[name] = new_password()
        write_private_json(creds_file, creds)
        access.grant_read_by_name(url, admin, access.LEARNER_ROLE, AUDIT_EXPERIMENT)  # history

        def login(name: str) -> str:
            fresh = name in room.new_passwords
            if not fresh and name in room.names and access.user_exists(url, admin, name):
                return f"{name}.{BASE_MODEL}"  # made by an earlier `class up`
            return _learner_login(url, admin, name, creds[name], fresh)

        done = [login(names[0])]  # alone: it makes the learners role if the server lacks it
        with ThreadPoolExecutor(min(8, len(names))) as pool:  # each login costs a hash check
            done += list(pool.map(login, names[1:]))
        for name, model in zip(names, done):
            if name not in room.names:
                room.learners.append(
                    {"name": name, "workspace": None, "login": name, "model": model}
                )
                room.added.append(name)
        _save(room)
        return room


def _learner_login(url: str, admin: tuple[str, str], name: str, password: str, fresh: bool) -> str:
    """One learner's login, role, experiment and model on the team server; returns the model."""
    from workbench.team import access

    if not access.create_user(url, admin, name, password) and fresh:
        access.set_password(url, admin, name, password)  # there, with a password lost since
    access.assign_role(url, admin, name, access.LEARNER_ROLE)
    model = f"{name}.{BASE_MODEL}"
    taken = access.reserve(url, (name, password), (model, f"lesson/{name}"), (model,))
    if taken:
        raise TeamError(
            f"{', '.join(repr(t) for t in taken)} already exist{'s' if len(taken) == 1 else ''} on "
            f"{url} and belong to someone else than {name!r}: the server's admin can rename or "
            "delete them, or choose another learner name."
        )
    return model


# --------------------------------------------------------------------------- helpers


def _names(learners: int | list[str]) -> list[str]:
    if isinstance(learners, bool):
        raise UsageError("learners: give a number of learners or their names")
    if isinstance(learners, int):
        if not 1 <= learners <= MAX_LEARNERS:
            raise UsageError(f"--learners {learners}: a class has 1 to {MAX_LEARNERS} learners.")
        width = max(2, len(str(learners)))
        return [f"learner-{i:0{width}d}" for i in range(1, learners + 1)]
    if isinstance(learners, str):
        learners = learners.split(",")
    names = [clean_name(n) for n in learners if str(n).strip()]
    if not names:
        raise UsageError("no learner names given: --names ana,ben or --learners N.")
    if len(names) > MAX_LEARNERS:
        raise UsageError(f"{len(names)} names: a class has 1 to {MAX_LEARNERS} learners.")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(
            f"the learner name{'s' if len(twice) > 1 else ''} {', '.join(twice)} "
            f"come{'s' if len(twice) == 1 else ''} twice (names are lower case a-z 0-9 _ -)."
        )
    return names


def _class_file(path: Path) -> Path:
    if path.is_dir():
        for candidate in (path / CLASS_FILE, path / "team" / CLASS_FILE):
            if candidate.exists():
                return candidate
        raise UsageError(
            f"no class file in {path} (nor in {path / 'team'}): make one with `workbench class up`."
        )
    if not path.exists():
        raise UsageError(f"no class file {path}: make one with `workbench class up`.")
    return path


def _existing(file: Path, mode: str) -> Classroom:
    """The class already in ``file`` (learners, when it was made), or a new, empty one."""
    if not file.exists():
        return Classroom(mode=mode, class_file=str(file), created=utc_now(), tracking_uri=None)
    room = load_class(file)
    if room.mode != mode:
        raise UsageError(
            f"{file} holds a {room.mode} class: a {mode} class cannot be added to it "
            f"({'choose another --root' if mode == 'local' else 'use another workspace'})."
        )
    room.class_file = str(file)
    return room


def _save(room: Classroom) -> None:
    atomic_write(room.class_file, json.dumps(room.roster(), indent=2) + "\n")


@contextlib.contextmanager
def _locked(folder: Path):
    """One ``class up`` at a time per class."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".class.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
