"""The parts every check shares: ``Check``, ``CheckResult``, ``CheckReport`` and ``CheckContext``.

A check stores its settings in ``__init__`` and does its work in ``run(context)``, returning a
:class:`CheckResult` with one of four statuses:

* ``pass``: the model meets the bar;
* ``warn``: worth a look, but it does not block promotion;
* ``fail``: the model must not be promoted as it is;
* ``error``: the check could not run (its detail says why); it blocks promotion too.
"""

from __future__ import annotations

import html
import json
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import CheckError, DataError, UsageError

__all__ = ["STATUSES", "Check", "CheckContext", "CheckReport", "CheckResult"]

#: The statuses a check can end with, best first.
STATUSES = ("pass", "warn", "fail", "error")
_COLOURS = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e", "error": "#8250df"}
_BACKGROUNDS = {"pass": "#dafbe1", "warn": "#fff8c5", "fail": "#ffebe9", "error": "#fbefff"}
#: Metrics where a lower value is better.
LOWER_IS_BETTER = frozenset({"rmse", "mae", "log_loss"})


@dataclass
class CheckResult:
    """The outcome of one check.

    Attributes:
        name: The check's name (``metric_roc_auc``, ``fairness_gap``...).
        status: ``pass``, ``warn``, ``fail`` or ``error``.
        value: What was measured (a number, or a short text).
        threshold: The bar it was held to.
        detail: One or two plain sentences: what was found and what to do.
        table: Optional details (per column, per slice, per metric).
        seconds: How long the check took.

    Example:
        >>> r = CheckResult("metric_roc_auc", "pass", 0.81, ">= 0.7", "ROC AUC 0.81")
        >>> r.ok, r.to_dict()["status"]
        (True, 'pass')
    """

    name: str
    status: str
    value: Any = None
    threshold: Any = None
    detail: str = ""
    table: pd.DataFrame | None = None
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise UsageError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")

    @property
    def ok(self) -> bool:
        """True for ``pass`` and ``warn``: the result does not block promotion."""
        return self.status in ("pass", "warn")

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields (the table as a list of records)."""
        return {
            "name": self.name,
            "status": self.status,
            "value": _plain(self.value),
            "threshold": _plain(self.threshold),
            "detail": self.detail,
            "seconds": round(self.seconds, 4),
            "table": None if self.table is None else _records(self.table),
        }

    def _repr_html_(self) -> str:
        table = "" if self.table is None else _frame_html(self.table)
        return f"{_badge(self.status)} <b>{html.escape(self.name)}</b>: {html.escape(self.detail)}{table}"


@dataclass
class CheckReport:
    """The results of a suite on one model version.

    Attributes:
        model_uri: The candidate that was checked.
        results: One :class:`CheckResult` per check, in suite order.
        name: Registered model name (``None`` for a model outside the registry).
        version: Version number checked.
        champion_version: The ``@champion`` it was compared with, if any.
        comparison: Candidate and champion metrics on the same eval data (metric, candidate,
            champion, delta).
        eval_rows: Rows of eval data.
        seconds: Wall time of the suite.
        created: UTC time the suite ran.
        run_id: The MLflow run holding ``checks.json``, ``checks.html`` and the model card.

    Example:
        >>> rep = CheckReport("models:/m/1", [CheckResult("a", "pass"), CheckResult("b", "fail")])
        >>> rep.passed, rep.failed
        (False, ['b'])
    """

    model_uri: str
    results: list[CheckResult]
    name: str | None = None
    version: int | None = None
    champion_version: int | None = None
    comparison: pd.DataFrame | None = None
    eval_rows: int = 0
    seconds: float = 0.0
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    run_id: str | None = None
    model_card: str | None = None

    @property
    def passed(self) -> bool:
        """True when no check failed or errored (warnings do not block)."""
        return bool(self.results) and all(r.ok for r in self.results)

    @property
    def status(self) -> str:
        """``passed`` or ``failed``, as the version's ``workbench.checks.status`` tag says."""
        return "passed" if self.passed else "failed"

    @property
    def failed(self) -> list[str]:
        """Names of the checks that failed or could not run."""
        return [r.name for r in self.results if not r.ok]

    def __getitem__(self, name: str) -> CheckResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(f"no check named {name!r} in this report: {', '.join(self.names())}")

    def names(self) -> list[str]:
        """Names of the checks, in suite order."""
        return [r.name for r in self.results]

    def to_frame(self) -> pd.DataFrame:
        """One row per check: name, status, value, threshold, detail, seconds."""
        return pd.DataFrame(
            [
                {
                    "check": r.name,
                    "status": r.status,
                    "value": _plain(r.value),
                    "threshold": _plain(r.threshold),
                    "detail": r.detail,
                    "seconds": round(r.seconds, 3),
                }
                for r in self.results
            ],
            columns=["check", "status", "value", "threshold", "detail", "seconds"],
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields, as written to ``checks.json``."""
        return {
            "model_uri": self.model_uri,
            "name": self.name,
            "version": self.version,
            "status": self.status,
            "passed": self.passed,
            "failed": self.failed,
            "champion_version": self.champion_version,
            "eval_rows": self.eval_rows,
            "seconds": round(self.seconds, 3),
            "created": self.created,
            "run_id": self.run_id,
            "comparison": None if self.comparison is None else _records(self.comparison),
            "results": [r.to_dict() for r in self.results],
        }

    def save(self, folder: str | os.PathLike) -> Path:
        """Write ``checks.json`` and ``checks.html`` (and ``model_card.md`` when there is one)
        into ``folder`` and return it."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        (out / "checks.json").write_text(json.dumps(self.to_dict(), indent=2, default=str))
        page = f"<!doctype html><meta charset='utf-8'><title>checks</title>{self._repr_html_()}"
        (out / "checks.html").write_text(page)
        if self.model_card:
            (out / "model_card.md").write_text(self.model_card)
        return out

    def summary(self) -> str:
        """A few plain lines: one per check, then the verdict."""
        width = max((len(r.name) for r in self.results), default=10)
        lines = [
            f"{r.status.upper():5}  {r.name:<{width}}  {r.detail}".rstrip() for r in self.results
        ]
        what = f"{self.name} version {self.version}" if self.name else self.model_uri
        verdict = (
            "PASSED: it may be promoted"
            if self.passed
            else f"FAILED ({', '.join(self.failed)}): it may not be promoted"
        )
        lines.append(f"{what}: {verdict} ({self.seconds:.1f} s, {self.eval_rows} eval rows)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        what = (
            f"{html.escape(self.name)} version {self.version}"
            if self.name
            else html.escape(self.model_uri)
        )
        verdict = _badge("pass" if self.passed else "fail", self.status.upper())
        rows = "".join(
            f"<tr class='wb-check-row wb-check-{r.status}' style='background:{_BACKGROUNDS[r.status]}'>"
            f"<td>{_badge(r.status)}</td><td><b>{html.escape(r.name)}</b></td>"
            f"<td>{html.escape(_short(r.value))}</td><td>{html.escape(_short(r.threshold))}</td>"
            f"<td>{html.escape(r.detail)}</td></tr>"
            for r in self.results
        )
        head = "".join(
            f"<th style='text-align:left'>{h}</th>"
            for h in ("status", "check", "value", "threshold", "detail")
        )
        champion = (
            f" &middot; compared with @champion version {self.champion_version}"
            if self.champion_version
            else ""
        )
        return (
            "<div class='wb-check-report'>"
            f"<h4 style='margin:4px 0'>Checks of {what}: {verdict}</h4>"
            f"<div>{self.eval_rows:,} eval rows &middot; {self.seconds:.1f} s{champion}</div>"
            f"<table class='wb-check-table'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody>"
            "</table></div>"
        )


class Check:
    """A pre-deployment check: settings in ``__init__``, the work in ``run(context)``.

    Subclasses set ``name`` and ``protects`` (one plain sentence: what could go wrong without it)
    and implement :meth:`run`. Calling the check runs it safely: an exception becomes an ``error``
    result naming the check, never a crash of the whole suite.

    Example:
        >>> class AlwaysPass(Check):
        ...     name = "always_pass"
        ...     def run(self, context):
        ...         return self.result("pass", detail="nothing to see")
        >>> AlwaysPass()(None).status
        'pass'
    """

    name = "check"
    protects = ""

    def run(self, context: CheckContext) -> CheckResult:
        """Run the check on ``context`` and return its result."""
        raise NotImplementedError

    def __call__(self, context: CheckContext) -> CheckResult:
        started = time.perf_counter()
        try:
            result = self.run(context)
        except (CheckError, DataError) as err:
            result = self.result("error", detail=f"could not run: {err}")
        except Exception as err:  # a check must never take the suite down with it
            result = self.result("error", detail=f"could not run: {type(err).__name__}: {err}")
        result.seconds = time.perf_counter() - started
        return result

    def result(
        self,
        status: str,
        value: Any = None,
        threshold: Any = None,
        detail: str = "",
        table: pd.DataFrame | None = None,
    ) -> CheckResult:
        """A :class:`CheckResult` named after this check."""
        return CheckResult(self.name, status, value, threshold, detail, table)

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({settings})"


@dataclass
class CheckContext:
    """What the checks look at. :func:`workbench.run_checks` builds it from a model URI;
    :meth:`from_model` builds one from an in-memory estimator (checks before logging).

    Attributes:
        model: The candidate as a scikit-learn estimator (for metrics and probabilities).
        data: The eval features as given (target removed).
        target: The eval labels (``None`` when there are none).
        task: ``classification`` or ``regression``.
        signature: The model's MLflow signature (``None`` when it has none).
        profile: The training-data profile (see :mod:`workbench.checks.profile`).
        champion: The current ``@champion`` as an estimator, or ``None``.
        champion_version: Its version number.
        pyfunc: The candidate as MLflow's pyfunc (what the server runs), or ``None``.
        reference: Rows and the predictions the model made on them when it was logged.
        artifact_dir: Local copy of the logged model's files.
        model_uri: The candidate's URI.
        name: Registered model name.
        version: Version number.
        expected_extra: Columns the model drops on purpose (dates, ids): not a schema problem.
        description: The version's description (the model card's intended use).
    """

    model: Any
    data: pd.DataFrame
    target: pd.Series | None
    task: str
    signature: Any = None
    profile: dict[str, Any] | None = None
    champion: Any = None
    champion_version: int | None = None
    pyfunc: Any = None
    reference: dict[str, Any] | None = None
    artifact_dir: Path | None = None
    model_uri: str = ""
    name: str | None = None
    version: int | None = None
    expected_extra: tuple[str, ...] = ()
    description: str = ""
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_model(
        cls,
        model: Any,
        data: pd.DataFrame,
        target: str | pd.Series | None = None,
        *,
        train: pd.DataFrame | None = None,
        champion: Any = None,
    ) -> CheckContext:
        """A context for an in-memory fitted estimator (no registry involved).

        Args:
            model: A fitted scikit-learn estimator or Pipeline.
            data: Eval data, with the target column when ``target`` names one.
            target: The target column name, or the labels.
            train: Training features: the profile and the signature are taken from them.
            champion: Another fitted estimator to compare with.
        """
        from workbench.checks.profile import training_profile
        from workbench.registry import _task_of, signature_frame

        x, y = _split(data, target)
        signature = profile = None
        if train is not None:
            from mlflow.models import infer_signature

            sig_frame = signature_frame(train)
            signature = infer_signature(sig_frame, model.predict(sig_frame.head(20)))
            profile = training_profile(sig_frame)
        return cls(
            model=model,
            data=x,
            target=y,
            task=_task_of(model),
            signature=signature,
            profile=profile,
            champion=champion,
            champion_version=None,
        )

    @property
    def x(self) -> pd.DataFrame:
        """The eval features the model takes, cast to its signature's types.

        Raises:
            DataError: the eval data does not match the signature (see the schema check).
        """
        if "x" not in self._cache:
            from workbench.data import conform_to_signature

            frame = self.data.drop(columns=[c for c in self.expected_extra if c in self.data])
            self._cache["x"] = conform_to_signature(
                frame, self.signature, allow_extra=True, what="the eval data"
            )
        return self._cache["x"]

    def input_types(self) -> dict[str, str]:
        """Column -> MLflow type name (``double``, ``long``, ``string``...) from the signature."""
        inputs = getattr(self.signature, "inputs", None)
        if inputs is None or not inputs.has_input_names():
            return {str(c): _kind_of(self.data[c]) for c in self.data.columns}
        return {spec.name: str(spec.type).split(".")[-1].lower() for spec in inputs.inputs}

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        """Predictions as served: through the pyfunc model when there is one."""
        model = self.pyfunc if self.pyfunc is not None else self.model
        return np.asarray(model.predict(x))

    def metrics(self, which: str = "candidate") -> dict[str, float]:
        """Metrics of the candidate (or the ``champion``) on the eval data, computed once."""
        from workbench.registry import evaluate

        key = f"metrics_{which}"
        if key not in self._cache:
            if self.target is None:
                raise CheckError("the eval data has no target column: metrics need labels.")
            model = self.model if which == "candidate" else self.champion
            if model is None:
                raise CheckError(f"there is no {which} model to evaluate.")
            x = self.x
            champion_signature = self._cache.get("champion_signature")
            if which == "champion" and champion_signature is not None:
                from workbench.data import conform_to_signature

                x = conform_to_signature(
                    self.data, champion_signature, allow_extra=True, what="the eval data"
                )
            self._cache[key] = evaluate(model, x, self.target, self.task)
        return self._cache[key]


# --------------------------------------------------------------------------- helpers


def _split(data: pd.DataFrame, target: str | pd.Series | None):
    from workbench.data import split_xy

    if isinstance(target, str):
        return split_xy(data, target)
    return data, target


def _kind_of(col: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(col.dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(col.dtype):
        return "long"
    if pd.api.types.is_numeric_dtype(col.dtype):
        return "double"
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return "datetime"
    return "string"


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, float):
        return round(value, 6)
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _short(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _badge(status: str, text: str | None = None) -> str:
    return (
        f"<span class='wb-status-{status}' style='color:white;background:{_COLOURS[status]};"
        f"border-radius:4px;padding:0 6px;font-weight:bold'>{html.escape(text or status)}</span>"
    )


def _frame_html(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", classes="wb-check-detail")
