"""``workbench class dashboard`` in real Chromium: Voila serves notebooks/lesson/instructor.ipynb on
127.0.0.1 for a local class of three learners (``class up --local``); the grid shows each learner's done / tried / not
started per exercise with the last hint, the stuck list and the counts; a check a learner runs after
the page opened shows up without a reload. The screenshot goes to
docs/screenshots/class_dashboard.png."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import off_machine, screenshot

pytestmark = pytest.mark.browser

LEARNERS = ["learner-01", "learner-02", "learner-03"]
#: A hint that carries markup (a learner's own answer can end up in it): shown as text, never run.
NASTY = '<img src=x onerror="window.__wb_xss = 1"> compare the ROC AUC of v2 and v3'


def _check(root, learner: str, exercise: str, done: bool, hint: str = "") -> None:
    """Record a check in the learner's own store, as **Check my work** does."""
    import workbench as wb
    from workbench.lesson.answer import Answer
    from workbench.lesson.progress import record

    wb.open_workspace(root / learner)
    record(Answer(exercise, "", done=done, attempted=True, hint=hint), learner)


def _states(panel) -> dict[tuple[str, str], str]:
    cells = panel.locator("td.wb-class-cell").evaluate_all(
        "els => els.map(e => [e.dataset.learner, e.dataset.exercise, e.dataset.state])"
    )
    return {(learner, exercise): state for learner, exercise, state in cells}


def test_class_dashboard_shows_progress_and_updates_live(page, workspace, tmp_path):
    import workbench as wb
    from workbench.apps import start_class_dashboard
    from workbench.lesson import EXERCISES
    from workbench.lesson.roster import class_up

    started = time.monotonic()
    class_root = tmp_path / "class"
    roster = class_up(LEARNERS, local=True, root=class_root).class_file
    _check(class_root, "learner-01", "1.1", done=True)
    _check(class_root, "learner-01", "1.2", done=False, hint="declare age_band as protected")
    _check(class_root, "learner-01", "1.2", done=True)
    _check(class_root, "learner-02", "1.1", done=False, hint="log one model first")
    _check(class_root, "learner-02", "2.1", done=False, hint=NASTY)
    _check(class_root, "learner-02", "2.1", done=False, hint=NASTY)
    wb.open_workspace(workspace.root)  # the instructor's

    app = start_class_dashboard(roster)
    try:
        page.set_default_timeout(90_000)
        asked = []
        page.on("request", lambda request: asked.append(request.url))
        page.goto(app.url, wait_until="load")
        panel = page.locator(".wb-classroom-panel")
        panel.locator("td.wb-class-cell").first.wait_for()
        states = _states(panel)
        assert len(states) == len(LEARNERS) * len(EXERCISES)
        assert states[("learner-01", "1.1")] == "done"
        assert states[("learner-01", "1.2")] == "done"
        assert states[("learner-02", "1.1")] == "tried"
        assert states[("learner-02", "2.1")] == "tried"
        assert states[("learner-03", "1.1")] == "not started"
        assert sum(s == "not started" for s in states.values()) == len(states) - 4
        cell = panel.locator("td[data-learner='learner-02'][data-exercise='2.1']")
        assert NASTY in cell.get_attribute("title")  # the last hint, on hover
        assert "2 tries" in cell.get_attribute("title")
        count = panel.locator("td.wb-class-count[data-exercise='1.1']")
        assert (count.get_attribute("data-done"), count.get_attribute("data-tried")) == ("1", "1")
        stuck = panel.locator(".wb-class-stuck-view")
        assert stuck.locator("li").count() == 2
        assert NASTY in stuck.inner_text()  # shown as text
        assert panel.locator("img").count() == 0
        assert page.evaluate("window.__wb_xss") is None
        done_bg = panel.locator("td.wb-class-done").first.evaluate(
            "e => getComputedStyle(e).backgroundColor"
        )
        none_bg = panel.locator("td.wb-class-none").first.evaluate(
            "e => getComputedStyle(e).backgroundColor"
        )
        tried_bg = cell.evaluate("e => getComputedStyle(e).backgroundColor")
        assert len({done_bg, none_bg, tried_bg}) == 3, (done_bg, none_bg, tried_bg)
        body = page.locator("body").inner_text()
        assert "import workbench" not in body and "ClassroomPanel(" not in body  # no code

        page.evaluate("window.__wb_same_page = 1")  # gone if the page reloads
        changed = time.monotonic()
        _check(class_root, "learner-03", "1.1", done=False, hint="the experiment is empty")
        _check(class_root, "learner-02", "2.1", done=True)
        wb.open_workspace(workspace.root)
        mine = panel.locator("td[data-learner='learner-03'][data-exercise='1.1']")
        expect(mine).to_have_attribute("data-state", "tried", timeout=15_000)
        expect(cell).to_have_attribute("data-state", "done", timeout=15_000)
        waited = time.monotonic() - changed
        assert page.evaluate("window.__wb_same_page") == 1, "the page reloaded"
        assert "the experiment is empty" in stuck.inner_text()
        assert NASTY not in stuck.inner_text()  # done now: not stuck
        expect(count).to_have_attribute("data-tried", "2")
        page.wait_for_timeout(300)
        screenshot(panel, "class_dashboard", max_height=900)
        external = off_machine(asked)
        assert external == [], f"the class dashboard asked the internet for {external}"
    finally:
        app.stop()
    assert app.process.poll() is not None
    print(f"live update seen after {waited:.1f} s; test body {time.monotonic() - started:.1f} s")
