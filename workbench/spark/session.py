"""The Spark session the workbench runs its batch work on: local by default, a cluster when asked.

``spark_session()`` returns the active SparkSession when there is one (a notebook on a cluster, a
``spark-submit`` job, Databricks), else builds one: ``local[*]`` unless a master URL is given, the
driver bound to 127.0.0.1, the UI off, Python workers on this very interpreter (else they start the
system Python, which lacks pandas). Without PySpark or a Java runtime it raises a
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
from typing import Any

from workbench._core.process import HOST
from workbench.errors import UsageError

__all__ = ["INSTALL_HINT", "check_spark", "spark_session"]

INSTALL_HINT = (
    "install the Spark extra (`pip install deploy-workbench[spark]`, or `pip install pyspark`) and "
    "a Java 17+ runtime (`apt-get install openjdk-17-jre-headless`)"
)


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
    check_spark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and (master is None or active.sparkContext.master == master):
        return active
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
    try:
        spark = builder.getOrCreate()
    except Exception as err:  # the JVM did not start: say why in one line
        raise UsageError(
            f"Spark did not start ({type(err).__name__}: {str(err).splitlines()[0][:300]}). "
            f"Check the master URL {master or 'local[*]'!r} and the Java runtime; {INSTALL_HINT}."
        ) from err
    spark.sparkContext.setLogLevel("ERROR")
    return spark


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
