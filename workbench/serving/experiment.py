"""A challenger tried on real traffic: the settings of a served experiment, and its start.

``wb.serve("models:/credit-risk@champion", challenger="models:/credit-risk@challenger", split=10)``
starts two servers: the challenger's on a port of its own, then the champion's, which users call
and which sends 10% of requests to the challenger (sticky by the contract's identifier, else by
request) or, with ``shadow=True``, answers every request itself and mirrors it to the challenger.
Both log to the model's one inference log, the challenger's rows under the arm ``challenger``
(``shadow``), so ``workbench abtest`` can compare them. A guardrail cuts the challenger off when
its error rate or p99 crosses a bound; the cut is logged and alerted. See ``_split`` for what
happens inside the champion's server.

Example:
    >>> Experiment("models:/credit-risk@challenger", split=10).mode
    'split'
    >>> Experiment("models:/credit-risk@challenger", split=10, shadow=True)
    Traceback (most recent call last):
    ...
    workbench.errors.UsageError: choose one: --split PCT sends a share of traffic to the challenger, --shadow mirrors all of it (the champion answers).
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import UsageError

__all__ = ["Experiment", "cut_record", "start_pair"]


@dataclass
class Experiment:
    """How a challenger meets traffic.

    Attributes:
        challenger: The challenger's model URI (``models:/credit-risk@challenger``).
        split: Percent of requests the challenger answers (0 < split < 100), or 0 with ``shadow``.
        shadow: Mirror every request to the challenger; the champion answers them all.
        max_error_rate: The guardrail's bound on the challenger's error rate (0-1).
        max_p99: The guardrail's bound on the challenger's p99 latency, in seconds.
        notify: Alert targets for a cut (webhook URLs, email addresses).
    """

    challenger: str
    split: float = 0.0
    shadow: bool = False
    max_error_rate: float = 0.05
    max_p99: float = 1.0
    notify: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not str(self.challenger or "").strip():
            raise UsageError(
                "give the challenger's model URI, e.g. models:/credit-risk@challenger."
            )
        self.split = _number("--split", self.split, 0.0, 100.0)
        if self.shadow and self.split:
            raise UsageError(
                "choose one: --split PCT sends a share of traffic to the challenger, --shadow "
                "mirrors all of it (the champion answers)."
            )
        if not self.shadow and not 0 < self.split < 100:
            raise UsageError(
                f"--split {self.split:g} sends {'no' if self.split <= 0 else 'all'} traffic to "
                "the challenger: give a percent between 0 and 100 (10 sends one request in ten), "
                "or --shadow."
            )
        self.max_error_rate = _number("--guard-errors", self.max_error_rate, 0.0, 1.0)
        self.max_p99 = _number("--guard-p99", self.max_p99, 0.0, math.inf)
        if self.max_p99 <= 0:
            raise UsageError("--guard-p99 must be a number of seconds above 0, e.g. 1.0.")
        from workbench._core.notify import check_targets

        self.notify = check_targets(list(self.notify or []))

    @property
    def mode(self) -> str:
        """``split`` or ``shadow``."""
        return "shadow" if self.shadow else "split"

    @property
    def arm(self) -> str:
        """The arm the challenger's rows carry in the inference log."""
        return "shadow" if self.shadow else "challenger"

    def route(self, challenger: Any, state: str) -> dict[str, Any]:
        """The champion's server's ``route`` settings, once the challenger's server is launched
        (its URL and version known); the champion adds its own version and identifiers."""
        from workbench.workspace import current_workspace

        folder = challenger.traffic_folder  # the champion's log too
        events = folder / "_events" if folder else current_workspace().reports_dir / "guardrail"
        return {
            "url": challenger.url, "challenger_version": challenger.version or "",
            "split": self.split, "shadow": self.shadow, "state": state, "events": str(events),
            "max_error_rate": self.max_error_rate, "max_p99": self.max_p99,
            "timeout": challenger.request_timeout, "notify": list(self.notify),
            "dead_letters": str(current_workspace().reports_dir / "notify-dead-letter"),
        }  # fmt: skip


def _number(flag: str, value: Any, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) or (high == math.inf and number == math.inf)):
        raise UsageError(f"{flag} must be a number, not {value!r}.")
    if not low <= number <= high:
        raise UsageError(f"{flag} {value!r} is outside {low:g} to {high:g}.")
    return number


def start_pair(champion: Any, experiment: Experiment) -> Any:
    """Launch the challenger's server (the champion's settings, its log, the challenger's
    arm), then the champion's with the route to it; wait for both. Either failing stops both.
    Returns the champion's server (a ``ModelServer``), which stops the challenger's too.

    Raises:
        UsageError: the champion runs plain ``mlflow models serve`` (no edge to split traffic).
    """
    from workbench.serving.inference_log import traffic_folder

    if not champion.gc_tuned:
        raise UsageError(
            "a challenger needs the workbench's server (gc_tuned=True): plain mlflow models "
            "serve cannot split or mirror traffic."
        )
    log = champion.traffic_log
    challenger = type(champion)(
        experiment.challenger, workers=champion.workers, timeout=champion.timeout,
        request_timeout=champion.request_timeout, allow_pickle=champion.allow_pickle,
        traffic_log=traffic_folder(champion.model_uri, log) if log is not False else False,
        log_exclude=champion.log_exclude, arm=experiment.arm, metrics=champion.metrics,
    )  # fmt: skip
    challenger.edge = champion.edge  # the same size cap (it hears only the champion's server)
    state = tempfile.mkdtemp(prefix="wb-experiment-")
    try:
        challenger.launch()
        champion.route = experiment.route(challenger, state)
        champion.launch()
        challenger.wait_until_ready()
        champion.wait_until_ready()
    except BaseException:
        for server in (champion, challenger):
            server.stop(grace=5)
        shutil.rmtree(state, ignore_errors=True)
        raise
    champion.challenger, champion.experiment_state = challenger, state
    return champion


def cut_record(state: str | None) -> dict[str, Any] | None:
    """The guardrail's cut (``cut.json`` of the experiment's state folder), or ``None``."""
    if not state:
        return None
    try:
        return json.loads((Path(state) / "cut.json").read_text())
    except (OSError, ValueError):
        return None
