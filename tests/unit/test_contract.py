"""The model contract's rules, on tables shaped as users have them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.contract import ModelContract, infer_contract, infer_roles, resolve_positive_label
from workbench.errors import MissingColumnError, UsageError


def _loans(n=300, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C-{i:06d}" for i in rng.permutation(n)],
            "ID": np.arange(1001, 1001 + n),
            "application_date": pd.date_range("2025-01-01", periods=n, freq="D").strftime(
                "%d/%m/%Y"
            ),
            "income": rng.normal(50_000, 9_000, n).round(),  # whole numbers, all distinct
            "loan amount": rng.integers(1_000, 50_000, n),
            "region": rng.choice(["north", "south", "east"], n),
            "notes": [f"free text {rng.integers(1e9)}" for _ in range(n)],
        }
    )
    frame["Loan Status"] = np.where(rng.random(n) < 0.3, "defaulted", "repaid")
    return frame


def test_ids_dates_and_free_text_are_not_features():
    c = infer_contract(_loans(), "Loan Status", positive_label="defaulted")
    assert c.features == ["income", "loan amount", "region"]
    assert c.id_columns == ["customer_id", "ID"]
    assert c.date_columns == ["application_date"]
    assert c.ignored == ["notes"]
    assert c.kinds["region"] == "categorical" and c.kinds["income"] == "numeric"
    table = c.roles_table().set_index("column")
    assert table.loc["customer_id", "why"] == "unique on 100% of rows"
    assert table.loc["ID", "why"] == "an integer unique on every row"
    assert table.loc["application_date", "why"] == "its values parse as dates"
    assert table.loc["Loan Status", "role"] == "target"
    assert any("customer_id" in note for note in c.notes)


def test_an_integer_measure_unique_on_every_row_stays_a_feature():
    frame = _loans()
    assert "income" in infer_contract(frame, "Loan Status", positive_label="repaid").features


def test_declared_roles_win_and_protected_need_not_be_features():
    frame = _loans().assign(age_band=lambda f: np.where(f.index % 2, "young", "old"))
    c = infer_contract(
        frame,
        "Loan Status",
        positive_label="defaulted",
        ignore=["age_band"],
        protected=["age_band", "sex"],
        id_columns=["region"],
    )
    assert "age_band" not in c.features and "region" in c.id_columns
    assert c.protected == ["age_band", "sex"]
    assert any("'sex' is protected but not a feature" in n for n in c.notes)


@pytest.mark.parametrize(
    "labels, declared, positive",
    [
        ([0, 1], None, 1),
        ([False, True], None, True),
        (["no", "yes"], None, "yes"),
        (["No", "Yes"], None, "Yes"),
        (["FALSE", "TRUE"], None, "TRUE"),
        (["negative", "positive"], None, "positive"),
        (["defaulted", "repaid"], "defaulted", "defaulted"),
        ([0, 1], "1", 1),  # typed on a command line
        (["setosa", "versicolor", "virginica"], None, None),  # multiclass: macro averages
    ],
)
def test_positive_label_rules(labels, declared, positive):
    assert resolve_positive_label(labels, declared, "y") == positive


def test_an_unclear_pair_or_an_unknown_label_is_a_usage_error():
    with pytest.raises(UsageError, match=r"labels 'defaulted', 'repaid'.*positive_label="):
        resolve_positive_label(["defaulted", "repaid"], None, "status")
    with pytest.raises(UsageError, match="'paid' is not among the labels"):
        resolve_positive_label(["defaulted", "repaid"], "paid", "status")


def test_declared_columns_must_exist():
    with pytest.raises(MissingColumnError, match="'custmer_id'"):
        infer_contract(_loans(), "Loan Status", positive_label="repaid", id_columns=["custmer_id"])
    with pytest.raises(MissingColumnError, match="target column 'status'"):
        infer_contract(_loans(), "status")
    with pytest.raises(UsageError, match="list of column names"):
        infer_contract(_loans(), "Loan Status", positive_label="repaid", ignore="notes")


def test_regression_and_multiclass_tasks():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=100), "price in $": rng.normal(size=100) * 100})
    c = infer_contract(frame, "price in $")
    assert c.task == "regression" and c.labels is None and c.positive_label is None
    frame["species"] = rng.choice(["setosa", "versicolor", "virginica"], 100)
    m = infer_contract(frame.drop(columns="price in $"), "species")
    assert m.labels == ["setosa", "versicolor", "virginica"] and m.positive_label is None
    assert m.probability_columns() == [f"proba_{s}" for s in m.labels]


def test_the_contract_round_trips_through_json(tmp_path):
    c = infer_contract(_loans(), "Loan Status", positive_label="defaulted")
    c.reference = {"recall": 0.5}
    back = ModelContract.load(c.save(tmp_path))
    assert back == c and back.positive_index == 0
    assert back.probability_columns() == ["proba_defaulted"]
    assert "wb-column-roles" in back._repr_html_()


def test_roles_without_a_model_for_monitoring():
    roles = {r.name: r.role for r in infer_roles(_loans().drop(columns="Loan Status"))}
    assert roles["customer_id"] == "id" and roles["application_date"] == "date"
    assert roles["income"] == "feature"
