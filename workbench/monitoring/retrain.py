"""The retrain policy: ask for retraining when drift keeps coming back (``k`` of the last ``n``
monitoring runs, the latest included), by tagging the model version
``workbench.retrain_requested = true``. Whoever retrains (or decides not to) clears the tag.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from typing import Any

from workbench._core.names import TAG
from workbench._core.remote import speaks_for_server
from workbench.errors import UsageError
from workbench.monitoring.history import monitoring_history
from workbench.monitoring.scoring import model_identity

__all__ = ["RETRAIN_TAG", "RetrainDecision", "apply_retrain_policy"]

#: The model version tag the policy sets.
RETRAIN_TAG = TAG.RETRAIN_REQUESTED


@dataclass
class RetrainDecision:
    """What :func:`apply_retrain_policy` decided.

    Attributes:
        requested: True when drift was found in ``k`` of the last ``n`` runs, the latest included.
        drifted: Drifted runs among the last ``n``.
        window: Runs looked at (at most ``n``).
        k, n: The policy.
        model_name, model_version: The version tagged (``workbench.retrain_requested``).
        reason: In plain words.

    Example:
        >>> RetrainDecision(False, 0, 0, 2, 3, reason="no model given").to_dict()["requested"]
        False
    """

    requested: bool
    drifted: int
    window: int
    k: int
    n: int
    model_name: str | None = None
    model_version: str | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        return asdict(self)

    def _repr_html_(self) -> str:
        colour = "#cf222e" if self.requested else "#1a7f37"
        return (
            f"<div class='wb-retrain-decision' style='color:{colour}'>"
            f"{html.escape(self.reason)}</div>"
        )


@speaks_for_server("applying the retrain policy")
def apply_retrain_policy(model: str | None, k: int = 2, n: int = 3) -> RetrainDecision:
    """Ask for retraining when drift was found in ``k`` of the last ``n`` monitoring runs of the
    model's version, the latest run included: sets tag ``workbench.retrain_requested`` on it.

    The tag is never removed here: whoever retrains (or decides not to) clears it. Runs on invalid
    data do not count.

    Args:
        model: A ``models:/name@alias`` or ``models:/name/3`` URI.
        k: Drifted runs needed.
        n: Window of latest runs.

    Raises:
        UsageError: ``k`` is not between 1 and ``n``.
        ModelNotFoundError: the model or alias does not exist.
    """
    if not 1 <= k <= n:
        raise UsageError(f"the policy needs 1 <= k <= n, got k={k}, n={n}")
    if not model:
        return RetrainDecision(False, 0, 0, k, n, reason="no model given: no retrain policy.")
    identity = model_identity(model)
    name, version = identity.name, identity.version
    hist = monitoring_history(name or model).frame
    if version is not None and len(hist):
        hist = hist[hist["model_version"] == str(version)]
    hist = hist[hist["status"] != "invalid"] if len(hist) else hist
    window = hist.tail(n)
    drifted = int(window["drift_detected"].sum()) if len(window) else 0
    latest = bool(window["drift_detected"].iloc[-1]) if len(window) else False
    requested = latest and drifted >= k
    label = f"{name} version {version}" if version else str(model)
    if requested:
        reason = (
            f"retraining requested for {label}: drift in {drifted} of the last {len(window)} "
            f"monitoring runs, the latest included (policy: {k} of {n})."
        )
        if name and version:
            _tag_version(name, version, reason)
    else:
        reason = (
            f"no retraining needed for {label}: drift in {drifted} of the last {len(window)} "
            f"runs{'' if latest else ', not in the latest'} (policy: {k} of {n})."
        )
    return RetrainDecision(requested, drifted, len(window), k, n, name, version, reason)


def _tag_version(name: str, version: str, reason: str) -> None:
    from workbench.workspace import mlflow_client

    client = mlflow_client()
    client.set_model_version_tag(name, version, RETRAIN_TAG, "true")
    client.set_model_version_tag(name, version, TAG.RETRAIN_REASON, reason[:500])
