"""The team server's service process: one promotion, rollback, check or policy change.

The server app (:mod:`workbench.team.app`) runs ``python -m workbench.team.service ACTION`` with
a JSON job on stdin, as the server's service user, in the server's service workspace, signing as
the server (``WORKBENCH_SIGN_AS``) for the login that asked (``WORKBENCH_ACTING_FOR``). It runs the
workbench's own ``promote``, ``rollback`` or ``run_checks``, so the server judges exactly as a
local store does, and prints one JSON line: the result, or the error's class and message.

Example:
    >>> answer_of(ValueError("x"))["error_class"]
    'RegistryError'
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

from workbench.errors import DataError, WorkbenchError

__all__ = ["answer_of", "main", "set_policy"]


def main(argv: list[str] | None = None) -> int:
    """Run the action named in ``argv`` on the job read from stdin; print the JSON answer."""
    argv = sys.argv[1:] if argv is None else argv
    action = argv[0] if argv else ""
    try:
        job = json.loads(sys.stdin.read() or "{}")
        answer = _ACTIONS[action](job)
    except KeyError as err:
        answer = answer_of(DataError(f"unknown service action {action!r} ({err})"))
    except BaseException as err:  # noqa: BLE001 - every failure is answered, none is lost
        answer = answer_of(err)
    print(json.dumps(answer, default=str))
    return 0 if "error_class" not in answer else 1


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
        force=bool(p.get("force")),
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
        force=bool(p.get("force")),
    )
    return {"entry": entry.to_dict()}


_CHECK_OPTIONS = ("protected", "thresholds", "serving", "positive_label", "allow_pickle")


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
    policy = dict(payload.get("gate_policy") or _current(root / POLICY_FILE))
    if payload.get("approvers") is not None:
        policy["approvers"] = [str(a) for a in payload["approvers"]]
    with tempfile.TemporaryDirectory() as tmp:  # validate exactly as the gate will read it
        (Path(tmp) / POLICY_FILE).write_text(json.dumps(policy))
        gate_policy(tmp)
    current = settings(paths)
    if payload.get("protected_aliases") is not None:
        aliases = [str(a) for a in payload["protected_aliases"]]
        for alias in aliases:
            check_alias(alias)
        if not aliases:
            raise DataError("protected_aliases may not be empty: name at least one (champion)")
        current["protected_aliases"] = aliases
    if payload.get("check_timeout") is not None:
        limit = float(payload["check_timeout"])
        if not 10 <= limit <= 86_400:
            raise DataError(f"check_timeout {limit} is out of range: 10 to 86400 seconds")
        current["check_timeout"] = limit
    root.mkdir(parents=True, exist_ok=True)
    atomic_write(root / POLICY_FILE, json.dumps(policy, indent=2) + "\n")
    atomic_write(paths.settings, json.dumps(current, indent=2) + "\n")
    return {"policy": gate_policy(root).to_dict(), "settings": current}


def _current(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


_ACTIONS = {"promote": _promote, "rollback": _rollback, "check": _check}


if __name__ == "__main__":
    raise SystemExit(main())
