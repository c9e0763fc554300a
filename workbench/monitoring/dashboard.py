"""What the monitoring dashboard shows, read from the tracking store: per registered model, the live
version (``@champion``) and since when (the audit log), the latest batch verdict, every monitoring
run (drift scores per column, estimated and measured performance, links to its report and its MLflow
run) and the retrain flag.

:func:`monitoring_dashboard` reads it all at once; :class:`Dashboard` shows itself, saves itself
(``dashboard.json``) and draws its plots on demand (:meth:`ModelHealth.heatmap`,
:meth:`ModelHealth.plot`): nothing is written to the runs for the dashboard's sake. It works on a
local store and on a team server alike, with no models, with models never monitored, without a
champion and with runs on invalid data.

Example:
    >>> board = Dashboard(models=[], tracking_uri="sqlite:///mlruns/mlflow.db", read_at="now")
    >>> board.to_dict()["models"], "no registered models" in board._repr_html_()
    ([], True)
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse
from urllib.request import url2pathname

import pandas as pd

from workbench._core.names import ARTIFACT, TAG
from workbench._core.results import Result, jsonable, plain, utc_now
from workbench.errors import ModelNotFoundError, WorkbenchError
from workbench.monitoring.history import MonitoringHistory, monitoring_history, run_filter
from workbench.monitoring.tracking import ARTIFACT_FOLDER, experiment_name
from workbench.plots.drift import performance_metrics

__all__ = ["LIVE_ALIAS", "Dashboard", "ModelHealth", "monitoring_dashboard"]

#: The alias the dashboard calls live.
LIVE_ALIAS = "champion"
_RUN_KEYS = ("time", "status", "drifted_share", "model_version", "current", "run_id")


@dataclass
class ModelHealth:
    """One registered model as the dashboard shows it.

    Attributes:
        name: Registered model name.
        versions: How many versions it has.
        live_version: The version ``@champion`` points at (None: no champion yet).
        live_since: When it became champion (UTC, from the audit log).
        live_by, live_reason, live_forced: Who promoted it, why, and whether it was forced.
        live_note: What is unusual about the live version, in plain words (no champion; moved
            outside the workbench; the audit log could not be read).
        model_url: The MLflow UI page of the live version.
        runs: Every monitoring run, oldest first: time, status, drifted share and columns, the
            version and data monitored, ``drift.*`` scores, ``est.*``/``perf.*`` metrics, ``run_url`` and
            ``report_url`` (the MLflow UI), ``report_path`` (the report file, on a local store).
        retrain_requested: A live (or, without a champion, any) version carries
            ``workbench.retrain_requested = true``.
        retrain_reason: Why, as the policy wrote it.
        traffic: The served traffic per day over the last week (requests, error rate, p50/p99
            latency, label coverage: :func:`~workbench.monitoring.traffic.traffic_summary`);
            empty when the model keeps no inference log.
        metric_average: ``macro`` for a multiclass model (its precision, recall, F1 and ROC AUC
            are means over its classes, and its figures say so); empty otherwise.
        live_changes: Every move of ``@champion`` in the audit log, oldest first (``time``,
            ``old_version``, ``new_version``): marked on the plots as "v7 -> v8".
        history: The runs as a :class:`~workbench.monitoring.history.MonitoringHistory` (plots).
    """

    name: str
    versions: int = 0
    live_version: int | None = None
    live_since: str | None = None
    live_by: str | None = None
    live_reason: str | None = None
    live_forced: bool = False
    live_note: str = ""
    model_url: str | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)
    retrain_requested: bool = False
    retrain_reason: str = ""
    metric_average: str = ""
    traffic: list[dict[str, Any]] = field(default_factory=list)
    live_changes: list[dict[str, Any]] = field(default_factory=list)
    history: MonitoringHistory | None = field(default=None, repr=False, compare=False)

    @property
    def latest(self) -> dict[str, Any] | None:
        """The latest monitoring run (None: never monitored)."""
        return self.runs[-1] if self.runs else None

    @property
    def latest_version(self) -> str:
        """The version the latest run monitored ("" when it names none or there is no run)."""
        run = self.latest
        return _version_text(run.get("model_version")) if run else ""

    def live_monitored(self) -> bool:
        """Whether the latest run monitored the live version (True without a champion: there is
        nothing else to compare with)."""
        if self.live_version is None or not self.runs:
            return True
        return self.latest_version == str(self.live_version)

    def monitoring_note(self) -> str:
        """What the latest batch is NOT, in plain words: "v10 (live since ...) has no monitoring
        run yet; the latest batch shown is v5's" ("" when the latest run is the live version's,
        or there is no champion or no run)."""
        if self.live_monitored():
            return ""
        live = str(self.live_version)
        since = f" (live since {_short(self.live_since)} UTC)" if self.live_since else " (live)"
        shown = f"v{self.latest_version}'s" if self.latest_version else "of no named version"
        own = [r for r in self.runs if _version_text(r.get("model_version")) == live]
        if not own:
            return f"v{live}{since} has no monitoring run yet; the latest batch shown is {shown}"
        return (
            f"the latest batch shown is {shown}, not the live v{live}{since}: v{live} was last "
            f"monitored {_short(own[-1]['time'])} UTC"
        )

    def monitored_versions(self) -> list[str]:
        """The versions the runs monitored, as text, newest version first."""
        found = {_version_text(r.get("model_version")) for r in self.runs} - {""}
        return sorted(found, key=lambda v: (not v.isdigit(), -int(v) if v.isdigit() else 0, v))

    def filtered(self, version: Any = None, since: Any = None, until: Any = None) -> ModelHealth:
        """The same model with only the runs of ``version`` (None: all) between ``since`` and
        ``until`` (inclusive; timestamps, ISO text or dates; None: open): what the panel's
        filters show in the plots and the run table.

        Example:
            >>> m = ModelHealth("m", runs=[{"time": "2026-11-01T00:00:00+00:00",
            ...     "model_version": "4"}, {"time": "2026-11-20T00:00:00+00:00",
            ...     "model_version": "5"}])
            >>> [r["model_version"] for r in m.filtered(since="2026-11-10").runs]
            ['5']
        """
        keep = run_filter(
            [r.get("time") for r in self.runs],
            [r.get("model_version") for r in self.runs],
            version,
            since,
            until,
        )
        view = replace(self, runs=[r for r, k in zip(self.runs, keep, strict=True) if k])
        view.history = self._history().filtered(version, since, until)
        return view

    def verdict(self) -> str:
        """The latest batch's verdict in plain words."""
        run = self.latest
        if run is None:
            return "never monitored"
        if run["status"] == "invalid":
            return "invalid data: no drift verdict"
        if run["status"] == "drift":
            return "drift in " + (", ".join(run["drifted_columns"]) or "the batch")
        return "no drift"

    def heatmap(self) -> Any:
        """The days-by-columns drift heatmap (plotly), drifted cells red."""
        return self._history().heatmap()

    def plot(self) -> Any:
        """The history lines (plotly): drifted share; estimated and measured performance."""
        return self._history().plot()

    def metrics(self) -> list[str]:
        """Metrics with an estimate or a measurement in some run."""
        return performance_metrics(self._history().frame)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields (the history's table is in ``runs``)."""
        return jsonable(
            {f.name: getattr(self, f.name) for f in fields(self) if f.name != "history"}
        )

    def _history(self) -> MonitoringHistory:
        if self.history is None:  # loaded from JSON: rebuild the table from the runs
            frame = pd.DataFrame(self.runs)
            if "time" in frame:
                frame["time"] = pd.to_datetime(frame["time"], utc=True)
            if "drifted_columns" in frame:
                frame["drifted_columns"] = [",".join(c or []) for c in frame["drifted_columns"]]
            self.history = MonitoringHistory(self.name, frame, list(self.live_changes))
        return self.history

    def _repr_html_(self) -> str:
        from workbench.monitoring.dashboard_render import model_card

        return model_card(self)


@dataclass
class Dashboard(Result):
    """Every registered model's health, read at one moment (:func:`monitoring_dashboard`).

    Attributes:
        models: One :class:`ModelHealth` per registered model, by name.
        tracking_uri: The store it was read from.
        read_at: When (UTC).
        ui_base: The MLflow UI the links point at.
        shared: True on a tracking server (links open the server's UI).
        last_backup: The workspace's last successful ``workbench backup`` (archive, size,
            finished), or None: never backed up.

    Example:
        >>> Dashboard(models=[], tracking_uri="http://127.0.0.1:5005", read_at="now").names()
        []
    """

    FILE_NAME: ClassVar[str] = "dashboard.json"

    models: list[ModelHealth]
    tracking_uri: str
    read_at: str
    ui_base: str = ""
    shared: bool = False
    last_backup: dict[str, Any] | None = None

    def names(self) -> list[str]:
        """The model names, in order."""
        return [m.name for m in self.models]

    def model(self, name: str) -> ModelHealth:
        """The health of model ``name``.

        Raises:
            ModelNotFoundError: the dashboard has no such model.
        """
        for m in self.models:
            if m.name == name:
                return m
        raise ModelNotFoundError(
            f"the dashboard has no model called {name!r} (models: {', '.join(self.names()) or 'none'}): "
            "refresh it, or check the name."
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        return {
            "models": [m.to_dict() for m in self.models],
            "tracking_uri": self.tracking_uri,
            "read_at": self.read_at,
            "ui_base": self.ui_base,
            "shared": self.shared,
            "last_backup": self.last_backup,
        }

    @classmethod
    def load(cls, path: str | Any) -> Dashboard:
        """Read a dashboard written by :meth:`save` (its plots are drawn from the runs kept)."""
        board = super().load(path)
        names = {f.name for f in fields(ModelHealth)}
        board.models = [
            ModelHealth(**{k: v for k, v in m.items() if k in names}) for m in board.models
        ]
        return board

    def _repr_html_(self) -> str:
        from workbench.monitoring.dashboard_render import dashboard_html

        return dashboard_html(self)


def monitoring_dashboard(model: str | None = None, max_runs: int = 200) -> Dashboard:
    """Read the dashboard's data from the current workspace's store: every registered model (or
    only ``model``), its live version, its monitoring runs and its retrain flag.

    Args:
        model: One model's name or ``models:/`` URI (default: every registered model).
        max_runs: Read at most this many of each model's latest monitoring runs.

    Raises:
        ModelNotFoundError: ``model`` is not a registered model.
        PermissionDeniedError: the tracking server refused the user.

    Example:
        >>> board = monitoring_dashboard()   # doctest: +SKIP
        >>> board.model("credit-risk").verdict()            # doctest: +SKIP
        'drift in income, loan_amount'
    """
    from workbench._core.refs import model_name_of
    from workbench.registry import model_names, versions
    from workbench.workspace import current_workspace, mlflow_client

    ws = current_workspace()
    client = mlflow_client()
    names = [model_name_of(model) or model] if model else model_names()
    models = []
    for name in names:
        found = versions(name)  # ModelNotFoundError names the models there are
        health = ModelHealth(name, versions=len(found))
        _live(health, found)
        if health.live_version is not None:
            health.model_url = ws.model_url(name, health.live_version)
        _retrain(health, found)
        averages = {(mv.tags or {}).get(TAG.METRIC_AVERAGE) for mv in found}
        health.metric_average = "macro" if "macro" in averages else ""
        health.history = monitoring_history(name, max_runs=max_runs)
        health.history.moves = list(health.live_changes)
        health.runs = _runs(client, ws, name, health.history)
        health.traffic = _traffic(name)
        models.append(health)
    from workbench.workspace import last_backup_record

    return Dashboard(
        models, ws.tracking_uri, utc_now(), ws.ui_base(), ws.shared, last_backup_record(ws.root)
    )


# --------------------------------------------------------------------------- helpers


def _live(health: ModelHealth, found: list[Any]) -> None:
    """The champion and since when: the audit log's last move of the alias to it."""
    from workbench.registry import history

    live = next((v for v in found if LIVE_ALIAS in v.aliases), None)
    if live is None:
        health.live_note = (
            f"no @{LIVE_ALIAS} yet: promote a version (workbench promote {health.name} VERSION "
            f"--alias {LIVE_ALIAS} ...)"
        )
        return
    health.live_version = live.version
    try:
        log = history(health.name, alias=LIVE_ALIAS)
    except WorkbenchError as err:
        health.live_note = f"since when is unknown: the audit log could not be read ({err})"
        return
    health.live_changes = [
        {
            "time": str(row["time"]),
            "old_version": None if pd.isna(row["old_version"]) else int(row["old_version"]),
            "new_version": None if pd.isna(row["new_version"]) else int(row["new_version"]),
        }
        for row in log.to_dict("records")
    ]
    if not len(log) or int(log["new_version"].iloc[-1]) != live.version:
        health.live_note = (
            f"@{LIVE_ALIAS} was moved outside the workbench: not in the audit log "
            f"(workbench history {health.name} --verify)"
        )
        return
    last = log.iloc[-1]
    health.live_since = str(last["time"])
    health.live_by, health.live_reason = str(last["by"]), str(last["reason"])
    health.live_forced = bool(last["forced"])


def _version_text(version: Any) -> str:
    if version is None or (isinstance(version, float) and version != version):
        return ""
    text = str(version).strip()
    return text[1:] if text[:1] in ("v", "V") else text


def _short(value: Any) -> str:
    text = str(value or "")
    return text[:16].replace("T", " ") if len(text) >= 16 else text


def _traffic(name: str) -> list[dict[str, Any]]:
    """The model's traffic per day; none when its log cannot be read (said on stderr)."""
    import sys

    from workbench.monitoring.traffic import traffic_summary

    try:
        return traffic_summary(name).to_dict("records")
    except Exception as err:  # the dashboard still shows the rest
        print(f"workbench: the traffic of {name} could not be read: {err}", file=sys.stderr)
        return []


def _retrain(health: ModelHealth, found: list[Any]) -> None:
    flagged = [v for v in found if v.tags.get(TAG.RETRAIN_REQUESTED) == "true"]
    if health.live_version is not None:
        flagged = [v for v in flagged if v.version == health.live_version]
    if flagged:
        health.retrain_requested = True
        reason = flagged[0].tags.get(TAG.RETRAIN_REASON, "")
        health.retrain_reason = reason or f"version {flagged[0].version} is tagged for retraining"


def _runs(client: Any, ws: Any, name: str, hist: MonitoringHistory) -> list[dict[str, Any]]:
    """The history's runs as plain rows with their links."""
    frame = hist.frame
    if not len(frame):
        return []
    exp = client.get_experiment_by_name(experiment_name(name))
    artifacts = _local_folder(getattr(exp, "artifact_location", "")) if not ws.shared else None
    extra = [
        c
        for c in frame.columns
        if str(c).startswith(("est.", "perf.", "drift."))
        or c in ("drift_detected", "estimate_note")
    ]
    rows = []
    for record in frame.to_dict("records"):
        row = {k: plain(record.get(k)) for k in (*_RUN_KEYS, *extra)}
        row["drifted_columns"] = [
            c for c in str(record.get("drifted_columns") or "").split(",") if c
        ]
        row["run_url"] = ws.run_url(exp.experiment_id, record["run_id"]) if exp else None
        report = _report_file(artifacts, record["run_id"])
        row["report_path"] = str(report) if report else None
        file = report.name if report else ARTIFACT.REPORT_HTML
        row["report_url"] = (
            ws.run_url(exp.experiment_id, record["run_id"], f"{ARTIFACT_FOLDER}/{file}")
            if exp
            else None
        )
        rows.append(row)
    return rows


def _local_folder(uri: str) -> Path | None:
    if not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return None
    return Path(url2pathname(parsed.path))


def _report_file(artifacts: Path | None, run_id: str) -> Path | None:
    """The run's HTML report on a local store (else its summary), when it is there."""
    if artifacts is None:
        return None
    folder = artifacts / run_id / "artifacts" / ARTIFACT_FOLDER
    for name in (ARTIFACT.REPORT_HTML, ARTIFACT.SUMMARY_JSON):
        with contextlib.suppress(OSError):
            if (folder / name).is_file():
                return folder / name
    return None
