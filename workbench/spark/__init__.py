"""Batch work on Spark: the same model URI, contract and verdicts as the pandas path, on tables
larger than one machine's memory (``engine="spark"`` in :func:`workbench.score` and
:func:`workbench.drift_report`).

* ``session``: the SparkSession (``local[*]`` by default, a master URL or an existing session for a
  cluster); a clear error when PySpark or Java is missing.
* ``tables``: what counts as data: a Spark DataFrame, a Parquet file or folder, a table name, a pandas
  DataFrame.

PySpark is an optional extra: ``pip install deploy-workbench[spark]`` and a Java 17+ runtime.
"""

from workbench.spark.session import INSTALL_HINT, check_spark, spark_session
from workbench.spark.tables import spark_table

__all__ = ["INSTALL_HINT", "check_spark", "spark_session", "spark_table"]
