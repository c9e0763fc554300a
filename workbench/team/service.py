"""The team server's service process: one promotion, rollback, check or policy change.

The server app (:mod:`workbench.team.app`) keeps ``python -m workbench.team.service --serve`` warm
(:mod:`workbench.team.worker`) and sends it one JSON job per line, as the server's service user, in the server's service workspace, signing as
the server (``WORKBENCH_SIGN_AS``) for the login that asked (``WORKBENCH_ACTING_FOR``). It runs the
workbench's own ``promote``, ``rollback`` or ``run_checks``, so the server judges exactly as a
local store does, and answers each job with one JSON line: the result, or the error's class and
message.

Example:
    >>> answer_of(ValueError("x"))["error_class"]
    'RegistryError'
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from workbench._core.text import ACTING_FOR_ENV
from workbench.errors import DataError, WorkbenchError
from workbench.team.worker import MARK

__all__ = ["answer_of", "handle", "main", "set_policy"]


def main(argv: list[str] | None = None) -> int:
    """Run the action named in ``argv`` on the job read from stdin and print the answer; with
    ``--serve``, answer one job per stdin line until stdin ends (a warm worker)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:
        for line in sys.stdin:
            try:
                message = json.loads(line)
            except ValueError:
                message = {}
            message = message if isinstance(message, dict) else {}
            _say(handle(str(message.get("action") or ""), message.get("job") or {}))
        return 0
    try:
        job = json.loads(sys.stdin.read() or "{}")
    except ValueError:
        job = {}
    answer = handle(argv[0] if argv else "", job)
    _say(answer)
    return 0 if "error_class" not in answer else 1


def handle(action: str, job: Any) -> dict[str, Any]:
    """The answer to one job: the action's result, or its error's class and message. The login
    the job acts for is set for this job only."""
    act = _ACTIONS.get(action)
    if act is None or not isinstance(job, dict):
        return answer_of(DataError(f"unknown service action {action!r}, or a job that is not JSON"))
    user = str(job.get("user") or "").strip()
    if user:
        os.environ[ACTING_FOR_ENV] = user
    else:
        os.environ.pop(ACTING_FOR_ENV, None)
    try:
        return act(job)
    except BaseException as err:  # noqa: BLE001 - every failure is answered, none is lost
        return answer_of(err)
    finally:
        os.environ.pop(ACTING_FOR_ENV, None)


def _say(answer: dict[str, Any]) -> None:
    sys.stdout.write(MARK + json.dumps(answer, default=str) + "\n")
    sys.stdout.flush()


def answer_of(err: BaseException) -> dict[str, Any]:
    """The JSON answer for ``err``: its class and message when it is the workbench's own."""
    if isinstance(err, WorkbenchError):
        return {"error_class": type(err).__name__, "message": str(err)}
    traceback.print_exception(err, file=sys.stderr)
    return {
        "error_class": "RegistryError",
        "message": f"the team server failed ({type(err).__name__}: {err}); its log says more.",
    }


def _payload(job: dict[str, Any]) -> dict[str, Any]:
    payload = job.get("payload")
    if not isinstance(payload, dict):
        raise DataError("the request has no JSON payload")
    return payload


def _promote(job: dict[str, Any]) -> dict[str, Any]:
    import workbench as wb

    p = _payload(job)
    entry = wb.promote(
        str(p.get("name")),
        p.get("version"),
        str(p.get("alias") or "champion"),
        by=str(job.get("user") or ""),
        reason=p.get("reason"),
        force=p.get("force") is True,
    )
    return {"entry": entry.to_dict()}


def _rollback(job: dict[str, Any]) -> dict[str, Any]:
    import workbench as wb

    p = _payload(job)
    entry = wb.rollback(
        str(p.get("name")),
        str(p.get("alias") or "champion"),
        by=str(job.get("user") or ""),
        reason=p.get("reason"),
        force=p.get("force") is True,
    )
    return {"entry": entry.to_dict()}


#: What a check request may set, and the types it must have (``allow_pickle`` never: the server
#: never loads a format that runs code).
_CHECK_OPTIONS: dict[str, tuple[type, ...]] = {
    "protected": (list, str),
    "thresholds": (dict,),
    "serving": (bool,),
    "positive_label": (str, int, float, bool),
}


def _check(job: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    import workbench as wb
    from workbench.workspace import mlflow_client

    p = _payload(job)
    try:
        data = pd.read_parquet(job["data"])
    except Exception as err:
        raise DataError(
            f"the eval table sent to the team server does not read as Parquet ({err})"
        ) from err
    options = {k: p[k] for k in _CHECK_OPTIONS if p.get(k) is not None}
    for key, value in options.items():
        if not isinstance(value, _CHECK_OPTIONS[key]):
            raise DataError(f"the check option {key} has the wrong type ({type(value).__name__})")
    for metric, bar in (options.get("thresholds") or {}).items():
        if isinstance(bar, bool) or not isinstance(bar, (int, float)):
            raise DataError(f"the threshold of {str(metric)[:100]!r} must be a number")
    report = wb.run_checks(
        str(p.get("model_uri")), data=data, target=p.get("target"), progress=False, **options
    )
    if report.run_id:
        mlflow_client().set_tag(report.run_id, "workbench.checks.data_sha256", job["data_sha256"])
    return {
        "run_id": report.run_id,
        "report": report.to_dict(),
        "gate": report.gate,
        "model_card": report.model_card,
        "data_sha256": job["data_sha256"],
    }


def set_policy(root: Path, payload: dict[str, Any]) -> dict[str, Any]:
    """Write the server's gate policy and settings under ``root`` (the service workspace) after
    validating them; the previous files stay when anything is wrong.

    ``payload`` may hold ``gate_policy`` (what ``gate_policy.json`` holds), ``approvers``
    (shorthand for the policy's), ``protected_aliases`` and ``check_timeout``.
    """
    import tempfile

    from workbench._core.refs import check_alias
    from workbench._core.results import atomic_write
    from workbench.registry.policy import POLICY_FILE, gate_policy
    from workbench.team.app import settings
    from workbench.team.state import TeamPaths

    paths = TeamPaths(root.parent)
    policy = payload.get("gate_policy") or _current(root / POLICY_FILE)
    if not isinstance(policy, dict):
        raise DataError("gate_policy must be a JSON object (what gate_policy.json holds)")
    policy = dict(policy)
    if payload.get("approvers") is not None:
        policy["approvers"] = _names(payload["approvers"], "approvers")
    with tempfile.TemporaryDirectory() as tmp:  # validate exactly as the gate will read it
        (Path(tmp) / POLICY_FILE).write_text(json.dumps(policy))
        gate_policy(tmp)
    current = settings(paths)
    if payload.get("protected_aliases") is not None:
        aliases = _names(payload["protected_aliases"], "protected_aliases")
        for alias in aliases:
            check_alias(alias)
        if not aliases:
            raise DataError("protected_aliases may not be empty: name at least one (champion)")
        current["protected_aliases"] = aliases
    if payload.get("check_timeout") is not None:
        limit = payload["check_timeout"]
        if isinstance(limit, bool) or not isinstance(limit, (int, float)):
            raise DataError("check_timeout must be a number of seconds")
        if not 10 <= limit <= 86_400:
            raise DataError(f"check_timeout {limit} is out of range: 10 to 86400 seconds")
        current["check_timeout"] = limit
    root.mkdir(parents=True, exist_ok=True)
    atomic_write(root / POLICY_FILE, json.dumps(policy, indent=2) + "\n")
    atomic_write(paths.settings, json.dumps(current, indent=2) + "\n")
    return {"policy": gate_policy(root).to_dict(), "settings": current}


def _names(value: Any, key: str) -> list[str]:
    """A list of names, or a clear error (a string is not split into letters)."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise DataError(f'{key} must be a list of names, e.g. ["approver"]')
    return [v.strip() for v in value]


def _current(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


_ACTIONS = {"promote": _promote, "rollback": _rollback, "check": _check}


if __name__ == "__main__":
    raise SystemExit(main())
