"""How the dashboard shows itself in HTML: a card per model (live version, latest verdict, retrain
flag, performance) and the table of its monitoring runs with their links."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from workbench._core.tasks import metric_label
from workbench.plots.drift import STATUS_COLOURS

if TYPE_CHECKING:
    from workbench.monitoring.dashboard import Dashboard, ModelHealth

__all__ = ["dashboard_html", "model_card", "runs_table", "traffic_table"]

_CARD = (
    "border:1px solid #d0d7de;border-radius:6px;padding:10px 14px;margin:6px 0;"
    "font-family:Liberation Sans,Arial,sans-serif;line-height:1.5"
)


def dashboard_html(board: Dashboard) -> str:
    """Every model's card, or a sentence saying there are none yet."""
    if not board.models:
        return (
            "<div class='wb-dashboard'><p class='wb-dashboard-empty'>There are no registered "
            f"models in {_e(board.tracking_uri)} yet: log one (workbench.log_model or notebook "
            "01), promote it, and monitor its batches (workbench monitor ... --model "
            "models:/NAME@champion).</p></div>"
        )
    cards = "".join(model_card(m) + traffic_table(m) + runs_table(m) for m in board.models)
    return (
        f"<div class='wb-dashboard'>{cards}<p>read {_e(board.read_at)} · "
        f"{backup_line(board)}</p></div>"
    )


def backup_line(board: Dashboard, stale_days: float = 2.0) -> str:
    """When the workspace was last backed up (``workbench backup``), amber when it never was or
    is older than ``stale_days``.

    Example:
        >>> from workbench.monitoring.dashboard import Dashboard
        >>> board = Dashboard([], "sqlite:///x.db", "2026-12-07T10:00:00+00:00")
        >>> "No backup" in backup_line(board)
        True
        >>> board.last_backup = {"finished": "2026-12-07T10:00:00+00:00", "size": 2_500_000}
        >>> "last backup 2026-12-07 10:00 UTC (2.5 MB)" in backup_line(board)
        True
    """
    from datetime import UTC, datetime

    last = board.last_backup
    if not last:
        return (
            "<span class='wb-dash-backup wb-dash-backup-none' style='color:#9a6700'>No backup of "
            "this workspace yet: <code>workbench backup --out DIR --keep 7</code></span>"
        )
    finished = str(last.get("finished") or last.get("created") or "")
    try:
        age = datetime.now(UTC) - datetime.fromisoformat(finished)
        stale = age.total_seconds() > stale_days * 86400
    except ValueError:
        stale = True
    colour = "#9a6700" if stale else "var(--jp-ui-font-color2, #57606a)"
    size = float(last.get("size") or 0) / 1e6
    return (
        f"<span class='wb-dash-backup' style='color:{colour}'>last backup "
        f"{_e(_short_time(finished))} UTC ({size:.1f} MB)</span>"
    )


def model_card(m: ModelHealth) -> str:
    """The card of one model: live version and since when, latest verdict, retrain flag,
    performance."""
    if m.live_version is not None:
        live = f"<b>version {m.live_version}</b> (@champion)"
        if m.live_since:
            forced = " <b style='color:#cf222e'>FORCED</b>" if m.live_forced else ""
            live += (
                f" since {_e(_short_time(m.live_since))} UTC, promoted by {_e(m.live_by)}{forced}: "
                f"{_e(m.live_reason)}"
            )
        if m.model_url:
            live += f" · <a href='{_e(m.model_url)}' target='_blank'>version page</a>"
    else:
        live = "<b>none</b>"
    note = (
        f"<div class='wb-dash-note' style='color:#9a6700'>{_e(m.live_note)}</div>"
        if m.live_note
        else ""
    )
    run = m.latest
    if run is None:
        verdict = (
            "<span class='wb-dash-verdict'>never monitored: run workbench monitor --reference F "
            f"--current F --model models:/{_e(m.name)}@champion</span>"
        )
    else:
        colour = STATUS_COLOURS.get(run["status"], "#57606a")
        version = f", version {_e(run['model_version'])}" if run.get("model_version") else ""
        badge = (
            f"<span style='background:{colour};color:white;border-radius:4px;padding:1px 6px'>"
            f"{_e(run['status'].upper() or 'UNKNOWN')}</span>"
        )
        verdict = (
            f"<span class='wb-dash-verdict'>{badge} {_e(m.verdict())}</span> on "
            f"{_e(run.get('current') or 'the latest batch')}, {_e(_short_time(run['time']))} UTC"
            f"{version} ({len(m.runs)} monitoring runs)"
        )
    if m.retrain_requested:
        retrain = (
            "<span class='wb-dash-retrain' style='color:#cf222e'><b>retraining requested</b> "
            f"{_e(m.retrain_reason.removeprefix('retraining requested '))}</span>"
        )
    else:
        retrain = "<span class='wb-dash-retrain'>no retraining requested</span>"
    rows = [("Live", live + note)]
    batch, perf_label = "Latest batch", "Performance"
    gap = m.monitoring_note()
    if gap:  # the latest verdict is another version's: never shown as the live version's
        rows.append(
            (
                "Monitoring",
                "<span class='wb-dash-unmonitored' style='color:#9a6700;font-weight:600'>"
                f"&#9888; {_e(gap)}</span>",
            )
        )
        shown = f"v{m.latest_version}" if m.latest_version else "no version"
        batch, perf_label = f"Latest batch ({_e(shown)}, not live)", f"Performance ({_e(shown)})"
    rows += [(batch, verdict), ("Retrain", retrain)]
    perf = _performance(m)
    if perf:
        rows.append((perf_label, perf))
    body = "".join(
        f"<tr><th style='text-align:left;vertical-align:top;padding-right:14px;white-space:nowrap'>"
        f"{k}</th><td>{v}</td></tr>"
        for k, v in rows
    )
    return (
        f"<div class='wb-dash-card' data-model='{_e(m.name)}' style='{_CARD}'>"
        f"<h3 style='margin:2px 0 6px 0'>{_e(m.name)}</h3><table>{body}</table></div>"
    )


def runs_table(m: ModelHealth, last: int = 30) -> str:
    """The latest runs, newest first: time, version, data, verdict, drifted columns, links (the
    live version's runs marked "live")."""
    if not m.runs:
        return ""
    live = str(m.live_version) if m.live_version is not None else None
    metrics = [k for k in m.runs[-1] if k.startswith(("est.", "perf.")) and k.count(".") == 1]
    macro = m.metric_average == "macro"
    shown = [k.split(".")[0] + "." + metric_label(k.split(".", 1)[1], macro) for k in metrics]
    head = ["time (UTC)", "version", "data", "verdict", "drifted columns", *shown, "links"]
    lines = []
    for run in reversed(m.runs[-last:]):
        colour = STATUS_COLOURS.get(run["status"], "#57606a")
        links = []
        if run.get("report_url"):
            links.append(f"<a href='{_e(run['report_url'])}' target='_blank'>report</a>")
        if run.get("run_url"):
            links.append(f"<a href='{_e(run['run_url'])}' target='_blank'>MLflow run</a>")
        cells = [
            _e(_short_time(run["time"])),
            _e(run.get("model_version") or "-")
            + (" <small>(live)</small>" if live and str(run.get("model_version")) == live else ""),
            _e(run.get("current") or ""),
            f"<b style='color:{colour}'>{_e(run['status'])}</b>",
            _e(", ".join(run["drifted_columns"])),
            *(_num(run.get(k)) for k in metrics),
            " · ".join(links),
        ]
        lines.append(
            "<tr>" + "".join(f"<td style='padding:2px 8px'>{c}</td>" for c in cells) + "</tr>"
        )
    header = "".join(f"<th style='text-align:left;padding:2px 8px'>{_e(h)}</th>" for h in head)
    return (
        f"<table class='wb-dash-runs' style='border-collapse:collapse;font-size:13px'>"
        f"<thead><tr>{header}</tr></thead><tbody>{''.join(lines)}</tbody></table>"
    )


def traffic_table(m: ModelHealth) -> str:
    """The served traffic per day, newest first: requests, error rate, latency, label coverage."""
    if not m.traffic:
        return ""
    head = ["day (UTC)", "requests", "error rate", "p50 ms", "p99 ms", "rows", "labels back"]
    lines = []
    for day in reversed(m.traffic):
        colour = "#cf222e" if day["error_rate"] > 0.05 else "inherit"
        cells = [
            _e(day["day"]), f"{day['requests']:,}",
            f"<span style='color:{colour}'>{day['error_rate']:.1%}</span>",
            _num(day["p50_ms"]), _num(day["p99_ms"]), f"{day['rows']:,}", f"{day['labelled']:.0%}",
        ]  # fmt: skip
        lines.append(
            "<tr>" + "".join(f"<td style='padding:2px 8px'>{c}</td>" for c in cells) + "</tr>"
        )
    header = "".join(f"<th style='text-align:left;padding:2px 8px'>{_e(h)}</th>" for h in head)
    return (
        "<table class='wb-dash-traffic' style='border-collapse:collapse;font-size:13px;"
        f"margin-bottom:6px'><caption style='text-align:left'><b>Served traffic</b> (inference log)"
        f"</caption><thead><tr>{header}</tr></thead><tbody>{''.join(lines)}</tbody></table>"
    )


def _performance(m: ModelHealth) -> str:
    run = m.latest
    if run is None:
        return ""
    parts = []
    for metric in m.metrics():
        est, measured = run.get(f"est.{metric}"), run.get(f"perf.{metric}")
        bits = []
        if est is not None:
            low, high = _band(run, metric)
            interval = f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""
            bits.append(f"estimated {est:.3f}{interval}")
        if measured is not None:
            bits.append(f"measured {measured:.3f}")
        if bits:
            shown = metric_label(metric, m.metric_average == "macro")
            parts.append(f"{_e(shown)}: {', '.join(bits)}")
    if run.get("estimate_note"):  # the estimate withheld (figures left out) or flagged, and why
        parts.append(
            f"<span class='wb-dash-estimate-note'>estimate: {_e(run['estimate_note'])}</span>"
        )
    return "<br>".join(parts)


def _band(run: dict[str, Any], metric: str) -> tuple[float | None, float | None]:
    for low, high in ((".low", ".high"), ("_low", "_high")):
        if run.get(f"est.{metric}{low}") is not None and run.get(f"est.{metric}{high}") is not None:
            return run[f"est.{metric}{low}"], run[f"est.{metric}{high}"]
    return None, None


def _num(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else ""


def _short_time(value: Any) -> str:
    text = str(value or "")
    return text[:16].replace("T", " ") if len(text) >= 16 else text


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))
