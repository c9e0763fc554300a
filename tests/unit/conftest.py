"""The rule of ``tests/unit``: no server, kernel, Spark or browser (issue 27).

A unit test may use a real MLflow store (SQLite in a temporary folder), real files and real
estimators; what takes seconds to start and competes for the machine's two cores belongs in
``tests/integration`` (or ``notebooks``, ``browser``, ``cli``). Every process a unit test starts
goes through :class:`subprocess.Popen` (asyncio's subprocesses and multiprocessing's ``spawn``
too), so each start is looked at here: a model server (``mlflow models serve``, the workbench's
launcher, uvicorn), a Jupyter kernel, a JVM (Spark), a browser, PostgreSQL or a worker process
fails the test, naming what it started. The markers ``server``, ``notebook``, ``spark`` and
``browser`` are refused in this folder at collection.
"""

from __future__ import annotations

import os
import subprocess

import pytest

#: Executables a unit test never starts (by their file name).
FORBIDDEN_PROGRAMS = frozenset(
    {"java", "chromium", "chromium-browser", "chrome", "headless_shell", "postgres", "pg_ctl",
     "initdb", "mlflow", "uvicorn", "gunicorn", "jupyter", "jupyter-lab", "spark-submit"}
)  # fmt: skip
#: Words in a command line that mean a server, a kernel, Spark or a worker process.
FORBIDDEN_WORDS = (
    "ipykernel",
    "workbench.serving._launcher",
    "models serve",
    "pyspark",
    "spawn_main",
)
#: ``workbench`` commands that start a server, a kernel or PostgreSQL.
FORBIDDEN_COMMANDS = frozenset({"serve", "monitor", "lab", "team", "demo", "dashboard", "run"})
_MARKERS = ("server", "notebook", "spark", "browser")


def started_forbidden(args) -> str | None:
    """What ``args`` (a Popen command) would start that a unit test may not; None if allowed.

    Example:
        >>> started_forbidden(["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "x.json"])
        'ipykernel'
        >>> started_forbidden(["python", "-m", "workbench.cli", "--workspace", "w", "serve", "m"])
        'workbench serve'
        >>> started_forbidden(["git", "rev-parse", "HEAD"]) is None
        True
    """
    argv = [os.fspath(a) for a in args] if isinstance(args, list | tuple) else [os.fspath(args)]
    if argv and os.path.basename(argv[0]) in FORBIDDEN_PROGRAMS:
        return os.path.basename(argv[0])
    names = [os.path.basename(a) for a in argv]
    for cli in ("workbench.cli", "workbench"):
        if cli in names:
            command = set(argv[names.index(cli) + 1 :]) & FORBIDDEN_COMMANDS
            if command:
                return f"workbench {command.pop()}"
    line = " ".join(argv)
    return next((word for word in FORBIDDEN_WORDS if word in line), None)


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    marked = [
        f"{item.nodeid} ({m})"
        for item in items
        if str(item.fspath).startswith(here)
        for m in _MARKERS
        if item.get_closest_marker(m)
    ]
    if marked:
        raise pytest.UsageError(
            "marked tests belong in tests/integration, not tests/unit (no server, kernel, Spark "
            "or browser there): " + "; ".join(marked)
        )


@pytest.fixture(autouse=True)
def _no_server_kernel_spark_or_browser(monkeypatch):
    """Fail the test that starts a server, a kernel, Spark, a browser or a worker process (also
    when the start was in a thread, or its error was caught by the code under test)."""
    original = subprocess.Popen.__init__
    started: list[str] = []

    def guarded(self, args, *rest, **kwargs):
        what = started_forbidden(args)
        if what is not None:
            shown = " ".join(map(str, args))[:200] if isinstance(args, list | tuple) else args
            started.append(f"{what} ({shown})")
            raise RuntimeError(f"tests/unit may not start {what}")
        return original(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", guarded)
    yield
    if started:
        pytest.fail(
            f"a unit test started {started[0]}: servers, kernels, Spark, browsers and worker "
            "processes belong in tests/integration (tests/unit/conftest.py)",
            pytrace=False,
        )
