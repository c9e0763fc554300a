"""Batch scoring on a real local SparkSession: the same rows as the pandas engine, row for row (ids,
integer columns, NaNs; classifiers and a regressor); Parquet folders in and out, written atomically;
unsafe models and missing columns refused before any Spark job."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.data import credit_risk

pytestmark = pytest.mark.spark


def _table(n=2000, seed=11):
    """Credit-risk rows with a text id, an integer id, int64 features and missing values."""
    frame = credit_risk(n, seed=seed)  # with a date column: pandas writes it in nanoseconds
    frame.insert(0, "customer_id", [f"C{i:06d}" for i in range(n)])
    frame.insert(1, "loan_id", np.arange(70_000, 70_000 + n, dtype="int64"))
    frame.loc[frame.index[::7], "income"] = np.nan
    frame.loc[frame.index[::11], "employment"] = None
    frame.index = pd.RangeIndex(500, 500 + n)  # a non-default index, kept by both engines
    assert frame["age"].dtype == "int64" and frame["loan_term_months"].dtype == "int64"
    return frame


@pytest.fixture(scope="module")
def models(_trained_session):
    """A classifier whose contract lists the ids, a multiclass one with text labels, a regressor."""
    from sklearn.datasets import load_iris

    from workbench.data import diabetes

    wb.open_workspace(_trained_session.ws.root)
    ids = wb.train_and_log(
        _table(1500, seed=3), "default", name="spark-ids", family="random_forest",
        params={"n_estimators": 20},
    )  # fmt: skip
    iris = load_iris(as_frame=True)
    flowers = iris.frame.drop(columns="target")
    flowers["species"] = np.asarray(iris.target_names, dtype=object)[iris.target]
    multi = wb.train_and_log(flowers, "species", name="spark-iris", family="logistic_regression")
    table = diabetes()
    reg = wb.train_and_log(table, "target", name="spark-diabetes", family="linear_regression")
    return {"ids": ids.model_uri, "iris": (multi.model_uri, flowers), "reg": (reg.model_uri, table)}


@contextlib.contextmanager
def _no_spark_job(spark, group):
    """Fail if a Spark job runs inside; then show that a job would have been seen."""
    sc = spark.sparkContext
    sc.setJobGroup(group, "must run no Spark job")
    try:
        yield
        assert sc.statusTracker().getJobIdsForGroup(group) == []
        spark.range(3).count()  # the control: a job in this group is seen
        assert sc.statusTracker().getJobIdsForGroup(group) != []
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)


def _same(got, expected):
    """Equal row for row: labels, ids and index exactly, probabilities to 1e-12."""
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=0, atol=1e-12)


@contextlib.contextmanager
def _batches_of(spark, rows):
    """Arrow batches of ``rows`` rows for the duration (the shared session's setting restored)."""
    key = "spark.sql.execution.arrow.maxRecordsPerBatch"
    before = spark.conf.get(key)
    spark.conf.set(key, str(rows))
    try:
        yield
    finally:
        spark.conf.set(key, before)


def test_spark_scores_a_table_exactly_as_the_pandas_engine(spark, models, trained):
    frame = _table()
    for uri in (models["ids"], trained.linear.model_uri):
        expected = wb.score(uri, frame, id_columns=["loan_id"], progress=False)
        with _batches_of(spark, 300):  # many Arrow batches over two partitions
            got = wb.score(uri, frame, id_columns=["loan_id"], engine="spark", spark=spark)
        assert isinstance(got, pd.DataFrame) and got.index.equals(frame.index)
        _same(got, expected)
    assert got.columns.tolist() == ["loan_id", "prediction", "proba_1"]
    # the contract's identifiers come through unnamed; a Spark DataFrame gives a lazy Spark one
    lazy = wb.score(models["ids"], spark.createDataFrame(frame), engine="spark", spark=spark)
    assert type(lazy).__module__.startswith("pyspark.") and lazy.columns == [
        "customer_id", "loan_id", "prediction", "proba_1",
    ]  # fmt: skip
    back = lazy.toPandas().sort_values("loan_id", ignore_index=True)
    expected = wb.score(models["ids"], frame, progress=False).reset_index(drop=True)
    _same(back, expected)
    assert expected["prediction"].nunique() == 2 and expected["proba_1"].between(0, 1).all()


def test_text_labels_and_a_regressor_come_out_as_the_pandas_engine_gives_them(spark, models):
    for uri, table in (models["iris"], models["reg"]):
        expected = wb.score(uri, table, progress=False)
        got = wb.score(uri, table, engine="spark", spark=spark)
        _same(got, expected)
    uri, flowers = models["iris"]
    assert wb.score(uri, flowers.head(3), engine="spark", spark=spark).columns.tolist() == [
        "prediction", "proba_setosa", "proba_versicolor", "proba_virginica",
    ]  # fmt: skip
    assert got.columns.tolist() == ["prediction"] and got["prediction"].dtype == "float64"


def test_a_parquet_folder_in_gives_a_parquet_folder_out_replaced_atomically(
    spark, models, tmp_path
):
    frame = _table(3000, seed=4)
    folder = tmp_path / "batch"
    folder.mkdir()
    for i, start in enumerate(range(0, 3000, 1000)):
        frame.iloc[start : start + 1000].to_parquet(folder / f"part-{i}.parquet", index=False)
    (folder / "_SUCCESS").write_text("")
    out = tmp_path / "scored" / "day1.parquet"
    result = wb.score(models["ids"], folder, out=out, id_columns=["region"], engine="spark")
    assert isinstance(result, wb.ScoringResult) and result.output == str(out)
    assert result.rows == 3000 and result.chunks >= 1 and result.rows_per_second > 0
    assert result.columns == ["customer_id", "loan_id", "region", "prediction", "proba_1"]
    assert out.is_dir() and (out / "_SUCCESS").exists()
    written = pd.read_parquet(out).sort_values("loan_id", ignore_index=True)
    expected = wb.score(models["ids"], frame, id_columns=["region"], progress=False)
    _same(written, expected.reset_index(drop=True))

    # a job that fails (text where the model takes numbers) leaves yesterday's output alone
    bad = frame.astype({"loan_amount": str})
    bad.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(wb.SchemaMismatchError, match="loan_amount"):
        wb.score(models["ids"], tmp_path / "bad.parquet", out=out, engine="spark")
    pd.testing.assert_frame_equal(
        pd.read_parquet(out).sort_values("loan_id", ignore_index=True), written
    )
    assert sorted(p.name for p in out.parent.iterdir()) == ["day1.parquet"]  # no hidden leftovers

    # a Spark output is replaced by the new one; a file: URI works as a path does
    again = wb.score(models["ids"], frame.head(10), out=out.as_uri(), engine="spark")
    assert again.rows == 10 and len(pd.read_parquet(out)) == 10 and again.output == out.as_uri()
    assert sorted(p.name for p in out.parent.iterdir()) == ["day1.parquet"]


def test_outputs_that_would_destroy_data_are_refused_before_any_job(spark, models, tmp_path):
    frame = _table(50)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    folder = tmp_path / "batch"
    folder.mkdir()
    frame.to_parquet(folder / "part-0.parquet")
    with _no_spark_job(spark, "wb-refused-outputs"):
        with pytest.raises(wb.UsageError, match="not a Spark output"):
            wb.score(models["ids"], frame, out=precious, engine="spark", spark=spark)
        with pytest.raises(wb.UsageError, match="lies inside the input"):
            wb.score(models["ids"], folder, out=folder, engine="spark", spark=spark)
        with pytest.raises(wb.UsageError, match="lies inside the input"):
            wb.score(models["ids"], folder, out=tmp_path, engine="spark", spark=spark)
    assert (precious / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in folder.iterdir()) == ["part-0.parquet"]


def test_a_pickled_model_is_refused_before_any_spark_job_unless_allowed(
    spark, trained, tmp_path, monkeypatch
):
    from tests.integration.pickled_models import MARKER_ENV, log_pickled

    marker = tmp_path / "payload-ran"
    monkeypatch.setenv(MARKER_ENV, str(marker))
    uri = log_pickled("hostile-spark-scoring", ["a", "b"])
    rows = pd.DataFrame({"a": [0.5, -1.0, 2.0], "b": [1.0, 2.0, 3.0]})
    out = tmp_path / "scores"
    with _no_spark_job(spark, "wb-pickle-refused"):
        with pytest.raises(wb.UnsafeModelError, match="saved as pickle") as info:
            wb.score(uri, rows, out=out, engine="spark", spark=spark)
    assert info.value.exit_code == 2 and not marker.exists() and not out.exists()
    scored = wb.score(uri, rows, engine="spark", spark=spark, allow_pickle=True)
    assert marker.exists() and len(scored) == 3  # allowed: loaded once, on the driver
    version = wb.registry.get_version("hostile-spark-scoring", uri.rsplit("/", 1)[1])
    assert version.tags.get("workbench.allow_pickle") == "true"  # recorded, as pandas does
    rows.loc[1, "b"] = np.nan  # a plain LogisticRegression fails on it, on an executor
    with pytest.raises(wb.ModelError, match="failed on Spark: ValueError: Input X contains NaN"):
        wb.score(uri, rows, engine="spark", spark=spark, allow_pickle=True)


def test_a_missing_column_is_named_before_any_job(spark, models, tmp_path):
    frame = _table(40).drop(columns="income")
    data = tmp_path / "batch.parquet"
    frame.to_parquet(data)
    with _no_spark_job(spark, "wb-missing-column"):
        with pytest.raises(wb.MissingColumnError, match=r"the data lacks .*'income'"):
            wb.score(models["ids"], frame, engine="spark", spark=spark)
        with pytest.raises(wb.MissingColumnError, match=r"batch\.parquet lacks .*'income'"):
            wb.score(models["ids"], data, out=tmp_path / "out", engine="spark", spark=spark)
        with pytest.raises(wb.MissingColumnError, match="'nope'"):
            wb.score(models["ids"], _table(5), id_columns=["nope"], engine="spark", spark=spark)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.parquet"]


def test_a_bad_engine_and_a_missing_java_are_usage_errors(models, monkeypatch, tmp_path):
    frame = _table(5)
    with pytest.raises(wb.UsageError, match="engine must be 'pandas' or 'spark'"):
        wb.score(models["ids"], frame, engine="dask")
    with pytest.raises(wb.UsageError, match="add engine='spark'"):
        wb.score(models["ids"], frame, master="local[2]")  # a master means Spark
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on it
    with pytest.raises(wb.UsageError, match="openjdk-17-jre-headless"):
        wb.score("models:/no-such-model/1", frame, engine="spark")  # before the model is sought
