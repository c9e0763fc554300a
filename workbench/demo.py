"""The whole journey headless on demo data, through the notebooks (``workbench demo``, ``make demo``).

A baseline model becomes the first champion; a better challenger passes the checks and replaces it; the
champion is served and load-tested; a simulated week of production drifts mid-week until the retrain flag
goes up; a model retrained on the recent batches is checked and promoted. Each step is a papermill run of
one of the stage notebooks, archived under ``runs/``. Rerunning on an existing workspace adds versions.
"""

from __future__ import annotations

import html
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench._core.names import TAG
from workbench._core.progress import Progress, as_progress
from workbench.errors import ModelNotFoundError
from workbench.registry import get_version, versions
from workbench.runner import SharedKernel, run_notebook
from workbench.workspace import Workspace, current_workspace, open_workspace

__all__ = ["DemoStep", "DemoSummary", "demo_steps", "run_demo"]

MODEL = "credit-risk"
#: The simulated week before "today" (day 7, gradual_shift): quiet days, then the economy shifts
#: (incomes fall, loans grow) from day 4 on.
WEEK = ("none", "none", "none", "gradual_shift", "gradual_shift", "gradual_shift")


@dataclass
class DemoStep:
    """One step of the journey: a notebook and the parameters it runs with."""

    title: str
    notebook: str
    parameters: dict[str, Any]
    output_path: str | None = None
    seconds: float = 0.0


@dataclass
class DemoSummary:
    """What the demo made: the steps with their executed notebooks, versions, reports, timing.

    Example:
        >>> summary = DemoSummary("/tmp/ws", [], champion=2, seconds=61.0)
        >>> summary.text().splitlines()[0]
        'Demo journey done in 61 s (workspace /tmp/ws)'
    """

    workspace: str
    steps: list[DemoStep]
    versions: list[dict[str, Any]] = field(default_factory=list)
    champion: int | None = None
    retrain_requested: bool | None = None
    reports_dir: str = ""
    mlflow_ui: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        return asdict(self)

    def text(self) -> str:
        """The summary printed at the end of ``workbench demo``."""
        lines = [f"Demo journey done in {self.seconds:.0f} s (workspace {self.workspace})", ""]
        for step in self.steps:
            lines.append(f"  {step.seconds:5.1f} s  {step.title}")
            lines.append(f"           executed notebook: {step.output_path}")
        lines.append("")
        for v in self.versions:
            aliases = " ".join(f"@{a}" for a in v["aliases"])
            lines.append(f"  {MODEL} v{v['version']}  roc_auc={v['roc_auc']:.3f}  {aliases}")
        lines += [
            "",
            f"Champion: version {self.champion}; retrain requested after the week: "
            f"{self.retrain_requested}",
            f"Reports: {self.reports_dir}",
            f"MLflow UI on this store: {self.mlflow_ui}",
            "Then open http://127.0.0.1:5000, or run `make lab` for the notebooks and the UI together.",
        ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{s.seconds:.1f} s</td><td>{html.escape(s.title)}</td>"
            f"<td><code>{html.escape(Path(s.output_path or '').name)}</code></td></tr>"
            for s in self.steps
        )
        return (
            f"<div class='wb-demo-summary'><b>Journey done in {self.seconds:.0f} s</b>; champion: "
            f"version {self.champion}; retrain requested: {self.retrain_requested}"
            f"<table>{rows}</table><code>{html.escape(self.mlflow_ui)}</code></div>"
        )


def demo_steps(ws: Workspace, quick: bool = False, rerun: bool = False) -> list[DemoStep]:
    """The journey as notebook runs, in order.

    On a rerun (the model already has a champion) the baseline cannot pass the gate against the
    better champion, so its promotion is forced, with that reason in the audit log.
    """
    recent = str(ws.runs_dir / "demo" / "recent_batches.csv")
    trees = 40 if quick else 100
    return [
        DemoStep(
            "train a baseline: a small random forest (v1)",
            "01_train_and_log.ipynb",
            {"model_name": MODEL, "family": "random_forest", "n_estimators": 10, "max_depth": 2},
        ),
        DemoStep(
            "check the baseline and promote it as the first @champion",
            "02_predeploy_checks.ipynb",
            {
                "model_name": MODEL,
                "version": "challenger",
                "approve": True,
                "approved_by": "demo",
                "reason": "demo rerun: start the journey again from a baseline"
                if rerun
                else "first champion: the baseline",
                "force": rerun,
            },
        ),
        DemoStep(
            "train a better challenger: gradient boosting (v2)",
            "01_train_and_log.ipynb",
            {"model_name": MODEL, "family": "gradient_boosting", "n_estimators": trees},
        ),
        DemoStep(
            "check the challenger against the champion and promote it",
            "02_predeploy_checks.ipynb",
            {
                "model_name": MODEL,
                "version": "challenger",
                "approve": True,
                "approved_by": "demo",
                "reason": "beats the baseline on the same eval data",
            },
        ),
        DemoStep(
            "serve the champion: sample predictions and a short load test",
            "03_serve.ipynb",
            {
                "model_name": MODEL,
                "alias": "champion",
                "requests": 100 if quick else 300,
                "concurrency": 2,
                "max_seconds": 20,
                "workers": 1,
            },
        ),
        DemoStep(
            "monitor a week in production: drift appears on day 4",
            "04_monitor_drift.ipynb",
            {
                "model": f"models:/{MODEL}@champion",
                "week": list(WEEK),
                "demo_day": len(WEEK) + 1,
                "demo_scenario": "gradual_shift",
                "save_batches": recent,
            },
        ),
        DemoStep(
            "retrain on the recent batches (v3)",
            "01_train_and_log.ipynb",
            {
                "model_name": MODEL,
                "family": "gradient_boosting",
                "n_estimators": trees,
                "batches_path": recent,
            },
        ),
        DemoStep(
            "check the retrained model and promote it",
            "02_predeploy_checks.ipynb",
            {
                "model_name": MODEL,
                "version": "challenger",
                "approve": True,
                "approved_by": "demo",
                "reason": "retrained after drift",
            },
        ),
    ]


def run_demo(
    workspace: str | None = None, quick: bool = False, progress: Progress | None = None
) -> DemoSummary:
    """Run the whole journey headless through the notebooks and summarise it.

    Args:
        workspace: Workspace folder; default the open (or nearest) one.
        quick: Fewer trees and a shorter load test.
        progress: Called with (step title, fraction done) before each step.

    Returns:
        A :class:`DemoSummary` (``print(summary.text())``).

    Raises:
        NotebookError: a step failed; the message names the notebook, the cell and its exception.
    """
    report = as_progress(progress)
    ws = open_workspace(workspace) if workspace else current_workspace()
    notebooks = ws.root / "notebooks"
    if not notebooks.is_dir():
        notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    (ws.runs_dir / "demo").mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    steps = demo_steps(ws, quick, rerun=_has_champion())
    with SharedKernel(notebooks) as kernel:  # one kernel: the imports are paid once
        for index, step in enumerate(steps):
            report(step.title, index / len(steps))
            params = {**step.parameters, "workspace": str(ws.root)}
            run = run_notebook(notebooks / step.notebook, params, kernel=kernel)
            step.output_path, step.seconds = run.output_path, run.seconds
    report("done", 1.0)
    return _summarise(ws, steps, time.perf_counter() - started)


def _has_champion() -> bool:
    try:
        get_version(MODEL, "champion")
    except ModelNotFoundError:
        return False
    return True


def _summarise(ws: Workspace, steps: list[DemoStep], seconds: float) -> DemoSummary:
    found = versions(MODEL)  # newest first, with their aliases
    rows = [
        {
            "version": v.version,
            "aliases": v.aliases,
            "roc_auc": v.metrics.get("roc_auc", float("nan")),
        }
        for v in sorted(found, key=lambda v: v.version)
    ]
    champion = next((v.version for v in found if "champion" in v.aliases), None)
    flags = [v.tags.get(TAG.RETRAIN_REQUESTED) for v in found]
    return DemoSummary(
        workspace=str(ws.root),
        steps=steps,
        versions=rows,
        champion=champion,
        retrain_requested=any(str(flag).lower() == "true" for flag in flags),
        reports_dir=str(ws.reports_dir),
        mlflow_ui=ws.ui_command(),
        seconds=round(seconds, 1),
    )
