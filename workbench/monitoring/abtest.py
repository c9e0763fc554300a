"""Champion against challenger on logged traffic: an A/B verdict a data scientist can act on.

``workbench abtest NAME --since 7d`` (``wb.abtest``) reads the model's inference log, where a
served experiment (``workbench serve URI --challenger URI --split 10`` or ``--shadow``) wrote the
champion's rows under the arm ``main`` and the challenger's under ``challenger`` (``shadow``), with
the labels that came back (``workbench feedback``):

* **with labels**: each arm's per-request score (correct or not for a classifier: accuracy; the
  absolute error for a regressor: MAE), the difference with an always-valid confidence interval
  (:mod:`~workbench.monitoring.abstats`: looking every day does not inflate false verdicts), and
  the labelled requests still needed for the smallest effect the user names;
* **before labels**: the prediction mix of each arm and how far apart they are, the agreement on
  the same requests (shadow), and each arm's performance estimated from its probabilities;
* the verdict, ``better``, ``worse`` or ``not yet known``, is logged to MLflow as a sealed run of
  the challenger's version (:func:`~workbench.registry.evidence.record_abtest`): the gate policy
  may require it before ``@champion`` moves. Guardrail cuts in the window are listed.

Example:
    >>> result = ABTest("credit-risk", "split", "1", "2", verdict="not yet known")
    >>> result.exit_code
    0
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from workbench._core.results import Result
from workbench.errors import DataError

__all__ = ["ABTest", "abtest"]

#: Arms of a served experiment: the champion's, and the challenger's in each mode.
MAIN, SPLIT_ARM, SHADOW_ARM = "main", "challenger", "shadow"


@dataclass
class ABTest(Result):
    """What ``abtest`` found: requests, errors and labels per arm, the comparison, the verdict.

    Attributes:
        name: The registered model.
        mode: ``split`` (the arms answered different requests) or ``shadow`` (the same ones).
        champion_version, challenger_version: The versions compared (the latest of each arm).
        requests, errors, labelled: Per arm: requests seen, refused or failed, labelled rows.
        latency_ms: Per arm: the p50 and p99 of the answered requests' latency.
        comparison: The labelled comparison (``abstats.ArmComparison.to_dict``), or ``None``.
        agreement: Shadow only: the share of requests both arms answered alike.
        mix: The two arms' prediction mixes and their distance.
        estimated: Per arm, the performance estimated from the probabilities (no labels).
        guardrail: The guardrail's cuts in the window.
        verdict: ``better``, ``worse`` or ``not yet known``.
        run_id: The MLflow run that records it (sealed to the challenger's version).

    Example:
        >>> r = ABTest("credit-risk", "split", "3", "4", labelled={"main": 80, "challenger": 20})
        >>> r.summary().splitlines()[-1], r.exit_code
        ('verdict: challenger not yet known', 0)
    """

    FILE_NAME: ClassVar[str] = "abtest.json"

    name: str
    mode: str
    champion_version: str
    challenger_version: str
    since: str = ""
    until: str = ""
    requests: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    labelled: dict[str, int] = field(default_factory=dict)
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    comparison: dict[str, Any] | None = None
    agreement: dict[str, Any] | None = None
    mix: dict[str, Any] | None = None
    estimated: dict[str, Any] = field(default_factory=dict)
    guardrail: list[dict[str, Any]] = field(default_factory=list)
    verdict: str = "not yet known"
    run_id: str | None = None

    @property
    def exit_code(self) -> int:
        """3 when the challenger is worse (an alert may act on it), else 0."""
        return 3 if self.verdict == "worse" else 0

    def summary(self) -> str:
        """A few lines: the arms, the comparison and the verdict."""
        other = SHADOW_ARM if self.mode == "shadow" else SPLIT_ARM
        lines = [
            f"A/B test of {self.name}: v{self.challenger_version} ({other}) against "
            f"v{self.champion_version} (main), {self.mode} mode, {self.since} to {self.until}",
        ]
        for arm in (MAIN, other):
            latency = self.latency_ms.get(arm) or {}
            lines.append(
                f"  {arm}: {self.requests.get(arm, 0)} requests, {self.errors.get(arm, 0)} "
                f"refused or failed, {self.labelled.get(arm, 0)} labelled; p50 "
                f"{_num(latency.get('p50'))} ms, p99 {_num(latency.get('p99'))} ms"
            )
        c = self.comparison
        if c and c.get("n_main") and c.get("n_challenger"):
            sign = "+" if (c["difference"] or 0) >= 0 else ""
            lines.append(
                f"  {c['metric']}: main {_num(c['main'])}, challenger {_num(c['challenger'])}; "
                f"difference {sign}{_num(c['difference'])} (challenger better when positive), "
                f"{100 * (1 - c['alpha']):g}% always-valid interval {_num(c['lower'])} to "
                f"{_num(c['upper'])}"
            )
            if c.get("more_needed"):
                lines.append(
                    f"  about {c['more_needed']} more labelled requests to tell the effect"
                )
        else:
            lines.append(
                "  no labelled requests in both arms yet: workbench feedback NAME --data F"
            )
        if self.agreement:
            lines.append(f"  agreement on the same requests: {self.agreement['rate']:.1%}")
        if self.mix:
            lines.append(
                f"  prediction mix distance {self.mix['distance']:.3f} "
                f"(chi-square p = {self.mix['p_value']:.3g})"
            )
        for arm, figures in self.estimated.items():
            shown = ", ".join(f"{k} {_num(v)}" for k, v in figures.items())
            lines.append(f"  estimated without labels, {arm}: {shown}")
        for cut in self.guardrail:
            lines.append(f"  guardrail cut the challenger off: {cut.get('reason', '')}")
        lines.append(f"verdict: challenger {self.verdict}")
        if self.run_id:
            lines.append(f"recorded as MLflow run {self.run_id}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        other = SHADOW_ARM if self.mode == "shadow" else SPLIT_ARM
        versions = {MAIN: self.champion_version, other: self.challenger_version}
        head = ["arm", "version", "requests", "refused or failed", "labelled", "p50 ms", "p99 ms"]
        cells = []
        for arm in (MAIN, other):
            latency = self.latency_ms.get(arm) or {}
            values = [arm, f"v{versions[arm]}", self.requests.get(arm, 0),
                      self.errors.get(arm, 0), self.labelled.get(arm, 0),
                      _num(latency.get("p50")), _num(latency.get("p99"))]  # fmt: skip
            cells.append("".join(f"<td>{html.escape(str(v))}</td>" for v in values))
        table = (
            "<table class='wb-abtest-arms'><tr>"
            + "".join(f"<th>{html.escape(h)}</th>" for h in head)
            + "</tr>"
            + "".join(f"<tr>{c}</tr>" for c in cells)
            + "</table>"
        )
        colour = {"better": "#1a7f37", "worse": "#cf222e"}.get(self.verdict, "#9a6700")
        lines = self.summary().splitlines()[len(cells) + 1 : -1]
        notes = "".join(f"<li>{html.escape(line.strip())}</li>" for line in lines)
        return (
            f"<div class='wb-abtest'><b>{html.escape(self.summary().splitlines()[0])}</b>"
            f"{table}<ul>{notes}</ul><b class='wb-abtest-verdict' style='color:{colour}'>"
            f"verdict: challenger {html.escape(self.verdict)}</b></div>"
        )

    def evidence(self, digests: dict[str, str]) -> dict[str, Any]:
        """The dict the gate reads (:func:`~workbench.registry.evidence.record_abtest`)."""
        return {
            "kind": "abtest", "name": self.name, "mode": self.mode,
            "champion_version": self.champion_version,
            "challenger_version": self.challenger_version,
            "champion_digest": digests.get(MAIN, ""), "challenger_digest": digests.get("other", ""),
            "since": self.since, "until": self.until, "requests": self.requests,
            "labelled": self.labelled, "comparison": self.comparison, "verdict": self.verdict,
            "errors": self.errors, "agreement": self.agreement, "mix": self.mix,
        }  # fmt: skip


def _num(value: Any) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else (
        f"{value:.4g}"
    )  # fmt: skip


def abtest(
    model: str,
    since: str | datetime | None = "7d",
    *,
    folder: str | Path | None = None,
    alpha: float = 0.05,
    margin: float = 0.0,
    min_effect: float | None = None,
    record: bool = True,
    by: str | None = None,
) -> ABTest:
    """Compare the champion's and the challenger's logged traffic since ``since``.

    Args:
        model: The model's name or a ``models:/`` URI.
        since: ``7d``, ``24h``, a datetime (UTC), or None for the whole log.
        folder: The inference log (default: the workspace's ``inference/<model>/``).
        alpha: The chance the interval ever misses the true difference, however often you look.
        margin: The loss "not worse" tolerates (the gate's ``not_worse`` requirement).
        min_effect: The smallest difference worth telling apart (``more_needed`` counts to it).
        record: Log the verdict to MLflow, sealed to the challenger's version (the gate reads it).
        by: Who records it (default: the workbench's user).

    Raises:
        DataError: no challenger traffic in the window (the message says how to start one).
    """
    from workbench._core.refs import model_name_of
    from workbench.monitoring.abstats import agreement, compare_arms, mix_difference
    from workbench.monitoring.traffic import labelled_traffic, parse_since

    log = labelled_traffic(model, since, folder=folder)
    name = model_name_of(model) or str(model)
    counts = log["arm"].value_counts()
    other = SHADOW_ARM if counts.get(SHADOW_ARM, 0) > counts.get(SPLIT_ARM, 0) else SPLIT_ARM
    if not counts.get(other, 0) or not counts.get(MAIN, 0):
        raise DataError(
            f"the inference log of {name} holds no traffic of both a champion and a challenger "
            f"since {since}: serve them together (workbench serve models:/{name}@champion "
            f"--challenger models:/{name}@challenger --split 10, or --shadow) or widen --since."
        )
    arms = {arm: _latest_version(log[log["arm"] == arm]) for arm in (MAIN, other)}
    contract = _contract(name, arms[MAIN]["version"].iloc[0])
    task = getattr(contract, "task", None) or _guess_task(log)
    metric, higher = ("accuracy", True) if task != "regression" else ("mae", False)
    answered = {arm: rows[rows["status"] == 200] for arm, rows in arms.items()}
    scores = {arm: _scores(rows, task) for arm, rows in answered.items()}
    result = ABTest(
        name=name,
        mode="shadow" if other == SHADOW_ARM else "split",
        champion_version=str(arms[MAIN]["version"].iloc[0]),
        challenger_version=str(arms[other]["version"].iloc[0]),
        since=_iso(parse_since(since) or log["time"].min()),
        until=_iso(datetime.now(UTC)),
        requests={arm: int(rows["request_id"].nunique()) for arm, rows in arms.items()},
        errors={
            arm: int(rows.loc[rows["status"] != 200, "request_id"].nunique())
            for arm, rows in arms.items()
        },
        labelled={arm: int(s.notna().sum()) for arm, s in scores.items()},
        latency_ms={arm: _latency(rows) for arm, rows in answered.items()},
    )
    if min(result.labelled.values()) > 0:
        result.comparison = compare_arms(
            scores[MAIN].dropna().to_numpy(), scores[other].dropna().to_numpy(),
            metric=metric, higher_is_better=higher, alpha=alpha, margin=margin,
            min_effect=min_effect,
        ).to_dict()  # fmt: skip
        result.verdict = result.comparison["verdict"]
    predictions = {
        arm: rows["prediction"] for arm, rows in answered.items() if "prediction" in rows
    }
    if len(predictions) == 2 and all(len(p) for p in predictions.values()):
        binned = _binned(predictions, task)
        result.mix = mix_difference(binned[MAIN], binned[other]).to_dict()
        if other == SHADOW_ARM:
            paired = answered[MAIN].merge(answered[other], on=["request_id", "row"])
            if len(paired):
                result.agreement = agreement(
                    paired["prediction_x"].to_numpy(), paired["prediction_y"].to_numpy()
                ).to_dict()
    result.estimated = {
        arm: figures
        for arm, rows in answered.items()
        if (figures := _estimated(rows, _contract(name, arms[arm]["version"].iloc[0])))
    }
    result.guardrail = _cuts(folder, name, parse_since(since))
    if record:
        from workbench.registry.evidence import record_abtest
        from workbench.registry.resolved import version_digest

        digests = {
            MAIN: version_digest(name, result.champion_version),
            "other": version_digest(name, result.challenger_version),
        }
        result.run_id = record_abtest(name, result.evidence(digests), by=by)
    return result


def _latency(rows: pd.DataFrame) -> dict[str, float]:
    """The p50 and p99 of one arm's answered requests (ms); empty when none has a latency."""
    values = pd.to_numeric(rows.get("latency_ms"), errors="coerce").dropna()
    if values.empty:
        return {}
    return {"p50": float(values.quantile(0.5)), "p99": float(values.quantile(0.99))}


def _latest_version(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of the arm's latest version (a new challenger may have started in the window)."""
    latest = rows.loc[rows["time"].idxmax(), "version"]
    return rows[rows["version"] == latest]


def _contract(name: str, version: Any) -> Any:
    from workbench.registry import contract_if_any

    try:
        return contract_if_any(f"models:/{name}/{version}")
    except Exception:  # a model that was deleted since: the traffic is still there
        return None


def _guess_task(log: pd.DataFrame) -> str:
    proba = any(str(c).startswith("proba_") for c in log.columns)
    return "classification" if proba else "regression"


def _scores(rows: pd.DataFrame, task: str) -> pd.Series:
    """Per answered row: 1/0 correct (classifier) or the absolute error (regressor); NaN where
    no label came back."""
    labels = rows["label"]
    known = labels.notna()
    out = pd.Series(np.nan, index=rows.index, dtype=float)
    if not known.any() or "prediction" not in rows:
        return out
    predicted, truth = rows.loc[known, "prediction"], labels[known]
    if task == "regression":
        out[known] = (pd.to_numeric(predicted) - pd.to_numeric(truth)).abs().to_numpy()
    else:
        out[known] = [float(_same(p, t)) for p, t in zip(predicted, truth, strict=True)]
    return out


def _same(predicted: Any, label: Any) -> bool:
    """A prediction equals its label: 1 and 1.0 and "1" alike."""
    try:
        return float(predicted) == float(label)
    except (TypeError, ValueError):
        return str(predicted) == str(label)


def _binned(predictions: dict[str, pd.Series], task: str) -> dict[str, np.ndarray]:
    """Class labels as text; a regressor's values in the main arm's deciles."""
    if task != "regression":
        return {arm: p.astype(str).to_numpy() for arm, p in predictions.items()}
    edges = np.unique(np.quantile(pd.to_numeric(predictions[MAIN]), np.linspace(0, 1, 11)))
    return {
        arm: np.digitize(pd.to_numeric(p), edges[1:-1]).astype(str)
        for arm, p in predictions.items()
    }


def _estimated(rows: pd.DataFrame, contract: Any) -> dict[str, float]:
    """The arm's accuracy, precision and recall estimated from its probabilities (binary)."""
    from workbench.monitoring.estimation import estimate_performance

    positive = getattr(contract, "positive_label", None)
    column = f"proba_{positive}"
    if contract is None or column not in rows or not len(rows):
        return {}
    proba = pd.to_numeric(rows[column], errors="coerce")
    if proba.isna().any():
        return {}
    decided = rows["prediction"].map(lambda p: _same(p, positive)).to_numpy()
    found = estimate_performance(
        proba.to_numpy(), decided, getattr(contract, "calibration", None) or {}
    )
    return {
        metric: figures["value"]
        for metric, figures in found.items()
        if isinstance(figures, dict) and figures.get("value") is not None
    }


def _cuts(folder: Any, name: str, start: datetime | None) -> list[dict]:
    """The guardrail's cut records in the log's ``_events`` folder, within the window."""
    from workbench.serving.inference_log import traffic_folder

    root = traffic_folder(f"models:/{name}@champion", folder if folder is not None else True)
    found = []
    for path in sorted((root / "_events").glob("guardrail-*.json")):
        try:
            event = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if start is None or float(event.get("time", 0)) >= start.timestamp():
            found.append(event)
    return found


def _iso(moment: Any) -> str:
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.floor("s").isoformat()
