"""Drift on a real local SparkSession gives the pandas path's verdicts: the same drifted columns on
the clean and shifted demo scenarios (scores equal, or within the stated bound for binned columns),
the same reasons on invalid batches (null surge, missing column, non-finite values, text in a
numeric column, tiny batch), Parquet files and Spark-written Parquet folders as input, and with a
model the same prediction drift and performance figures."""

from __future__ import annotations

import numpy as np
import pytest

import workbench as wb
from workbench.data import credit_risk, production_batch
from workbench.errors import DataQualityError, MissingColumnError, UsageError

pytestmark = pytest.mark.spark

ROWS = 25_000


@pytest.fixture(scope="module")
def reference():
    return credit_risk(20_000, seed=1)


def _both(ref, cur, spark, **options):
    options.setdefault("build_report", False)
    pandas = wb.drift_report(ref, cur, **options)
    on_spark = wb.drift_report(ref, cur, engine="spark", spark=spark, **options)
    return pandas, on_spark


def _assert_same_verdicts(pandas, on_spark):
    assert on_spark.engine == "spark" and pandas.engine == "pandas"
    assert on_spark.status == pandas.status
    assert [c.column for c in on_spark.drifted_columns] == [
        c.column for c in pandas.drifted_columns
    ]
    assert on_spark.skipped == pandas.skipped
    assert (on_spark.rows_reference, on_spark.rows_current) == (
        pandas.rows_reference,
        pandas.rows_current,
    )
    binned = " ".join(n for n in on_spark.notes if n.startswith("Binned"))
    for p, s in zip(pandas.columns, on_spark.columns, strict=True):
        assert (s.column, s.method, s.evidently_drifted, s.drifted) == (
            p.column,
            p.method,
            p.evidently_drifted,
            p.drifted,
        )
        if s.column in binned:  # the stated bound, with room to spare
            assert abs(s.effect - p.effect) < 0.002, s.column
            assert s.effect <= p.effect + 1e-9  # a lower bound: never overstates drift
            assert s.p_value >= p.p_value - 1e-9
        else:  # counted value by value: the pandas numbers
            assert s.score == pytest.approx(p.score, rel=1e-9, abs=1e-12), s.column
            assert s.p_value == pytest.approx(p.p_value, rel=1e-9, abs=1e-12), s.column


@pytest.mark.parametrize(
    ("scenario", "drifted"),
    [
        ("none", set()),
        ("gradual_shift", {"income", "loan_amount"}),
        ("new_category", {"purpose"}),
        ("label_shift", {"default"}),
    ],
)
def test_verdicts_equal_the_pandas_path_on_the_demo_scenarios(spark, reference, scenario, drifted):
    current = production_batch(3, scenario, n=ROWS)
    pandas, on_spark = _both(reference, current, spark, target="default")
    _assert_same_verdicts(pandas, on_spark)
    assert drifted <= {c.column for c in on_spark.drifted_columns}
    assert on_spark.drift_detected is bool(drifted)
    assert "income" in " ".join(on_spark.notes)  # a binned column says its bound


def _inf_age(frame):
    frame = frame.astype({"age": float})
    frame.loc[frame.index[:100], "age"] = np.inf
    return frame


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: production_batch(3, "null_surge", n=ROWS), DataQualityError),
        (lambda: production_batch(3, "none", n=ROWS).drop(columns="region"), MissingColumnError),
        (lambda: _inf_age(production_batch(3, "none", n=ROWS)), DataQualityError),
        (lambda: production_batch(3, "none", n=ROWS).assign(income=np.nan), DataQualityError),
        (lambda: production_batch(3, "none", n=12), DataQualityError),
    ],
    ids=["null_surge", "missing_column", "non_finite", "all_null", "tiny_batch"],
)
def test_invalid_batches_get_the_same_reasons_never_a_silent_no_drift(
    spark, reference, make, error
):
    current = make()
    pandas, on_spark = _both(reference, current, spark, target="default", on_invalid="return")
    assert pandas.status == on_spark.status == "invalid"
    assert on_spark.drift_detected is None and on_spark.columns == []
    assert on_spark.reasons == pandas.reasons
    with pytest.raises(error, match=pandas.reasons[0][:40].replace("(", r"\(")):
        wb.drift_report(reference, current, target="default", engine="spark", spark=spark)


def test_text_in_a_numeric_column_is_named_as_pandas_names_it(spark, reference, tmp_path):
    ref_file, cur_file = tmp_path / "ref.csv", tmp_path / "cur.csv"
    reference.head(5000).to_csv(ref_file, index=False)
    text = production_batch(3, "none", n=2000).astype({"loan_amount": object})
    text.loc[text.index[:7], "loan_amount"] = "unknown"
    text.to_csv(cur_file, index=False)
    pandas, on_spark = _both(ref_file, cur_file, spark, target="default", on_invalid="return")
    assert on_spark.reasons == pandas.reasons
    assert "holds text in the current data, such as 'unknown' (7 values)" in on_spark.reasons[0]


def test_parquet_file_and_spark_written_folder_in(spark, reference, tmp_path):
    ref_file = tmp_path / "reference.parquet"
    reference.to_parquet(ref_file, index=False)  # nanosecond timestamps, read back as dates
    current = production_batch(4, "gradual_shift", n=ROWS)
    folder = tmp_path / "batch"
    spark.createDataFrame(current).repartition(3).write.parquet(str(folder))
    assert len(list(folder.glob("part-*.parquet"))) == 3
    on_spark = wb.drift_report(
        str(ref_file), folder, target="default", engine="spark", spark=spark, build_report=False
    )
    pandas = wb.drift_report(reference, current, target="default", build_report=False)
    _assert_same_verdicts(pandas, on_spark)
    assert on_spark.skipped["application_date"].startswith("date")
    assert on_spark.data_ids["current"] == str(folder)


def test_with_a_model_prediction_drift_performance_and_a_sampled_report(spark, trained):
    from workbench.monitoring.statistics import dkw_bound

    reference = credit_risk(12_000, seed=4)
    current = production_batch(3, "gradual_shift", n=20_000)
    model = trained.linear.model_uri
    pandas = wb.drift_report(reference, current, model=model, build_report=False)
    on_spark = wb.drift_report(
        reference, current, model=model, engine="spark", spark=spark, max_report_rows=3000
    )
    _assert_same_verdicts(pandas, on_spark)
    assert "prediction" in {c.column for c in on_spark.columns}
    assert (on_spark.model_name, on_spark.model_version) == ("credit-risk", "2")
    assert on_spark.performance == pytest.approx(pandas.performance)
    assert on_spark.reference_table_performance == pytest.approx(pandas.reference_table_performance)
    assert set(on_spark.performance) == {"accuracy", "precision", "recall", "f1"}
    assert on_spark.report() is not None and on_spark.report_rows == 3000
    assert on_spark.sample_error_bound == pytest.approx(dkw_bound(3000))
    assert any("3,000 of 20,000 current rows" in n for n in on_spark.notes)


def test_engine_choice_is_checked(reference):
    current = production_batch(1, "none", n=100)
    with pytest.raises(UsageError, match="engine must be 'pandas' or 'spark'"):
        wb.drift_report(reference, current, engine="dask")
    with pytest.raises(UsageError, match="engine must be 'pandas' or 'spark'"):
        wb.drift_report(reference, current, master="local[1]")
