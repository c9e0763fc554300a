"""The runner: :func:`run_checks` runs a suite on a model version and keeps the results with it.

It reads like its steps: load the candidate and what it remembers (signature, training profile,
log-time predictions) and the current ``@champion``, run each check with a progress bar, write the
report and the model card, then keep them with the version (a run with ``checks.json``,
``checks.html``, the model card and metrics; the gate's tags on the version, see
:mod:`workbench._core.names`).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from workbench._core.gcpause import gc_paused
from workbench._core.names import (
    ARTIFACT,
    CHECKS_DIGEST_TAG,
    CHECKS_FAILED_TAG,
    CHECKS_RUN_TAG,
    CHECKS_SHA_TAG,
    CHECKS_STATUS_TAG,
    SERVER_CHECKS_EXPERIMENT,
    TAG,
)
from workbench._core.process import environment
from workbench._core.progress import Progress, as_progress
from workbench._core.refs import parse_model_uri, registry_version, version_uri
from workbench._core.remote import speaks_for_server
from workbench.checks.base import Check, CheckReport, CheckResult
from workbench.checks.context import CheckContext, check_protected, resolve_contract, split_eval
from workbench.checks.presets import default_suite
from workbench.checks.remote import checks_on_server
from workbench.contract import ModelContract
from workbench.errors import ModelNotFoundError, RegistryError
from workbench.registry import resolve, team_api

__all__ = ["FAILED_TAG", "RUN_TAG", "STATUS_TAG", "data_hash", "load_eval_data", "run_checks"]

#: The gate's tags on a version (aliases of :mod:`workbench._core.names`, kept for callers).
STATUS_TAG = CHECKS_STATUS_TAG
RUN_TAG = CHECKS_RUN_TAG
FAILED_TAG = CHECKS_FAILED_TAG


@speaks_for_server("running and recording the checks")
def run_checks(
    model_uri: str,
    *,
    data: pd.DataFrame,
    target: str | None,
    suite: list[Check] | None = None,
    protected: str | list[str] | None = None,
    thresholds: dict[str, float] | None = None,
    progress: bool | Progress = True,
    log: bool = True,
    serving: bool = False,
    positive_label: Any = None,
    allow_pickle: bool = False,
) -> CheckReport:
    """Run the pre-deployment suite on a model version and keep the results with it.

    Args:
        model_uri: ``models:/name/3``, ``models:/name@challenger`` or any MLflow model URI.
        data: Eval data, with the ``target`` column. Columns the model does not take (ids,
            dates, protected attributes, anything else) are fine: each model is fed its own
            features (its contract's), the candidate and the ``@champion`` alike.
        target: The label column (``None`` when there are no labels: metric checks then error).
        suite: The checks; default :func:`~workbench.checks.presets.default_suite` for the
            model's task.
        protected: Attributes the fairness check slices by (columns of ``data``; they need not
            be features). ``None``: the contract's (``wb.model_contract(uri).protected``);
            ``[]``: no fairness check.
        thresholds: Absolute metric bars for the default suite.
        progress: ``True`` for a text progress bar, or a ``progress(step, fraction)`` callback.
        log: Keep the results with the version (a run, tags, the model card).
        serving: Add the serving smoke check to the default suite (starts the real model server:
            about 10 s more).
        positive_label: The class recall, precision, F1 and fairness measure; default the
            contract's (needed only for versions logged before contracts, with labels such as
            ``defaulted``/``repaid``).
        allow_pickle: Load the model although its format could run code when loaded (pickle,
            untrusted skops types); recorded on the version and in its audit entries. Without
            it such a model is refused before a byte of it is deserialised.

    Returns:
        A :class:`CheckReport`; ``report.passed`` says whether it may be promoted.

    Raises:
        ModelNotFoundError: the model or version does not exist.
        UnsafeModelError: the model's format could run code when loaded (exit code 2).
        MissingColumnError: ``target`` or a protected attribute is not a column of ``data``
            (raised before any check runs, nothing is logged).
        UsageError: the positive label is not among the model's labels.
        RegistryError: the results could not be written to MLflow (nothing is left half-written).
    """
    if log and suite is None and team_api.routed():  # the checks that count: run by the server
        return checks_on_server(model_uri, data=data, target=target, progress=progress,
            protected=protected, thresholds=thresholds, serving=serving,
            positive_label=positive_label, allow_pickle=allow_pickle)  # fmt: skip
    started = time.perf_counter()
    x, y = split_eval(data, target)
    if protected is not None:  # a typo is caught before the model is even loaded
        check_protected(protected, x)
    step = as_progress(progress, desc="checks")
    # no per-file download bars from MLflow while the suite draws its own
    quiet = environment({"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"})
    with quiet, tempfile.TemporaryDirectory(prefix="wb-checks-") as tmp:
        step("loading the model", 0.0)
        with gc_paused():  # skops' and scikit-learn's imports, both models' audit and load
            context = _load_context(
                model_uri, x, y, Path(tmp), protected, positive_label, allow_pickle
            )
        if suite is None:
            suite = default_suite(
                context.task, thresholds=thresholds, protected=context.protected, serving=serving
            )
        results = _run_suite(suite, context, step)
        report = _write_report(context, results, time.perf_counter() - started)
        report.policy_hash, report.data_hash = _policy_hash(), data_hash(data)
        report.allow_pickle = bool(allow_pickle and context.unsafe_artifact)
        report.digest = context.digest
        if log and context.name and context.version:
            step("saving the results", len(suite) / (len(suite) + 1))
            report.run_id = _keep_with_version(report, context)
        report.gate = _gate_verdict(report, context, logged=bool(report.run_id))
    report.seconds = time.perf_counter() - started
    step("done", 1.0)
    return report


def load_eval_data(
    data: str | os.PathLike | pd.DataFrame | None = None, n: int = 2000, seed: int = 7,
    model: str | None = None,
) -> pd.DataFrame:  # fmt: skip
    """The eval table: ``data`` itself, a CSV / Parquet file, or fresh demo rows.

    Args:
        data: A DataFrame, a file, or ``None`` for demo credit-risk rows the demo model never saw
            (``credit_risk(n, seed)``).
        n: Demo rows.
        seed: Demo seed.
        model: The model's URI: a CSV is read with its text columns as text (``07`` stays).

    Raises:
        DataFileError: the file is missing or does not parse.
    """
    from workbench.data import credit_risk, load_table

    if data is None:
        return credit_risk(n, seed=seed)
    if isinstance(data, pd.DataFrame):
        return data
    contract = _stored_contract(model) if model else None  # None: run_checks names the problem
    return load_table(data, text=contract.text_columns if contract is not None else ())


# --------------------------------------------------------------------------- the steps


def _load_context(
    model_uri: str,
    x: pd.DataFrame,
    y: pd.Series | None,
    tmp: Path,
    protected: str | list[str] | None = None,
    positive_label: Any = None,
    allow_pickle: bool = False,
):
    """The candidate (as served and as an estimator), its contract and memory, the ``@champion``.

    The contract is read first, so a protected attribute missing from the eval data is refused
    before the model is downloaded.
    """
    from workbench._core.tasks import task_of_estimator
    from workbench.workspace import mlflow_client

    client = mlflow_client()  # opens the workspace: MLflow reads the store the user chose
    mv = _model_version(client, model_uri)
    uri = version_uri(mv.name, mv.version) if mv else model_uri
    stored = _stored_contract(uri)
    wanted = protected if protected is not None else (stored.protected if stored else [])
    protected_columns = check_protected(wanted, x)
    rm = resolve(uri, tmp / "candidate", allow_pickle=allow_pickle, client=client)
    pyfunc = rm.load()  # through the checked flavor only
    estimator = _raw_model(pyfunc)
    tags = dict(mv.tags or {}) if mv else {}
    run_id = mv.run_id if mv else None
    made_at_log_time = stored is not None and bool(stored.columns)  # not rebuilt from a signature
    task = (stored.task if made_at_log_time else None) or tags.get(TAG.TASK)
    task = task or task_of_estimator(estimator, fallback=True)
    contract = stored or _signature_contract(pyfunc.metadata.signature, task, x, y)
    contract = resolve_contract(
        replace(contract, task=task, protected=protected_columns), estimator, positive_label
    )
    champion, champion_version, champion_signature, champion_contract = _champion(client, mv, tmp)
    return CheckContext(
        model=estimator,
        data=x,
        target=y,
        task=task,
        signature=pyfunc.metadata.signature,
        profile=_run_json(run_id, ARTIFACT.PROFILE),
        champion=champion,
        champion_version=champion_version,
        pyfunc=pyfunc,
        reference=_run_json(run_id, ARTIFACT.REFERENCE),
        artifact_dir=rm.local,
        model_uri=uri,
        name=mv.name if mv else None,
        version=int(mv.version) if mv else None,
        description=(mv.description or "") if mv else "",
        champion_signature=champion_signature,
        contract=contract,
        champion_contract=champion_contract,
        protected=protected_columns,
        unsafe_artifact=not rm.safety.safe,
        digest=rm.digest,
        trusted_types=list(rm.safety.trusted),
        declared_types=rm.declared_types,
        contract_protected=list(stored.protected) if stored is not None else None,
    )


def _run_suite(suite: list[Check], context: CheckContext, step: Progress) -> list[CheckResult]:
    """Each check in turn (a check that breaks is an ``error`` result, not a crash)."""
    results = []
    for i, check in enumerate(suite):
        step(check.name, i / (len(suite) + 1))
        results.append(check(context))
    return results


def _write_report(context: CheckContext, results: list[CheckResult], seconds: float):
    """The report, with candidate and champion metrics side by side and the model card."""
    from workbench.checks.card import model_card

    report = CheckReport(
        model_uri=context.model_uri,
        results=results,
        name=context.name,
        version=context.version,
        champion_version=context.champion_version,
        comparison=_comparison(context),
        eval_rows=len(context.data),
        seconds=seconds,
    )
    report.model_card = model_card(report, context)
    return report


def _keep_with_version(report: CheckReport, context: CheckContext) -> str:
    """A run holding the report, then the gate's tags on the version; returns the run id."""
    from workbench.registry.description import refresh_description

    run_id, sealed = _log_run(report, context)
    if team_api.routed():  # a client's own suite on a team server: shown, not the version's verdict
        return run_id
    _tag_version(report, run_id, sealed)
    refresh_description(report.name, report.version)
    return run_id


def _gate_verdict(report: CheckReport, context: CheckContext, logged: bool) -> list[str]:
    """Why the gate would refuse to promote on this run (empty: it would): the gate's own
    judgement of the recorded run when it was kept with the version, else the policy's judgement
    of the report's numbers. ``check``'s last line says this, so it never contradicts ``promote``."""
    from workbench.registry.gate import promotion_problems
    from workbench.registry.policy import gate_policy
    from workbench.registry.versions import get_version

    protected = context.contract_protected
    if logged and team_api.routed():
        return ["on a team server only the checks the server runs count (`workbench check`)"]
    if logged and report.passed:  # the files just checked, the contract just read
        target = get_version(report.name, report.version)
        return promotion_problems(report.name, target, digest=report.digest, protected=protected)
    protected = list(context.protected) if protected is None else protected
    return gate_policy().judge(report.to_dict(), context.task, protected)


# --------------------------------------------------------------------------- loading


def _model_version(client: Any, model_uri: str) -> Any | None:
    """The registry's version ``model_uri`` names, or None for a URI outside the registry.

    Raises:
        ModelNotFoundError: the model, the version or the alias does not exist.
    """
    from workbench.registry.versions import registered_model

    ref = parse_model_uri(model_uri)
    if not ref.registered:
        return None
    registered_model(client, ref.name)  # names the model when it is not there at all
    return registry_version(ref, client, strict=True)


def _champion(client: Any, mv: Any, tmp: Path) -> tuple[Any, int | None, Any, ModelContract | None]:
    """The ``@champion`` as an estimator, its version, signature and contract (Nones without one)."""
    if mv is None:
        return None, None, None, None
    champ = registry_version(parse_model_uri(f"models:/{mv.name}@champion"), client)
    if champ is None:
        return None, None, None, None
    version = int(champ.version)
    if version == int(mv.version):
        return None, version, None, None
    uri = version_uri(mv.name, version)
    try:  # a champion moved outside the gate: checked too
        pyfunc = resolve(uri, tmp / "champion", client=client).load()
    except ModelNotFoundError as err:
        raise ModelNotFoundError(
            f"cannot load the @champion of {mv.name!r} (version {version}): {err}"
        ) from err
    signature = pyfunc.metadata.signature
    return _raw_model(pyfunc), version, signature, _stored_contract(uri)


def _stored_contract(uri: str) -> ModelContract | None:
    """The contract kept with the model (rebuilt from its signature for older versions), or
    ``None`` for a model outside the store (a folder) or one that names no features."""
    from workbench.registry import model_contract

    try:
        contract = model_contract(uri)
    except Exception:  # no contract to read: the signature or the eval data decide
        return None
    return contract if contract.features else None


def _signature_contract(
    signature: Any, task: str, x: pd.DataFrame, y: pd.Series | None
) -> ModelContract:
    """A contract from a signature alone: its inputs are the features (without one, every
    column of the eval data)."""
    inputs = getattr(signature, "inputs", None)
    named = inputs is not None and inputs.has_input_names()
    features = [spec.name for spec in inputs.inputs] if named else [str(c) for c in x.columns]
    target = str(y.name) if y is not None and y.name is not None else "target"
    return ModelContract(
        target=target,
        task=task,
        features=features,
        notes=["made from the signature: this model was logged outside the workbench"],
    )


def _raw_model(pyfunc: Any) -> Any:
    try:
        model = pyfunc.get_raw_model()
    except Exception:
        model = None
    return model if hasattr(model, "predict") else pyfunc


def _run_json(run_id: str | None, path: str) -> dict[str, Any] | None:
    if not run_id:
        return None
    import mlflow

    try:
        return mlflow.artifacts.load_dict(f"runs:/{run_id}/{path}")
    except Exception:
        return None  # logged before the workbench kept it: the checks say so


def _comparison(context: CheckContext) -> pd.DataFrame | None:
    """Candidate and champion metrics side by side, when both were computed (``f1 (macro)``...)."""
    cand = context.known_metrics("candidate")
    if not cand:
        return None
    champ = context.known_metrics("champion") or {}
    rows = [
        {
            "metric": context.metric_label(k),
            "candidate": v,
            "champion": champ.get(k),
            "delta": v - champ[k] if k in champ else None,
        }
        for k, v in cand.items()
    ]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- keeping the results


def _log_run(report: CheckReport, context: CheckContext) -> tuple[str, str]:
    """A finished run with the report's metrics and files, sealed (the digest it judged and the
    SHA-256 of its ``checks.json`` as tags); FAILED (and raising) when it cannot. Returns the run
    id and that SHA-256."""
    from mlflow.entities import Metric, RunTag
    from mlflow.utils.mlflow_tags import MLFLOW_RUN_NOTE

    from workbench._core.text import user_name
    from workbench.registry import keys
    from workbench.registry.audit import signer_ready
    from workbench.registry.seal import seal_tags
    from workbench.workspace import current_workspace, mlflow_client

    client = mlflow_client()
    name, version = report.name, report.version
    signer = keys.signer_for(user_name())  # on a team server: the server's key
    signer_ready(signer)  # a user who may not sign here is refused before anything is written
    tags = {
        TAG.KIND: "checks",
        TAG.MODEL: name,
        TAG.MODEL_VERSION: str(version),
        TAG.USER: user_name(),
        CHECKS_STATUS_TAG: report.status,
        CHECKS_DIGEST_TAG: report.digest,
        CHECKS_FAILED_TAG: ",".join(report.failed),
        MLFLOW_RUN_NOTE: f"Pre-deployment checks of {name} version {version}: {report.status}.",
    }
    if context.champion_version:
        tags[TAG.CHAMPION_VERSION] = str(context.champion_version)
    where = SERVER_CHECKS_EXPERIMENT if signer == keys.SERVER_SIGNER else name  # only it writes
    experiment_id = current_workspace().experiment_id(where)
    run_name = f"check-v{version}-{time.strftime('%Y-%m-%d', time.gmtime())}"
    run_name += f"-{name}" if where != name else ""  # the server's experiment: every model's
    run = client.create_run(experiment_id, run_name=run_name, tags=tags)
    run_id = report.run_id = run.info.run_id
    try:
        now = int(time.time() * 1000)
        metrics = [Metric(key, value, now, 0) for key, value in _run_metrics(report, context)]
        client.log_batch(run_id, metrics=metrics)
        sealed = report.log(run_id)
        seal = {CHECKS_SHA_TAG: sealed} | seal_tags(name, version, report.digest, sealed, signer)
        client.log_batch(run_id, tags=[RunTag(k, v) for k, v in seal.items()])
        client.set_terminated(run_id)
    except Exception as err:
        client.set_terminated(run_id, status="FAILED")
        raise RegistryError(
            f"saving the check results of {name} version {version} failed: {err}. The run "
            f"{run_id} is marked FAILED and the version's tags were not changed."
        ) from err
    return run_id, sealed


def _run_metrics(report: CheckReport, context: CheckContext) -> list[tuple[str, float]]:
    """The verdict, each check's numeric value and the candidate's eval metrics."""
    out = [
        ("checks.passed", float(report.passed)),
        ("checks.failed_count", float(len(report.failed))),
        ("checks.seconds", float(report.seconds)),
    ]
    for result in report.results:
        if isinstance(result.value, int | float) and pd.notna(result.value):
            out.append((f"check.{result.name}", float(result.value)))
    for key, value in (context.known_metrics("candidate") or {}).items():
        out.append((f"eval_{key}", float(value)))
    return out


def _policy_hash() -> str:
    from workbench.registry.policy import gate_policy

    return gate_policy().hash


def data_hash(data: pd.DataFrame) -> str:
    """A short SHA-256 of the eval table's content (which data the checks ran on)."""
    import hashlib

    digest = hashlib.sha256(pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes())
    digest.update(",".join(map(str, data.columns)).encode())
    return digest.hexdigest()[:16]


def _tag_version(report: CheckReport, run_id: str, sealed: str) -> None:
    """Status "pending" first, the verdict last: a half-done update never reads "passed". The
    version records what the gate reads, the run and its ``checks.json``'s SHA-256 (the rest is
    on the run: at most 4 ``workbench.*`` version tags)."""
    from workbench.workspace import mlflow_client

    client = mlflow_client()
    name, version = report.name, str(report.version)
    try:
        client.set_model_version_tag(name, version, CHECKS_STATUS_TAG, "pending")
        legacy = client.get_model_version(name, version).tags or {}
        for key in (CHECKS_DIGEST_TAG, CHECKS_FAILED_TAG):  # written by earlier workbenches
            if key in legacy:
                client.delete_model_version_tag(name, version, key)
        client.set_model_version_tag(name, version, CHECKS_RUN_TAG, run_id)
        client.set_model_version_tag(name, version, CHECKS_SHA_TAG, sealed)
        if report.allow_pickle:  # the user let an unsafe format load: the version says so
            client.set_model_version_tag(name, version, TAG.ALLOW_PICKLE, "true")
        client.set_model_version_tag(name, version, CHECKS_STATUS_TAG, report.status)
    except Exception as err:
        raise RegistryError(
            f"tagging {name} version {version} with its check results failed: {err}"
        ) from err
