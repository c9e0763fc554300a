"""The fairness check drawn: its metric by slice as bars, the candidate beside the ``@champion``
(when there is one), with the limit the worst slice may not cross; saved with the report.

Example:
    >>> import pandas as pd
    >>> from workbench.checks.base import CheckResult
    >>> table = pd.DataFrame({"attribute": "age", "slice": ["a", "b"], "rows": [40, 40],
    ...                       "recall": [0.9, 0.5], "judged": [True, True]})
    >>> fig = fairness_figure(CheckResult("fairness_gap", "fail", 0.4, 0.25, "", table))
    >>> round(fig.layout.shapes[0].y0, 2)
    0.65
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PLOTS_FOLDER", "fairness_figure", "report_figures", "save_report_plots"]

#: Folder of a saved report (and of a check run's artifacts) holding its plots.
PLOTS_FOLDER = "plots"
_NOT_METRICS = {"attribute", "slice", "rows", "judged", "champion"}


def fairness_figure(
    result: Any, candidate: str = "candidate", champion: str = "@champion"
) -> Any | None:
    """The figure of a ``fairness_gap`` result, or ``None`` when it has no slice table or no
    limit (a check that could not run).

    Args:
        result: A :class:`~workbench.checks.base.CheckResult` of the fairness check.
        candidate: Legend of the candidate's bars.
        champion: Legend of the champion's bars (drawn when the table has a ``champion`` column).
    """
    from workbench.plots.fairness import fairness_bars

    table = result.table
    if table is None or table.empty or not isinstance(result.threshold, int | float):
        return None
    metrics = [c for c in table.columns if c not in _NOT_METRICS]
    if len(metrics) != 1:
        return None
    metric = metrics[0]
    overall = None
    if metric == "mae" and "rows" in table:  # the check's gap is relative to the overall MAE
        known = table[table[metric].notna()]
        overall = float(np.average(known[metric], weights=known["rows"])) if len(known) else None
    with_champion = "champion" in table and table["champion"].notna().any()
    fig = fairness_bars(
        table,
        metric,
        float(result.threshold),
        champion="champion" if with_champion else None,
        overall=overall,
        candidate_name=candidate,
        champion_name=champion,
    )
    verdict = {"pass": "passed", "warn": "not judged", "fail": "FAILED"}.get(result.status, "")
    fig.update_layout(title_text=f"{fig.layout.title.text}: {verdict}")
    return fig


def report_figures(report: Any) -> dict[str, Any]:
    """The figures of a :class:`~workbench.checks.base.CheckReport` (name -> Figure): the
    fairness check's slices, candidate vs champion."""
    candidate = f"candidate v{report.version}" if report.version else "candidate"
    champion = f"@champion v{report.champion_version}" if report.champion_version else "@champion"
    figures = {}
    for result in report.results:
        if result.name.startswith("fairness"):
            fig = fairness_figure(result, candidate, champion)
            if fig is not None:
                figures[result.name] = fig
    return figures


def save_report_plots(report: Any, folder: str | os.PathLike) -> Path | None:
    """Write the report's figures into ``folder`` (``plots.html`` and one JSON each); ``None``
    when the report has nothing to draw."""
    from workbench.plots.files import save_figures

    figures = report_figures(report)
    if not figures:
        return None
    what = f"{report.name} version {report.version}" if report.name else report.model_uri
    return save_figures(figures, folder, title=f"Checks of {what}")
