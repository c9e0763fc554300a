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


# ----------------------------------------------------------------------------- lesson 1


@_exercise("1.1")
def _first_model(out: Answer, model: str, _given: Any) -> Answer:
    mine = state.learner_versions(model)
    if mine:
        out.done = out.attempted = True
        out.right.append(
            f"{model} has {len(mine)} version(s) you logged; the newest is v{mine[-1].version}"
        )
        return out
    out.wrong.append(f"no version of {model} is logged yet")
    out.hint = f"Press Train and log in the panel above, with the model name {model}."
    return out


@_exercise("1.2")
def _protected(out: Answer, model: str, _given: Any) -> Answer:
    from workbench.registry import model_contract

    mine = state.learner_versions(model)
    if not mine:
        out.wrong.append("there is no version of yours to look at yet: do exercise 1.1 first")
        out.hint = "Log a model first."
        return out
    out.attempted = True
    newest = mine[-1]
    protected = list(model_contract(newest.model_uri).protected)
    if "age_band" in protected:
        out.done = True
        out.right.append(
            f"v{newest.version}'s contract protects age_band: fairness is measured on it"
        )
        return out
    said = ", ".join(protected) if protected else "nothing"
    out.wrong.append(f"v{newest.version}'s contract protects {said}")
    out.hint = (
        "Which column says which group a person belongs to? Name it under Protected in the panel "
        "(or protected=[...]) and log again: it need not be a model input."
    )
    return out


@_exercise("1.3")
def _read_auc(out: Answer, model: str, given: Any) -> Answer:
    mine = state.learner_versions(model)
    if not mine:
        out.wrong.append("there is no version of yours yet: do exercise 1.1 first")
        out.hint = "Log a model first, then read its card."
        return out
    newest = mine[-1]
    auc = newest.metrics.get("roc_auc")
    if given is None or str(given).strip() == "":
        out.wrong.append("no answer yet")
        out.hint = f"Read roc_auc on v{newest.version}'s card and write it with two decimals."
        return out
    out.attempted = True
    try:
        value = float(str(given).strip().rstrip("%")) / (
            100 if str(given).strip().endswith("%") else 1
        )
    except ValueError:
        out.wrong.append(f"{given!r} is not a number")
        out.hint = "Write the number only, such as 0.79."
        return out
    if auc is not None and abs(value - float(auc)) <= 0.01:
        out.done = True
        out.right.append(f"v{newest.version}'s ROC AUC on held-out rows is {float(auc):.3f}")
        return out
    out.wrong.append(f"{value:g} is not v{newest.version}'s ROC AUC")
    out.hint = (
        f"Look at the newest version (v{newest.version}) and its held-out metrics, "
        "not its training score."
    )
    return out


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
        out.wrong.append("the two challengers are not there: run the lesson's setup cell first")
        out.hint = "Run the cell with wb.lesson.prepare(2)."
        return out
    entries = _learner_entries(model)
    entries = entries[entries["action"] == "promote"] if not entries.empty else entries
    if entries.empty:
        out.wrong.append(
            f"neither v{weak.version} nor v{strong.version} was promoted to @champion yet"
        )
        out.hint = (
            "Run the checks of each version in the panel, compare them, then promote one "
            "with a reason."
        )
        return out
    out.attempted = True
    last = entries.iloc[-1]
    chosen, reason = int(last["new_version"]), str(last["reason"] or "").strip()
    auc = {v.version: v.metrics.get("roc_auc", float("nan")) for v in (weak, strong)}
    if chosen == int(strong.version):
        out.right.append(
            f"you promoted v{strong.version}, the better one (ROC AUC {auc[strong.version]:.3f} vs {auc[weak.version]:.3f})"
        )
    else:
        out.wrong.append(
            f"you promoted v{chosen}; compare both challengers: one is clearly better on "
            "held-out rows"
        )
    if len(reason.split()) >= 3:
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
        out.wrong.append("the lesson's files are not there: run the lesson's setup cell first")
        out.hint = "Run the cell with wb.lesson.prepare(2)."
        return out
    broken = load_table(broken_file)
    broken_hash = data_hash(broken)
    reports = state.check_reports(model, strong.version)
    if not reports:
        out.wrong.append(f"no checks of v{strong.version} have run yet")
        out.hint = f"Run the checks of v{strong.version} on the lesson's eval file."
        return out
    out.attempted = True
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
        out.done = True
        out.right.append(
            f"v{strong.version}'s checks pass on the fixed data ({report.eval_rows} rows), with "
            "the gate's own bars"
        )
        return out
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
        out.done = out.attempted = True
        out.right.append(f"the model server answered {rows} logged request rows for {model}")
        return out
    out.wrong.append(f"no request to {model}@champion is logged yet")
    out.hint = "Start the server in the panel (alias champion), then press Send requests."
    return out


@_exercise("3.2")
def _refused_column(out: Answer, model: str, given: Any) -> Answer:
    from workbench.lesson.setup import refused_column

    column = refused_column()
    if column is None:
        out.wrong.append("the lesson's bad request file is not there: run the setup cell first")
        out.hint = "Run the cell with wb.lesson.prepare(3)."
        return out
    if given is None or not str(given).strip():
        out.wrong.append("no answer yet")
        out.hint = "Send the bad rows to the server and read its answer: it names one column."
        return out
    out.attempted = True
    if str(given).strip().strip("'\"").lower() == column.lower():
        out.done = True
        out.right.append(f"{column} holds text where the model's contract expects numbers")
        return out
    out.wrong.append(f"{str(given).strip()!r} is not the column the server refused")
    out.hint = "The server's error message names the column and the value it could not read."
    return out


# ----------------------------------------------------------------------------- lesson 4


def _drift_runs(model: str):
    frame = state.monitoring_runs(model)
    return frame, frame[frame["drift_detected"].astype(bool)] if not frame.empty else frame


@_exercise("4.1")
def _monitored(out: Answer, model: str, _given: Any) -> Answer:
    frame, drifted = _drift_runs(model)
    if frame.empty:
        out.wrong.append(f"no monitoring run of {model} is logged yet")
        out.hint = "Build the drift report of the day-5 batch, then log it (drift.log())."
        return out
    out.attempted = True
    if drifted.empty:
        out.wrong.append(f"{len(frame)} monitoring run(s) logged, none of them found drift")
        out.hint = "Monitor the day-5 file (lesson.files['day 5']), not the reference itself."
        return out
    out.done = True
    out.right.append(f"a monitoring run of {model} found drift and is in MLflow")
    return out


@_exercise("4.2")
def _drifted_column(out: Answer, model: str, given: Any) -> Answer:
    _, drifted = _drift_runs(model)
    if drifted.empty:
        out.wrong.append("no monitoring run with drift is logged yet: do exercise 4.1 first")
        out.hint = "Log the drift report of the day-5 batch first."
        return out
    columns = [c for c in str(drifted.iloc[-1]["drifted_columns"]).split(",") if c]
    if given is None or not str(given).strip():
        out.wrong.append("no answer yet")
        out.hint = "Open the report: the table lists the drifted columns first."
        return out
    out.attempted = True
    if str(given).strip().strip("'\"").lower() in {c.lower() for c in columns}:
        out.done = True
        out.right.append(f"{str(given).strip()} drifted on day 5")
        return out
    out.wrong.append(f"{str(given).strip()!r} did not drift in your newest monitoring run")
    out.hint = "Read the report's drift table, or drift.drifted_columns."
    return out


# ----------------------------------------------------------------------------- lesson 5


@_exercise("5.1")
def _rolled_back(out: Answer, model: str, _given: Any) -> Answer:
    from workbench.registry import get_version

    roles = state.role_versions(model)
    good, bad = roles.get("good"), roles.get("bad")
    frame = state.user_history(model)
    if good is None or bad is None or frame.empty:
        out.wrong.append("the bad release is not there: run the lesson's setup cell first")
        out.hint = "Run the cell with wb.lesson.prepare(5)."
        return out
    setup_at = frame.index[
        frame["reason"].fillna("").str.startswith(state.SETUP_REASON)
        & (frame["new_version"] == int(bad.version))
    ]
    after = frame.loc[setup_at[-1] :].iloc[1:] if len(setup_at) else frame.iloc[0:0]
    after = after[after["alias"] == "champion"]
    if after.empty:
        out.wrong.append(f"@champion is still the bad release v{bad.version}")
        out.hint = "Roll @champion back with a reason (the Roll back button, or wb.rollback)."
        return out
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
    if len(reason.split()) >= 3:
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
    if bad is None or not reports:
        out.wrong.append("the bad release's checks are not there: run the setup cell first")
        out.hint = "Run the cell with wb.lesson.prepare(5)."
        return out
    failed = sorted({name for report in reports for name in report.failed})
    if given is None or not str(given).strip():
        out.wrong.append("no answer yet")
        out.hint = f"Read the checks of v{bad.version}, the bad release: which ones failed?"
        return out
    out.attempted = True
    if str(given).strip().strip("'\"").lower() in failed:
        out.done = True
        out.right.append(f"v{bad.version} failed {', '.join(failed)}: it was forced through")
        return out
    out.wrong.append(f"{str(given).strip()!r} is not a check v{bad.version} failed")
    out.hint = "The audit log says the release was forced; its check run says which checks failed."
    return out
