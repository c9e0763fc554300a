"""Presets and the runner: ``default_suite`` lists small checks, ``run_checks`` runs them on a version.

``run_checks`` reads like its steps: load the candidate and what it remembers (signature, training
profile, log-time predictions) and the current ``@champion``, run each check with a progress bar,
then keep the results with the version (a run with ``checks.json``, ``checks.html``, the model card
and metrics; tags ``workbench.checks.status`` and ``workbench.checks.run_id`` on the version).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.checks.base import LOWER_IS_BETTER, Check, CheckContext, CheckReport
from workbench.errors import CheckError, ModelNotFoundError, RegistryError, UsageError

__all__ = [
    "DEFAULT_THRESHOLDS",
    "STATUS_TAG",
    "RUN_TAG",
    "default_suite",
    "load_eval_data",
    "run_checks",
]

STATUS_TAG = "workbench.checks.status"
RUN_TAG = "workbench.checks.run_id"
FAILED_TAG = "workbench.checks.failed"
#: Absolute bars used when ``thresholds`` is not given.
DEFAULT_THRESHOLDS = {"classification": {"roc_auc": 0.65}, "regression": {"r2": 0.0}}

Progress = Callable[[str, float], None]


def default_suite(
    task: str = "classification",
    *,
    thresholds: dict[str, float] | None = None,
    tolerance: float = 0.02,
    protected: str | None = None,
    fairness_metric: str | None = None,
    max_gap: float = 0.25,
    p95_ms: float = 100.0,
    min_rows_per_s: float = 1000.0,
    serving: bool = False,
) -> list[Check]:
    """The standard pre-deployment suite: a list of small checks, in the order they run.

    Args:
        task: ``classification`` or ``regression``.
        thresholds: Absolute bars, metric -> value. Scores are minimums, errors (``rmse``,
            ``mae``, ``log_loss``) maximums. Default: ROC AUC >= 0.65 (classification), R2 >= 0.
        tolerance: Allowed loss against ``@champion`` (see :class:`NoRegression`).
        protected: A column whose slices must be treated alike; no fairness check without one.
        fairness_metric: Metric compared across slices (default recall, or MAE for regression).
        max_gap: Largest allowed gap of that metric between slices.
        p95_ms: Budget of one in-process prediction (95th percentile).
        min_rows_per_s: Smallest acceptable batch throughput.
        serving: Add the serving smoke check (starts a real server; stage 3).

    Returns:
        The checks, ready for :func:`run_checks` (``suite=...``).

    Raises:
        CheckError: ``serving=True`` but the serving smoke check is not installed.

    Example:
        >>> [c.name for c in default_suite(protected="age_band")][:3]
        ['schema_contract', 'metric_roc_auc', 'no_regression']
    """
    from workbench.checks import builtin as b

    if task not in DEFAULT_THRESHOLDS:
        raise UsageError(f"unknown task {task!r}: use classification or regression")
    bars = thresholds if thresholds is not None else DEFAULT_THRESHOLDS[task]
    suite: list[Check] = [b.SchemaContract()]
    for metric, value in bars.items():
        if metric in LOWER_IS_BETTER:
            suite.append(b.MetricThreshold(metric, maximum=value))
        else:
            suite.append(b.MetricThreshold(metric, minimum=value))
    suite += [
        b.NoRegression(tolerance=tolerance),
        b.DataQuality(),
        b.NoiseStability(),
        b.HandlesMissingValues(),
        b.HandlesUnseenCategories(),
    ]
    if protected:
        suite.append(b.FairnessGap(protected, metric=fairness_metric, max_gap=max_gap))
    suite += [
        b.LatencyBudget(p95_ms=p95_ms, min_rows_per_s=min_rows_per_s),
        b.ReloadReproducibility(),
        b.SafeArtifact(),
    ]
    if serving:
        suite.append(_serving_smoke_check())
    return suite


def _serving_smoke_check() -> Check:
    try:
        from workbench.checks.serving_smoke import ServingSmokeCheck
    except ImportError as err:
        raise CheckError(
            "the serving smoke check (workbench.checks.serving_smoke.ServingSmokeCheck) is not "
            f"available ({err}): run without serving=True, or install the stage-3 serving module."
        ) from err
    return ServingSmokeCheck()


def load_eval_data(data: str | pd.DataFrame | None = None, n: int = 2000, seed: int = 7):
    """The eval table: ``data`` itself, a CSV / Parquet file, or (``None``) fresh demo credit-risk
    rows the demo model never saw (``credit_risk(n, seed)``).

    Raises:
        DataFileError: the file is missing or does not parse.
    """
    from workbench.data import credit_risk, load_table

    if data is None:
        return credit_risk(n, seed=seed)
    if isinstance(data, pd.DataFrame):
        return data
    return load_table(data)


def run_checks(
    model_uri: str,
    *,
    data: pd.DataFrame,
    target: str | None,
    suite: list[Check] | None = None,
    protected: str | None = None,
    thresholds: dict[str, float] | None = None,
    progress: bool | Progress = True,
    log: bool = True,
    serving: bool = False,
) -> CheckReport:
    """Run the pre-deployment suite on a model version and keep the results with it.

    Args:
        model_uri: ``models:/name/3``, ``models:/name@challenger`` or any MLflow model URI.
        data: Eval data, with the ``target`` column.
        target: The label column (``None`` when there are no labels: metric checks then error).
        suite: The checks; default :func:`default_suite` for the model's task.
        protected: Protected column for the default suite's fairness check.
        thresholds: Absolute metric bars for the default suite.
        progress: ``True`` for a text progress bar, or a ``progress(step, fraction)`` callback.
        log: Keep the results with the version (a run, tags, the model card).
        serving: Add the serving smoke check to the default suite (starts the real model server:
            about 10 s more).

    Returns:
        A :class:`CheckReport`; ``report.passed`` says whether it may be promoted.

    Raises:
        ModelNotFoundError: the model or version does not exist.
        MissingColumnError: ``target`` is not a column of ``data``.
        RegistryError: the results could not be written to MLflow (nothing is left half-written).
    """
    from workbench.workspace import current_workspace

    current_workspace()
    started = time.perf_counter()
    step = _progress(progress)
    with _quiet_downloads(), tempfile.TemporaryDirectory(prefix="wb-checks-") as tmp:
        step("loading the model", 0.0)
        context = _load_context(model_uri, data, target, Path(tmp))
        if suite is None:
            suite = default_suite(
                context.task, thresholds=thresholds, protected=protected, serving=serving
            )
        results = []
        for i, check in enumerate(suite):
            step(check.name, i / (len(suite) + 1))
            results.append(check(context))
        report = CheckReport(
            model_uri=context.model_uri,
            results=results,
            name=context.name,
            version=context.version,
            champion_version=context.champion_version,
            comparison=_comparison(context),
            eval_rows=len(context.data),
        )
        report.seconds = time.perf_counter() - started
        from workbench.checks.card import model_card

        report.model_card = model_card(report, context)
        if log and context.name and context.version:
            step("saving the results", len(suite) / (len(suite) + 1))
            report.run_id = _log_results(report, context)
    report.seconds = time.perf_counter() - started
    step("done", 1.0)
    return report


# --------------------------------------------------------------------------- loading


_VERSION_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[^/]+))/?$")


def _load_context(model_uri: str, data: pd.DataFrame, target: str | None, tmp: Path):
    import mlflow

    from workbench.checks.base import _split

    if not isinstance(data, pd.DataFrame):
        from workbench.errors import DataError

        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    x, y = _split(data, target)
    client = mlflow.MlflowClient()
    mv = _model_version(client, model_uri)
    uri = f"models:/{mv.name}/{mv.version}" if mv else model_uri
    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp)))
        pyfunc = mlflow.pyfunc.load_model(str(local))
    except Exception as err:
        raise ModelNotFoundError(
            f"cannot load the model {model_uri}: {err}. Check the URI (models:/NAME/VERSION)."
        ) from err
    estimator = _raw_model(pyfunc)
    tags = dict(mv.tags or {}) if mv else {}
    task = tags.get("workbench.task") or _task(estimator)
    run_id = mv.run_id if mv else None
    champion, champion_version, champion_sig = _champion(client, mv)
    context = CheckContext(
        model=estimator,
        data=x,
        target=y,
        task=task,
        signature=pyfunc.metadata.signature,
        profile=_run_json(run_id, "profile.json"),
        champion=champion,
        champion_version=champion_version,
        pyfunc=pyfunc,
        reference=_run_json(run_id, "reference.json"),
        artifact_dir=local,
        model_uri=uri,
        name=mv.name if mv else None,
        version=int(mv.version) if mv else None,
        expected_extra=tuple(c for c in tags.get("workbench.dropped_columns", "").split(",") if c),
        description=(mv.description or "") if mv else "",
    )
    context._cache["champion_signature"] = champion_sig
    return context


def _model_version(client, model_uri: str):
    import mlflow

    match = _VERSION_URI.match(model_uri.strip())
    if not match:
        return None
    name = match["name"]
    try:
        client.get_registered_model(name)
    except mlflow.exceptions.MlflowException as err:
        raise ModelNotFoundError(
            f"no registered model called {name!r}: check the name in {model_uri} "
            "or log one with workbench.log_model."
        ) from err
    try:
        if match["version"]:
            return client.get_model_version(name, match["version"])
        return client.get_model_version_by_alias(name, match["alias"])
    except mlflow.exceptions.MlflowException as err:
        what = f"version {match['version']}" if match["version"] else f"alias @{match['alias']}"
        raise ModelNotFoundError(
            f"model {name!r} has no {what}: see `workbench history {name}` or the registry."
        ) from err


def _champion(client, mv):
    import mlflow

    if mv is None:
        return None, None, None
    try:
        champ = client.get_model_version_by_alias(mv.name, "champion")
    except mlflow.exceptions.MlflowException:
        return None, None, None
    version = int(champ.version)
    if version == int(mv.version):
        return None, version, None
    uri = f"models:/{mv.name}/{version}"
    try:
        pyfunc = mlflow.pyfunc.load_model(uri)
    except Exception as err:
        raise ModelNotFoundError(
            f"cannot load the @champion of {mv.name!r} (version {version}): {err}"
        ) from err
    return _raw_model(pyfunc), version, pyfunc.metadata.signature


def _raw_model(pyfunc) -> Any:
    try:
        model = pyfunc.get_raw_model()
    except Exception:
        model = None
    return model if hasattr(model, "predict") else pyfunc


def _task(estimator) -> str:
    from workbench.registry import _task_of

    try:
        return _task_of(estimator)
    except Exception:
        return "classification" if hasattr(estimator, "predict_proba") else "regression"


def _run_json(run_id: str | None, path: str) -> dict[str, Any] | None:
    if not run_id:
        return None
    import mlflow

    try:
        return mlflow.artifacts.load_dict(f"runs:/{run_id}/{path}")
    except Exception:
        return None  # logged before the workbench kept it: the checks say so


def _comparison(context: CheckContext) -> pd.DataFrame | None:
    """Candidate and champion metrics side by side, when both were computed."""
    cand = context._cache.get("metrics_candidate")
    if not cand:
        return None
    champ = context._cache.get("metrics_champion") or {}
    rows = [
        {
            "metric": k,
            "candidate": v,
            "champion": champ.get(k),
            "delta": v - champ[k] if k in champ else None,
        }
        for k, v in cand.items()
    ]
    return pd.DataFrame(rows)


@contextlib.contextmanager
def _quiet_downloads():
    """No per-file download bars from MLflow while the suite draws its own."""
    key = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    before = os.environ.get(key)
    os.environ[key] = "false"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


def _progress(progress: bool | Progress) -> Progress:
    if callable(progress):
        return progress
    if not progress:
        return lambda step, done: None
    from tqdm import tqdm

    bar = tqdm(total=100, desc="checks", unit="%", disable=None, leave=False)

    def step(name: str, done: float) -> None:
        bar.set_description(name[:30])
        bar.update(max(0, int(done * 100) - bar.n))
        if done >= 1.0:
            bar.close()

    return step


# --------------------------------------------------------------------------- keeping the results


def _log_results(report: CheckReport, context: CheckContext) -> str:
    import mlflow
    from mlflow.entities import Metric

    from workbench._util import user_name
    from workbench.checks.card import card_html
    from workbench.workspace import current_workspace

    ws = current_workspace()
    client = mlflow.MlflowClient()
    name, version = report.name, report.version
    experiment_id = ws.experiment_id(name)
    tags = {
        "workbench.kind": "checks",
        "workbench.model": name,
        "workbench.model_version": str(version),
        "workbench.user": user_name(),
        STATUS_TAG: report.status,
        "mlflow.note.content": f"Pre-deployment checks of {name} version {version}: "
        f"{report.status}.",
    }
    if context.champion_version:
        tags["workbench.champion_version"] = str(context.champion_version)
    run = client.create_run(experiment_id, run_name=f"checks-{name}-v{version}", tags=tags)
    run_id = run.info.run_id
    report.run_id = run_id
    try:
        now = int(time.time() * 1000)
        metrics = [Metric("checks.passed", float(report.passed), now, 0)]
        metrics.append(Metric("checks.failed_count", float(len(report.failed)), now, 0))
        metrics.append(Metric("checks.seconds", float(report.seconds), now, 0))
        for result in report.results:
            if isinstance(result.value, int | float) and pd.notna(result.value):
                metrics.append(Metric(f"check.{result.name}", float(result.value), now, 0))
        for key, value in (context._cache.get("metrics_candidate") or {}).items():
            metrics.append(Metric(f"eval_{key}", float(value), now, 0))
        client.log_batch(run_id, metrics=metrics)
        with tempfile.TemporaryDirectory(prefix="wb-checks-out-") as tmp:
            folder = Path(tmp)
            report.save(folder)
            (folder / "model_card.html").write_text(card_html(report.model_card or ""))
            client.log_artifacts(run_id, str(folder))
        client.set_terminated(run_id)
    except Exception as err:
        client.set_terminated(run_id, status="FAILED")
        raise RegistryError(
            f"saving the check results of {name} version {version} failed: {err}. The run "
            f"{run_id} is marked FAILED and the version's tags were not changed."
        ) from err
    try:  # status "pending" first, the verdict last: a half-done update never reads "passed"
        client.set_model_version_tag(name, str(version), STATUS_TAG, "pending")
        client.set_model_version_tag(name, str(version), RUN_TAG, run_id)
        client.set_model_version_tag(name, str(version), FAILED_TAG, ",".join(report.failed))
        client.set_model_version_tag(name, str(version), STATUS_TAG, report.status)
    except Exception as err:
        raise RegistryError(
            f"tagging {name} version {version} with its check results failed: {err}"
        ) from err
    return run_id
