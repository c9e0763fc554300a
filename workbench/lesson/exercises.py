"""The lesson track's exercises, and **Check my work**: each check reads the real state (the
registry, the audit log, check runs, monitoring runs, the inference log) and says what is right,
what is not, and a hint. No answer is stored in a notebook: the checks compute it from the state.

``check(exercise, answer=None)`` runs one, records it in the learner's progress
(:mod:`~workbench.lesson.progress`) and returns an :class:`~workbench.lesson.answer.Answer`.

Example:
    >>> list(EXERCISES)[:3], EXERCISES["2.1"]
    (['1.1', '1.2', '1.3'], 'Promote the better of two challengers, with a reason')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workbench.errors import UsageError
from workbench.lesson import state
from workbench.lesson.answer import Answer
from workbench.lesson.catalogue import EXERCISES

__all__ = ["EXERCISES", "check"]

_CHECKS: dict[str, Callable[..., Answer]] = {}


def _exercise(key: str):
    def register(func: Callable[..., Answer]) -> Callable[..., Answer]:
        _CHECKS[key] = func
        return func

    return register


def check(exercise: str, answer: Any = None, *, record: bool = True) -> Answer:
    """Check ``exercise`` against the learner's real state.

    Args:
        exercise: Its id (``"2.1"``), see :data:`EXERCISES`.
        answer: The learner's one-line answer, for the exercises that ask for one.
        record: Record the result in the learner's progress (the instructor's view reads it).

    Raises:
        UsageError: no such exercise.
    """
    from workbench.lesson.identity import learner_name, lesson_model

    key = str(exercise).strip()
    if key not in _CHECKS:
        raise UsageError(f"there is no exercise {exercise!r}: choose one of {', '.join(EXERCISES)}")
    result = _CHECKS[key](Answer(key, EXERCISES[key]), lesson_model(), answer)
    if record:
        from workbench.lesson.progress import record as keep

        keep(result, learner_name())
    return result


def _not_yet(out: Answer, wrong: str, hint: str) -> Answer:
    out.wrong.append(wrong)
    out.hint = hint
    return out


def _done(out: Answer, right: str) -> Answer:
    out.done = out.attempted = True
    out.right.append(right)
    return out


def _no_setup(out: Answer, what: str, lesson: int) -> Answer:
    return _not_yet(
        out,
        f"{what} not there: run the lesson's setup cell first",
        f"Run the cell with wb.lesson.prepare({lesson}).",
    )


def _named(given: Any) -> str:
    """A one-line answer as written, without spaces or quotes around it ("" for none)."""
    return "" if given is None else str(given).strip().strip("'\"")


def _says_why(reason: str) -> bool:
    return len(reason.split()) >= 3


# ----------------------------------------------------------------------------- lesson 1


@_exercise("1.1")
def _first_model(out: Answer, model: str, _given: Any) -> Answer:
    mine = state.learner_versions(model)
    if mine:
        return _done(
            out, f"{model} has {len(mine)} version(s) you logged; the newest is v{mine[-1].version}"
        )
    return _not_yet(
        out,
        f"no version of {model} is logged yet",
        f"Press Train and log in the panel above, with the model name {model}.",
    )


@_exercise("1.2")
def _protected(out: Answer, model: str, _given: Any) -> Answer:
    from workbench.registry import model_contract

    mine = state.learner_versions(model)
    if not mine:
        return _not_yet(
            out,
            "there is no version of yours to look at yet: do exercise 1.1 first",
            "Log a model first.",
        )
    out.attempted = True
    newest = mine[-1]
    protected = list(model_contract(newest.model_uri).protected)
    if "age_band" in protected:
        return _done(
            out, f"v{newest.version}'s contract protects age_band: fairness is measured on it"
        )
    return _not_yet(
        out,
        f"v{newest.version}'s contract protects {', '.join(protected) or 'nothing'}",
        "Which column says which group a person belongs to? Name it under Protected in the panel "
        "(or protected=[...]) and log again: it need not be a model input.",
    )


@_exercise("1.3")
def _read_auc(out: Answer, model: str, given: Any) -> Answer:
    mine = state.learner_versions(model)
    if not mine:
        return _not_yet(
            out,
            "there is no version of yours yet: do exercise 1.1 first",
            "Log a model first, then read its card.",
        )
    newest = mine[-1]
    auc, text = newest.metrics.get("roc_auc"), _named(given)
    if not text:
        return _not_yet(
            out,
            "no answer yet",
            f"Read roc_auc on v{newest.version}'s card and write it with two decimals.",
        )
    out.attempted = True
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        return _not_yet(out, f"{given!r} is not a number", "Write the number only, such as 0.79.")
    if auc is not None and abs(value - float(auc)) <= 0.01:
        return _done(out, f"v{newest.version}'s ROC AUC on held-out rows is {float(auc):.3f}")
    return _not_yet(
        out,
        f"{value:g} is not v{newest.version}'s ROC AUC",
        f"Look at the newest version (v{newest.version}) and its held-out metrics, "
        "not its training score.",
    )


# ----------------------------------------------------------------------------- lesson 2


def _learner_entries(model: str, alias: str = "champion"):
    frame = state.user_history(model)
    if frame.empty:
        return frame
    frame = frame[frame["alias"] == alias]
    setup = frame["reason"].fillna("").str.startswith(state.SETUP_REASON)
    return frame[~setup]


@_exercise("2.1")
def _better_challenger(out: Answer, model: str, _given: Any) -> Answer:
    roles = state.role_versions(model)
    weak, strong = roles.get("weak"), roles.get("strong")
    if weak is None or strong is None:
        return _no_setup(out, "the two challengers are", 2)
    entries = _learner_entries(model)
    entries = entries[entries["action"] == "promote"] if not entries.empty else entries
    if entries.empty:
        return _not_yet(
            out,
            f"neither v{weak.version} nor v{strong.version} was promoted to @champion yet",
            "Run the checks of each version in the panel, compare them, then promote one "
            "with a reason.",
        )
    out.attempted = True
    last = entries.iloc[-1]
    chosen, reason = int(last["new_version"]), str(last["reason"] or "").strip()
    auc = {v.version: v.metrics.get("roc_auc", float("nan")) for v in (weak, strong)}
    if chosen == int(strong.version):
        out.right.append(
            f"you promoted v{strong.version}, the better one (ROC AUC "
            f"{auc[strong.version]:.3f} vs {auc[weak.version]:.3f})"
        )
    else:
        out.wrong.append(
            f"you promoted v{chosen}; compare both challengers: one is clearly better on "
            "held-out rows"
        )
    if _says_why(reason):
        out.right.append(f"your reason is recorded: {reason!r}")
    else:
        out.wrong.append(f"the reason {reason!r} does not say why (write at least 3 words)")
    out.done = not out.wrong
    if not out.done:
        out.hint = (
            "The comparison table of the checks shows each version's ROC AUC and recall; promote "
            "the one with the higher figures, and say why in the reason."
        )
    return out


@_exercise("2.2")
def _fix_the_data(out: Answer, model: str, _given: Any) -> Answer:
    from workbench.checks.runner import data_hash
    from workbench.data import load_table

    strong = state.role_versions(model).get("strong")
    broken_file = state.files_folder() / "eval_broken.csv"
    if strong is None or not broken_file.exists():
        return _no_setup(out, "the lesson's files are", 2)
    reports = state.check_reports(model, strong.version)
    if not reports:
        return _not_yet(
            out,
            f"no checks of v{strong.version} have run yet",
            f"Run the checks of v{strong.version} on the lesson's eval file.",
        )
    out.attempted = True
    broken = load_table(broken_file)
    broken_hash = data_hash(broken)
    for report in reports:
        if not report.passed or report.data_hash == broken_hash:
            continue
        names = {r.name for r in report.results}
        if report.eval_rows < 0.9 * len(broken):
            out.wrong.append(
                f"the checks passed on {report.eval_rows} rows of {len(broken)}: keep the rows, "
                "fix the column"
            )
            break
        if "data_quality" not in names or report.gate:
            why = "; ".join(report.gate or []) or "the data_quality check did not run"
            out.wrong.append(f"the checks passed, but not as the gate judges them: {why}")
            break
        return _done(
            out,
            f"v{strong.version}'s checks pass on the fixed data ({report.eval_rows} rows), with "
            "the gate's own bars",
        )
    if not out.wrong:
        newest = reports[0]
        quality = next((r for r in newest.results if r.name == "data_quality"), None)
        seen = f" ({quality.detail})" if quality is not None and not quality.ok else ""
        failed = ", ".join(newest.failed) or "none"
        out.wrong.append(
            f"the newest check run of v{strong.version} did not pass: {failed} failed{seen}"
        )
    out.hint = (
        "Read the data_quality row: it names a column whose values look unlike training. Compare "
        "that column in eval_data with the training data (eval_data.describe()), and fix it with "
        "one line; lowering a bar would let the next broken file through too."
    )
    return out


# ----------------------------------------------------------------------------- lesson 3


@_exercise("3.1")
def _served(out: Answer, model: str, _given: Any) -> Answer:
    rows = state.traffic_rows(model)
    if rows:
        return _done(out, f"the model server answered {rows} logged request rows for {model}")
    return _not_yet(
        out,
        f"no request to {model}@champion is logged yet",
        "Start the server in the panel (alias champion), then press Send requests.",
    )


@_exercise("3.2")
def _refused_column(out: Answer, model: str, given: Any) -> Answer:
    from workbench.lesson.setup import refused_column

    column, said = refused_column(), _named(given)
    if column is None:
        return _no_setup(out, "the lesson's bad request file is", 3)
    if not said:
        return _not_yet(
            out,
            "no answer yet",
            "Send the bad rows to the server and read its answer: it names one column.",
        )
    out.attempted = True
    if said.lower() == column.lower():
        return _done(out, f"{column} holds text where the model's contract expects numbers")
    return _not_yet(
        out,
        f"{said!r} is not the column the server refused",
        "The server's error message names the column and the value it could not read.",
    )


# ----------------------------------------------------------------------------- lesson 4


def _drift_runs(model: str):
    frame = state.monitoring_runs(model)
    return frame, frame[frame["drift_detected"].astype(bool)] if not frame.empty else frame


@_exercise("4.1")
def _monitored(out: Answer, model: str, _given: Any) -> Answer:
    frame, drifted = _drift_runs(model)
    if frame.empty:
        return _not_yet(
            out,
            f"no monitoring run of {model} is logged yet",
            "Build the drift report of the day-5 batch, then log it (drift.log()).",
        )
    out.attempted = True
    if drifted.empty:
        return _not_yet(
            out,
            f"{len(frame)} monitoring run(s) logged, none of them found drift",
            "Monitor the day-5 file (lesson.files['day 5']), not the reference itself.",
        )
    return _done(out, f"a monitoring run of {model} found drift and is in MLflow")


@_exercise("4.2")
def _drifted_column(out: Answer, model: str, given: Any) -> Answer:
    _, drifted = _drift_runs(model)
    said = _named(given)
    if drifted.empty:
        return _not_yet(
            out,
            "no monitoring run with drift is logged yet: do exercise 4.1 first",
            "Log the drift report of the day-5 batch first.",
        )
    if not said:
        return _not_yet(
            out, "no answer yet", "Open the report: the table lists the drifted columns first."
        )
    out.attempted = True
    columns = [c for c in str(drifted.iloc[-1]["drifted_columns"]).split(",") if c]
    if said.lower() in {c.lower() for c in columns}:
        return _done(out, f"{said} drifted on day 5")
    return _not_yet(
        out,
        f"{said!r} did not drift in your newest monitoring run",
        "Read the report's drift table, or drift.drifted_columns.",
    )


# ----------------------------------------------------------------------------- lesson 5


@_exercise("5.1")
def _rolled_back(out: Answer, model: str, _given: Any) -> Answer:
    from workbench.registry import get_version

    roles = state.role_versions(model)
    good, bad = roles.get("good"), roles.get("bad")
    frame = state.user_history(model)
    if good is None or bad is None or frame.empty:
        return _no_setup(out, "the bad release is", 5)
    setup_at = frame.index[
        frame["reason"].fillna("").str.startswith(state.SETUP_REASON)
        & (frame["new_version"] == int(bad.version))
    ]
    after = frame.loc[setup_at[-1] :].iloc[1:] if len(setup_at) else frame.iloc[0:0]
    after = after[after["alias"] == "champion"]
    if after.empty:
        return _not_yet(
            out,
            f"@champion is still the bad release v{bad.version}",
            "Roll @champion back with a reason (the Roll back button, or wb.rollback).",
        )
    out.attempted = True
    try:
        now = int(get_version(model, "champion").version)
    except Exception:
        now = None
    if now == int(good.version):
        out.right.append(f"@champion is v{good.version} again")
    else:
        out.wrong.append(f"@champion is v{now}, not the release before the bad one")
    reason = str(after.iloc[-1]["reason"] or "").strip()
    if _says_why(reason):
        out.right.append(f"the audit log says why: {reason!r}")
    else:
        out.wrong.append("the rollback's reason does not say why (write at least 3 words)")
    out.done = not out.wrong
    if not out.done:
        out.hint = (
            "One rollback undoes one promotion; give the reason the on-call would want to read."
        )
    return out


@_exercise("5.2")
def _failed_check(out: Answer, model: str, given: Any) -> Answer:
    bad = state.role_versions(model).get("bad")
    reports = state.check_reports(model, bad.version, limit=3) if bad is not None else []
    said = _named(given)
    if bad is None or not reports:
        return _no_setup(out, "the bad release's checks are", 5)
    if not said:
        return _not_yet(
            out,
            "no answer yet",
            f"Read the checks of v{bad.version}, the bad release: which ones failed?",
        )
    out.attempted = True
    failed = sorted({name for report in reports for name in report.failed})
    if said.lower() in failed:
        return _done(out, f"v{bad.version} failed {', '.join(failed)}: it was forced through")
    return _not_yet(
        out,
        f"{said!r} is not a check v{bad.version} failed",
        "The audit log says the release was forced; its check run says which checks failed.",
    )
