"""The gate policy: which checks must have run and passed, and how high the bars are.

"Passed" means the workspace's policy, not whatever suite someone chose to run. The default policy
requires the default suite's checks (fairness when the model's contract names protected attributes)
and the default metric bars; a team may tighten it in ``gate_policy.json`` at the workspace root
(higher bars, more required checks, the approvers of a team server), never loosen it.

``promote`` judges the version's latest recorded check run against the *current* policy: every
required check present and passed (a warning passes), no metric bar looser than the policy's. A run
that skipped a check, or passed ``roc_auc >= 0`` where the policy says 0.65, is refused (or forced,
with a reason, and recorded as forced).

Example:
    >>> policy = GatePolicy()
    >>> "safe_artifact" in policy.required_checks("classification")
    True
    >>> report = {"results": [{"name": "metric_roc_auc", "status": "pass", "threshold": ">= 0"}]}
    >>> policy.judge(report, "classification")[0]
    'required check schema_contract did not run'
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench._core.tasks import LOWER_IS_BETTER
from workbench.errors import UsageError

__all__ = ["DEFAULT_REQUIRED", "DEFAULT_THRESHOLDS", "POLICY_FILE", "GatePolicy", "gate_policy"]

POLICY_FILE = "gate_policy.json"
#: Absolute metric bars of the default policy (scores: minimums; errors: maximums).
DEFAULT_THRESHOLDS = {"classification": {"roc_auc": 0.65}, "regression": {"r2": 0.0}}
#: Checks every promotion needs, beside one ``metric_<name>`` per bar.
DEFAULT_REQUIRED = (
    "schema_contract",
    "no_regression",
    "data_quality",
    "noise_stability",
    "handles_missing",
    "handles_unseen_categories",
    "latency",
    "reload_reproducibility",
    "safe_artifact",
)
_PASSING = ("pass", "warn")


@dataclass
class GatePolicy:
    """What a version's recorded checks must show before it may be promoted.

    Attributes:
        thresholds: Task -> metric -> bar (a minimum for scores, a maximum for errors).
        required: Check names every promotion needs (beside the metric checks).
        fairness_when_protected: Require ``fairness_gap`` when the contract names protected
            attributes.
        approvers: Users who may promote and roll back (empty: anyone with write access).
        source: Where it came from (``default`` or the file).
    """

    thresholds: dict[str, dict[str, float]] = field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_THRESHOLDS.items()}
    )
    required: list[str] = field(default_factory=lambda: list(DEFAULT_REQUIRED))
    fairness_when_protected: bool = True
    approvers: list[str] = field(default_factory=list)
    source: str = "default"

    @property
    def hash(self) -> str:
        """A short SHA-256 of the policy's content: what a check run and an audit entry record."""
        content = {
            "thresholds": self.thresholds,
            "required": sorted(self.required),
            "fairness_when_protected": self.fairness_when_protected,
            "approvers": sorted(self.approvers),
        }
        text = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def required_checks(self, task: str, protected: list[str] | tuple[str, ...] = ()) -> list[str]:
        """The check names a version of ``task`` must have passed."""
        names = [*self.required, *(f"metric_{m}" for m in self.thresholds.get(task, {}))]
        if protected and self.fairness_when_protected:
            names.append("fairness_gap")
        return list(dict.fromkeys(names))

    def judge(
        self, report: dict[str, Any], task: str, protected: list[str] | tuple[str, ...] = ()
    ) -> list[str]:
        """Why a recorded check run (``checks.json``) does not satisfy this policy (empty: it does)."""
        results = {r.get("name"): r for r in report.get("results", [])}
        problems = []
        for name in self.required_checks(task, protected):
            result = results.get(name)
            if result is None:
                problems.append(f"required check {name} did not run")
            elif result.get("status") not in _PASSING:
                problems.append(f"{name} did not pass ({result.get('status')})")
        for metric, bar in self.thresholds.get(task, {}).items():
            result = results.get(f"metric_{metric}")
            if result is None:
                continue  # said above
            looser = _looser(str(result.get("threshold") or ""), metric, bar)
            if looser:
                problems.append(looser)
        return problems

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields (what ``gate_policy.json`` holds), with the hash."""
        return {
            "thresholds": self.thresholds,
            "required": list(self.required),
            "fairness_when_protected": self.fairness_when_protected,
            "approvers": list(self.approvers),
            "hash": self.hash,
            "source": self.source,
        }


def gate_policy(root: str | os.PathLike | None = None) -> GatePolicy:
    """The workspace's gate policy: ``gate_policy.json`` at its root, else the default.

    Raises:
        UsageError: the file does not parse, names unknown keys, or loosens the default policy.
    """
    if root is None:
        from workbench.workspace import current_workspace

        root = current_workspace().root
    path = Path(root) / POLICY_FILE
    if not path.exists():
        return GatePolicy()
    try:
        data = json.loads(path.read_text())
    except ValueError as err:
        raise UsageError(f"{path} does not parse as JSON ({err}): fix or remove it.") from err
    unknown = set(data) - {"thresholds", "required", "fairness_when_protected", "approvers"}
    if not isinstance(data, dict) or unknown:
        raise UsageError(
            f"{path} has unknown keys {sorted(unknown)}: it takes thresholds, required, "
            "fairness_when_protected and approvers."
        )
    policy = GatePolicy(source=str(path))
    for task, bars in (data.get("thresholds") or {}).items():
        policy.thresholds.setdefault(task, {}).update({m: float(v) for m, v in bars.items()})
    policy.required = list(dict.fromkeys([*policy.required, *(data.get("required") or [])]))
    if data.get("fairness_when_protected", True) is not True:
        raise UsageError(
            f"{path} turns off fairness_when_protected: a policy file may only tighten the gate."
        )
    policy.approvers = [str(a) for a in data.get("approvers") or []]
    _refuse_looser(policy, path)
    return policy


def _refuse_looser(policy: GatePolicy, path: Path) -> None:
    for task, bars in DEFAULT_THRESHOLDS.items():
        for metric, default in bars.items():
            bar = policy.thresholds.get(task, {}).get(metric, default)
            lower = metric in LOWER_IS_BETTER
            if (bar > default) if lower else (bar < default):
                raise UsageError(
                    f"{path} sets {metric} {bar:g} for {task}, looser than the default "
                    f"{default:g}: a policy file may only tighten the gate."
                )


def _looser(recorded: str, metric: str, bar: float) -> str | None:
    lower = metric in LOWER_IS_BETTER
    found = re.search(r"(<=|>=)\s*(-?[0-9.eE+-]+)", recorded)
    if not found:
        return f"metric_{metric} ran without a bar the gate can read ({recorded!r})"
    value = float(found.group(2))
    if (value > bar) if lower else (value < bar):
        sign = "<=" if lower else ">="
        return (
            f"metric_{metric} was held to {found.group(1)} {value:g}, looser than the policy's "
            f"{sign} {bar:g}"
        )
    return None
