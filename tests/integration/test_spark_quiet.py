"""A session the workbench builds starts without Spark's log4j banner and warnings, and a failed
task does not spill Java log lines (Python raises it); a user's own log4j2 setup is left alone."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.usefixtures("spark_ready")]

SCRIPT = textwrap.dedent(
    """
    import glob, tempfile
    import pyspark.sql.functions as F
    from workbench.spark import spark_session
    spark = spark_session("local[1]")
    assert spark.range(3).count() == 3
    try:
        spark.range(3).select(F.udf(lambda x: 1 / 0, "double")("id")).collect()
    except Exception as err:
        print("raised", type(err).__name__)
    print("left", glob.glob(tempfile.gettempdir() + "/workbench-log4j2-*"))
    spark.stop()
    """
)

NOISE = ("log4j profile", "Setting default log level", "NativeCodeLoader", "Exception in task")


def _run(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )


def test_a_built_session_is_quiet_and_leaves_no_config_file(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_CONF_DIR", "SPARK_SUBMIT_OPTS")}
    env["TMPDIR"] = str(tmp_path)
    done = _run(env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "raised PythonException" in done.stdout
    assert "left []" in done.stdout  # the JVM read the file at start; it was removed
    for noise in NOISE:
        assert noise not in done.stderr, done.stderr[-2000:]


def test_a_users_own_log4j2_setup_is_left_alone(tmp_path):
    (tmp_path / "log4j2.properties").write_text(
        "rootLogger.level = info\nrootLogger.appenderRef.stderr.ref = console\n"
        "appender.console.type = Console\nappender.console.name = console\n"
        "appender.console.target = SYSTEM_ERR\nappender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = USERLOG %p %c{1}: %m%n\n"
    )
    env = {**os.environ, "SPARK_CONF_DIR": str(tmp_path), "TMPDIR": str(tmp_path)}
    done = _run(env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "USERLOG " in done.stderr  # their configuration (its pattern), not ours
