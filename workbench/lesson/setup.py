"""Each lesson's starting state, made in the learner's own namespace (``prepare``).

Lesson 1 starts empty. Lesson 2 logs two challengers (a weak and a strong one) and an eval file
with a fault in it. Lesson 3 makes the strong one the champion (checked, then promoted) and writes
rows the server will refuse. Lesson 4 writes a reference batch and the batch of day 5. Lesson 5
logs a bad release, runs its checks (they fail) and forces it to ``@champion``. Every step is
skipped when its state is there already, so a setup cell can run again; versions it logs carry
``lesson.role``, and its promotions' reasons start with ``lesson setup:`` (the checks tell them
from the learner's).

Example:
    >>> from workbench.lesson.setup import refused_column
    >>> callable(refused_column)
    True
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from workbench._core.results import Result
from workbench.errors import UsageError
from workbench.lesson import state
from workbench.lesson.catalogue import LESSONS

__all__ = ["LESSONS", "Prepared", "prepare", "refused_column"]

_BAD_REQUEST = "bad_request.csv"


@dataclass
class Prepared(Result):
    """What a lesson starts from.

    Attributes:
        lesson: Its number.
        learner: Who works in it.
        model: The learner's model (``<learner>.credit-risk``).
        versions: The setup's versions by role (``{"weak": 1, "strong": 2}``).
        files: The lesson's data files by name.
    """

    FILE_NAME: ClassVar[str] = "lesson.json"

    lesson: int
    learner: str
    model: str
    versions: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    @property
    def champion_uri(self) -> str:
        """``models:/<model>@champion``."""
        return f"models:/{self.model}@champion"

    def uri(self, role: str) -> str:
        """``models:/<model>/<version>`` of the setup's version ``role`` (``"champion"``,
        ``"bad"``; ``"older"`` and ``"newer"`` name lesson 2's challengers)."""
        picked = {"older": 0, "newer": -1}
        if role in picked and self.challengers:
            return f"models:/{self.model}/{self.challengers[picked[role]]}"
        if role not in self.versions:
            raise UsageError(
                f"lesson {self.lesson} has no {role!r} version: it has "
                f"{', '.join(self.versions) or 'none'}"
            )
        return f"models:/{self.model}/{self.versions[role]}"

    @property
    def challengers(self) -> list[int]:
        """Lesson 2's two challengers, oldest first (which one is better is the exercise)."""
        return sorted(v for role, v in self.versions.items() if role in _HIDDEN)

    def _shown(self) -> list[tuple[str, str]]:
        shown = [("challengers", ", ".join(f"v{v}" for v in self.challengers))]
        shown = shown if self.challengers else []
        return shown + [
            (f"{role} version", f"v{v}") for role, v in self.versions.items() if role not in _HIDDEN
        ]

    def _repr_html_(self) -> str:
        rows = [f"<li>your model: <code>{html.escape(self.model)}</code></li>"]
        rows += [f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in self._shown()]
        rows += [
            f"<li>file <code>{html.escape(k)}</code>: {html.escape(Path(v).name)}</li>"
            for k, v in self.files.items()
        ]
        title = html.escape(LESSONS.get(self.lesson, ""))
        return (
            f"<div class='wb-lesson'><b>Lesson {self.lesson}: {title}</b> "
            f"(learner {html.escape(self.learner)})<ul>{''.join(rows)}</ul></div>"
        )

    def __repr__(self) -> str:
        extra = "; ".join(f"{k} {v}" for k, v in self._shown())
        return f"Lesson {self.lesson} for {self.learner}: model {self.model}" + (
            f" ({extra})" if extra else ""
        )


#: The challengers' roles: never shown, telling them apart is lesson 2's first exercise.
_HIDDEN = ("weak", "strong")


def prepare(lesson: int) -> Prepared:
    """Make lesson ``lesson``'s starting state in the learner's namespace (idempotent).

    Raises:
        UsageError: no such lesson.
    """
    from workbench.lesson.identity import learner_name, lesson_model

    if lesson not in LESSONS:
        raise UsageError(
            f"there is no lesson {lesson!r}: choose one of {', '.join(map(str, LESSONS))}"
        )
    model = lesson_model()
    folder = state.files_folder()
    folder.mkdir(parents=True, exist_ok=True)
    out = Prepared(lesson, learner_name(), model)
    if lesson >= 2:
        out.versions.update(_challengers(model))
        out.files["eval"] = str(_broken_eval(folder))
    if lesson >= 3:
        out.versions["champion"] = _champion(model, out.versions["strong"])
        out.files["bad request"] = str(_bad_request(folder))
    if lesson >= 4:
        out.files.update(_batches(folder))
    if lesson == 5:
        out.versions.update(_bad_release(model))
    if lesson > 2:
        out.files.pop("eval", None)
    return out


def refused_column() -> str | None:
    """The numeric column of the lesson's bad request file that holds text where numbers belong."""
    import pandas as pd

    path = state.files_folder() / _BAD_REQUEST
    if not path.exists():
        return None
    frame = pd.read_csv(path, dtype=str)
    for column in (c for c in _NUMERIC if c in frame.columns):
        values = frame[column].dropna()
        if len(values) and pd.to_numeric(values, errors="coerce").isna().mean() > 0.5:
            return column
    return None


#: The request's columns a model reads as numbers (one of them is the lesson's fault).
_NUMERIC = ("age", "income", "loan_amount", "loan_term_months", "credit_history_years")


def _train(model: str, family: str, seed: int, role: str, **kwargs: Any) -> int:
    from workbench.data import credit_risk
    from workbench.training import train_and_log
    from workbench.workspace import mlflow_client

    mv = train_and_log(
        credit_risk(3000, seed=seed), "default", name=model, family=family, alias=None,
        seed=seed, plots=False, **kwargs,
    )  # fmt: skip
    mlflow_client().set_model_version_tag(model, str(mv.version), state.ROLE_TAG, role)
    return int(mv.version)


def _challengers(model: str) -> dict[str, int]:
    roles = {k: int(v.version) for k, v in state.role_versions(model).items()}
    if "weak" not in roles:  # two inputs only: clearly worse, yet above the gate's bar
        keep = ("num_late_payments", "credit_history_years", "default", "age_band")
        from workbench.data import credit_risk

        drop = [c for c in credit_risk(5).columns if c not in keep]
        roles["weak"] = _train(model, "logistic_regression", 21, "weak", ignore=drop)
    if "strong" not in roles:
        roles["strong"] = _train(
            model, "gradient_boosting", 22, "strong", params={"n_estimators": 60}
        )
    return {"weak": roles["weak"], "strong": roles["strong"]}


def _broken_eval(folder: Path) -> Path:
    """2,000 fresh rows whose ``income`` was exported in thousands (a unit slip upstream)."""
    path = folder / "eval_broken.csv"
    if not path.exists():
        from workbench.data import credit_risk

        frame = credit_risk(2000, seed=23)
        frame["income"] = (frame["income"] / 1000).round(3)
        frame.to_csv(path, index=False)
    return path


def _champion(model: str, strong: int) -> int:
    from workbench.data import credit_risk
    from workbench.errors import WorkbenchError
    from workbench.registry import get_version, promote

    try:
        return int(get_version(model, "champion").version)
    except WorkbenchError:
        pass
    from workbench.checks import run_checks

    run_checks(f"models:/{model}/{strong}", data=credit_risk(2000, seed=24), target="default",
               progress=False)  # fmt: skip
    promote(model, strong, reason=f"{state.SETUP_REASON} the champion the lesson serves")
    return strong


def _bad_request(folder: Path) -> Path:
    """20 rows whose ``loan_amount`` was written as text with thousands separators."""
    path = folder / _BAD_REQUEST
    if not path.exists():
        from workbench.data import credit_risk

        frame = credit_risk(20, seed=25).drop(columns=["default", "application_date"])
        frame["loan_amount"] = frame["loan_amount"].map(lambda v: f"{v:,.2f} EUR")
        frame.to_csv(path, index=False)
    return path


def _batches(folder: Path) -> dict[str, str]:
    from workbench.data import production_batch

    files = {"reference": folder / "day1.csv", "day 5": folder / "day5.csv"}
    if not files["reference"].exists():
        production_batch(1, "none", n=1000, seed=26).to_csv(files["reference"], index=False)
    if not files["day 5"].exists():
        production_batch(5, "new_category", n=1000, seed=26).to_csv(files["day 5"], index=False)
    return {k: str(v) for k, v in files.items()}


def _bad_release(model: str) -> dict[str, int]:
    from workbench.checks import run_checks
    from workbench.data import credit_risk
    from workbench.registry import get_version, promote

    roles = {k: int(v.version) for k, v in state.role_versions(model).items()}
    if "bad" in roles and "good" in roles:
        return {"good": roles["good"], "bad": roles["bad"]}
    good = int(get_version(model, "champion").version)
    from workbench.workspace import mlflow_client

    mlflow_client().set_model_version_tag(model, str(good), state.GOOD_TAG, "true")
    shuffled = credit_risk(3000, seed=27)
    shuffled["default"] = shuffled["default"].sample(frac=1.0, random_state=27).to_numpy()
    from workbench.training import train_and_log

    mv = train_and_log(shuffled, "default", name=model, family="logistic_regression", alias=None,
                       seed=27, plots=False)  # fmt: skip
    mlflow_client().set_model_version_tag(model, str(mv.version), state.ROLE_TAG, "bad")
    run_checks(mv.model_uri, data=credit_risk(2000, seed=28), target="default", progress=False)
    promote(model, mv.version, force=True,
            reason=f"{state.SETUP_REASON} released on a Friday evening, checks not read")  # fmt: skip
    return {"good": good, "bad": int(mv.version)}
