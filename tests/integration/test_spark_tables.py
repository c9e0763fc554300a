"""What the Spark engine takes as data, and what it says when Spark cannot run."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.errors import DataFileError, UsageError
from workbench.spark import check_spark, spark_session, spark_table
from workbench.spark.tables import is_spark_frame

pytestmark = pytest.mark.spark


def test_a_pandas_frame_a_parquet_folder_a_file_and_a_table_name_are_read(spark, tmp_path):
    frame = pd.DataFrame({"id": ["007", "008", "009"], "income": [1.0, None, 3.5]})
    folder = tmp_path / "batch"
    folder.mkdir()
    frame.iloc[:2].to_parquet(folder / "part-0.parquet")
    frame.iloc[2:].to_parquet(folder / "part-1.parquet")
    (folder / "_SUCCESS").write_text("")
    frame.to_csv(tmp_path / "batch.csv", index=False)
    from_pandas = spark_table(spark, frame)
    assert is_spark_frame(from_pandas) and from_pandas.count() == 3
    from_folder = spark_table(spark, folder)
    assert sorted(r["id"] for r in from_folder.collect()) == ["007", "008", "009"]
    assert spark_table(spark, str(folder / "part-1.parquet")).count() == 1
    assert spark_table(spark, tmp_path / "batch.csv").count() == 3
    from_pandas.createOrReplaceTempView("wb_batch")
    assert spark_table(spark, "wb_batch").count() == 3
    assert spark_table(spark, from_folder) is from_folder


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ("no/such/folder", "does not exist"),
        ("missing.parquet", "does not exist"),
        ("no_such_table", "neither a file nor a folder nor a table"),
        (42, "must be a Spark or pandas DataFrame"),
    ],
)
def test_what_is_not_data_is_named(spark, data, says):
    with pytest.raises(DataFileError, match=says):
        spark_table(spark, data, "the current batch")


def test_an_empty_folder_and_a_foreign_file_are_refused(spark, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFileError, match="holds no data files"):
        spark_table(spark, tmp_path / "empty")
    (tmp_path / "batch.json").write_text("{}")
    with pytest.raises(DataFileError, match="not a Parquet or CSV file"):
        spark_table(spark, tmp_path / "batch.json")


def test_the_session_is_the_active_one_and_a_non_session_is_refused(spark):
    assert spark_session() is spark
    assert spark_session(session=spark) is spark
    with pytest.raises(UsageError, match="must be a pyspark SparkSession"):
        spark_session(session="local[2]")


def test_without_java_the_error_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UsageError, match="openjdk-17-jre-headless"):
        check_spark()


def test_an_old_java_is_refused(monkeypatch, tmp_path):
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(UsageError, match="Java 17 or newer.*Java 11"):
        check_spark()


def test_an_active_session_is_used_without_looking_for_a_local_java(spark, monkeypatch, tmp_path):
    # Databricks Connect, a notebook on a cluster: the JVM is not this machine's to find
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert spark_session() is spark
    with pytest.raises(UsageError, match="openjdk-17-jre-headless"):
        spark_session("spark://elsewhere:7077")  # a new session would need Java here
