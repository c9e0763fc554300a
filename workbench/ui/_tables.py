"""The stage-2 panel's two tables, as people read them: the audit history (times to the second,
hashes shortened with the full value on hover, long text wrapped) and the candidate against the
champion (the gate's metric first, in red when the candidate is worse beyond the tolerance)."""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Any

import pandas as pd

#: Audit columns shown shortened (the full value on hover): hashes, digests, keys, signatures.
_SHORTENED = ("hash", "prev_hash", "policy_hash", "digest", "key_id", "signature")
#: Audit columns left out of the panel's table (in the log, and in ``wb.history()``).
_HIDDEN = ("model", "run_id", "prev_hash", "signature", "evidence")
_SHORT = 10
_RED, _GREEN = "#cf222e", "#1a7f37"
_WRAP = "white-space:normal;word-break:break-word;max-width:22em;vertical-align:top"


def short_time(value: Any) -> str:
    """``2026-12-07T14:21:03.123456+00:00`` -> ``2026-12-07 14:21:03 UTC``.

    Example:
        >>> short_time("2026-12-07T14:21:03.123456+00:00")
        '2026-12-07 14:21:03 UTC'
        >>> short_time("not a time")
        'not a time'
    """
    text = str(value)
    if len(text) >= 19 and text[10] == "T":
        return f"{text[:10]} {text[11:19]} UTC"
    return text


def _missing(value: Any) -> bool:
    """None, NaN, ``pd.NA``, NaT or an empty string."""
    try:
        return value is None or bool(pd.isna(value)) or str(value) == ""
    except (TypeError, ValueError):  # a list or an array: not a missing scalar
        return False


def _cell(column: str, value: Any, link: Callable[[Any], str | None] | None = None) -> str:
    if _missing(value):
        return "<td style='color:#888'>-</td>"
    text = str(value)
    if link is not None and column in ("old_version", "new_version"):
        href = link(value)
        if href:
            return (
                f"<td><a href='{html.escape(href, quote=True)}' target='_blank'>"
                f"v{html.escape(text)}</a></td>"
            )
    if column == "time":
        text = short_time(text)
    if column in _SHORTENED and len(text) > _SHORT + 1:
        full = html.escape(text, quote=True)
        return f"<td class='wb-hash' title='{full}'><code>{html.escape(text[:_SHORT])}…</code></td>"
    return f"<td style='{_WRAP}'>{html.escape(text)}</td>"


def audit_table_html(log: pd.DataFrame, link: Callable[[Any], str | None] | None = None) -> str:
    """The audit log (``wb.history()``), newest first, as a table that fits the panel; with
    ``link`` (a version -> its MLflow UI page), each version is a link.

    Example:
        >>> log = pd.DataFrame([{"time": "2026-12-07T14:21:03.5+00:00", "action": "promote",
        ...     "model": "m", "new_version": 2, "hash": "ab" * 32, "reason": "better"}])
        >>> page = audit_table_html(log)
        >>> "14:21:03 UTC" in page, "abababababab" in page, "ababababab…" in page
        (True, True, True)
    """
    shown = [c for c in log.columns if c not in _HIDDEN]
    head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in shown)
    rows = "".join(
        "<tr>" + "".join(_cell(c, row[c], link) for c in shown) + "</tr>"
        for _, row in log.iloc[::-1].iterrows()
    )
    return (
        "<div style='overflow-x:auto;max-width:100%'>"
        "<table class='wb-history-table' style='table-layout:auto;border-collapse:collapse;"
        f"font-size:12px'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
    )


def _number(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "-"
    return "-" if math.isnan(number) else f"{number:.4f}"


def comparison_html(report: Any) -> str:
    """Candidate against ``@champion`` on the same eval data; the gate's metric (the
    ``no_regression`` check's) is named with its allowed loss, and shown in red when the candidate
    is worse beyond it, in green otherwise. Empty when there is nothing to compare."""
    frame = report.comparison
    if frame is None or frame.empty:
        return ""
    champion = f"@champion v{report.champion_version}" if report.champion_version else "no champion"
    gate = _gate_rows(report)
    lines = []
    for row in gate:
        worse = bool(row.get("regressed"))
        colour = _RED if worse else _GREEN
        verdict = "worse than the champion" if worse else "not worse than the champion"
        lines.append(
            f"<div class='wb-gate-metric {'wb-worse' if worse else 'wb-not-worse'}' "
            f"style='color:{colour};font-weight:600'>The gate's metric, "
            f"{html.escape(str(row['metric']))}: candidate {_number(row['candidate'])} vs "
            f"{html.escape(champion)} {_number(row['champion'])} "
            f"(change {_number(row['delta'])}, allowed loss {_number(row['allowed_loss'])}): "
            f"{verdict}.</div>"
        )
    flagged = {str(r["metric"]): bool(r.get("regressed")) for r in gate}
    head = "".join(
        f"<th style='text-align:left'>{html.escape(c)}</th>"
        for c in ("metric", f"candidate v{report.version}", champion, "change")
    )
    body = []
    for _, row in frame.iterrows():
        metric = str(row["metric"])
        key = next((k for k in flagged if metric == k or metric.startswith(f"{k} ")), None)
        style = "" if key is None else f" style='color:{_RED if flagged[key] else _GREEN}'"
        cells = (metric, _number(row["candidate"]), _number(row["champion"]), _number(row["delta"]))
        body.append(f"<tr{style}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    table = (
        "<table class='wb-compare-table' style='border-collapse:collapse'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
    return (
        "<h4 style='margin:4px 0'>Candidate vs champion (same eval data)</h4>"
        f"{''.join(lines)}{table}"
    )


def _gate_rows(report: Any) -> list[dict]:
    """The ``no_regression`` check's rows (metric, candidate, champion, delta, allowed_loss,
    regressed), when it compared the two."""
    try:
        result = report["no_regression"]
    except (KeyError, TypeError):
        return []
    table = getattr(result, "table", None)
    if not isinstance(table, pd.DataFrame) or table.empty or "allowed_loss" not in table:
        return []
    return table.to_dict("records")
