"""Sealed A/B evidence: what the gate needs to trust "the challenger did better in production".

:func:`record_abtest` logs an A/B test result (what ``workbench abtest`` measured) as a run of its
own (``workbench.kind=abtest``, in the experiment check runs go to): its whole result as
``abtest.json``, the SHA-256 of those bytes and an Ed25519 signature by the recorder's key over
the model, the challenger version, the artifact digest it tested and that SHA-256
(:mod:`workbench.registry.seal` with ``kind="abtest"``, so it is never taken for a check seal).
The challenger version then carries the run id, the SHA-256 and the verdict's wording.

:func:`abtest_problems` says why a version's recorded A/B evidence does not meet a policy's
requirement (empty: it does). It judges the numbers (the lower end of the always-valid interval of
challenger minus champion, the labelled requests), never the verdict's text, and refuses evidence
copied from another version, an edited ``abtest.json``, a bad signature, or a test of other files.

Example:
    >>> REQUIRED_KEYS[:4]
    ('kind', 'name', 'champion_version', 'challenger_version')
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from workbench._core.names import (
    ABTEST_RUN_TAG,
    ABTEST_SHA_TAG,
    ABTEST_VERDICT_TAG,
    ARTIFACT,
    SERVER_CHECKS_EXPERIMENT,
    TAG,
)
from workbench.errors import DataError, RegistryError

__all__ = ["KIND", "REQUIRED_KEYS", "abtest_evidence", "abtest_problems", "record_abtest"]

#: The run kind (``workbench.kind``) and seal kind of an A/B test run.
KIND = "abtest"
#: The keys every recorded result must have (``comparison`` may be null: no labels yet).
REQUIRED_KEYS = tuple(
    "kind name champion_version challenger_version champion_digest challenger_digest "
    "comparison verdict".split()
)
_METRICS = ("difference", "lower", "upper", "n_main", "n_challenger")


def record_abtest(name: str, result: dict[str, Any], *, by: str | None = None) -> str:
    """Log an A/B test ``result`` as a run sealed to its challenger version; return the run id.

    Args:
        name: Registered model name.
        result: What ``workbench abtest`` measured (``kind``, ``name``, ``champion_version``,
            ``challenger_version``, the two digests, ``comparison`` and ``verdict``...).
        by: Who records it, whose key signs it (default: ``WORKBENCH_USER`` or the login name).

    Raises:
        DataError: ``result`` lacks a key, or is not an A/B test of ``name``.
        ModelNotFoundError: no such model or challenger version.
        RegistryError: the store refused; the run is marked FAILED and the version untouched.

    Example:
        >>> import workbench as wb
        >>> record_abtest("credit-risk", result, by="ana")  # doctest: +SKIP
    """
    from mlflow.entities import Metric
    from mlflow.utils.mlflow_tags import MLFLOW_RUN_NOTE

    from workbench._core.refs import check_model_name
    from workbench._core.text import user_name
    from workbench.registry import keys
    from workbench.registry.description import abtest_line, refresh_description
    from workbench.registry.seal import seal_tags
    from workbench.registry.versions import get_version
    from workbench.workspace import current_workspace, mlflow_client

    check_model_name(name)
    version, data = _validated(name, result)
    get_version(name, version)  # ModelNotFoundError before anything is written
    sha = hashlib.sha256(data).hexdigest()
    actor = (by or "").strip() or user_name()
    signer = keys.signer_for(actor)
    digest = str(result["challenger_digest"])
    seal = seal_tags(name, version, digest, sha, signer, kind=KIND)  # refused: nothing written
    verdict = " ".join(str(result.get("verdict") or "").split())[:100]
    tags = {
        TAG.KIND: KIND,
        TAG.MODEL: name,
        TAG.MODEL_VERSION: version,
        TAG.USER: actor,
        TAG.CHAMPION_VERSION: str(result["champion_version"]),
        ABTEST_SHA_TAG: sha,
        ABTEST_VERDICT_TAG: verdict,
        MLFLOW_RUN_NOTE: f"A/B test of {name} version {version}: {abtest_line(result)}.",
    } | seal
    client = mlflow_client()
    where = SERVER_CHECKS_EXPERIMENT if signer == keys.SERVER_SIGNER else name
    experiment_id = current_workspace().experiment_id(where)
    run_name = f"abtest-v{version}-{time.strftime('%Y-%m-%d', time.gmtime())}"
    run_name += f"-{name}" if where != name else ""  # the server's experiment: every model's
    run = client.create_run(experiment_id, run_name=run_name, tags=tags)
    run_id = run.info.run_id
    try:
        comparison = result.get("comparison") or {}
        now = int(time.time() * 1000)
        metrics = [
            Metric(key, float(comparison[key]), now, 0)
            for key in _METRICS
            if _number(comparison.get(key)) is not None
        ]
        if metrics:
            client.log_batch(run_id, metrics=metrics)
        _upload(client, run_id, data)
        client.set_terminated(run_id)
    except Exception as err:
        client.set_terminated(run_id, status="FAILED")
        raise RegistryError(
            f"saving the A/B test of {name} version {version} failed: {err}. The run {run_id} is "
            "marked FAILED and the version's tags were not changed."
        ) from err
    client.set_model_version_tag(name, version, ABTEST_SHA_TAG, sha)  # the verdict: on the run
    client.set_model_version_tag(name, version, ABTEST_RUN_TAG, run_id)
    refresh_description(name, version, client)
    return run_id


def abtest_problems(name: str, target: Any, requirement: dict[str, Any], digest: str) -> list[str]:
    """Why the sealed A/B evidence of ``target`` (a :class:`ModelVersion`) does not meet
    ``requirement`` (a gate policy's ``abtest``; empty: it does), judged on its numbers."""
    version = str(target.version)
    result, run_id, problems = _sealed(name, target)
    if result is None:
        return problems
    run = f"the A/B test run {run_id} of {name} v{version}"
    again = f"run `workbench abtest {name} --since 7d` when more labels arrived"
    tested = str(result.get("challenger_digest") or "")
    if tested != digest:
        problems.append(
            f"{run} tested other files (digest {tested[:12] or '?'}; v{version} holds "
            f"{digest[:12]}): the artifact changed after the test; run `workbench abtest {name}` "
            "again on the files it holds now"
        )
    comparison = result.get("comparison")
    if not isinstance(comparison, dict):
        return [*problems, f"{run} has no labelled comparison: {again}"]
    least = int(requirement.get("min_labelled", 200))
    labelled = _number(comparison.get("n_challenger"))
    if labelled is None or labelled < least:
        shown = "no" if labelled is None else f"{labelled:g}"
        problems.append(
            f"{run} judged {shown} labelled challenger requests, the gate policy requires at "
            f"least {least}: {again}"
        )
    lower = _number(comparison.get("lower"))
    metric = str(comparison.get("metric") or "the metric")
    margin = float(requirement.get("margin", 0.0))
    if lower is None:
        problems.append(f"{run} records no finite lower bound of the difference: {again}")
    elif requirement.get("require") == "better" and not lower > 0:
        problems.append(
            f"{run} has not shown v{version} better: the lower bound of its {metric} difference "
            f"is {lower:+.3g}, the gate policy requires > 0 (not yet known is not better): {again}"
        )
    elif requirement.get("require") == "not_worse" and not lower > -margin:
        problems.append(
            f"{run} has not shown v{version} not worse by more than {margin:g}: the lower bound "
            f"of its {metric} difference is {lower:+.3g}, the gate policy requires > "
            f"{-margin:+.3g}: {again}"
        )
    elif requirement.get("require") not in ("better", "not_worse"):
        problems.append(
            f"the gate policy's abtest.require {requirement.get('require')!r} is unknown"
        )
    return problems


def abtest_evidence(name: str, target: Any, requirement: dict[str, Any] | None = None) -> str:
    """One line for the audit entry: the sealed A/B test run of ``target`` and what it measured
    (empty when the version has no sealed A/B test)."""
    from workbench.registry.description import abtest_line

    result, run_id, _ = _sealed(name, target, signed=False)
    if result is None:
        return ""
    return f"abtest {run_id}: {abtest_line(result, (requirement or {}).get('margin'), short=True)}"


# --------------------------------------------------------------------------- helpers


class _Unsealed(Exception):
    """Why the A/B evidence on a version does not hold."""


def _validated(name: str, result: Any) -> tuple[str, bytes]:
    """The challenger version and the ``abtest.json`` bytes of ``result``, or a DataError."""
    what = f"the A/B test result of {name}"
    if not isinstance(result, dict):
        raise DataError(f"{what} must be a dict, not {type(result).__name__}.")
    for key in REQUIRED_KEYS:
        if key not in result:
            raise DataError(
                f"{what} lacks the key {key!r}: record what `workbench abtest` returned."
            )
    if result["kind"] != KIND or result["name"] != name:
        raise DataError(
            f"{what} is not an A/B test of {name} (kind {result['kind']!r}, name "
            f"{result['name']!r}): record it under the model it tested."
        )
    version = str(result["challenger_version"])
    if not version.isdigit():
        raise DataError(f"{what}: challenger_version {version!r} is not a version number.")
    if result["comparison"] is not None and not isinstance(result["comparison"], dict):
        raise DataError(f"{what}: comparison must be an object or null.")
    try:
        return version, json.dumps(result, sort_keys=True, indent=1).encode()
    except (TypeError, ValueError) as err:
        raise DataError(f"{what} is not JSON ({err}).") from err


def _sealed(name: str, target: Any, *, signed: bool = True) -> tuple[dict | None, str, list[str]]:
    """The A/B result sealed to ``target``, its run id, and why not (``None`` and the problem)."""
    version = str(target.version)
    again = f"run `workbench abtest {name} --since 7d` with v{version} as the challenger"
    run_id = str(target.tags.get(ABTEST_RUN_TAG) or "")
    if not run_id:
        return None, "", [f"{name} v{version} has no A/B test on record: {again}"]
    try:
        return _sealed_result(name, version, target, run_id, signed), run_id, []
    except _Unsealed as why:
        return None, run_id, [f"{why}: {again}"]


def _sealed_result(name: str, version: str, target: Any, run_id: str, signed: bool) -> dict:
    from workbench.registry.seal import seal_problems
    from workbench.workspace import mlflow_client

    run, client = f"the A/B test run {run_id} of {name} v{version}", mlflow_client()
    try:
        tags = client.get_run(run_id).data.tags
    except Exception:
        raise _Unsealed(f"{run} does not exist") from None
    own = (tags.get(TAG.KIND), tags.get(TAG.MODEL), tags.get(TAG.MODEL_VERSION))
    if own != (KIND, name, version):
        raise _Unsealed(
            f"{run} is not an A/B test run of {name} v{version} (it is a {own[0]} run of "
            f"{own[1]} v{own[2]}): its tags were copied from another version"
        )
    sealed = str(target.tags.get(ABTEST_SHA_TAG) or "")
    if not sealed or tags.get(ABTEST_SHA_TAG) != sealed:
        raise _Unsealed(f"{run} is not sealed to v{version} (no matching SHA-256)")
    try:
        with tempfile.TemporaryDirectory(prefix="wb-abtest-") as tmp:
            data = Path(client.download_artifacts(run_id, ARTIFACT.ABTEST_JSON, tmp)).read_bytes()
    except Exception:
        raise _Unsealed(f"{run} left no {ARTIFACT.ABTEST_JSON}") from None
    if hashlib.sha256(data).hexdigest() != sealed:
        raise _Unsealed(f"{ARTIFACT.ABTEST_JSON} of {run} was edited after it was recorded")
    try:
        result = json.loads(data)
    except ValueError:
        raise _Unsealed(f"{ARTIFACT.ABTEST_JSON} of {run} does not parse") from None
    result = result if isinstance(result, dict) else {}
    if (result.get("kind"), result.get("name"), str(result.get("challenger_version"))) != (
        KIND,
        name,
        version,
    ):
        raise _Unsealed(f"{ARTIFACT.ABTEST_JSON} of {run} is not about {name} v{version}")
    if signed:
        tested = str(result.get("challenger_digest") or "")
        problems = seal_problems(tags, name, version, tested, sealed, run_id, kind=KIND)
        if problems:
            raise _Unsealed(f"{'; '.join(problems)} ({name} v{version})")
    return result


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _upload(client: Any, run_id: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="wb-abtest-") as tmp:
        path = Path(tmp) / ARTIFACT.ABTEST_JSON
        path.write_bytes(data)
        client.log_artifact(run_id, str(path))
