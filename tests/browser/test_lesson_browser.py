"""Lesson 2 in a real browser: JupyterLab runs notebooks/lesson/02_check_and_promote.ipynb as a named
learner in a fresh workspace; exercise 2.1 is done wrong (the weak challenger promoted), **Check my
work** says "not yet" with the hint, then right (the strong one, with a reason), and it says "done".
The two answers go to docs/screenshots/lesson2_wrong.png and lesson2_right.png (docs/teaching.md)."""

from __future__ import annotations

import json
import sys
import time

import mlflow
import nbformat
import pytest

from tests.browser.conftest import ROOT, screenshot

pytestmark = pytest.mark.browser

LEARNER = "Ana Browser"  # the kernel's WORKBENCH_LEARNER; cleaned, it names the model
MODEL = "ana-browser.credit-risk"
KERNEL = "wb-lesson-learner"


@pytest.fixture(scope="module")
def lesson_notebook(lab, tmp_path_factory):
    """Lesson 2 beside the lab's notebooks, run by a kernel of its own (a kernelspec in the lab's
    JUPYTER_DATA_DIR) whose environment names the learner and a fresh workspace."""
    workspace = tmp_path_factory.mktemp("lesson2") / "ws"
    spec = lab.root.parent / "jupyter_data_dir" / "kernels" / KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (lesson learner)",
                "language": "python",
                "env": {"WORKBENCH_LEARNER": LEARNER, "WORKBENCH_WORKSPACE": str(workspace)},
            }
        )
    )
    nb = nbformat.read(ROOT / "notebooks" / "lesson" / "02_check_and_promote.ipynb", as_version=4)
    nb.metadata["kernelspec"] = {
        "name": KERNEL,
        "display_name": "Python 3 (lesson learner)",
        "language": "python",
    }
    folder = lab.root / "notebooks" / "lesson"  # the lab copies the top folder's notebooks only
    folder.mkdir(exist_ok=True)
    nbformat.write(nb, folder / "02_lesson_browser.ipynb")
    return "lesson/02_lesson_browser.ipynb", workspace


def _pick_version(panel, version: int) -> None:
    """Choose ``v<version>`` in the panel's Version dropdown (its options read "v1 (passed)";
    ipywidgets shows their spaces as no-break spaces, their value keeps plain ones)."""
    for select in panel.locator(".widget-dropdown select").all():
        values = select.locator("option").evaluate_all("els => els.map(e => e.value)")
        value = next((v for v in values if v.startswith(f"v{version} ")), None)
        if value is not None:
            select.select_option(value=value)
            return
    raise AssertionError(f"no v{version} in the panel's Version dropdown")


def _check_and_promote(panel, version: int, reason: str, before: str) -> None:
    """In the ChecksPanel: choose ``version``, Run checks, write ``reason``, Promote."""
    _pick_version(panel, version)
    panel.locator("button.wb-run-checks").click()
    passed = f"all checks passed on version {version}"
    panel.locator(".wb-status.wb-ok", has_text=passed).wait_for(timeout=150_000)
    field = panel.locator(".wb-reason input")
    field.fill(reason)
    field.press("Tab")  # the text reaches the kernel on change; a loaded kernel may lag
    promote = panel.locator("button.wb-promote")
    assert promote.is_enabled()
    moved = panel.locator(
        ".wb-status.wb-ok", has_text=f"promote {MODEL}@champion: {before} -> v{version}"
    )
    refused = panel.locator(".wb-status.wb-error", has_text="reason")
    for _ in range(3):  # refused for an empty reason only while the text had not arrived
        promote.click()
        moved.or_(refused).first.wait_for(timeout=150_000)
        if moved.count():
            return
        time.sleep(2)
    raise AssertionError(f"the promotion of v{version} was refused: {refused.first.inner_text()}")


def _check_my_work(box, expect: str) -> str:
    """Press **Check my work** and return the answer once it says ``expect``."""
    box.locator("button.wb-check-button").click()
    answer = box.locator(".wb-answer-area", has_text=expect)
    answer.wait_for(timeout=120_000)
    return answer.inner_text()


def test_exercise_2_1_wrong_then_right(page, open_notebook, lesson_notebook):
    name, workspace = lesson_notebook
    started = time.monotonic()
    open_notebook(page, name)
    panel = page.locator(".wb-checks-panel")
    panel.wait_for(timeout=180_000)  # after prepare(2): the two challengers are logged
    box = page.locator(".wb-check-my-work").filter(has_text="Exercise 2.1")
    box.locator(".wb-answer-area", has_text="Exercise 2.1: not yet").wait_for(timeout=60_000)
    lesson = page.locator(".wb-lesson").first
    assert f"learner {MODEL.split('.')[0]}" in lesson.inner_text()
    assert "challengers: v1, v2" in lesson.inner_text()
    assert "weak" not in lesson.inner_text() and "strong" not in lesson.inner_text()

    # wrong: the weak challenger, promoted with a reason
    _check_and_promote(panel, 1, "it looks fine", before="none")
    wrong = _check_my_work(box, "you promoted v1")
    assert "Exercise 2.1: not yet" in wrong
    assert "Hint:" in wrong
    assert "promote the one with the higher figures" in wrong
    screenshot(box, "lesson2_wrong", max_height=600)

    # right: the strong challenger, with a reason that says why
    _check_and_promote(panel, 2, "higher ROC AUC on the same rows", before="v1")
    right = _check_my_work(box, "Exercise 2.1: done")
    assert "you promoted v2, the better one" in right
    assert "higher ROC AUC on the same rows" in right
    assert "Hint:" not in right
    screenshot(box, "lesson2_right", max_height=600)

    # the kernel worked in the fresh workspace, as the learner
    uri = f"sqlite:///{workspace / 'mlruns' / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)  # not the process's registry
    assert client.get_model_version_by_alias(MODEL, "champion").version in (2, "2")
    print(f"lesson 2 in the browser: {time.monotonic() - started:.1f} s")
