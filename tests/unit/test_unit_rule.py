"""The rule of ``tests/unit`` holds: a test here that starts a kernel, a server, Spark or a worker
process fails, naming it, even when the code under test swallowed the error (tests/unit/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.conftest import started_forbidden

pytest_plugins = ["pytester"]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["/venv/bin/python", "-m", "ipykernel_launcher", "-f", "k.json"], "ipykernel"),
        (["/usr/lib/jvm/bin/java", "-cp", "x", "org.apache.spark.deploy.SparkSubmit"], "java"),
        (["python", "-m", "mlflow", "models", "serve", "-m", "m"], "models serve"),
        (["mlflow", "server"], "mlflow"),
        (["python", "-m", "workbench.serving._launcher", "--port", "0"], "workbench.serving._launcher"),
        (["python", "-c", "from multiprocessing.spawn import spawn_main; spawn_main()"], "spawn_main"),
        (["/venv/bin/workbench", "--workspace", "w", "monitor", "--plan", "p"], "workbench monitor"),
        (["/usr/lib/postgresql/16/bin/initdb", "-D", "d"], "initdb"),
        (["chromium", "--headless"], "chromium"),
    ],
)  # fmt: skip
def test_what_a_unit_test_may_not_start_is_named(argv, said):
    assert started_forbidden(argv) == said


@pytest.mark.parametrize(
    "argv",
    [["git", "rev-parse", "HEAD"], ["python", "-m", "workbench.cli", "--version"],
     ["python", "-m", "workbench.cli", "--workspace", "/tmp/serve", "history", "m"]],
)  # fmt: skip
def test_ordinary_commands_are_allowed(argv):
    assert started_forbidden(argv) is None


def test_a_kernel_started_by_a_unit_test_fails_it_even_when_the_error_is_swallowed(pytester):
    pytester.makeconftest(Path(__file__).with_name("conftest.py").read_text())
    pytester.makepyfile(
        test_starts_a_kernel="""
import subprocess, sys

def test_it():
    try:
        subprocess.Popen([sys.executable, "-m", "ipykernel_launcher", "--help"])
    except Exception:
        pass  # the code under test gave up quietly
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*a unit test started ipykernel*tests/integration*"])
