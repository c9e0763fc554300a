"""The Spark session the workbench runs its batch work on: local by default, a cluster when asked.

``spark_session()`` returns the active SparkSession when there is one (a notebook on a cluster, a
``spark-submit`` job, Databricks), else builds one: ``local[*]`` unless a master URL is given, the
driver bound to 127.0.0.1, the UI off, Python workers on this very interpreter (else they start the
system Python, which lacks pandas), and the JVM's log at ERROR (no start-up banner, no warnings; a
failed task reaches Python as the exception the workbench reports) unless the user configured
log4j2 themselves. Without PySpark or a Java runtime it raises a
:class:`~workbench.errors.UsageError` that says what to install.

Example:
    >>> from workbench.spark import spark_session
    >>> spark = spark_session()                       # doctest: +SKIP
    >>> spark_session("spark://head:7077")             # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any

from workbench._core.process import HOST
from workbench.errors import UsageError

__all__ = ["INSTALL_HINT", "check_spark", "spark_session"]

INSTALL_HINT = (
    "install the Spark extra (`pip install deploy-workbench[spark]`, or `pip install pyspark`) and "
    "a Java 17+ runtime (`apt-get install openjdk-17-jre-headless`)"
)


#: The JVM's log4j2 configuration for a session built here: warnings while it starts (Spark prints
#: a banner when the root level is not WARN), errors once it runs (``setLogLevel``), none for a
#: failed task (Executor, TaskSetManager), which Python raises with the whole Java trace anyway.
QUIET_LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
logger.executor.name = org.apache.spark.executor.Executor
logger.executor.level = fatal
logger.tasks.name = org.apache.spark.scheduler.TaskSetManager
logger.tasks.level = fatal
logger.native.name = org.apache.hadoop.util.NativeCodeLoader
logger.native.level = error
"""


def check_spark() -> None:
    """Raise a :class:`UsageError` naming what to install when PySpark or Java 17+ is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError as err:
        raise UsageError(
            f"engine 'spark' needs PySpark, which is not installed: {INSTALL_HINT}."
        ) from err
    java = _java()
    if java is None:
        raise UsageError(
            f"engine 'spark' needs a Java runtime, and none was found (JAVA_HOME or java on PATH): "
            f"{INSTALL_HINT}."
        )
    major = _java_major(java)
    if major is not None and major < 17:
        raise UsageError(
            f"engine 'spark' needs Java 17 or newer; {java} is Java {major}: {INSTALL_HINT}."
        )


def spark_session(
    master: str | None = None, session: Any = None, app_name: str = "workbench"
) -> Any:
    """The SparkSession to run on.

    Args:
        master: A master URL (``local[2]``, ``spark://host:7077``, ``yarn``); default the active
            session's, else ``local[*]``.
        session: An existing SparkSession to use as it is.
        app_name: The application name of a session built here.

    Returns:
        A ``pyspark.sql.SparkSession``.

    Raises:
        UsageError: PySpark or Java 17+ is missing (the message says what to install), or
            ``session`` is not a SparkSession.
    """
    if session is not None:
        if type(session).__name__ != "SparkSession":
            raise UsageError(
                f"session must be a pyspark SparkSession, got {type(session).__name__}."
            )
        return session
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        check_spark()  # raises: says what to install
        raise
    active = SparkSession.getActiveSession()
    if active is not None and (master is None or active.sparkContext.master == master):
        return active  # its JVM runs already (or elsewhere): no local Java needed
    check_spark()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if (master or "local").startswith("local"):  # local-cluster's master and workers too
        os.environ.setdefault("SPARK_LOCAL_IP", HOST)
    builder = (
        SparkSession.builder.appName(app_name)
        .master(master or "local[*]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
    )
    if (master or "local").startswith("local"):
        builder = builder.config("spark.driver.bindAddress", HOST).config("spark.driver.host", HOST)
    quiet = _quiet_log_config(builder)
    try:
        spark = builder.getOrCreate()
    except Exception as err:  # the JVM did not start: say why in one line
        raise UsageError(
            f"Spark did not start ({type(err).__name__}: {str(err).splitlines()[0][:300]}). "
            f"Check the master URL {master or 'local[*]'!r} and the Java runtime; {INSTALL_HINT}."
        ) from err
    finally:
        if quiet is not None:  # the JVM read it at start
            quiet.unlink(missing_ok=True)
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _quiet_log_config(builder: Any) -> Any:
    """Point the driver JVM at :data:`QUIET_LOG4J2` (a private temporary file, returned to be
    removed once the JVM started), unless the user configured log4j2 or driver Java options."""
    from pathlib import Path

    mine = ("SPARK_CONF_DIR", "SPARK_SUBMIT_OPTS", "JAVA_TOOL_OPTIONS", "PYSPARK_SUBMIT_ARGS")
    if any(os.environ.get(name) for name in mine):
        return None
    fd, name = tempfile.mkstemp(prefix="workbench-log4j2-", suffix=".properties")
    with os.fdopen(fd, "w") as out:
        out.write(QUIET_LOG4J2)
    builder.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={name}")
    return Path(name)


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return os.path.join(home, "bin", "java")
    return shutil.which("java")


def _java_major(java: str) -> int | None:
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    import re

    found = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major
