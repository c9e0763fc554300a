"""The parts every check shares: ``Check``, ``CheckResult`` and ``CheckReport``.

A check stores its settings in ``__init__`` and does its work in ``run(context)`` (a
:class:`~workbench.checks.context.CheckContext`), returning a :class:`CheckResult` with one of four
statuses:

* ``pass``: the model meets the bar;
* ``warn``: worth a look, but it does not block promotion;
* ``fail``: the model must not be promoted as it is;
* ``error``: the check could not run (its detail says why); it blocks promotion too.

A :class:`CheckReport` follows the workbench's result protocol (``to_dict``, atomic ``save``,
``load``, ``log``, ``_repr_html_``).
"""

from __future__ import annotations

import html
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from workbench._core.names import ARTIFACT
from workbench._core.results import Result, atomic_write, jsonable, plain, utc_now
from workbench.errors import CheckError, DataError, GateError, UsageError

if TYPE_CHECKING:
    from workbench.checks.context import CheckContext

__all__ = ["STATUSES", "Check", "CheckReport", "CheckResult"]

#: The statuses a check can end with, best first.
STATUSES = ("pass", "warn", "fail", "error")
_COLOURS = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e", "error": "#8250df"}
_BACKGROUNDS = {"pass": "#dafbe1", "warn": "#fff8c5", "fail": "#ffebe9", "error": "#fbefff"}
_DIGITS = 6  # values and tables in checks.json are rounded to this many decimals


@dataclass
class CheckResult:
    """The outcome of one check.

    Attributes:
        name: The check's name (``metric_roc_auc``, ``fairness_gap``...).
        status: ``pass``, ``warn``, ``fail`` or ``error``.
        value: What was measured (a number, or a short text).
        threshold: The bar it was held to, as people read it (display only).
        detail: One or two plain sentences: what was found and what to do.
        table: Optional details (per column, per slice, per metric).
        seconds: How long the check took.
        bar: The bar as a number, when the check has one (what the gate reads).
        op: How ``value`` is compared with ``bar``: ``">="`` or ``"<="``.

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
    bar: float | None = None
    op: str | None = None

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
            "value": plain(self.value, _DIGITS),
            "threshold": plain(self.threshold, _DIGITS),
            "detail": self.detail,
            "seconds": round(self.seconds, 4),
            "table": None if self.table is None else _records(self.table),
            "bar": plain(self.bar),
            "op": self.op,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        """A result from what :meth:`to_dict` wrote."""
        table = data.get("table")
        return cls(
            name=data["name"],
            status=data["status"],
            value=data.get("value"),
            threshold=data.get("threshold"),
            detail=data.get("detail", ""),
            table=None if table is None else pd.DataFrame(table),
            seconds=float(data.get("seconds") or 0.0),
            bar=data.get("bar"),
            op=data.get("op"),
        )

    def _repr_html_(self) -> str:
        table = "" if self.table is None else _frame_html(self.table)
        return f"{_badge(self.status)} <b>{html.escape(self.name)}</b>: {html.escape(self.detail)}{table}"


@dataclass
class CheckReport(Result):
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
        model_card: The model card, in Markdown.
        policy_hash: The gate policy the run was judged by.
        data_hash: A short SHA-256 of the eval table.
        digest: SHA-256 over every file of the model folder that was checked.
        gate: Why the gate would refuse to promote on this run (empty: promotable; ``None``: not
            judged). The summary's last line says it: ``check``'s verdict is the gate's.

    Example:
        >>> rep = CheckReport("models:/m/1", [CheckResult("a", "pass"), CheckResult("b", "fail")])
        >>> rep.passed, rep.failed
        (False, ['b'])
    """

    FILE_NAME: ClassVar[str] = ARTIFACT.CHECKS_JSON

    model_uri: str
    results: list[CheckResult]
    name: str | None = None
    version: int | None = None
    champion_version: int | None = None
    comparison: pd.DataFrame | None = None
    eval_rows: int = 0
    seconds: float = 0.0
    created: str = field(default_factory=utc_now)
    run_id: str | None = None
    model_card: str | None = None
    policy_hash: str = ""
    data_hash: str = ""
    allow_pickle: bool = False
    digest: str = ""
    gate: list[str] | None = None

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
                    "value": plain(r.value, _DIGITS),
                    "threshold": plain(r.threshold, _DIGITS),
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
            "policy_hash": self.policy_hash,
            "data_hash": self.data_hash,
            "allow_pickle": self.allow_pickle,
            "digest": self.digest,
            "comparison": None if self.comparison is None else _records(self.comparison),
            "results": [r.to_dict() for r in self.results],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], model_card: str | None = None) -> CheckReport:
        """A report from what :meth:`to_dict` wrote (``checks.json``)."""
        comparison = data.get("comparison")
        return cls(
            model_uri=data["model_uri"],
            results=[CheckResult.from_dict(r) for r in data.get("results", [])],
            name=data.get("name"),
            version=data.get("version"),
            champion_version=data.get("champion_version"),
            comparison=None if comparison is None else pd.DataFrame(comparison),
            eval_rows=int(data.get("eval_rows") or 0),
            seconds=float(data.get("seconds") or 0.0),
            created=data.get("created") or utc_now(),
            run_id=data.get("run_id"),
            model_card=model_card,
            policy_hash=data.get("policy_hash") or "",
            data_hash=data.get("data_hash") or "",
            allow_pickle=bool(data.get("allow_pickle")),
            digest=data.get("digest") or "",
        )

    def save(self, folder: str | os.PathLike) -> Path:
        """Write ``checks.json`` and ``checks.html`` (and ``model_card.md`` when there is one;
        ``plots/`` with the fairness slices drawn when the report has them).

        Each file is written atomically: a reader never sees half of one.

        Args:
            folder: Where to write them (created when missing).

        Returns:
            The folder.
        """
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(jsonable(self.to_dict()), indent=2, default=str)
        atomic_write(out / ARTIFACT.CHECKS_JSON, payload)
        atomic_write(out / ARTIFACT.CHECKS_HTML, self.html_page())
        if self.model_card:
            atomic_write(out / ARTIFACT.MODEL_CARD_MD, self.model_card)
        from workbench.checks.builtin.fairness_plot import PLOTS_FOLDER, save_report_plots

        save_report_plots(self, out / PLOTS_FOLDER)  # the fairness slices drawn, when there are
        return out

    @classmethod
    def load(cls, path: str | os.PathLike) -> CheckReport:
        """Read a report written by :meth:`save` (its folder, or its ``checks.json``)."""
        source = Path(path)
        if source.is_dir():
            source = source / ARTIFACT.CHECKS_JSON
        card = source.with_name(ARTIFACT.MODEL_CARD_MD)
        return cls.from_dict(
            json.loads(source.read_text()), card.read_text() if card.exists() else None
        )

    def log(self, run_id: str | None = None) -> str:
        """Log the saved files and the model card's HTML page to MLflow.

        Args:
            run_id: The run to log into (default: the active run).

        Returns:
            The SHA-256 of the ``checks.json`` logged (what the version records: an edited
            report no longer matches it).
        """
        import hashlib

        import mlflow

        from workbench.checks.card import card_html

        with tempfile.TemporaryDirectory(prefix="wb-checks-out-") as tmp:
            folder = self.save(tmp)
            atomic_write(folder / ARTIFACT.MODEL_CARD_HTML, card_html(self.model_card or ""))
            sha = hashlib.sha256((folder / ARTIFACT.CHECKS_JSON).read_bytes()).hexdigest()
            if run_id:
                mlflow.MlflowClient().log_artifacts(run_id, str(folder))
            else:
                mlflow.log_artifacts(str(folder))
        return sha

    def summary(self) -> str:
        """A few plain lines: one per check, then the verdict."""
        width = max((len(r.name) for r in self.results), default=10)
        lines = [
            f"{r.status.upper():5}  {r.name:<{width}}  {r.detail}".rstrip() for r in self.results
        ]
        what = f"{self.name} version {self.version}" if self.name else self.model_uri
        lines.append(
            f"{what}: {self.verdict_line()} ({self.seconds:.1f} s, {self.eval_rows} eval rows)"
        )
        return "\n".join(lines)

    @property
    def promotable(self) -> bool:
        """True when the checks passed and the gate would promote on this run."""
        return self.passed and not self.gate

    def verdict_line(self) -> str:
        """The gate's verdict in a few words (what ``workbench check`` prints last)."""
        policy = f"policy {self.policy_hash[:8]}" if self.policy_hash else "the gate policy"
        if not self.passed:
            return f"FAILED ({', '.join(self.failed)}): it may not be promoted"
        if self.gate:
            return f"checks passed but it cannot be promoted under {policy}: " + "; ".join(
                self.gate
            )
        if self.gate is None:
            return "PASSED (not judged against the gate policy)"
        return f"PASSED: promotable under {policy}"

    def verdict(self, fail: bool = False) -> None:
        """Print the summary (one line per check, then the verdict); with ``fail``, stop when the
        checks did not pass.

        A scheduled notebook ends with ``report.verdict(fail=True)``: ``workbench run`` then prints
        the verdict and exits with code 3 when the gate said no.

        Args:
            fail: Raise :class:`~workbench.errors.GateError` when the checks did not pass, or the
                gate would refuse to promote on them.

        Raises:
            GateError: ``fail`` is set and a check failed or could not run, or the gate policy
                would refuse the run (exit code 3).
        """
        print(self.summary(), flush=True)
        what = f"{self.name} version {self.version}" if self.name else self.model_uri
        if fail and not self.passed:
            raise GateError(
                f"{what} failed its pre-deployment checks ({', '.join(self.failed)}): it may not "
                "be promoted. Read the failing checks' details, fix the model or the data, and "
                "check it again."
            )
        if fail and self.gate:
            raise GateError(
                f"{what} passed its checks but the gate policy would refuse it: "
                f"{'; '.join(self.gate)}. Run the policy's suite on it before promoting."
            )

    def html_page(self) -> str:
        """The report as a stand-alone HTML page (``checks.html``)."""
        return f"<!doctype html><meta charset='utf-8'><title>checks</title>{self._repr_html_()}"

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
        colour = _COLOURS["pass" if self.promotable else "fail"]
        gate = (
            ""
            if self.gate is None
            else f"<div class='wb-gate-verdict' style='color:{colour};font-weight:bold'>"
            f"Gate: {html.escape(self.verdict_line())}</div>"
        )
        return (
            "<div class='wb-check-report'>"
            f"<h4 style='margin:4px 0'>Checks of {what}: {verdict}</h4>"
            f"<div>{self.eval_rows:,} eval rows &middot; {self.seconds:.1f} s{champion}</div>"
            f"{gate}"
            f"<table class='wb-check-table'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody>"
            "</table></div>"
        )


class Check:
    """A pre-deployment check: settings in ``__init__``, the work in ``run(context)``.

    Subclasses set ``name`` and ``protects`` (plain words: what could go wrong without it),
    store each ``__init__`` argument as an attribute of the same name (and nothing else), and
    implement :meth:`run`; the built-in checks also declare a ``failing_example()`` (see
    :mod:`workbench.checks.builtin`). Calling the check runs it safely: an exception becomes an ``error``
    result naming the check, never a crash of the whole suite.

    Example:
        >>> class AlwaysPass(Check):
        ...     name = "always_pass"
        ...     protects = "nothing at all"
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
        """Run the check and time it; an exception becomes an ``error`` result."""
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
        *,
        bar: float | None = None,
        op: str | None = None,
    ) -> CheckResult:
        """A :class:`CheckResult` named after this check (``bar`` and ``op``: the bar as a
        number and the comparison, for the gate to judge)."""
        return CheckResult(self.name, status, value, threshold, detail, table, bar=bar, op=op)

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({settings})"


# --------------------------------------------------------------------------- helpers


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return jsonable(frame.to_dict("records"), _DIGITS)


def _short(value: Any) -> str:
    value = plain(value, _DIGITS)
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
