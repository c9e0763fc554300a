"""The lesson notebooks as a learner opens them, headless, with every exercise left undone: nbval
runs each cell of the five lessons in order (``--nbval-lax``: a cell passes when it runs), in a
kernel nbval starts itself, in a fresh workspace. Then every **Check my work** must have said
"not yet": the progress the checks recorded holds every exercise, none done."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from tests.conftest import NOTEBOOKS

pytestmark = [pytest.mark.notebook, pytest.mark.server]

LEARNER = "nbval-learner"


def _lessons() -> list[str]:
    return sorted(p.name for p in (NOTEBOOKS / "lesson").glob("0*.ipynb"))


def test_there_are_five_short_lessons_each_with_checked_exercises():
    from workbench.lesson import EXERCISES

    lessons = _lessons()
    assert len(lessons) == 5
    asked = set()
    for name in lessons:
        nb = json.loads((NOTEBOOKS / "lesson" / name).read_text())
        code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
        found = re.findall(r'CheckMyWork\("(\d\.\d)"', "\n".join(code))
        assert 2 <= len(found) <= 3, (name, found)  # 2 or 3 exercises per lesson
        asked |= set(found)
        tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, name
        assert not any(re.search(r"^\s*(def|class) ", c, re.M) for c in code), name  # thin
        assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    assert asked == set(EXERCISES)


def test_lessons_run_headless_and_every_check_says_not_yet(tmp_path):
    from tests.notebooks.test_nbval import run_nbval
    from workbench.lesson import EXERCISES
    from workbench.lesson.progress import learner_progress

    shutil.copytree(NOTEBOOKS / "lesson", tmp_path / "lesson")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    env["WORKBENCH_WORKSPACE"] = str(tmp_path)
    env["WORKBENCH_LEARNER"] = LEARNER
    done = run_nbval(tmp_path, env, [f"lesson/{name}" for name in _lessons()], timeout=1200)
    tail = (done.stdout + done.stderr)[-4000:]
    assert done.returncode == 0, tail
    passed = re.search(r"(\d+) passed", done.stdout)
    assert passed and int(passed.group(1)) >= 25, tail
    recorded = learner_progress(tmp_path / "mlruns" / "mlflow.db", LEARNER)
    assert set(recorded) == set(EXERCISES), recorded  # every check ran
    states = {k: r["state"] for k, r in recorded.items()}
    assert "done" not in states.values(), states  # and said "not yet"
    assert all(r["hint"] for r in recorded.values())  # with a hint
