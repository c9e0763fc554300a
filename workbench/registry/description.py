"""The version's story in MLflow's own page: its description, rebuilt from its tags and the audit.

MLflow's UI renders a model version's description as markdown. The workbench writes its part
between two markers and keeps everything else the user wrote by hand. The part's first line is
the verdict (what the registry's lists show of a description), with the begin marker, an HTML
comment, at that line's end; the end marker closes the part. The part is rebuilt whole
from the version's tags, its check run and the audit log each time (after logging, checks,
promote and rollback), so two check runs never leave two paragraphs.

The description is a view: the tags and the audit log are the source of truth. A description that
cannot be written (a viewer on the team server, a server that does not answer) is a warning, never
an error that undoes what was recorded.
"""

from __future__ import annotations

import html
import math
import re
import warnings
from collections.abc import Mapping
from typing import Any

from workbench._core.names import (
    ABTEST_RUN_TAG,
    ABTEST_SHA_TAG,
    ARTIFACT,
    CHECKS_FAILED_TAG,
    CHECKS_RUN_TAG,
    CHECKS_STATUS_TAG,
    TAG,
)

__all__ = [
    "BEGIN",
    "END",
    "DescriptionWarning",
    "abtest_line",
    "build_section",
    "card_link",
    "failed_checks",
    "merge_description",
    "plain",
    "refresh_description",
]

#: The markers around the workbench's part of a description (HTML comments: not shown). The
#: part starts at the beginning of the line that holds BEGIN (the verdict's line).
BEGIN = "<!-- workbench:begin (rebuilt by the workbench; write your own text outside) -->"
END = "<!-- workbench:end -->"
_PART = re.compile(
    r"^[^\n]*<!-- workbench:begin[^>]*-->.*?<!-- workbench:end -->", re.DOTALL | re.MULTILINE
)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>])")


class DescriptionWarning(UserWarning):
    """The version's description could not be written; what it describes was recorded."""


def plain(text: Any, limit: int = 300) -> str:
    """``text`` as inert markdown: HTML escaped, markdown punctuation backslashed, one line."""
    value = " ".join(str(text if text is not None else "").split())
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", html.escape(value, quote=True))


def card_link(experiment_id: str, run_id: str, path: str = ARTIFACT.MODEL_CARD_HTML) -> str:
    """The MLflow UI's address (relative to the UI's page) of a run's artifact, in the UI's
    training view."""
    from workbench.workspace import TRAINING_VIEW

    return f"#/experiments/{experiment_id}/runs/{run_id}/artifacts/{path}?{TRAINING_VIEW}"


def build_section(facts: Mapping[str, Any]) -> str:
    """The workbench's part of the description, from plain facts (see :func:`refresh_description`).

    Keys (all optional): ``logged_by``, ``source_run``, ``trained_on``, ``checks_status``,
    ``checks_failed`` (list), ``policy_hash``, ``data_hash``, ``checks_run``, ``card_url``,
    ``abtest`` (the A/B test line, :func:`abtest_line`), ``abtest_run``, ``entries`` (audit
    entries of this version as dicts, oldest first).
    """
    lines = [f"{_verdict(facts)} {BEGIN}", "", "**Workbench record**", ""]
    logged = []
    if facts.get("logged_by"):
        logged.append(f"by **{plain(facts['logged_by'])}**")
    if facts.get("source_run"):
        logged.append(f"from run `{plain(facts['source_run'], 64)}`")
    if facts.get("trained_on"):
        logged.append(f"evaluated on {plain(facts['trained_on'], 120)}")
    if logged:
        lines.append("- **Logged** " + ", ".join(logged) + ".")
    if facts.get("abtest"):
        run = f" (run `{plain(facts['abtest_run'], 64)}`)" if facts.get("abtest_run") else ""
        lines.append(f"- {plain(facts['abtest'])}{run}.")
    for entry in facts.get("entries") or []:
        lines.append("- " + _entry_line(entry, facts.get("version")))
    if facts.get("card_url"):
        lines.append(f"- [Model card]({facts['card_url']}) (HTML, with the check run).")
    return "\n".join([*lines, END])


def _verdict(facts: Mapping[str, Any]) -> str:
    """The first line: the checks' verdict, the policy, what failed, the data and the run."""
    status = facts.get("checks_status")
    if not status:
        return "**Checks: none on record yet** (run `workbench check`)."
    verdict = {"passed": "PASSED", "failed": "FAILED", "pending": "PENDING"}.get(
        status, plain(status).upper()
    )
    text = f"**Checks: {verdict}** against the gate policy"
    if facts.get("policy_hash"):
        text += f" `{plain(facts['policy_hash'], 40)}`"
    failed = [f for f in facts.get("checks_failed") or [] if f]
    if failed:
        text += "; failing: " + ", ".join(plain(f, 60) for f in failed)
    if facts.get("data_hash"):
        text += f"; checked on data `{plain(facts['data_hash'], 40)}`"
    if facts.get("checks_run"):
        text += f" (run `{plain(facts['checks_run'], 64)}`)"
    return text + "."


def _entry_line(entry: Mapping[str, Any], version: Any) -> str:
    when = plain(str(entry.get("time", ""))[:19].replace("T", " "), 40)
    who = plain(entry.get("by") or "someone")
    alias = plain(entry.get("alias") or "champion", 60)
    reason = plain(entry.get("reason") or "", 200)
    old, new = entry.get("old_version"), entry.get("new_version")
    here = str(version) if version is not None else None
    if here is not None and str(new) != here:  # this version was the one replaced
        verb = "Rolled back from" if entry.get("action") == "rollback" else "Replaced as"
        text = f"**{verb} @{alias}** by {who} on {when} UTC (now v{plain(new)})"
    else:
        verb = "Rolled back to" if entry.get("action") == "rollback" else "Promoted to"
        text = f"**{verb} @{alias}** by {who} on {when} UTC"
        text += f", replacing v{plain(old)}" if old not in (None, "", "<NA>") else ""
        if entry.get("forced"):
            text += f"; **FORCED** by {who} (checks: {plain(entry.get('checks_status') or '?')})"
        if entry.get("evidence"):
            text += f"; evidence: {plain(entry['evidence'], 200)}"
    return text + (f"; reason: {reason}." if reason else ".")


def abtest_line(result: Mapping[str, Any], margin: Any = None, *, short: bool = False) -> str:
    """What an A/B test result's numbers show (never its verdict's wording): the description's
    line, or with ``short`` the audit entry's (``margin``: the policy's not-worse margin).

    Example:
        >>> result = {"champion_version": "3", "comparison": {"metric": "accuracy", "alpha": 0.05,
        ...     "difference": 0.12, "lower": 0.05, "upper": 0.19, "n_challenger": 412}}
        >>> abtest_line(result)
        'A/B vs v3: better, +0.12 accuracy (95% always-valid interval +0.05 to +0.19), 412 labelled requests'
        >>> abtest_line(result, short=True)
        'better, +0.12 accuracy [+0.05, +0.19], 412 labelled'
    """
    champion = result.get("champion_version")
    text = "" if short else (f"A/B vs v{champion}: " if champion not in (None, "") else "A/B: ")
    comparison = result.get("comparison")
    if not isinstance(comparison, Mapping):
        return text + "no labelled comparison yet"
    lower, upper = _finite(comparison.get("lower")), _finite(comparison.get("upper"))
    difference, labelled = _finite(comparison.get("difference")), comparison.get("n_challenger")
    margin = _finite(margin)
    if lower is not None and lower > 0:
        text += "better"
    elif lower is not None and margin and lower > -margin:
        text += f"not worse (within {margin:g})"
    else:
        text += "worse" if upper is not None and upper < 0 else "not yet known"
    if difference is not None:
        text += f", {difference:+.3g} {comparison.get('metric') or 'metric'}"
    alpha = _finite(comparison.get("alpha"))
    level = f"{(1 - alpha) * 100:g}% " if alpha is not None and 0 < alpha < 1 else ""
    if lower is not None and upper is not None and short:
        text += f" [{lower:+.3g}, {upper:+.3g}]"
    elif lower is not None and upper is not None:
        text += f" ({level}always-valid interval {lower:+.3g} to {upper:+.3g})"
    if _finite(labelled) is not None:
        text += f", {labelled:g} labelled" + ("" if short else " requests")
    return text


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def merge_description(existing: str | None, section: str) -> str:
    """``existing`` with its workbench part replaced by ``section`` (appended when absent)."""
    text = existing or ""
    if _PART.search(text):
        return _PART.sub(lambda _: section, text, count=1)
    own = text.rstrip()
    return f"{own}\n\n{section}" if own else section


def refresh_description(name: str, version: int | str, client: Any | None = None) -> str | None:
    """Rebuild version ``version`` of ``name``'s description from its record and write it.

    Returns the description written, or None (with a :class:`DescriptionWarning`) when it could
    not be read or written: the description is a view, never the reason an action fails.
    """
    try:
        if client is None:
            from workbench.workspace import mlflow_client

            client = mlflow_client()
        mv = client.get_model_version(name, str(version))
        text = merge_description(mv.description, build_section(_facts(client, name, mv)))
        if text != (mv.description or ""):
            client.update_model_version(name, str(version), description=text)
        return text
    except Exception as err:
        warnings.warn(
            f"the description of {name} version {version} in MLflow was not updated ({err}); "
            "what it describes is recorded in the version's tags and the audit log.",
            DescriptionWarning,
            stacklevel=2,
        )
        return None


def _facts(client: Any, name: str, mv: Any) -> dict[str, Any]:
    tags = dict(mv.tags or {})
    facts: dict[str, Any] = {
        "version": mv.version,
        "source_run": mv.run_id or "",
        "checks_status": tags.get(CHECKS_STATUS_TAG, ""),
        "checks_failed": [f for f in tags.get(CHECKS_FAILED_TAG, "").split(",") if f],  # legacy
        "checks_run": tags.get(CHECKS_RUN_TAG, ""),
    }
    if mv.run_id:
        try:
            run_tags = client.get_run(mv.run_id).data.tags
            facts["logged_by"] = run_tags.get(TAG.USER) or run_tags.get("mlflow.user", "")
            facts["trained_on"] = run_tags.get(TAG.EVAL_ON, "")
        except Exception:
            pass
    if facts["checks_run"]:
        _check_run_facts(client, facts)
    if tags.get(ABTEST_RUN_TAG):
        _abtest_facts(client, name, mv, facts)
    facts["entries"] = _audit_entries(name, mv.version)
    return facts


def _check_run_facts(client: Any, facts: dict[str, Any]) -> None:
    import json
    import tempfile

    run_id = facts["checks_run"]
    try:
        run = client.get_run(run_id)
        facts["card_url"] = card_link(run.info.experiment_id, run_id)
        if CHECKS_FAILED_TAG in run.data.tags:  # the run says what failed (the version did once)
            facts["checks_failed"] = [f for f in run.data.tags[CHECKS_FAILED_TAG].split(",") if f]
        with tempfile.TemporaryDirectory() as tmp:
            path = client.download_artifacts(run_id, ARTIFACT.CHECKS_JSON, tmp)
            with open(path) as f:
                report = json.load(f)
        facts["policy_hash"] = report.get("policy_hash", "")
        facts["data_hash"] = report.get("data_hash", "")
    except Exception:
        pass


def failed_checks(run_id: str, client: Any | None = None) -> str:
    """The failing checks a check run recorded, comma-separated ("" when it cannot be read)."""
    if not run_id:
        return ""
    try:
        if client is None:
            from workbench.workspace import mlflow_client

            client = mlflow_client()
        return str(client.get_run(run_id).data.tags.get(CHECKS_FAILED_TAG) or "")
    except Exception:
        return ""


def _abtest_facts(client: Any, name: str, mv: Any, facts: dict[str, Any]) -> None:
    """The A/B test line when its run is this version's and its ``abtest.json`` unedited (the
    gate judges the seal; a view shows no numbers it cannot vouch for)."""
    import hashlib
    import json
    import tempfile
    from pathlib import Path

    tags = dict(mv.tags or {})
    run_id = facts["abtest_run"] = tags[ABTEST_RUN_TAG]
    try:
        run_tags = client.get_run(run_id).data.tags
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(client.download_artifacts(run_id, ARTIFACT.ABTEST_JSON, tmp)).read_bytes()
    except Exception:
        facts["abtest"] = "A/B test on record, but its run cannot be read"
        return
    own = (run_tags.get(TAG.KIND), run_tags.get(TAG.MODEL), run_tags.get(TAG.MODEL_VERSION))
    sealed = tags.get(ABTEST_SHA_TAG)
    if own != ("abtest", name, str(mv.version)) or hashlib.sha256(data).hexdigest() != sealed:
        facts["abtest"] = "A/B test on record does not hold (copied or edited): not shown"
        return
    try:
        facts["abtest"] = abtest_line(json.loads(data))
    except (ValueError, AttributeError):
        facts["abtest"] = "A/B test on record does not parse"


def _audit_entries(name: str, version: Any) -> list[dict[str, Any]]:
    from workbench.registry.audit import history

    try:
        log = history(name)
    except Exception:
        return []
    here = int(version)
    mine = log[(log["new_version"] == here) | (log["old_version"] == here)]
    return [
        {k: (None if _missing(v) else v) for k, v in row.items()}
        for row in mine.tail(3).to_dict("records")
    ]


def _missing(value: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
