"""`make test` runs the suite on both cores with pytest-xdist's ``--dist loadgroup``: the tests of
one shared service (the browser's JupyterLab, the team server, the session's SparkSession) must
reach one worker, so each service starts once, and the other tests run a module at a time
(module fixtures built once, file order kept). pytest 9.2 silently stopped that grouping
(pytest-xdist#1386); this test notices such an upgrade."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import os, pytest

@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "controller")
    with open(os.path.join(os.environ["PROBE_DIR"], worker + ".txt"), "w") as out:
        out.write("\\n".join(item.nodeid for item in session.items))
"""


def test_the_tests_of_one_service_are_grouped_for_one_worker(tmp_path):
    (tmp_path / "wb_group_probe.py").write_text(PROBE)
    chosen = [
        "tests/browser/test_welcome_browser.py",
        "tests/integration/test_team.py",
        "tests/integration/test_spark_drift.py",
        "tests/unit/test_unit_rule.py",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--setup-plan", "-q", "-n", "2", "--dist", "loadgroup",
         "-p", "wb_group_probe", "-p", "no:cacheprovider", *chosen],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**__import__("os").environ, "PYTHONPATH": str(tmp_path), "PROBE_DIR": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    ids = (tmp_path / "gw0.txt").read_text().splitlines()
    groups = {}
    for nodeid in ids:
        path = nodeid.split("::")[0]
        groups.setdefault(path, set()).add(nodeid.rsplit("@", 1)[1] if "@" in nodeid else None)
    assert groups[chosen[0]] == {"browser"}, groups
    assert groups[chosen[1]] == {"team"}, groups
    assert groups[chosen[2]] == {"spark"}, groups  # a module using the session's SparkSession
    assert groups[chosen[3]] == {chosen[3]}, groups  # the others: a module at a time
