"""The whole journey headless on demo data, through the notebooks (``workbench demo``, ``make demo``).

A baseline model becomes the first champion; a better challenger passes the checks and replaces it; the
champion is served and load-tested; a simulated week of production drifts mid-week until the retrain flag
goes up; a model retrained on the recent batches is checked and promoted. Each step is a papermill run of
one of the stage notebooks, archived under ``runs/``. Rerunning on an existing workspace adds versions.
Every check measures fairness: the contracts name ``age_band`` as protected (``fairness_gap``).

Against a shared tracking server (``tracking_uri=``, e.g. a ``workbench team up`` server), the journey
runs as two people: a data scientist trains, checks, serves and monitors, an approver promotes. Each
has a kernel of their own, started with their login (``MLFLOW_TRACKING_USERNAME``/``PASSWORD``, never
written into a notebook), so the audit log records who did what.
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench._core.names import CHECKS_STATUS_TAG, TAG
from workbench._core.process import environment
from workbench._core.progress import Progress, as_progress
from workbench.demo._logins import logins_of
from workbench.errors import ModelNotFoundError
from workbench.runner import SharedKernel, run_notebook
from workbench.workspace import (
    Workspace,
    current_workspace,
    open_workspace,
)

__all__ = ["DemoStep", "DemoSummary", "demo_steps", "run_demo", "start_kernel_early"]

MODEL = "credit-risk"
#: The simulated week before "today" (day 7, gradual_shift): quiet days, then the economy shifts
#: (incomes fall, loans grow) from day 4 on.
WEEK = ("none", "none", "none", "gradual_shift", "gradual_shift", "gradual_shift")
#: The demo data's protected attribute: every version's contract names it, so every check step
#: measures the fairness gap across its slices (``fairness_gap``).
PROTECTED = ("age_band",)
#: What the journey's notebooks import, imported while each kernel starts, with the garbage
#: collector paused (:func:`workbench._core.kernels.warm_arguments`): about a third less time
#: than the same imports in the cells, with the collector on.
WARM_MODULES = (
    "workbench",
    "mlflow",
    "mlflow.sklearn",
    "mlflow.pyfunc",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.model_registry.sqlalchemy_store",
    "git",  # MLflow's source tags
    "sklearn.ensemble",
    "skops.io",
    "workbench.training",
    "workbench.checks",
    "cryptography.hazmat.primitives.serialization",  # the audit log's signatures
    "workbench.serving",
    "matplotlib.figure",  # the load test's histogram
    "workbench.monitoring",
    "evidently.presets",
    "plotly.graph_objects",
    "workbench.ui",
)


@dataclass
class DemoStep:
    """One step of the journey: a notebook and the parameters it runs with."""

    title: str
    notebook: str
    parameters: dict[str, Any]
    actor: str = "scientist"  # who runs it: "scientist" or "approver"
    output_path: str | None = None
    seconds: float = 0.0
    user: str | None = None  # the login it ran as, on a shared tracking server
    outcome: str = ""  # what it did, with the real version numbers ("logged credit-risk v12")


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
    tracking_uri: str = ""
    users: dict[str, str] = field(default_factory=dict)  # actor -> login (shared server only)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        return asdict(self)

    def text(self) -> str:
        """The summary printed at the end of ``workbench demo``."""
        lines = [f"Demo journey done in {self.seconds:.0f} s (workspace {self.workspace})", ""]
        if self.users:
            people = ", ".join(f"{user} ({actor})" for actor, user in self.users.items())
            lines.insert(1, f"Tracking server {self.tracking_uri}, as {people}")
        for step in self.steps:
            who = f"  [{step.user}]" if step.user else ""
            lines.append(f"  {step.seconds:5.1f} s  {step.title}{who}")
            if step.outcome:
                lines.append(f"           {step.outcome}")
            lines.append(f"           executed notebook: {step.output_path}")
        lines.append("")
        for v in self.versions:
            aliases = " ".join(f"@{a}" for a in v["aliases"])
            promoted = f"  promoted by {v['promoted_by']}" if v.get("promoted_by") else ""
            lines.append(
                f"  {MODEL} v{v['version']}  roc_auc={v['roc_auc']:.3f}  {aliases}{promoted}"
            )
        lines += [
            "",
            f"Champion: version {self.champion}; retrain requested after the week: "
            f"{self.retrain_requested}",
            f"Reports: {self.reports_dir}",
            f"MLflow UI on this store: {self.mlflow_ui}",
        ]
        if not self.users:
            lines.append(
                "Then open http://127.0.0.1:5000, or run `make lab` for the notebooks and the UI "
                "together."
            )
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

    On a rerun (the model already has a champion) the baseline is checked against that better
    champion and the gate keeps the champion: nothing is forced. The check and promote steps are
    the approver's; on a shared server the audit records the login, so they name no one
    (``approved_by`` None).
    """
    recent = str(ws.runs_dir / "demo" / "recent_batches.csv")
    trees = 40 if quick else 100
    approved_by = None if ws.shared else "demo"
    steps = [
        DemoStep(
            "train a baseline: a small random forest",
            "01_train_and_log.ipynb",
            {
                "model_name": MODEL,
                "family": "random_forest",
                "n_estimators": 10,
                "max_depth": 2,
                "protected": list(PROTECTED),
            },
        ),
        DemoStep(
            "check the baseline against the @champion: the gate keeps the better one"
            if rerun
            else "check the baseline and promote it as the first @champion",
            "02_predeploy_checks.ipynb",
            {
                "model_name": MODEL,
                "version": "challenger",
                "protected": list(PROTECTED),
                "approve": True,
                "approved_by": approved_by,
                "reason": "demo rerun: the baseline, if it beats the champion"
                if rerun
                else "first champion: the baseline",
                "fail_on_gate": not rerun,  # on a rerun, the gate's refusal is the lesson
            },
        ),
        DemoStep(
            "train a better challenger: gradient boosting",
            "01_train_and_log.ipynb",
            {
                "model_name": MODEL,
                "family": "gradient_boosting",
                "n_estimators": trees,
                "protected": list(PROTECTED),
            },
        ),
        DemoStep(
            "check the challenger against the champion and promote it",
            "02_predeploy_checks.ipynb",
            {
                "model_name": MODEL,
                "version": "challenger",
                "protected": list(PROTECTED),
                "approve": True,
                "approved_by": approved_by,
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
            "retrain on the recent batches",
            "01_train_and_log.ipynb",
            {
                "model_name": MODEL,
                "family": "gradient_boosting",
                "n_estimators": trees,
                "batches_path": recent,
                "protected": list(PROTECTED),
            },
        ),
        DemoStep(
            "check the retrained model and promote it",
            "02_predeploy_checks.ipynb",
            {
                "model_name": MODEL,
                "version": "challenger",
                "protected": list(PROTECTED),
                "approve": True,
                "approved_by": approved_by,
                "reason": "retrained after drift",
            },
        ),
    ]
    for step in steps:
        if step.parameters.get("approve"):
            step.actor = "approver"
    return steps


def run_demo(
    workspace: str | None = None,
    quick: bool = False,
    progress: Progress | None = None,
    *,
    tracking_uri: str | None = None,
    user: str | None = None,
    approver: str | None = None,
    credentials: str | os.PathLike | None = None,
    kernel: SharedKernel | None = None,
    echo: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Run the whole journey headless through the notebooks and summarise it.

    Args:
        workspace: Workspace folder; default the open (or nearest) one.
        quick: Fewer trees and a shorter load test.
        progress: Called with (step title, fraction done) before each step.
        tracking_uri: A shared tracking server (``http://...``) to run the journey against; the
            workspace keeps its reports and executed notebooks. Default: the workspace's store.
        user: On a server, the data scientist who trains, checks, serves and monitors (default
            ``MLFLOW_TRACKING_USERNAME``, else ``ds1``).
        approver: On a server, who promotes (default ``approver`` when the credentials know that
            user, else ``user``).
        credentials: A JSON file ``{"user": "password"}`` (default ``<workspace>/team/
            credentials.json``, written by ``workbench team up``); ``MLFLOW_TRACKING_PASSWORD``
            counts for ``MLFLOW_TRACKING_USERNAME``.
        kernel: A kernel started before the workspace opened (:func:`start_kernel_early`), for
            the journey on the workspace's own store; with logins it is stopped, each person gets
            a kernel started with their login.
        echo: Called with a line as each step starts and as it ends (``workbench demo`` prints
            them): ``[2/8] check the baseline ...`` then ``[2/8] done in 4.1 s: v12 checks
            passed; promoted to @champion``.

    Returns:
        A :class:`DemoSummary` (``print(summary.text())``).

    Raises:
        UsageError: a login named without a password, or ``user``/``approver`` without a server.
        PermissionDeniedError: the server does not accept a login.
        NotebookError: a step failed; the message names the notebook, the cell and its exception.
    """
    report = as_progress(progress)
    say = echo or (lambda _line: None)
    ws = open_workspace(workspace) if workspace else current_workspace()
    logins = logins_of(ws, tracking_uri, user, approver, credentials)
    notebooks = _notebooks(ws.root)
    (ws.runs_dir / "demo").mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # one kernel a person, started now: it imports the journey's modules while this process
    # reads the registry, and the imports are paid once each
    if kernel is not None and (logins or Path(kernel.cwd).resolve() != notebooks.resolve()):
        kernel.shutdown(now=True)  # without a login, or in another folder: of no use here
        kernel = None
    kernels = {
        actor: SharedKernel(notebooks, env=env, warm=WARM_MODULES)
        for actor, env in (logins or {"scientist": {}}).items()
    }
    if kernel is not None and not logins:
        kernels["scientist"] = kernel
    finished = False
    with environment(logins.get("scientist", {})):  # this process acts as the scientist
        try:
            for each in kernels.values():
                each.start()
            ws = open_workspace(ws.root)
            steps = demo_steps(ws, quick, rerun=_has_champion())
            for index, step in enumerate(steps):
                report(step.title, index / len(steps))
                each = kernels.get(step.actor, kernels["scientist"])
                step.user = (logins.get(step.actor) or {}).get("MLFLOW_TRACKING_USERNAME")
                params = {**step.parameters, "workspace": str(ws.root)}
                say(f"[{index + 1}/{len(steps)}] {step.title} ...")
                run = run_notebook(notebooks / step.notebook, params, kernel=each)
                step.output_path, step.seconds = run.output_path, run.seconds
                step.outcome = _outcome(step)
                done = f"done in {step.seconds:.1f} s" + (
                    f": {step.outcome}" if step.outcome else ""
                )
                say(f"[{index + 1}/{len(steps)}] {done}")
            finished = True
        finally:  # a finished journey does not wait the second or two a kernel takes to exit;
            for each in kernels.values():  # a failed one waits (its exit hooks stop servers)
                each.shutdown(wait=not finished)
        report("done", 1.0)
        summary = _summarise(ws, steps, time.perf_counter() - started)
    if logins:
        summary.users = {a: env["MLFLOW_TRACKING_USERNAME"] for a, env in logins.items()}
        summary.tracking_uri = ws.tracking_uri
    return summary


def start_kernel_early(args: Any) -> None:
    """Start the journey's kernel now, before the workspace opens (the CLI's ``before_open``):
    it imports :data:`WARM_MODULES` while a fresh workspace's store is created. Sets
    ``args.kernel`` for :func:`run_demo`; never fails (``None``: the run starts its own). Not with
    a tracking server: each person's kernel starts with their login."""
    from workbench.prestart import start_early

    args.kernel = None
    if not any(getattr(args, name, None) for name in ("tracking_uri", "user", "approver")):
        args.kernel = start_early(args.workspace, _notebooks, WARM_MODULES)


def _notebooks(root: Path) -> Path:
    """The workspace's own ``notebooks/``, else the ones shipped with the workbench."""
    own = root / "notebooks"
    return own if own.is_dir() else Path(__file__).resolve().parents[2] / "notebooks"


def _has_champion() -> bool:
    try:
        from workbench.registry import get_version

        get_version(MODEL, "champion")
    except ModelNotFoundError:
        return False
    return True


def _outcome(step: DemoStep) -> str:
    """What a finished step did, with the real version numbers (a courtesy: empty on failure)."""
    from workbench.registry import versions

    try:
        found = versions(MODEL)  # newest first, with aliases and tags
    except Exception:
        return ""
    champion = next((v for v in found if "champion" in v.aliases), None)
    holds = f"@champion is v{champion.version}" if champion else "no @champion yet"
    if step.notebook.startswith("01_") and found:
        return f"logged {MODEL} v{found[0].version} (@challenger)"
    if step.notebook.startswith("02_"):
        checked = next((v for v in found if "challenger" in v.aliases), None)
        if checked is None:
            return holds
        status = checked.tags.get(CHECKS_STATUS_TAG, "not checked")
        moved = champion is not None and champion.version == checked.version
        return f"v{checked.version} checks {status}; " + (
            "promoted to @champion" if moved else f"not promoted, {holds}"
        )
    if step.notebook.startswith("03_") and champion:
        return f"served and load-tested @champion v{champion.version}"
    if step.notebook.startswith("04_") and champion:
        flagged = str(champion.tags.get(TAG.RETRAIN_REQUESTED, "")).lower() == "true"
        return f"monitored @champion v{champion.version}" + (
            ": drift, retrain requested" if flagged else ""
        )
    return ""


def _promoters() -> dict[int, str]:
    """Who last promoted each version to @champion, from the audit log."""
    from workbench.registry import history

    try:
        log = history(MODEL, "champion")
    except Exception:  # the summary is a courtesy: no audit log, no column
        return {}
    return {int(v): str(by) for v, by in zip(log["new_version"], log["by"], strict=True)}


def _summarise(ws: Workspace, steps: list[DemoStep], seconds: float) -> DemoSummary:
    from workbench.registry import versions

    found = versions(MODEL)  # newest first, with their aliases
    promoted_by = _promoters()
    rows = [
        {
            "version": v.version,
            "aliases": v.aliases,
            "roc_auc": v.metrics.get("roc_auc", float("nan")),
            "promoted_by": promoted_by.get(v.version, ""),
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
