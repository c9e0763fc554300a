"""The gate: promote a version when its checks passed, roll an alias back, and record both.

The policy is the checks' status tags on the version (written by ``run_checks``, named in
:mod:`workbench._core.names`): ``passed`` promotes; anything else is refused unless forced with a
reason, which the audit log keeps. An alias never moves without an audit entry: when the entry
cannot be written, the alias is put back.

Alias moves are compare-and-set: under the model's audit lock, the holder is read, the chain
verified, the alias moved and the entry written with the holder it really replaced, so of several
concurrent promoters each entry names the version it replaced. The lock is a file lock on a local
store and a lock on the tracking server (:mod:`workbench.registry.audit_lock`) on a shared one, so
it holds across processes and machines; a promoter that cannot get it in time is told to retry.
Promote and rollback refuse to build on a broken audit chain (or an alias moved outside the
workbench) unless forced with a reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workbench._core.names import (
    ARTIFACT,
    CHECKS_FAILED_TAG,
    CHECKS_RUN_TAG,
    CHECKS_SHA_TAG,
    CHECKS_STATUS_TAG,
    TAG,
)
from workbench._core.refs import check_alias, check_model_name, version_uri
from workbench._core.remote import speaks_for_server
from workbench._core.results import utc_now
from workbench._core.text import tracking_login, user_name
from workbench.errors import DataError, GateError, RegistryError, UsageError, WorkbenchError
from workbench.registry import keys, team_api
from workbench.registry.audit import (
    AuditEntry,
    chain_head,
    history,
    previous_holder,
    record,
    signer_ready,
    verify_history,
)
from workbench.registry.audit_lock import audit_lock, workspace_lock
from workbench.registry.contracts import model_contract
from workbench.registry.description import failed_checks, refresh_description
from workbench.registry.digest import short
from workbench.registry.evidence import abtest_evidence, abtest_problems
from workbench.registry.model_version import ModelVersion
from workbench.registry.policy import GatePolicy, gate_policy
from workbench.registry.resolved import version_digest
from workbench.registry.seal import seal_problems
from workbench.registry.server_gate import through_server
from workbench.registry.versions import get_version, registered_model
from workbench.workspace import current_workspace, mlflow_client

__all__ = ["promote", "promotion_problems", "rollback"]

#: The checks status of a version that has none on record.
NEVER_RAN = "never ran"


@speaks_for_server("promoting")
def promote(
    name: str,
    version: int | str,
    alias: str = "champion",
    *,
    by: str | None = None,
    reason: str | None = None,
    force: bool = False,
) -> AuditEntry:
    """Point ``alias`` at ``version`` if its latest checks passed, and record who, when and why.

    Args:
        name: Registered model name.
        version: Version number, or an alias such as ``"challenger"``.
        alias: The alias to move (``champion``).
        by: Who promotes (default: ``WORKBENCH_USER`` or the login name). On a shared tracking
            server the audit records the authenticated user, and a different ``by`` is refused.
        reason: Why; required with ``force``.
        force: Promote although the checks failed or never ran (recorded as forced).

    Returns:
        The :class:`AuditEntry` written to the audit log.

    Raises:
        ModelNotFoundError: no such model or version.
        GateError: the version's latest checks did not pass or never ran (the message names the
            failing checks), or the audit chain is broken and ``force`` was not given.
        DataError: ``force`` was given without a reason.
        RegistryError: the registry refused; the alias is left as it was.

    Example:
        >>> import workbench as wb
        >>> wb.promote("credit-risk", 3, by="ana", reason="beats v2 on recall")  # doctest: +SKIP
    """
    check_model_name(name)
    check_alias(alias)
    if team_api.routed():  # the team server runs the gate, signs and moves the alias itself
        return through_server(
            "promote", by, name=name, version=str(version), alias=alias, reason=reason, force=force
        )
    client = mlflow_client()
    policy = gate_policy()  # a policy file that does not parse, or loosens the gate: refused first
    actor = _actor(by, policy, f"promote {name}")
    signer_ready(keys.signer_for(actor))  # one who may not sign is refused before anything moves
    target = get_version(name, version)
    status = target.tags.get(CHECKS_STATUS_TAG) or NEVER_RAN
    if force and not (reason or "").strip():
        raise DataError(
            f"forcing {name} version {target.version} to @{alias} needs a reason: say why the "
            "checks may be overridden (reason=... / --reason)."
        )
    if status != "passed" and not force:
        raise GateError(_refusal(name, target, alias, status))
    digest = version_digest(name, target.version)
    if status == "passed":
        status = _judged(name, target, alias, policy, force, digest)
    with _audit_lock(client, name, f"promote {name}@{alias} to v{target.version}"):
        _refuse_on_broken_chain(name, alias, force)
        entry = AuditEntry(
            time=utc_now("microseconds"),
            action="promote",
            model=name,
            alias=alias,
            old_version=_alias_holder(client, name, alias),
            new_version=target.version,
            by=actor,
            reason=(reason or "").strip(),
            forced=bool(force),
            checks_status=status,
            policy_hash=policy.hash,
            allow_pickle=target.tags.get(TAG.ALLOW_PICKLE) == "true",
        )
        entry.digest = digest  # what was checked, approved and promoted: serve verifies it
        entry.trusted_types = target.tags.get(TAG.TRUSTED_TYPES, "")  # approved with it
        if need := policy.abtest_requirement(alias):  # the A/B run it was judged on
            entry.evidence = abtest_evidence(name, target, need)
        entry = _move_alias(client, entry)
    _describe(client, entry)
    return entry


@speaks_for_server("rolling back")
def rollback(
    name: str,
    alias: str = "champion",
    *,
    by: str | None = None,
    reason: str | None = None,
    force: bool = False,
) -> AuditEntry:
    """Return ``alias`` to the version that held it before the current one, and record it.

    Promotions stack up and each rollback undoes one: after promoting v1, v2, v3, two rollbacks
    lead back to v1.

    Args:
        name: Registered model name.
        alias: The alias to move back (``champion``).
        by: Who rolls back.
        reason: Why (required: the audit log keeps it).
        force: Roll back although the audit chain is broken (recorded as forced).

    Returns:
        The :class:`AuditEntry` written to the audit log.

    Raises:
        ModelNotFoundError: no such model, or the earlier version was deleted.
        DataError: no reason was given (exit code 2: bad usage, not a refusal).
        GateError: there is no earlier holder to return to, or the audit chain is broken.
        RegistryError: the registry refused.
    """
    check_model_name(name)
    check_alias(alias)
    if not (reason or "").strip():
        raise DataError(f"rolling back {name}@{alias} needs a reason (reason=... / --reason).")
    if team_api.routed():
        return through_server("rollback", by, name=name, alias=alias, reason=reason, force=force)
    client = mlflow_client()
    actor = _actor(by, gate_policy(), f"roll back {name}")
    registered_model(client, name)
    signer_ready(keys.signer_for(actor))  # one who may not sign is refused before anything moves
    with _audit_lock(client, name, f"roll back {name}@{alias}"):
        _refuse_on_broken_chain(name, alias, force)
        current = _alias_holder(client, name, alias)
        # only the verified prefix of the chain: an unsealed, unsigned or forged entry never steers
        log = history(name, alias, verified_only=True)
        previous = previous_holder(log, current)
        if previous is None:
            raise GateError(
                f"{name}@{alias} has no earlier holder to return to (now: "
                f"{'v' + str(current) if current else 'none'}): promote a version instead."
            )
        target = get_version(name, previous)
        digest = _rollback_digest(name, target.version, log, force)
        entry = AuditEntry(
            time=utc_now("microseconds"),
            action="rollback",
            model=name,
            alias=alias,
            old_version=current,
            new_version=target.version,
            by=actor,
            reason=reason.strip(),
            forced=bool(force),
            checks_status=target.tags.get(CHECKS_STATUS_TAG) or NEVER_RAN,
        )
        entry.digest = digest
        entry.trusted_types = target.tags.get(TAG.TRUSTED_TYPES, "")
        entry = _move_alias(client, entry)
    _describe(client, entry)
    return entry


# --------------------------------------------------------------------------- helpers


def _judged(
    name: str,
    target: ModelVersion,
    alias: str,
    policy: GatePolicy,
    force: bool,
    digest: str | None = None,
) -> str:
    """``passed`` when the version's recorded check run is sealed to this artifact and satisfies
    the current policy; else a :class:`GateError` (or, forced, the status that says why not)."""
    problems = promotion_problems(name, target, policy, digest, alias=alias)
    if not problems:
        return "passed"
    if force:
        return "passed, not by the policy"
    if all("workbench abtest" in problem for problem in problems):  # the checks hold
        raise GateError(
            f"refused: {name} version {target.version} lacks the A/B evidence the gate policy "
            f"({policy.source}, {policy.hash}) requires for @{alias}: {'; '.join(problems)}. "
            "Each reason says what to run; or force with a reason."
        )
    raise GateError(
        f"refused: the checks of {name} version {target.version} do not hold as the gate policy "
        f"({policy.source}, {policy.hash}) requires: {'; '.join(problems)}. Run the policy's "
        f"suite (workbench check {version_uri(name, target.version)} --data FILE --target COL) "
        f"before promoting to @{alias}, or force with a reason."
    )


def promotion_problems(
    name: str,
    target: ModelVersion,
    policy: GatePolicy | None = None,
    digest: str | None = None,
    protected: list[str] | None = None,
    alias: str = "champion",
) -> list[str]:
    """Why ``promote`` would refuse ``target`` on its recorded checks (empty: it would promote).

    The check run must be a check run of this version (not tags copied from another), its
    ``checks.json`` unchanged since it was written (its SHA-256 on the run and the version), the
    artifact it judged the artifact the version holds now (the digest), and its numbers must meet
    ``policy`` (default: the workspace's). ``digest`` and ``protected`` spare the look-ups when the
    caller has just read them (the version's files' digest, its contract's protected attributes).
    Moving ``alias`` may need sealed A/B evidence too (:mod:`workbench.registry.evidence`).
    """
    policy = policy or gate_policy()
    status = target.tags.get(CHECKS_STATUS_TAG) or NEVER_RAN
    if status != "passed":
        return [f"its latest checks are {status}"]
    run_id = target.tags.get(CHECKS_RUN_TAG, "")
    report, run_tags, problems = _sealed_report(name, target, run_id)
    if report is None:
        return problems
    digest = digest or version_digest(name, target.version)
    judged = str(report.get("digest") or "")
    sha = target.tags[CHECKS_SHA_TAG]  # equal to the run's: _sealed_report saw to it
    problems += seal_problems(run_tags, name, target.version, judged, sha, run_id)
    if judged != digest:
        problems.append(
            f"artifact of v{target.version} changed after it was checked (the check run judged "
            f"{short(judged)}, the version holds {short(digest)})"
        )
    if protected is None:
        try:
            protected = list(model_contract(version_uri(name, target.version)).protected)
        except WorkbenchError as err:
            problems.append(f"its contract cannot be read ({err}), so its checks are unknown")
            protected = []
    problems += policy.judge(report, target.task or "classification", protected)
    if need := policy.abtest_requirement(alias):
        problems += abtest_problems(name, target, need, digest)
    return problems


def _sealed_report(
    name: str, target: ModelVersion, run_id: str
) -> tuple[dict[str, Any] | None, dict[str, str], list[str]]:
    """The check run's ``checks.json`` and its tags, when the run is this version's and unedited
    (else ``None`` and why)."""
    import hashlib
    import json
    import tempfile

    import mlflow

    client = mlflow_client()
    try:
        run = client.get_run(run_id)
    except Exception:
        return None, {}, [f"the check run {run_id or '(none)'} does not exist"]
    tags = run.data.tags
    own = (tags.get(TAG.KIND), tags.get(TAG.MODEL), tags.get(TAG.MODEL_VERSION))
    if own != ("checks", name, str(target.version)):
        return (
            None,
            tags,
            [
                f"the check run {run_id} is not a check run of {name} v{target.version} (it is one "
                f"of {own[1]} v{own[2]}): its tags were copied from another version"
            ],
        )
    sealed = target.tags.get(CHECKS_SHA_TAG, "")
    if not sealed or tags.get(CHECKS_SHA_TAG) != sealed:
        return (
            None,
            tags,
            [
                f"the check run {run_id} is not sealed to v{target.version} (no matching SHA-256 "
                f"of its {ARTIFACT.CHECKS_JSON}): run the checks again"
            ],
        )
    try:
        with tempfile.TemporaryDirectory(prefix="wb-gate-") as tmp:
            path = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{run.info.artifact_uri}/{ARTIFACT.CHECKS_JSON}", dst_path=tmp
            )
            data = Path(path).read_bytes()
    except Exception:
        return None, tags, [f"the check run {run_id} left no {ARTIFACT.CHECKS_JSON}"]
    where = f"{ARTIFACT.CHECKS_JSON} of the check run {run_id}"
    if hashlib.sha256(data).hexdigest() != sealed:
        return None, tags, [f"{where} was edited after it was written"]
    try:
        report = json.loads(data)
    except ValueError:
        return None, tags, [f"{where} does not parse"]
    about = (report.get("name"), str(report.get("version"))) if isinstance(report, dict) else None
    if about != (name, str(target.version)):
        return None, tags, [f"{where} is not about {name} v{target.version}"]
    if report.get("status") != "passed":
        return None, tags, [f"{where} says {report.get('status')}"]
    return report, tags, []


def _rollback_digest(name: str, version: int, log: Any, force: bool) -> str:
    """The digest of the version a rollback returns to, refused (unless forced) when its files
    differ from the ones its verified promotion recorded."""
    digest = version_digest(name, version)
    rows = log[(log["new_version"] == version) & log["digest"].fillna("").astype(bool)]
    recorded = str(rows.iloc[-1]["digest"]) if len(rows) else ""
    if recorded and recorded != digest and not force:
        raise GateError(
            f"refused: artifact of {name} v{version} changed after it was checked and promoted "
            f"(its files hash to {short(digest)}, the audit log recorded {short(recorded)}): "
            "rolling back would serve files nobody checked. Promote a checked version instead, "
            "or force with a reason."
        )
    return digest


def _refusal(name: str, target: ModelVersion, alias: str, status: str) -> str:
    uri = version_uri(name, target.version)
    if status == NEVER_RAN:
        return (
            f"refused: {name} version {target.version} has no checks on record. Run them first "
            f"(workbench check {uri} --data FILE --target COL), or force with a reason."
        )
    run = target.tags.get(CHECKS_RUN_TAG, "")
    failed = failed_checks(run) or target.tags.get(CHECKS_FAILED_TAG) or "unknown"  # run's first
    return (
        f"refused: the latest checks of {name} version {target.version} did not pass "
        f"(failing: {failed.replace(',', ', ')}; run {run}). Fix them and run the checks again "
        f"before promoting to @{alias}, or force with a reason."
    )


def _alias_holder(client: Any, name: str, alias: str) -> int | None:
    """The version ``alias`` points at; None only when the registry says it points nowhere (an
    unanswered request raises: an entry must never claim "none" for a holder it could not read)."""
    import mlflow

    try:
        return int(client.get_model_version_by_alias(name, alias).version)
    except mlflow.exceptions.MlflowException as err:
        if err.error_code in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"):
            return None
        raise


def _actor(by: str | None, policy: GatePolicy, what: str) -> str:
    """Who acts, as the audit records it: on a shared tracking server the authenticated user
    (:func:`~workbench._core.text.tracking_login`; a different ``by`` is refused), else ``by`` or the login name.
    When the gate policy names approvers, only they may promote or roll back."""
    authenticated = tracking_login()
    if current_workspace().shared and authenticated:
        if by and by.strip() != authenticated:
            raise UsageError(
                f"--by {by!r} is not the user logged in to the tracking server "
                f"({authenticated!r}): the audit records the authenticated user; leave --by out."
            )
        actor = authenticated
    else:
        actor = (by or "").strip() or user_name()
    if policy.approvers and actor not in policy.approvers:
        raise GateError(
            f"refused: {actor!r} may not {what}: the gate policy ({policy.source}) names the "
            f"approvers {', '.join(policy.approvers)}. Ask one of them."
        )
    return actor


@contextlib.contextmanager
def _audit_lock(client: Any, name: str, what: str) -> Iterator[None]:
    """Serialise alias moves of one model: read holder, move, record happen as one step.

    On a local store every process shares the workspace folder: a file lock. On a shared tracking
    server every promoter shares the server: the lock of :mod:`workbench.registry.audit_lock`.
    """
    ws = current_workspace()
    if ws.shared:
        with audit_lock(client, name, what):
            yield
        return
    with workspace_lock(ws.root):
        yield


def _refuse_on_broken_chain(name: str, alias: str, force: bool) -> None:
    check = verify_history(name, artifacts=False)  # moving off a changed artifact is the remedy
    if check.ok or force:
        return
    raise GateError(
        f"refused: {check.summary()}\nThe audit log of {name} cannot be trusted, so @{alias} is "
        "not moved. See `workbench history --verify`; force with a reason to act anyway (the "
        "entry records it)."
    )


def _describe(client: Any, entry: AuditEntry) -> None:
    """Rewrite the descriptions of the versions the move touched (a warning when it cannot)."""
    for version in {entry.new_version, entry.old_version} - {None}:
        refresh_description(entry.model, version, client)


def _move_alias(client: Any, entry: AuditEntry) -> AuditEntry:
    """Point the alias at the new version, then write the audit entry; undo the move if the
    entry cannot be written, so the alias never moves without a record."""
    name, alias = entry.model, entry.alias
    try:
        client.set_registered_model_alias(name, alias, str(entry.new_version))
    except Exception as err:
        raise RegistryError(
            f"pointing {name}@{alias} at version {entry.new_version} failed: {err}"
        ) from err
    try:
        entry.run_id = record(client, entry, chain_head(client, name))
    except Exception as err:
        try:
            if entry.old_version is None:
                client.delete_registered_model_alias(name, alias)
            else:
                client.set_registered_model_alias(name, alias, str(entry.old_version))
        except Exception:
            old = f"v{entry.old_version}" if entry.old_version is not None else "nothing"
            then = (
                f"@{alias} may point at v{entry.new_version} (it was {old}) without a complete "
                f"audit entry: `workbench history {name} --verify` says what the log lacks; "
                "once the server answers, promote again (force with a reason if it refuses)."
            )
            error = RegistryError(
                f"writing the audit entry for {name}@{alias} failed ({err}), and putting the "
                f"alias back failed too. {then}"
            )
            error.then = then  # type: ignore[attr-defined] - kept when the server's loss is said
            raise error from err
        raise RegistryError(
            f"writing the audit entry for {name}@{alias} failed ({err}); the alias was put "
            "back where it was. Retry once the tracking server answers."
        ) from err
    return entry
