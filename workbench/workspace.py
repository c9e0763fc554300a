"""Where things live: the tracking store, the artifact root, reports and notebook runs.

A workspace is a folder. ``open_workspace(root)`` makes (or reuses) ``mlruns/mlflow.db`` (SQLite),
``mlruns/artifacts``, ``reports/`` and ``runs/`` under it and points MLflow at them. When
``MLFLOW_TRACKING_URI`` is set, that server wins: a team shares its tracking server and registry.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import WorkspaceError

__all__ = [
    "EXPERIMENT_KIND",
    "EXPERIMENT_KIND_TAG",
    "LAST_BACKUP_FILE",
    "TELEMETRY_OPT_IN",
    "TRAINING_VIEW",
    "UI_ENV",
    "UI_FILE",
    "Workspace",
    "current_workspace",
    "find_root",
    "mlflow_client",
    "open_workspace",
    "telemetry_off",
]

#: The experiment tag MLflow's UI (3.x) reads to choose an experiment's view, and the value of its
#: "Machine learning" view (runs, metrics, models) rather than the GenAI overview (traces). The
#: values are the UI bundle's ``ExperimentKind`` enum (``mlflow/server/js``).
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
#: MLflow 3.17's UI chooses its view from the page address (else the browser's last choice,
#: GenAI by default), not from the tag: every link the workbench makes asks for training's.
TRAINING_VIEW = "workflowType=machine_learning"
#: The one setting for the MLflow UI that links point at (``http://host:port``). Without it: the
#: UI the workbench started on this workspace (``mlruns/UI_FILE``, while it runs), the tracking
#: server, or ``http://127.0.0.1:5000``.
UI_ENV = "WORKBENCH_MLFLOW_UI"
#: Written by :func:`workbench.apps.start_mlflow_ui` while its UI runs: ``{"url", "pid"}``.
UI_FILE = "mlflow-ui.json"
#: The last successful backup of the workspace (``mlruns/``), written by ``workbench backup``.
LAST_BACKUP_FILE = ".last_backup.json"
_MARKERS = ("mlruns", "pyproject.toml")
_OWN = "WORKBENCH_SET_"  # marks environment values the workbench itself exported
_lock = threading.Lock()
_current: Workspace | None = None
_kinds_seen: set[tuple[str, str]] = set()  # (tracking URI, experiment id): kind checked here


@dataclass(frozen=True)
class Workspace:
    """An opened workspace.

    Attributes:
        root: The workspace folder.
        tracking_uri: The MLflow tracking (and registry) URI in use.
        artifact_root: Folder that holds run and model artifacts for a local store.
        reports_dir: Where drift and check reports are written.
        runs_dir: Where executed notebooks are archived.
        shared: True when ``MLFLOW_TRACKING_URI`` pointed at another store.

    Example:
        >>> import tempfile, workbench as wb
        >>> ws = wb.open_workspace(tempfile.mkdtemp())
        >>> ws.tracking_uri.startswith(("sqlite:///", "http", "file:", "postgresql", "databricks"))
        True
    """

    root: Path
    tracking_uri: str
    artifact_root: Path
    reports_dir: Path
    runs_dir: Path
    shared: bool = False

    def _repr_html_(self) -> str:
        """The folder and the store in a notebook; the other folders behind ``show details``."""
        from workbench._core.results import details_html, html_table

        uri = _without_login(self.tracking_uri)  # never a password on screen
        store = f"{uri} (shared)" if self.shared else uri
        folders = [("models and artifacts", self.artifact_root), ("reports", self.reports_dir)]
        folders.append(("executed notebooks", self.runs_dir))
        short = html_table([("folder", self.root), ("MLflow store", store)], title="Workspace")
        return f"<div class='wb-workspace'>{short}{details_html(html_table(folders))}</div>"

    def experiment_id(self, name: str) -> str:
        """Return the id of experiment ``name``, creating it with an absolute artifact location."""
        import mlflow

        client = mlflow.MlflowClient(self.tracking_uri)
        exp = client.get_experiment_by_name(name)
        if exp is not None:
            _ensure_kind(client, self.tracking_uri, exp)
            return exp.experiment_id
        location = None if self.shared else (self.artifact_root / _slug(name)).as_uri()
        try:
            return client.create_experiment(
                name, artifact_location=location, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND}
            )
        except Exception:  # another process created it between our two calls
            exp = client.get_experiment_by_name(name)
            if exp is None:
                raise
            _ensure_kind(client, self.tracking_uri, exp)
            return exp.experiment_id

    def ui_command(self) -> str:
        """The shell command that opens the MLflow UI on this workspace's store (127.0.0.1)."""
        if self.shared:
            return f"open {self.tracking_uri} in a browser (a shared tracking server)"
        return (
            f"mlflow ui --backend-store-uri {self.tracking_uri} "
            f"--default-artifact-root {self.artifact_root.as_uri()} --host 127.0.0.1 --port 5000"
        )

    def ui_base(self) -> str:
        """Base address of the MLflow UI for links: ``$WORKBENCH_MLFLOW_UI``, else the UI the
        workbench runs on this workspace (``workbench lab``, ``workbench dashboard``), else the
        tracking server (without a login), else ``http://127.0.0.1:5000``."""
        given = os.environ.get(UI_ENV, "").strip()
        if given:
            return given.rstrip("/")
        if self.tracking_uri.startswith(("http://", "https://")):
            return _without_login(self.tracking_uri).rstrip("/")
        return running_ui(self.root / "mlruns" / UI_FILE) or "http://127.0.0.1:5000"

    def ui_link(self, route: str) -> str:
        """The MLflow UI address of ``route`` (``/experiments/1``), in its training view.

        Example:
            >>> ws = Workspace(Path("/w"), "sqlite:////w/mlruns/mlflow.db", Path("/w/a"),
            ...                Path("/w/r"), Path("/w/x"))
            >>> os.environ[UI_ENV] = "http://127.0.0.1:5011/"
            >>> ws.model_url("credit risk", 3)
            'http://127.0.0.1:5011/#/models/credit%20risk/versions/3?workflowType=machine_learning'
            >>> del os.environ[UI_ENV]
        """
        return f"{self.ui_base()}/#{route}?{TRAINING_VIEW}"

    def experiment_url(self, experiment_id: str) -> str:
        """The MLflow UI address of an experiment (its runs)."""
        return self.ui_link(f"/experiments/{experiment_id}")

    def run_url(self, experiment_id: str, run_id: str, artifact: str | None = None) -> str:
        """The MLflow UI address of a run (of one of its artifacts: ``monitoring/report.html``)."""
        route = f"/experiments/{experiment_id}/runs/{run_id}"
        return self.ui_link(route + (f"/artifacts/{artifact}" if artifact else ""))

    def model_url(self, name: str, version: str | int) -> str:
        """The MLflow UI address of a registered model version."""
        from urllib.parse import quote

        return self.ui_link(f"/models/{quote(str(name), safe='')}/versions/{version}")


def last_backup_record(root: str | os.PathLike) -> dict | None:
    """The workspace's last successful backup (archive, size, finished, ...), or None."""
    import json

    try:
        data = json.loads((Path(root) / "mlruns" / LAST_BACKUP_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def running_ui(record: Path) -> str | None:
    """The address in a UI record (:data:`UI_FILE`) while the process it names runs, else None."""
    import json

    try:
        data = json.loads(record.read_text())
        url, pid = str(data["url"]), int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)  # still there (signal 0 only checks)
    except PermissionError:  # there, but another user's
        return url
    except (OSError, ValueError):
        return None
    return url


def _without_login(uri: str) -> str:
    """``http://ana:secret@host:5000`` -> ``http://host:5000``."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _ensure_kind(client, tracking_uri: str, exp) -> None:
    """Tag an experiment that has no ``mlflow.experimentKind`` (made before the workbench set it,
    or by someone else) with the classic training view; once per experiment and process. A kind
    someone chose is left alone; a refusal (a protected experiment on a team server, a viewer's
    login) is ignored: the tag only picks the UI's view."""
    key = (tracking_uri, str(exp.experiment_id))
    with _lock:
        if key in _kinds_seen:
            return
        _kinds_seen.add(key)
    if (exp.tags or {}).get(EXPERIMENT_KIND_TAG):
        return
    try:
        client.set_experiment_tag(exp.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
    except Exception:
        pass


def find_root(start: str | os.PathLike | None = None) -> Path:
    """Return the nearest folder at or above ``start`` that holds ``mlruns/`` or ``pyproject.toml``.

    Falls back to ``start`` itself (the current folder by default). A notebook running from
    ``notebooks/`` therefore finds the project's root.
    """
    start_path = Path(start or os.getcwd()).resolve()
    for folder in (start_path, *start_path.parents):
        if any((folder / marker).exists() for marker in _MARKERS):
            return folder
    return start_path


def open_workspace(root: str | os.PathLike | None = None) -> Workspace:
    """Open (creating when needed) the workspace at ``root`` and make it the current one.

    Args:
        root: The workspace folder. ``None`` looks for ``WORKBENCH_WORKSPACE``, then the nearest
            parent folder holding ``mlruns/`` or ``pyproject.toml``, else the current folder.

    Returns:
        The opened :class:`Workspace`. Later calls such as :func:`workbench.log_model` use it.

    Raises:
        WorkspaceError: The folder cannot be created or written.
    """
    global _current
    if root is None:
        root = os.environ.get("WORKBENCH_WORKSPACE") or find_root()
    root_path = Path(root).expanduser().resolve()
    mlruns = root_path / "mlruns"
    artifact_root = mlruns / "artifacts"
    reports_dir = root_path / "reports"
    runs_dir = root_path / "runs"
    try:
        for folder in (artifact_root, reports_dir, runs_dir):
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise WorkspaceError(
            f"cannot create the workspace at {root_path}: {err}. Choose a folder you can write to "
            "(--workspace DIR or WORKBENCH_WORKSPACE)."
        ) from err

    env_uri = _users_env("MLFLOW_TRACKING_URI")
    env_registry = _users_env("MLFLOW_REGISTRY_URI")
    tracking_uri = env_uri or f"sqlite:///{mlruns / 'mlflow.db'}"
    registry_uri = env_registry or tracking_uri
    _configure_mlflow_env()
    if tracking_uri.startswith(("http://", "https://")):
        for key, value in _SERVER_RETRIES.items():
            os.environ.setdefault(key, value)
    _point_mlflow_at(tracking_uri, registry_uri)
    if not env_uri:
        _create_store_once(mlruns / "mlflow.db", tracking_uri)
    # Mark only what the workbench chose itself (the local store), and keep the mark while a user's
    # server is in use: a later open_workspace (the next notebook in a shared kernel) still sees
    # the user's server as the user's, and the local URI MLflow exported earlier as the workbench's.
    if not env_uri:
        _mark_own("MLFLOW_TRACKING_URI", tracking_uri)
    if not env_registry:
        _mark_own("MLFLOW_REGISTRY_URI", registry_uri)
    ws = Workspace(
        root=root_path,
        tracking_uri=tracking_uri,
        artifact_root=artifact_root,
        reports_dir=reports_dir,
        runs_dir=runs_dir,
        shared=bool(env_uri),
    )
    with _lock:
        _current = ws
    return ws


def current_workspace() -> Workspace:
    """Return the open workspace, opening the default one (see :func:`open_workspace`) if none is."""
    with _lock:
        ws = _current
    return ws if ws is not None else open_workspace()


def mlflow_client():
    """An ``MlflowClient`` on the current workspace's tracking store and registry.

    Opens the default workspace first when none is open (see :func:`open_workspace`), so that every
    stage reads and writes the store the user chose: call this instead of ``current_workspace()``
    for its side effect.
    """
    import mlflow

    ws = current_workspace()
    return mlflow.MlflowClient(ws.tracking_uri, mlflow.get_registry_uri() or ws.tracking_uri)


def _point_mlflow_at(tracking_uri: str, registry_uri: str) -> None:
    """Make ``tracking_uri`` and ``registry_uri`` MLflow's, in this process and the processes it
    starts. An MLflow not imported yet reads them from the environment when it is (importing it
    costs a second or more: a notebook that only computes drift never pays it)."""
    import sys

    if "mlflow" not in sys.modules:
        os.environ["MLFLOW_TRACKING_URI"] = tracking_uri
        os.environ["MLFLOW_REGISTRY_URI"] = registry_uri
        return
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)  # MLflow also exports it to os.environ (subprocesses)
    mlflow.set_registry_uri(registry_uri)


def _create_store_once(db: Path, tracking_uri: str) -> None:
    """Create a new SQLite store under a file lock.

    MLflow creates its tables on first use; two processes doing that at once (two kernels of a
    Voila app, two notebooks started together) collide in its migrations
    (``table _alembic_tmp_experiments already exists``). The first opener creates the store while
    holding ``mlruns/.store.lock``; later ones find it made.
    """
    if db.exists() and db.stat().st_size > 0:
        return
    import fcntl
    import logging

    import mlflow

    chatty = [logging.getLogger(name) for name in ("mlflow.store.db.utils", "alembic")]
    levels = [logger.level for logger in chatty]
    with open(db.parent / ".store.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            for logger in chatty:  # "Creating initial MLflow database tables..." is not news
                logger.setLevel(logging.WARNING)
            mlflow.MlflowClient(tracking_uri).search_experiments(max_results=1)  # runs migrations
        except Exception as err:
            raise WorkspaceError(
                f"cannot create the MLflow store {db}: {err}. Check the folder is writable, or "
                "delete a half-made mlflow.db and open the workspace again."
            ) from err
        finally:
            for logger, level in zip(chatty, levels):
                logger.setLevel(level)
            fcntl.flock(lock, fcntl.LOCK_UN)


def _users_env(name: str) -> str:
    """``name`` from the environment when the user set it, not when an earlier ``open_workspace``
    (here or in a parent process) did: ``mlflow.set_tracking_uri`` exports the URI it is given."""
    value = os.environ.get(name, "").strip()
    return "" if value and value in _own_values(name) else value


def _own_values(name: str) -> list[str]:
    return [v for v in os.environ.get(_OWN + name, "").split("\n") if v]


def _mark_own(name: str, value: str) -> None:
    """Remember ``value`` as one the workbench exported (the last 50, newest last)."""
    values = [v for v in _own_values(name) if v != value][-49:]
    os.environ[_OWN + name] = "\n".join([*values, value])


#: How MLflow's client retries a tracking server that does not answer, unless the user set it.
#: MLflow's defaults (7 retries, backoff factor 2, 120 s timeout) turn a stopped server into an
#: error after about four minutes; these after 6 to 9 s (retries after 0, 2 and 4 s, up to 1 s
#: of jitter each), enough to ride out a restarting worker. A hung server: about 4 x 30 s.
_SERVER_RETRIES = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


def _configure_mlflow_env() -> None:
    """Quiet, offline-safe MLflow defaults; a user's own setting always wins."""
    os.environ.setdefault("MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # Against a tracking server every run end prints "🏃 View run ... at:" and "🧪 View
    # experiment at:" (and fetches the run to do so); the workbench gives its own links.
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    telemetry_off()


#: Set to ``on`` to let MLflow and Evidently send their usage telemetry (off by default).
TELEMETRY_OPT_IN = "WORKBENCH_TELEMETRY"


def telemetry_off() -> bool:
    """Turn MLflow's and Evidently's usage telemetry off in this process and every process it
    starts (kernels, servers, apps inherit the environment), unless ``WORKBENCH_TELEMETRY=on``.

    Returns:
        True when telemetry is off.
    """
    if os.environ.get(TELEMETRY_OPT_IN, "").strip().lower() in ("on", "1", "true", "yes"):
        return False
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    os.environ["DO_NOT_TRACK"] = "true"  # Evidently: any value; MLflow: "true"
    import sys

    if "mlflow" in sys.modules:  # imported before the workspace opened: drop its client now
        try:
            from mlflow.telemetry import set_telemetry_client

            set_telemetry_client()
        except Exception:  # noqa: S110 - an MLflow without telemetry has nothing to drop
            pass
    return True


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
