"""The checks that count on a team server, run by the server (``POST /api/workbench/check``).

As mlops-stacks runs validation as a job under a service identity, a workbench team server runs
the pre-deployment suite itself: the eval table is sent with the request (as Parquet, so its types
survive), hashed by the server, and the suite runs in a subprocess of the server with a time
limit, as the server's service user; the check run is signed with the server's key. Only such a
run counts for promotion there; a run a client writes is shown but does not count.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from workbench._core.progress import Progress, as_progress
from workbench.checks.base import CheckReport
from workbench.registry import team_api

__all__ = ["checks_on_server", "table_bytes"]


def checks_on_server(
    model_uri: str,
    *,
    data: pd.DataFrame,
    target: str | None,
    progress: bool | Progress = True,
    **options: Any,
) -> CheckReport:
    """Run the default suite on the team server; the report of the run it recorded.

    Args:
        model_uri: The version to check (``models:/name/3``, ``models:/name@challenger``).
        data: The eval table (sent whole; the server hashes it).
        target: The label column.
        progress: A text progress bar, or a ``progress(step, fraction)`` callback.
        **options: ``protected``, ``thresholds``, ``positive_label``, ``allow_pickle``,
            ``serving`` as :func:`~workbench.checks.runner.run_checks` takes them.

    Raises:
        WorkbenchError: the server's refusal or the suite's error, as the class it raised.
    """
    step = as_progress(progress, desc="checks")
    step("sending the eval table to the team server", 0.0)
    payload = {"model_uri": model_uri, "target": target, **options}
    files = {"data": ("eval.parquet", table_bytes(data), "application/octet-stream")}
    step("the team server runs the checks", 0.1)
    answer = team_api.call("/api/workbench/check", payload, files=files)
    report = CheckReport.from_dict(answer["report"], model_card=answer.get("model_card"))
    report.run_id = answer.get("run_id")
    report.gate = answer.get("gate")
    step("done", 1.0)
    return report


def table_bytes(data: pd.DataFrame) -> bytes:
    """``data`` as Parquet (mixed-type text columns as text)."""
    out = io.BytesIO()
    try:
        data.to_parquet(out, index=False)
    except Exception:  # pyarrow refuses a column of mixed Python types
        out = io.BytesIO()
        mixed = {c: "string" for c in data.columns if data[c].dtype == object}
        data.astype(mixed).to_parquet(out, index=False)
    return out.getvalue()
