"""The version description builder: verdicts, promotions, hand-written text kept, hostile text inert."""

from __future__ import annotations

from workbench.registry.description import (
    BEGIN,
    END,
    build_section,
    card_link,
    merge_description,
    plain,
)

CHECKED = {
    "version": "2",
    "logged_by": "ana",
    "source_run": "abc123",
    "checks_status": "failed",
    "checks_failed": ["metric_roc_auc", "no_regression"],
    "policy_hash": "sha256:deadbeef",
    "data_hash": "0123456789abcdef",
    "checks_run": "run42",
    "card_url": card_link("7", "run42"),
}


def test_verdict_names_failing_checks_policy_data_and_card():
    text = build_section(CHECKED)
    first = text.splitlines()[0]
    assert first.startswith("**Checks: FAILED**") and first.endswith(BEGIN) and text.endswith(END)
    assert "Checks: FAILED" in text and "metric\\_roc\\_auc" in text and "no\\_regression" in text
    assert "sha256:deadbeef" in text and "0123456789abcdef" in text and "by **ana**" in text
    assert (
        "[Model card](#/experiments/7/runs/run42/artifacts/model_card.html?workflowType=machine_learning)"
        in text
    )


def test_no_checks_says_so():
    assert "none on record" in build_section({"version": "1"})


def test_promoted_forced_and_replaced_lines():
    promote = {
        "action": "promote",
        "alias": "champion",
        "old_version": 1,
        "new_version": 2,
        "by": "bob",
        "reason": "hotfix",
        "forced": True,
        "checks_status": "failed",
        "time": "2026-11-23T10:00:00.123+00:00",
    }
    text = build_section({**CHECKED, "entries": [promote]})
    assert "Promoted to @champion** by bob on 2026-11-23 10:00:00 UTC, replacing v1" in text
    assert "**FORCED** by bob" in text and "reason: hotfix." in text
    old = build_section({**CHECKED, "version": "1", "entries": [promote]})
    assert "Replaced as @champion** by bob" in old and "(now v2)" in old and "FORCED" not in old
    back = {**promote, "action": "rollback", "old_version": 2, "new_version": 1, "forced": False}
    assert "Rolled back to @champion** by bob" in build_section({"version": 1, "entries": [back]})
    assert "Rolled back from @champion" in build_section({"version": 2, "entries": [back]})


def test_hostile_reason_is_inert():
    evil = "<script>alert(1)</script> [click](javascript:alert(1)) ![x](http://e/x.png)"
    entry = {
        "action": "promote",
        "old_version": None,
        "new_version": 1,
        "by": "<b>eve</b>",
        "reason": evil,
        "time": "2026-11-23T10:00:00",
    }
    text = build_section({"version": 1, "entries": [entry]})
    assert "<script>" not in text and "<b>" not in text
    assert "](javascript:" not in text and "![x](" not in text
    assert "&lt;script&gt;" in text and "javascript:alert" in text  # kept, but as text
    assert plain("a\nb\n## c") == "a b \\#\\# c"


def test_hand_written_text_is_kept_and_rebuild_is_idempotent():
    first = merge_description("My notes: *keep me*.", build_section(CHECKED))
    assert first.startswith("My notes: *keep me*.") and first.count(BEGIN) == 1
    passed = {**CHECKED, "checks_status": "passed", "checks_failed": []}
    second = merge_description(first + "\n\nAdded later by hand.", build_section(passed))
    again = merge_description(second, build_section(passed))
    assert again == second and second.count(BEGIN) == 1 and second.count(END) == 1
    assert "Checks: PASSED" in second and "FAILED" not in second
    assert "My notes: *keep me*." in second and second.endswith("Added later by hand.")
    assert merge_description(None, build_section(passed)) == build_section(passed)


def test_a_part_written_with_the_marker_first_is_replaced_whole():
    """Descriptions written before the verdict led keep the marker on a line of its own."""
    legacy = f"Mine.\n\n{BEGIN}\n### Workbench record\n\n- **Checks:** none on record yet.\n{END}"
    merged = merge_description(legacy + "\n\nLater.", build_section(CHECKED))
    assert merged.startswith("Mine.\n\n**Checks: FAILED**") and merged.endswith("Later.")
    assert merged.count(BEGIN) == 1 and "### Workbench record" not in merged
