"""The gate policy: which checks must have run and passed, and how high the bars are.

"Passed" means the workspace's policy, not whatever suite someone chose to run. The default policy
requires the default suite's checks (fairness when the model's contract names protected attributes)
and the default metric bars; a team may tighten it in ``gate_policy.json`` at the workspace root
(higher bars, more required checks, the approvers of a team server), never loosen it.

``promote`` judges the version's latest recorded check run against the *current* policy, by its
numbers: every required check present and passed (a warning passes), each metric's measured value
held to the policy's own bar (whatever bar the run was held to), and every result that carries a
typed value, bar and comparison agreeing with its status (an edited ``checks.json`` that says
"pass" over a failing number is refused). Display text (``threshold``, ``detail``) is never read.
A run that skipped a check, or measured ROC AUC 0.47 where the policy says 0.65, is refused (or
forced, with a reason, and recorded as forced).

The policy file is validated: known keys only (at every level), known tasks and metrics, every bar
a finite number in its metric's range. A NaN, an out-of-range bar or a typo is refused (exit 2),
naming the key.

A policy may also require an A/B verdict before ``@champion`` moves (``"abtest": {"require":
"better" | "not_worse", "margin": 0.0, "min_labelled": 200}``): the challenger measured better
(or not worse than the champion by more than ``margin``) over at least ``min_labelled`` labelled
requests, judged from sealed evidence (:mod:`workbench.registry.evidence`). Absent: not required.

Example:
    >>> policy = GatePolicy()
    >>> "safe_artifact" in policy.required_checks("classification")
    True
    >>> report = {"results": [{"name": "metric_roc_auc", "status": "pass", "value": 0.47}]}
    >>> policy.judge(report, "classification")[-1]
    'metric_roc_auc is 0.47, the policy requires >= 0.65'
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench._core.tasks import CLASSIFICATION_METRICS, LOWER_IS_BETTER, REGRESSION_METRICS
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
_KEYS = ("thresholds", "required", "fairness_when_protected", "approvers", "abtest")
#: The A/B requirement's keys and defaults (``require`` has none: it must be said).
_ABTEST_DEFAULTS = {"margin": 0.0, "min_labelled": 200}
_ABTEST_REQUIRE = ("better", "not_worse")
_METRICS = {"classification": CLASSIFICATION_METRICS, "regression": REGRESSION_METRICS}
#: The values a bar of each metric may take: scores in [0, 1], R2 up to 1, errors from 0.
_RANGES = {m: (0.0, 1.0) for m in CLASSIFICATION_METRICS} | {
    "log_loss": (0.0, math.inf),
    "rmse": (0.0, math.inf),
    "mae": (0.0, math.inf),
    "r2": (-math.inf, 1.0),
}
_COMPARE = {">=": lambda v, b: v >= b, "<=": lambda v, b: v <= b}


@dataclass
class GatePolicy:
    """What a version's recorded checks must show before it may be promoted.

    Attributes:
        thresholds: Task -> metric -> bar (a minimum for scores, a maximum for errors).
        required: Check names every promotion needs (beside the metric checks).
        fairness_when_protected: Require ``fairness_gap`` when the contract names protected
            attributes.
        approvers: Users who may promote and roll back (empty: anyone with write access).
        abtest: The A/B verdict ``@champion`` needs (``require``, ``margin``, ``min_labelled``),
            or None: none needed.
        source: Where it came from (``default`` or the file).
    """

    thresholds: dict[str, dict[str, float]] = field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_THRESHOLDS.items()}
    )
    required: list[str] = field(default_factory=lambda: list(DEFAULT_REQUIRED))
    fairness_when_protected: bool = True
    approvers: list[str] = field(default_factory=list)
    abtest: dict[str, Any] | None = None
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
        if self.abtest is not None:  # only then: policies without one keep their hash
            content["abtest"] = self.abtest
        text = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def abtest_requirement(self, alias: str) -> dict[str, Any] | None:
        """The A/B verdict moving ``alias`` needs (only ``champion`` needs one), or None."""
        return dict(self.abtest) if self.abtest is not None and alias == "champion" else None

    def required_checks(self, task: str, protected: list[str] | tuple[str, ...] = ()) -> list[str]:
        """The check names a version of ``task`` must have passed."""
        names = [*self.required, *(f"metric_{m}" for m in self.thresholds.get(task, {}))]
        if protected and self.fairness_when_protected:
            names.append("fairness_gap")
        return list(dict.fromkeys(names))

    def judge(
        self, report: dict[str, Any], task: str, protected: list[str] | tuple[str, ...] = ()
    ) -> list[str]:
        """Why a recorded check run (``checks.json``) does not satisfy this policy (empty: it
        does), judged on its numbers: statuses of the required checks, each metric's value
        against the policy's bar, and each typed value against its own bar."""
        results = {r.get("name"): r for r in report.get("results", []) if isinstance(r, dict)}
        problems = []
        for name in self.required_checks(task, protected):
            result = results.get(name)
            if result is None:
                problems.append(f"required check {name} did not run")
            elif result.get("status") not in _PASSING:
                problems.append(f"{name} did not pass ({result.get('status')})")
        for result in results.values():
            contradiction = _contradiction(result)
            if contradiction:
                problems.append(contradiction)
        for metric, bar in self.thresholds.get(task, {}).items():
            result = results.get(f"metric_{metric}")
            if result is not None and result.get("status") in _PASSING:
                short = _below_bar(metric, result.get("value"), bar)
                if short:
                    problems.append(short)
        return problems

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields (what ``gate_policy.json`` holds), with the hash."""
        return {
            "thresholds": self.thresholds,
            "required": list(self.required),
            "fairness_when_protected": self.fairness_when_protected,
            "approvers": list(self.approvers),
            **({"abtest": dict(self.abtest)} if self.abtest is not None else {}),
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
        data = json.loads(path.read_text(), parse_constant=_no_constant(path))
    except ValueError as err:
        raise UsageError(f"{path} does not parse as JSON ({err}): fix or remove it.") from err
    policy = GatePolicy(source=str(path))
    _validated(data, path)
    for task, bars in (data.get("thresholds") or {}).items():
        policy.thresholds.setdefault(task, {}).update({m: float(v) for m, v in bars.items()})
    policy.required = list(dict.fromkeys([*policy.required, *(data.get("required") or [])]))
    if data.get("fairness_when_protected", True) is not True:
        raise UsageError(
            f"{path} turns off fairness_when_protected: a policy file may only tighten the gate."
        )
    policy.approvers = [str(a) for a in data.get("approvers") or []]
    if data.get("abtest") is not None:  # the default requires none: any requirement tightens
        policy.abtest = _ABTEST_DEFAULTS | data["abtest"]
        policy.abtest["margin"] = float(policy.abtest["margin"])
    _refuse_looser(policy, path)
    return policy


class _Constant:
    """A ``NaN`` or ``Infinity`` in the file: kept as itself, so validation names its key."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def _no_constant(path: Path):
    return _Constant


def _validated(data: Any, path: Path) -> None:
    """Refuse anything but the known keys, tasks and metrics, with finite bars in range."""
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a JSON object with the keys {', '.join(_KEYS)}.")
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise UsageError(f"{path} has unknown keys {unknown}: it takes {', '.join(_KEYS)}.")
    thresholds = data.get("thresholds") or {}
    if not isinstance(thresholds, dict):
        raise UsageError(f"{path}: thresholds must map a task to its metric bars.")
    for task, bars in thresholds.items():
        if task not in _METRICS:
            raise UsageError(
                f"{path}: thresholds.{task} is not a task: use {' or '.join(_METRICS)}."
            )
        if not isinstance(bars, dict):
            raise UsageError(f"{path}: thresholds.{task} must map metrics to bars.")
        for metric, bar in bars.items():
            key = f"thresholds.{task}.{metric}"
            if metric not in _METRICS[task]:
                raise UsageError(
                    f"{path}: {key} is not a {task} metric: use one of {', '.join(_METRICS[task])}."
                )
            if isinstance(bar, bool) or not isinstance(bar, int | float) or not math.isfinite(bar):
                raise UsageError(f"{path}: {key} is {bar!r}: a bar must be a finite number.")
            low, high = _RANGES[metric]
            if not low <= bar <= high:
                raise UsageError(
                    f"{path}: {key} is {bar:g}, outside the metric's range [{low:g}, {high:g}]."
                )
    for key in ("required", "approvers"):
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise UsageError(f"{path}: {key} must be a list of names.")
    if not isinstance(data.get("fairness_when_protected", True), bool):
        raise UsageError(f"{path}: fairness_when_protected must be true or false.")
    if data.get("abtest") is not None:
        _validated_abtest(data["abtest"], path)


def _validated_abtest(spec: Any, path: Path) -> None:
    """Refuse an A/B requirement that is not ``require`` plus a finite margin >= 0 and a whole
    ``min_labelled`` >= 1."""
    known = ("require", *_ABTEST_DEFAULTS)
    if not isinstance(spec, dict):
        raise UsageError(f"{path}: abtest must be an object with the keys {', '.join(known)}.")
    unknown = sorted(set(spec) - set(known))
    if unknown:
        names = ", ".join(f"abtest.{k}" for k in unknown)
        raise UsageError(f"{path} has unknown keys {names}: abtest takes {', '.join(known)}.")
    if spec.get("require") not in _ABTEST_REQUIRE:
        raise UsageError(
            f"{path}: abtest.require is {spec.get('require')!r}: use "
            f"{' or '.join(repr(r) for r in _ABTEST_REQUIRE)}."
        )
    margin = spec.get("margin", 0.0)
    if _number(margin) is None or margin < 0:
        raise UsageError(
            f"{path}: abtest.margin is {margin!r}: it must be a finite number >= 0 (the most "
            "the challenger may fall short of the champion)."
        )
    least = spec.get("min_labelled", _ABTEST_DEFAULTS["min_labelled"])
    if isinstance(least, bool) or not isinstance(least, int) or least < 1:
        raise UsageError(
            f"{path}: abtest.min_labelled is {least!r}: it must be a whole number >= 1 (labelled "
            "challenger requests)."
        )


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


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _below_bar(metric: str, value: Any, bar: float) -> str | None:
    """Why ``value`` of ``metric`` does not meet the policy's ``bar`` (None: it does)."""
    op = "<=" if metric in LOWER_IS_BETTER else ">="
    number = _number(value)
    if number is None:
        return f"metric_{metric} recorded no finite value ({value!r}): the gate cannot judge it"
    if _COMPARE[op](number, bar):
        return None
    return f"metric_{metric} is {number:.4g}, the policy requires {op} {bar:g}"


def _contradiction(result: dict[str, Any]) -> str | None:
    """A result whose typed numbers say fail while its status says pass (an edited record)."""
    op, bar = result.get("op"), _number(result.get("bar"))
    if op not in _COMPARE or bar is None or result.get("status") not in _PASSING:
        return None
    value = _number(result.get("value"))
    if value is not None and _COMPARE[op](value, bar):
        return None
    return (
        f"{result.get('name')} says {result.get('status')}, but its value {result.get('value')!r} "
        f"is not {op} {bar:g}: the record was edited"
    )
