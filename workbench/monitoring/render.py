"""How a :class:`~workbench.monitoring.result.DriftResult` shows itself: the HTML card of a notebook
(``_repr_html_``), the plain text of the command line (``text``), and the decision rule in words.

Every score says what it is: Evidently's score is labelled ``p-value`` or ``distance``, the
workbench's decision shows its test's p-value, the corrected p-value and the effect with its
minimum; skipped columns are listed with the reason.
"""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING

from workbench._core.tasks import metric_label
from workbench.monitoring.estimation import estimate_summary
from workbench.monitoring.statistics import EFFECTS, MIN_EFFECT

if TYPE_CHECKING:
    from workbench.monitoring.result import ColumnDrift, DriftResult

__all__ = ["report_header", "result_html", "result_text", "rule_text"]

_CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg"}


def rule_text(result: DriftResult) -> str:
    """The decision rule of ``result`` in one or two sentences."""
    n = len(result.columns)
    batch = (
        "The batch drifts when any column drifts."
        if result.drift_share <= 0
        else f"The batch drifts when at least {result.drift_share:.0%} of the columns drift."
    )
    if result.correction == "none":
        return (
            "Evidently's per-column rule, uncorrected for testing "
            f"{n} columns: a column drifts when its p-value is below its threshold or its "
            f"distance at or above it. {batch}"
        )
    name = _CORRECTION_NAMES.get(result.correction, result.correction)
    own = any(c.rule == "your threshold" for c in result.columns)
    return (
        f"A column drifts when its p-value (K-S for numbers, chi-square for categories), "
        f"{name}-corrected for testing {n} columns, is at most {result.alpha:g} and the move "
        f"is at least {MIN_EFFECT['numerical']:g} ({EFFECTS['numerical']}, in reference "
        f"standard deviations) for numbers, {MIN_EFFECT['categorical']:g} ("
        f"{EFFECTS['categorical']}) for categories. "
        + ("Columns given their own threshold are decided by it. " if own else "")
        + batch
    )


def result_text(result: DriftResult) -> str:
    """The verdict as the command line prints it."""
    if not result.valid:
        return "invalid data, no drift verdict: " + " | ".join(result.reasons)
    lines = []
    if result.drift_detected:
        names = ", ".join(c.column for c in result.drifted_columns)
        lines.append(f"drift detected in {names} (share {result.share:.0%})")
    else:
        lines.append(f"no drift in {len(result.columns)} columns")
    for c in result.drifted_columns:
        lines.append(f"  {c.column}: {_decision_text(c)}")
    if result.skipped:
        lines.append("not tested: " + "; ".join(f"{k} ({v})" for k, v in result.skipped.items()))
    for text in (_performance_text(result), estimate_text(result)):
        if text:
            lines.append(text)
    lines.append("rule: " + rule_text(result))
    return "\n".join(lines)


def result_html(result: DriftResult) -> str:
    """The notebook card of ``result``."""
    status = result.status
    colour = {"invalid": "#9a6700", "drift": "#cf222e", "ok": "#1a7f37"}[status]
    label = {
        "invalid": "INVALID DATA - no drift verdict",
        "drift": f"DRIFT in {len(result.drifted_columns)} of {len(result.columns)} columns",
        "ok": f"no drift in {len(result.columns)} columns",
    }[status]
    parts = [
        f"<div class='wb-drift-result wb-drift-{status}' style='border:1px solid #ccc;"
        "border-radius:6px;padding:8px 12px;display:inline-block;max-width:1100px'>",
        f"<b style='color:{colour}'>{html.escape(label)}</b>",
    ]
    if result.model_uri:
        parts.append(f" &middot; model <code>{html.escape(result.model_uri)}</code>")
    parts.append(
        f"<br>{result.rows_current:,} current rows vs {result.rows_reference:,} reference rows"
    )
    if result.roles_from:
        parts.append(f" &middot; column roles: {html.escape(result.roles_from)}")
    if not result.valid:
        items = "".join(f"<li>{html.escape(r)}</li>" for r in result.reasons)
        parts.append(f"<ul class='wb-drift-reasons'>{items}</ul>")
    else:
        parts.extend(_verdict_html(result))
    if result.skipped:
        items = "".join(
            f"<li><code>{html.escape(k)}</code>: {html.escape(v)}</li>"
            for k, v in result.skipped.items()
        )
        parts.append(
            f"<div class='wb-drift-skipped'><small>Not tested ({len(result.skipped)}):"
            f"<ul style='margin:2px 0'>{items}</ul></small></div>"
        )
    if result.report_path:
        href = html.escape(_relative_link(result.report_path))
        parts.append(
            f"<a class='wb-report-link' href='{href}' target='_blank'>Open the full Evidently "
            f"report</a> <small>({html.escape(result.report_path)})</small>"
        )
    elif result.report() is not None:
        parts.append("<small>Full report: <code>result.report()</code> or .save(dir)</small>")
    if result.run_url:
        parts.append(f"<br>MLflow run: <a href='{html.escape(result.run_url)}'>{result.run_id}</a>")
    parts.append("</div>")
    return "".join(parts)


# --------------------------------------------------------------------------- helpers


def _evidently_text(c: ColumnDrift) -> str:
    """Evidently's own verdict on ``c``, labelled as the uncorrected one it is."""
    return (
        f"Evidently's own uncorrected verdict: {'drift' if c.evidently_drifted else 'ok'} "
        f"({c.method}: {c.score_text()}, threshold {c.threshold:.3g})"
    )


def report_header(result: DriftResult) -> str:
    """The workbench's verdict, as the first thing ``report.html`` shows: model and version,
    the two tables, rows, the verdict, the exit code and the drifted columns. Evidently's report
    below it is configured with the same decision, column by column."""
    status = result.status
    colour = {"invalid": "#9a6700", "drift": "#cf222e", "ok": "#1a7f37"}[status]
    drifted = [c.column for c in result.drifted_columns]
    verdict = {
        "invalid": "INVALID DATA - no drift verdict",
        "drift": f"DRIFT in {len(drifted)} of {len(result.columns)} columns",
        "ok": f"no drift in {len(result.columns)} columns",
    }[status]
    code = {
        "invalid": "2",
        "drift": "3 with --fail-on-drift (0 without)",
        "ok": "0",
    }[status]
    model = (
        f"{result.model_name} version {result.model_version}"
        if result.model_name
        else (result.model_uri or "no model (data drift only)")
    )
    data = result.data_ids or {}
    rows = [
        ("Model", model),
        (
            "Reference",
            f"{data.get('reference', 'reference table')} ({result.rows_reference:,} rows)",
        ),
        ("Batch", f"{data.get('current', 'current table')} ({result.rows_current:,} rows)"),
        ("Verdict", verdict),
        ("Exit code of workbench monitor", code),
        ("Drifted columns", ", ".join(drifted) or "none"),
        ("Rule", rule_text(result)),
    ]
    cells = "".join(
        f"<tr><th style='text-align:left;padding-right:12px'>{html.escape(k)}</th>"
        f"<td>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return (
        "<div id='workbench-verdict' class='wb-report-header' style='font-family:sans-serif;"
        f"border:2px solid {colour};border-radius:6px;margin:12px;padding:8px 12px'>"
        f"<h2 style='color:{colour};margin:4px 0'>Workbench verdict: {html.escape(verdict)}</h2>"
        f"<table>{cells}</table><small>Evidently's report below uses the same decision for every "
        "column and for the dataset; its own uncorrected verdicts are in summary.json "
        "(evidently_drifted).</small></div>"
    )


def _decision_text(c: ColumnDrift) -> str:
    evidently = _evidently_text(c)
    if c.p_adjusted is None or c.p_value is None:
        return f"{evidently}; decided by {c.rule or 'Evidently'}'s rule"
    effect = f"{c.effect:.3g}" if c.effect is not None else "n/a"
    return (
        f"{c.test} p-value {c.p_value:.3g} (corrected {c.p_adjusted:.3g}), effect {effect} "
        f"{c.effect_name} (min {c.min_effect:g}); {evidently}"
    )


def estimate_text(result: DriftResult) -> str:
    """``estimated performance: accuracy 0.81 (90%: 0.78-0.84), precision withheld (why)...``,
    its warnings and what it cannot see; ``estimated performance: withheld: why`` when none of it
    can be believed; empty when nothing was estimated."""
    est = result.estimated_performance or {}
    text = estimate_summary(est)
    if not text:
        return ""
    return f"estimated performance: {text}. Note: {est.get('note', '')}"


def _performance_text(result: DriftResult) -> str:
    if result.performance:
        source = f"; reference: {result.reference_source}" if result.reference_source else ""
        macro = result.metric_average == "macro"
        perf = ", ".join(
            f"{metric_label(k, macro)} {v:.3f}"
            + (
                f" (reference {result.reference_performance[k]:.3f})"
                if k in result.reference_performance
                else ""
            )
            for k, v in result.performance.items()
        )
        return f"performance: {perf}{source}"
    return f"performance: {result.performance_note}" if result.performance_note else ""


def _verdict_html(result: DriftResult) -> list[str]:
    """The share, the column table, the rule, performance and the sample note."""
    parts = [
        f" &middot; drifted share {result.share:.0%} (alert at "
        f"{'any column' if result.drift_share == 0 else f'{result.drift_share:.0%}'})"
    ]
    name = _CORRECTION_NAMES.get(result.correction, "none")
    rows = "".join(
        _column_row(c) for c in sorted(result.columns, key=lambda c: (not c.drifted, c.column))
    )
    parts.append(
        "<table class='wb-drift-columns'><tr><th>column</th><th>p-value (test)</th>"
        f"<th>p-value corrected ({html.escape(name)})</th><th>effect (minimum)</th>"
        f"<th>decision</th></tr>{rows}</table>"
    )
    parts.append(f"<small class='wb-drift-rule'>{html.escape(rule_text(result))}</small><br>")
    perf = _performance_text(result)
    if perf:
        parts.append(f"<span class='wb-drift-performance'>{html.escape(perf)}</span><br>")
    estimate = estimate_text(result)
    if estimate:
        parts.append(f"<span class='wb-drift-estimate'>{html.escape(estimate)}</span><br>")
    if result.report_rows and result.report_rows < result.rows_current:
        parts.append(
            f"<small>The Evidently report shows a uniform sample of {result.report_rows:,} "
            f"rows (distributions within {result.sample_error_bound:.3f} of the full table, "
            "99% confidence); the verdicts above use every row.</small><br>"
        )
    return parts


def _column_row(c: ColumnDrift) -> str:
    def num(value: float | None, fmt: str = ".3g") -> str:
        return "-" if value is None else format(value, fmt)

    effect = "-"
    if c.effect is not None:
        floor = f" (min {c.min_effect:g})" if c.min_effect is not None else ""
        effect = f"{c.effect:.3g}{floor}"
    test = f" ({html.escape(c.test)})" if c.test and c.p_value is not None else ""
    decision = "drift" if c.drifted else "ok"
    if c.rule == "your threshold":
        decision += " (your threshold)"
    uncorrected = html.escape(_evidently_text(c), quote=True)
    shown = f"<b>{decision}</b>" if c.drifted else decision
    cells = [
        html.escape(c.column),
        num(c.p_value) + test,
        num(c.p_adjusted),
        f"<span title='{html.escape(c.effect_name)}'>{effect}</span>",
        f"<span title='{uncorrected}'>{shown}</span>",
    ]
    colour = "#cf222e" if c.drifted else "inherit"
    return f"<tr style='color:{colour}'>" + "".join(f"<td>{x}</td>" for x in cells) + "</tr>"


def _relative_link(path: str) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return path
