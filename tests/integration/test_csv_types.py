"""Types come from the contract (issue 24, part 4): a model trained on a CSV keeps its columns'
kinds through checks, scoring, serving and monitoring from CSV files.

The table has an hour written as two digits (``"07"``: text, read by pandas as the number 7), a
store code (``101``: a number that is a category, declared ``categorical``), an integer row id and a
string target (``churn`` / ``stay``). Every stage reads it from a CSV file, as a user's job would.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import workbench as wb

CODES = ["hour", "store"]


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    hour = rng.integers(0, 24, n)
    store = rng.choice(np.arange(101, 113), n)
    spend = rng.normal(50, 15, n).round(2)
    logit = 0.08 * (spend - 50) + np.where(hour < 6, 1.5, -0.5) + np.where(store > 108, 1.0, 0)
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "row_id": np.arange(70_000 + seed * 10_000, 70_000 + seed * 10_000 + n),
            "hour": [f"{h:02d}" for h in hour],
            "store": store,
            "spend": spend,
            "label": np.where(churn, "churn", "stay"),
        }
    )


@pytest.fixture(scope="module")
def csv_model(_trained_session, tmp_path_factory):
    wb.open_workspace(_trained_session.ws.root)
    folder = tmp_path_factory.mktemp("csv-types")
    files = {}
    for part, (n, seed) in {"train": (1500, 1), "eval": (400, 2), "batch": (300, 3)}.items():
        files[part] = folder / f"{part}.csv"
        _table(n, seed).to_csv(files[part], index=False)
    table = wb.load_training_data(str(files["train"]), target="label", categorical=CODES)
    version = wb.train_and_log(
        table.frame, "label", name="csv-types", family="logistic_regression",
        positive_label="churn", id_columns=["row_id"], categorical=CODES, plots=False,
    )  # fmt: skip
    return version.model_uri, files, folder


def _features_as_written(path) -> pd.DataFrame:
    """The CSV's feature columns with the codes as the file writes them."""
    return pd.read_csv(path, dtype=dict.fromkeys(CODES, str))[["hour", "store", "spend"]]


def test_the_contract_records_the_codes_and_the_model_takes_them_as_text(csv_model):
    uri, files, _ = csv_model
    contract = wb.model_contract(uri)
    assert contract.categorical_codes == CODES
    assert contract.text_columns == ["hour", "store"] and contract.id_columns == ["row_id"]
    roles = contract.roles_table().set_index("column")
    assert roles.loc["store", "why"] == "declared categorical"
    from workbench.serving import in_process_model

    inputs = {s.name: str(s.type) for s in in_process_model(uri).metadata.signature.inputs.inputs}
    assert inputs["hour"].endswith("string") and inputs["store"].endswith("string"), inputs
    # the leading zero was kept: "07" is one of the categories the model knows
    encoder = in_process_model(uri).get_raw_model().named_steps["prep"].named_transformers_["cat"]
    known = [list(c) for c in encoder[-1].categories_]
    assert "07" in known[0] and "7" not in known[0] and "101" in known[1], known


def test_checks_read_the_eval_csv_with_the_contracts_kinds(csv_model):
    uri, files, _ = csv_model
    data = wb.load_eval_data(str(files["eval"]), model=uri)
    assert data["hour"].iloc[:50].str.len().eq(2).all()
    assert data["row_id"].dtype == "int64"
    report = wb.run_checks(uri, data=data, target="label", progress=False)
    by_name = {r.name: r for r in report.results}
    for name in ("schema_contract", "data_quality", "handles_unseen_categories"):
        assert by_name[name].status == "pass", (name, by_name[name].detail)


def test_scores_to_csv_and_parquet_merge_back_on_the_integer_id(csv_model, tmp_path):
    uri, files, _ = csv_model
    from workbench.serving import in_process_model

    expected = in_process_model(uri).predict(_features_as_written(files["batch"]))
    user_table = pd.read_csv(files["batch"])  # as the user reads it: row_id int64, hour int
    for out in (tmp_path / "scored.csv", tmp_path / "scored.parquet"):
        wb.score(uri, str(files["batch"]), out=out, progress=False)
        scored = pd.read_csv(out) if out.suffix == ".csv" else pd.read_parquet(out)
        assert scored.columns.tolist() == ["row_id", "prediction", "proba_churn"], out
        merged = user_table.merge(scored, on="row_id", how="inner", validate="one_to_one")
        assert len(merged) == len(user_table), out
        np.testing.assert_array_equal(merged["prediction"].to_numpy(), np.asarray(expected))
        assert set(merged["prediction"]) <= {"churn", "stay"}


def test_the_server_echoes_the_id_and_names_the_probabilitys_class(csv_model):
    uri, files, _ = csv_model
    rows = pd.read_csv(files["batch"], dtype=dict.fromkeys(CODES, str)).head(5)
    body = rows.to_csv(index=False).encode()  # id, codes, features and the label, as the file has
    with wb.serve(uri, workers=1) as server:
        status, raw = server.post(body, content_type="text/csv")
    assert status == 200, raw[:400]
    answer = json.loads(raw)
    assert answer["ids"] == {"row_id": rows["row_id"].tolist()}
    assert answer["probability_of"] == "churn" and len(answer["probabilities"]) == 5
    from workbench.serving import in_process_model

    expected = in_process_model(uri).predict(rows[["hour", "store", "spend"]])
    assert answer["predictions"] == list(expected)


def test_monitoring_from_csv_tests_the_codes_as_categories(csv_model):
    uri, files, _ = csv_model
    result = wb.drift_report(
        str(files["eval"]), str(files["batch"]), model=uri, target="label", build_report=False
    )
    assert result.valid, result
    tested = {c.column: c for c in result.columns}
    assert {"hour", "store", "spend", "prediction", "label"} <= set(tested), sorted(tested)
    assert tested["hour"].kind == "categorical" and tested["store"].kind == "categorical"
    # the same categories on both sides: "07" read as 7 on one side would drift at once
    assert not tested["hour"].drifted and not tested["store"].drifted, tested["hour"]
    assert "row_id" not in tested
