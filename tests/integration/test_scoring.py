"""Batch scoring against the real store: the same answers as the model in process, row for row, from
a DataFrame, CSV and Parquet, in chunks or not; identifiers passed through; nothing half-written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.data import credit_risk
from workbench.registry import signature_frame
from workbench.serving import in_process_model


def _table(n=700, seed=11):
    """Credit-risk rows with a text id, an integer id, int64 columns and missing values."""
    frame = credit_risk(n, seed=seed)
    frame.insert(0, "customer_id", [f"C{i:06d}" for i in range(n)])
    frame.insert(1, "loan_id", np.arange(50_000, 50_000 + n, dtype="int64"))
    frame.loc[frame.index[::7], "income"] = np.nan
    frame.loc[frame.index[::11], "employment"] = None
    assert frame["age"].dtype == "int64" and frame["loan_term_months"].dtype == "int64"
    return frame


@pytest.fixture(scope="module")
def with_ids(_trained_session):
    """A logistic regression trained on a table with identifiers (its contract lists them)."""
    wb.open_workspace(_trained_session.ws.root)
    version = wb.train_and_log(
        _table(1500, seed=3), "default", name="scoring-ids", family="logistic_regression"
    )
    return version.model_uri


def _expected(model_uri, frame):
    model = in_process_model(model_uri)
    names = model.metadata.get_input_schema().input_names()
    x = signature_frame(frame[names])
    raw = model.get_raw_model()
    return model.predict(x), raw.predict_proba(x) if hasattr(raw, "predict_proba") else None


def test_a_dataframe_is_scored_as_the_model_scores_it_in_process(trained):
    frame = _table()
    scored = wb.score(
        trained.linear.model_uri, frame, id_columns=["customer_id", "loan_id"], progress=False
    )
    assert scored.columns.tolist() == ["customer_id", "loan_id", "prediction", "proba_1"]
    assert scored.index.equals(frame.index)
    pd.testing.assert_frame_equal(
        scored[["customer_id", "loan_id"]], frame[["customer_id", "loan_id"]]
    )
    labels, proba = _expected(trained.linear.model_uri, frame)
    np.testing.assert_array_equal(scored["prediction"], labels)
    np.testing.assert_allclose(scored["proba_1"], proba[:, 1], rtol=0, atol=1e-12)
    assert scored["proba_1"].between(0, 1).all() and scored["prediction"].nunique() == 2


def test_the_contracts_identifiers_pass_through_without_being_named(with_ids):
    contract = wb.model_contract(with_ids)
    assert set(contract.id_columns) == {"customer_id", "loan_id"}
    assert not set(contract.id_columns) & set(contract.features)
    frame = _table(300, seed=5)
    scored = wb.score(with_ids, frame, id_columns=["region"], progress=False)
    assert scored.columns.tolist() == ["customer_id", "loan_id", "region", "prediction", "proba_1"]
    assert scored["loan_id"].dtype == "int64"
    labels, proba = _expected(with_ids, frame)
    np.testing.assert_array_equal(scored["prediction"], labels)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_is_scored_in_chunks_exactly_as_in_one_piece(with_ids, tmp_path, suffix):
    frame = _table(1000, seed=8)
    data = tmp_path / f"batch{suffix}"
    if suffix == ".csv":
        frame.to_csv(data, index=False)
        back = pd.read_csv(data, dtype={"customer_id": str, "loan_id": str})
    else:
        frame.to_parquet(data, index=False)
        back = pd.read_parquet(data)
    steps = []
    chunked = wb.score(
        with_ids,
        data,
        out=tmp_path / f"chunked{suffix}",
        chunk_rows=97,
        progress=lambda step, done: steps.append(done),
    )
    whole = wb.score(with_ids, data, out=tmp_path / f"whole{suffix}", progress=False)
    assert chunked.rows == whole.rows == 1000 and chunked.chunks == 11 and whole.chunks == 1
    assert steps == sorted(steps) and steps[-1] == 1.0 and len(steps) == 12
    read = pd.read_csv if suffix == ".csv" else pd.read_parquet
    kwargs = (
        {"float_precision": "round_trip", "dtype": {"customer_id": str}} if suffix == ".csv" else {}
    )
    a, b = read(chunked.output, **kwargs), read(whole.output, **kwargs)
    pd.testing.assert_frame_equal(a, b)
    assert a.columns.tolist() == ["customer_id", "loan_id", "prediction", "proba_1"]
    assert a["customer_id"].tolist() == frame["customer_id"].tolist()
    assert a["loan_id"].astype("int64").tolist() == frame["loan_id"].tolist()
    labels, proba = _expected(with_ids, back)
    np.testing.assert_array_equal(a["prediction"], labels)
    np.testing.assert_allclose(a["proba_1"], proba[:, 1], rtol=0, atol=1e-12)
    saved = chunked.to_dict()
    assert (
        saved["rows"] == 1000 and saved["rows_per_second"] > 0 and "1,000 rows" in chunked.summary()
    )


def test_csv_identifiers_are_copied_as_written(with_ids, tmp_path):
    frame = _table(50)
    frame["customer_id"] = [f"{i:05d}" for i in range(50)]  # leading zeros, digits only
    data = tmp_path / "zeros.csv"
    frame.to_csv(data, index=False)
    scored = wb.score(with_ids, data, id_columns=["age"], progress=False)  # age: also a feature
    assert scored["customer_id"].tolist()[:3] == ["00000", "00001", "00002"]
    assert scored["age"].tolist() == frame["age"].tolist()
    np.testing.assert_array_equal(scored["prediction"], _expected(with_ids, frame)[0])


def test_a_missing_feature_is_named_and_nothing_is_written(trained, tmp_path):
    data = tmp_path / "batch.parquet"
    _table(100).drop(columns="income").to_parquet(data)
    out = tmp_path / "scored.csv"
    with pytest.raises(wb.MissingColumnError, match="'income'"):
        wb.score(trained.linear.model_uri, data, out=out, progress=False)
    assert list(tmp_path.iterdir()) == [data]


def test_a_failure_halfway_leaves_no_half_written_output(trained, tmp_path):
    frame = _table(400).astype({"loan_amount": object})
    frame.loc[frame.index[350], "loan_amount"] = "lots"  # in the fourth chunk of 100
    data = tmp_path / "batch.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "scored.parquet"
    out.write_bytes(b"yesterday's scores")
    with pytest.raises(wb.SchemaMismatchError, match="loan_amount"):
        wb.score(trained.linear.model_uri, data, out=out, chunk_rows=100, progress=False)
    assert out.read_bytes() == b"yesterday's scores"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.csv", "scored.parquet"]


def test_bad_files_models_and_names_are_clear_errors(trained, tmp_path):
    frame = _table(20)
    uri = trained.linear.model_uri
    with pytest.raises(wb.DataFileError, match="does not exist"):
        wb.score(uri, tmp_path / "none.csv", progress=False)
    broken = tmp_path / "broken.parquet"
    broken.write_text("not parquet")
    with pytest.raises(wb.DataFileError, match="does not parse as parquet"):
        wb.score(uri, broken, progress=False)
    with pytest.raises(wb.DataFileError, match="unsupported format"):
        wb.score(uri, tmp_path / "rows.xlsx", progress=False)
    with pytest.raises(wb.ModelNotFoundError, match="credit-risk/99"):
        wb.score("models:/credit-risk/99", frame, progress=False)
    with pytest.raises(wb.ModelNotFoundError, match="cannot find model"):
        wb.score(str(tmp_path / "no-model"), frame, progress=False)
    with pytest.raises(wb.MissingColumnError, match="'nope'"):
        wb.score(uri, frame, id_columns=["nope"], progress=False)
    with pytest.raises(wb.UsageError, match="output file"):
        wb.score(uri, frame, out=tmp_path / "scores.json", progress=False)
    with pytest.raises(wb.UsageError, match="chunk_rows"):
        wb.score(uri, frame, chunk_rows=0, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.parquet"]


def test_multiclass_labels_get_a_column_each_and_a_regressor_a_prediction_only(trained, tmp_path):
    import mlflow
    from sklearn.datasets import load_iris

    from workbench.data import diabetes

    data = load_iris(as_frame=True)
    iris = data.frame.drop(columns="target")
    iris["species"] = np.asarray(data.target_names, dtype=object)[data.target]
    uri = wb.train_and_log(iris, "species", name="iris-scoring", family="logistic_regression")
    uri = uri.model_uri
    scored = wb.score(uri, iris, chunk_rows=40, progress=False)
    columns = wb.model_contract(uri).probability_columns()
    assert scored.columns.tolist() == ["prediction", *columns]
    assert columns == ["proba_setosa", "proba_versicolor", "proba_virginica"]
    labels, proba = _expected(uri, iris)
    np.testing.assert_array_equal(scored["prediction"], labels)
    np.testing.assert_allclose(scored[columns], proba, rtol=0, atol=1e-12)

    table = diabetes()
    reg = wb.train_and_log(table, "target", name="diabetes-scoring", family="linear_regression")
    local = mlflow.artifacts.download_artifacts(reg.model_uri, dst_path=str(tmp_path))
    for model in (reg.model_uri, local):  # a registered version, and a plain folder (no contract)
        out = wb.score(model, table, out=tmp_path / "reg.parquet", progress=False)
        back = pd.read_parquet(out.output)
        assert back.columns.tolist() == ["prediction"]
        np.testing.assert_allclose(back["prediction"], _expected(reg.model_uri, table)[0])


def test_a_pickled_model_is_refused_before_it_is_loaded_unless_allowed(
    trained, tmp_path, monkeypatch
):
    from tests.integration.pickled_models import MARKER_ENV, log_pickled

    marker = tmp_path / "payload-ran"
    monkeypatch.setenv(MARKER_ENV, str(marker))
    uri = log_pickled("hostile-scoring", ["a", "b"])
    rows = pd.DataFrame({"a": [0.5, -1.0], "b": [1.0, 2.0]})
    with pytest.raises(wb.UnsafeModelError, match="saved as pickle") as info:
        wb.score(uri, rows, out=tmp_path / "scores.csv", progress=False)
    assert info.value.exit_code == 2 and not marker.exists()
    assert not (tmp_path / "scores.csv").exists()
    scored = wb.score(uri, rows, progress=False, allow_pickle=True)
    assert marker.exists() and len(scored) == 2  # allowed: loaded, and it ran its payload
    version = wb.registry.get_version("hostile-scoring", uri.rsplit("/", 1)[1])
    assert version.tags.get("workbench.allow_pickle") == "true"  # the choice is recorded


@pytest.mark.parametrize("out_suffix", [".parquet", ".csv"])
def test_an_integer_id_from_a_csv_stays_an_integer_and_merges_back(with_ids, tmp_path, out_suffix):
    frame = _table(300, seed=9)
    data = tmp_path / "batch.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / f"scores{out_suffix}"
    wb.score(with_ids, data, out=out, progress=False, chunk_rows=100)
    scores = pd.read_parquet(out) if out_suffix == ".parquet" else pd.read_csv(out)
    user = pd.read_csv(data)  # the user's own table, as pandas reads it
    assert pd.api.types.is_integer_dtype(scores["loan_id"]), scores.dtypes
    merged = user.merge(scores[["loan_id", "prediction"]], on="loan_id", validate="one_to_one")
    assert len(merged) == len(user)
