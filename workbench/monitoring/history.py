"""The monitoring runs of a model read back from MLflow, oldest first, with a plot of drift over
time: what :func:`~workbench.monitoring.retrain.apply_retrain_policy` decides on."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from workbench._core.names import TAG
from workbench._core.refs import model_name_of
from workbench._core.results import jsonable
from workbench.monitoring.tracking import NO_MODEL, experiment_name, metric_key
from workbench.plots.drift import STATUS_COLOURS

__all__ = ["MonitoringHistory", "monitoring_history", "run_filter"]

_COLUMNS = ["time", "run_id", "status", "drift_detected", "drifted_share", "model_version"]


@dataclass
class MonitoringHistory:
    """The monitoring runs of a model, oldest first, with a plot of drift over time.

    Attributes:
        model: The model name (or ``data`` for runs without a model).
        frame: One row per run: ``time``, ``run_id``, ``status``, ``drift_detected``,
            ``drifted_share``, ``model_version``, ``current``, ``drifted_columns``, the per-column
            drift scores ``drift.<column>`` and the ``perf.*`` metrics.
        moves: When the live alias moved (``time``, ``old_version``, ``new_version``, from the
            audit log), marked on the plots; without them, the runs' own version changes are.

    Example:
        >>> import pandas as pd
        >>> MonitoringHistory("credit-risk", pd.DataFrame()).to_dict()
        {'model': 'credit-risk', 'runs': []}
    """

    model: str
    frame: pd.DataFrame
    moves: list[dict[str, Any]] = field(default_factory=list)

    def filtered(
        self, version: Any = None, since: Any = None, until: Any = None
    ) -> MonitoringHistory:
        """The runs of one version (``5``, ``"5"`` or ``"v5"``; None: all) between two times
        (``since``/``until`` inclusive: timestamps, ISO text or dates, a date ``until`` meaning
        that whole day; None: open), as a new history with the same moves.

        Example:
            >>> h = MonitoringHistory("m", pd.DataFrame({"time": pd.to_datetime(
            ...     ["2026-11-01", "2026-11-20"], utc=True), "model_version": ["4", "5"]}))
            >>> len(h.filtered(version="v5").frame), len(h.filtered(since="2026-11-10").frame)
            (1, 1)
        """
        f = self.frame
        keep = run_filter(
            f["time"] if "time" in f else [None] * len(f),
            f["model_version"] if "model_version" in f else [None] * len(f),
            version,
            since,
            until,
        )
        return MonitoringHistory(self.model, f[keep].reset_index(drop=True), list(self.moves))

    def version_marks(self) -> list[tuple[float, str]]:
        """Where the version changed on the run axis: ``(position, "v7 -> v8")``, the position
        half-way between the last run before the change and the first run after it (after the
        last run: its right edge). From :attr:`moves` (the audit log) when there are any, else
        from the runs' own ``model_version``; a change before the first run shown is left out."""
        f = self.frame
        if not len(f):
            return []
        marks: dict[float, list[str]] = {}
        if self.moves:
            times = [pd.Timestamp(t) for t in f["time"]]
            for move in self.moves:
                when = _utc(move.get("time"))
                if when is None:
                    continue
                j = sum(1 for t in times if t < when)
                if j == 0:
                    continue
                old, new = move.get("old_version"), move.get("new_version")
                label = f"v{_v(old)} -> v{_v(new)}" if _v(old) else f"v{_v(new)} live"
                marks.setdefault(j - 0.5, []).append(label)
        elif "model_version" in f:
            versions = [_v(v) for v in f["model_version"]]
            for j in range(1, len(versions)):
                if versions[j] and versions[j - 1] and versions[j] != versions[j - 1]:
                    marks.setdefault(j - 0.5, []).append(f"v{versions[j - 1]} -> v{versions[j]}")
        return [(pos, ", ".join(labels)) for pos, labels in sorted(marks.items())]

    def plot(self) -> Any:
        """A plotly figure of the runs: drifted share (markers coloured by status: red drift,
        green ok, grey invalid data) and, when there are any, estimated performance with its
        interval and measured performance (dashed)."""
        from workbench.plots.drift import history_lines

        f = self.frame
        return history_lines(
            f,
            self.run_labels(),
            title=f"Monitoring history: {self.model} ({len(f)} runs)",
            marks=self.version_marks(),
        )

    def heatmap(self) -> Any:
        """A plotly heatmap of every tested column (rows) by run (columns): red where the column
        drifted, green where it did not, the drift score in each cell, invalid-data runs grey."""
        from workbench.plots.drift import drift_heatmap

        scores, drifted = self.drift_matrix()
        f = self.frame
        hover = [
            f"{r.get('current') or ''} (version {r.get('model_version') or '-'})"
            for r in f.to_dict("records")
        ]
        invalid = [s == "invalid" for s in f["status"]] if len(f) else []
        return drift_heatmap(
            scores,
            drifted,
            f"Drift by column: {self.model}",
            hover=hover,
            invalid=invalid,
            marks=self.version_marks(),
        )

    def run_labels(self) -> list[str]:
        """One short, unique label per run for plot axes: ``11-23 22:50`` (seconds, then a
        counter, added when two runs share the minute)."""
        labels: list[str] = []
        for t in self.frame["time"] if len(self.frame) else []:
            label = pd.Timestamp(t).strftime("%m-%d %H:%M")
            if label in labels:
                label = pd.Timestamp(t).strftime("%m-%d %H:%M:%S")
            base, n = label, 2
            while label in labels:
                label, n = f"{base} #{n}", n + 1
            labels.append(label)
        return labels

    def drift_matrix(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The per-column drift scores (``drift.<column>`` metrics) as a table, one row per column
        (most often drifted first) and one column per run (:meth:`run_labels`), NaN where a
        column was not tested; and, same shape, True where the column drifted."""
        f = self.frame
        labels = self.run_labels()
        cols = [c for c in f.columns if str(c).startswith("drift.")]
        scores = pd.DataFrame(
            [[f[c].iloc[j] for j in range(len(f))] for c in cols],
            index=[c.removeprefix("drift.") for c in cols],
            columns=labels,
            dtype=float,
        )
        drifted = pd.DataFrame(False, index=scores.index, columns=labels)
        for j, text in enumerate(f["drifted_columns"] if "drifted_columns" in f else []):
            for name in str(text or "").split(","):
                key = metric_key(name.strip())
                if key in drifted.index:
                    drifted.iat[drifted.index.get_loc(key), j] = True
        order = sorted(scores.index, key=lambda c: (-int(drifted.loc[c].sum()), c))
        return scores.loc[order], drifted.loc[order]

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        return {"model": self.model, "runs": jsonable(self.frame.astype(str).to_dict("records"))}

    def _repr_html_(self) -> str:
        """A strip of the runs (one square per run, coloured by status) and the latest runs."""
        f = self.frame
        strip = "".join(
            f"<span title='{html.escape(lab)}: {html.escape(str(s))}' style='display:inline-block;"
            f"width:14px;height:14px;margin:1px;background:{STATUS_COLOURS.get(s, '#d0d7de')}'>"
            "</span>"
            for lab, s in zip(self.run_labels(), f["status"] if len(f) else [], strict=True)
        )
        cols = [
            c
            for c in (
                "time",
                "status",
                "drifted_share",
                "drifted_columns",
                "model_version",
                "current",
            )
            if c in f
        ]
        table = (
            f[cols].tail(10).to_html(index=False, float_format="{:.2f}".format) if len(f) else ""
        )
        head = f"monitoring history: {html.escape(self.model)} ({len(f)} runs)"
        return f"<div class='wb-monitoring-history'><b>{head}</b><div>{strip}</div>{table}</div>"

    def _ipython_display_(self) -> None:
        """In a notebook: the plotly plots, then the strip and the table."""
        from IPython.display import HTML, display

        from workbench.plots.drift import figure_bundle
        from workbench.plots.theme import theme_style

        if len(self.frame):
            display(HTML(theme_style()))
            display(figure_bundle(self.plot()), raw=True)
            if any(str(c).startswith("drift.") for c in self.frame.columns):
                display(figure_bundle(self.heatmap()), raw=True)
        display(HTML(self._repr_html_()))


def monitoring_history(model: str | None = None, max_runs: int = 500) -> MonitoringHistory:
    """The monitoring runs of ``model`` (a name or a ``models:/`` URI; None = runs without a
    model), oldest first.

    Args:
        model: The model name or URI.
        max_runs: Read at most this many of the latest runs.

    Example:
        >>> wb.monitoring_history("credit-risk").frame.tail(3)   # doctest: +SKIP
    """
    from workbench.workspace import mlflow_client

    client = mlflow_client()
    name = model_name_of(model) or NO_MODEL
    exp = client.get_experiment_by_name(experiment_name(model))
    if exp is None:
        return MonitoringHistory(name, pd.DataFrame(columns=[*_COLUMNS, "current"]))
    runs = client.search_runs(
        [exp.experiment_id], order_by=["attributes.start_time DESC"], max_results=max_runs
    )
    rows = [_row(run) for run in runs]
    frame = pd.DataFrame(rows).sort_values("time", kind="stable").reset_index(drop=True)
    return MonitoringHistory(name, frame)


def run_filter(
    times: Any, versions: Any, version: Any = None, since: Any = None, until: Any = None
) -> list[bool]:
    """One flag per run: its version is ``version`` (None: any) and its time lies between
    ``since`` and ``until`` (inclusive; None: open; a date ``until`` means the whole day)."""
    want = _v(version) if version is not None else None
    low, high = _utc(since), _utc(until, end_of_day=True)
    keep = []
    for t, v in zip(times, versions, strict=True):
        ok = want is None or _v(v) == want
        when = _utc(t)
        if low is not None:
            ok = ok and when is not None and when >= low
        if high is not None:
            ok = ok and when is not None and when <= high
        keep.append(ok)
    return keep


# --------------------------------------------------------------------------- helpers


def _v(version: Any) -> str:
    """A version as text without a leading ``v`` ("" for none)."""
    if version is None or version is pd.NA or (isinstance(version, float) and np.isnan(version)):
        return ""
    text = str(version).strip()
    return text[1:] if text[:1] in ("v", "V") else text


def _utc(value: Any, end_of_day: bool = False) -> pd.Timestamp | None:
    """``value`` (timestamp, ISO text, date) as a UTC timestamp; a plain date ``until`` is the
    end of that day; None stays None."""
    if value is None or value is pd.NaT or (isinstance(value, str) and not value.strip()):
        return None
    whole_day = isinstance(value, date) and not isinstance(value, datetime)
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    if whole_day and end_of_day:
        stamp += pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    return stamp


def _row(run: Any) -> dict[str, Any]:
    tags, metrics = run.data.tags, run.data.metrics
    row = {
        "time": pd.Timestamp(run.info.start_time, unit="ms", tz="UTC"),
        "run_id": run.info.run_id,
        "status": tags.get(TAG.STATUS, ""),
        "drift_detected": bool(metrics.get("drift_detected", 0.0)),
        "drifted_share": metrics.get("drifted_share", np.nan),
        "model_version": tags.get(TAG.MODEL_VERSION),
        "current": tags.get(TAG.DATA_CURRENT),
        "drifted_columns": tags.get(TAG.DRIFTED_COLUMNS, ""),
    }
    row.update({k: v for k, v in metrics.items() if k.startswith(("perf.", "est.", "drift."))})
    if tags.get(TAG.ESTIMATE_NOTE):  # why the estimate is withheld or flagged
        row["estimate_note"] = tags[TAG.ESTIMATE_NOTE]
    return row
