"""The training table as the reference on the Spark engine (issue 24, part 5): the reference rows are
hashed where they live, the overlap with the row hashes the version kept is counted there, and the
prediction column is judged against the model's held-out predictions, as the pandas engine judges
it: the same note, the same prediction verdict, no false alarm on a clean batch."""

from __future__ import annotations

import pytest
import test_training_reference as pandas_engine
from test_training_reference import FEATURES, _forest

import workbench as wb
from workbench.data import production_batch, split_xy

pytestmark = pytest.mark.spark

tables = pandas_engine.tables  # the same model's tables: training rows, held-out rows


def _prediction(result):
    return next(c for c in result.columns if c.column == "prediction")


def test_spark_judges_the_prediction_against_held_out_rows_as_pandas_does(
    spark, tables, tmp_path, monkeypatch
):
    wb.open_workspace(tmp_path / "ws")
    train, held = tables
    x, y = split_xy(train, "default")
    mv = wb.log_model(
        _forest().fit(x, y), name="overfit", train=(x, y), eval=split_xy(held, "default")
    )
    batch = production_batch(1, "none", n=1000, seed=3)[[*FEATURES, "default"]]
    pandas = wb.drift_report(train, batch, model=mv.model_uri, build_report=False)
    spread = spark.createDataFrame(train).repartition(3)  # hashed on three partitions
    on_spark = wb.drift_report(
        spread, batch, model=mv.model_uri, engine="spark", spark=spark, build_report=False
    )
    note = [n for n in pandas.notes if "trained on" in n]
    assert note and "held-out eval rows" in note[0], pandas.notes
    assert [n for n in on_spark.notes if "trained on" in n] == note  # the same share, the same rows
    p, s = _prediction(pandas), _prediction(on_spark)
    assert not s.drifted, s
    assert (s.method, s.drifted, s.evidently_drifted) == (p.method, p.drifted, p.evidently_drifted)
    assert s.score == pytest.approx(p.score, rel=1e-9, abs=1e-12)
    assert s.p_value == pytest.approx(p.p_value, rel=1e-9, abs=1e-12)
    drifted = [c.column for c in on_spark.drifted_columns]
    assert drifted == [c.column for c in pandas.drifted_columns]
    # without it (the predictions on the training rows as reference), Spark alarmed on this batch
    from workbench.monitoring import spark_drift

    monkeypatch.setattr(spark_drift, "prediction_reference", lambda *args, **kwargs: {})
    naive = wb.drift_report(
        spread, batch, model=mv.model_uri, engine="spark", spark=spark, build_report=False
    )
    assert _prediction(naive).drifted, "the forest's predictions on its training rows differ"
    monkeypatch.undo()
    # a held-out table as the reference: no overlap, no note, the predictions on it are the reference
    fresh = wb.drift_report(
        held, batch, model=mv.model_uri, engine="spark", spark=spark, build_report=False
    )
    assert not any("trained on" in n for n in fresh.notes), fresh.notes


def test_spark_leaves_the_prediction_untested_without_held_out_predictions(spark, tables, tmp_path):
    wb.open_workspace(tmp_path / "ws")
    train, _ = tables
    x, y = split_xy(train, "default")
    mv = wb.log_model(_forest().fit(x, y), name="no-eval", train=(x, y))
    batch = production_batch(1, "none", n=1000, seed=3)[[*FEATURES, "default"]]
    pandas = wb.drift_report(train, batch, model=mv.model_uri, build_report=False)
    on_spark = wb.drift_report(
        train, batch, model=mv.model_uri, engine="spark", spark=spark, build_report=False
    )
    assert "prediction" not in {c.column for c in on_spark.columns}
    assert on_spark.skipped["prediction"] == pandas.skipped["prediction"]
    assert "held-out" in on_spark.skipped["prediction"], on_spark.skipped
