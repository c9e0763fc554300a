"""The model contract through the real registry, on tables as users have them."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import recall_score

import workbench as wb
from workbench.training import build_model


def _loans(n=500, seed=0):
    rng = np.random.default_rng(seed)
    income = rng.normal(50_000, 9_000, n).round()
    frame = pd.DataFrame(
        {
            "customer_id": [f"C-{i:06d}" for i in rng.permutation(n)],
            "ID": np.arange(1, n + 1),
            "application_date": pd.date_range("2024-01-01", periods=n, freq="D").strftime(
                "%Y-%m-%d"
            ),
            "income": income,
            "region": rng.choice(["north", "south", "east"], n),
            "age_band": rng.choice(["18-25", "26-60", "60+"], n),
        }
    )
    risk = (60_000 - income) / 9_000 + rng.normal(0, 0.7, n)
    frame["Loan Status"] = np.where(risk > 1.2, "defaulted", "repaid")  # the rarer class
    return frame


def _nothing_registered(ws):
    client = mlflow.MlflowClient(ws.tracking_uri)
    return client.search_registered_models() == [] and not any(
        client.search_runs([e.experiment_id])
        for e in client.search_experiments()
        if e.name != "Default"
    )


def test_train_and_log_keeps_ids_and_dates_out_and_measures_the_positive_class(workspace):
    mv = wb.train_and_log(
        _loans(), "Loan Status", name="loans", positive_label="defaulted", protected=["age_band"]
    )
    contract = wb.model_contract(mv.model_uri)
    assert contract.features == ["income", "region", "age_band"]
    assert contract.id_columns == ["customer_id", "ID"]
    assert contract.date_columns == ["application_date"]
    assert contract.positive_label == "defaulted" and contract.labels == ["defaulted", "repaid"]
    assert contract.protected == ["age_band"] and contract.reference == mv.metrics
    info = mlflow.models.get_model_info(mv.model_uri)
    assert [c.name for c in info.signature.inputs.inputs] == contract.features
    roles = contract.roles_table().set_index("column")["role"].to_dict()
    assert roles["customer_id"] == "id" and roles["Loan Status"] == "target"


def test_log_model_recall_is_the_positive_class_recall(workspace):
    frame = _loans(800, seed=3)
    x = frame[["income", "region"]]
    y = frame["Loan Status"]
    x_tr, x_ev, y_tr, y_ev = x[:600], x[600:], y[:600], y[600:]
    model = build_model("logistic_regression", "classification", ["income"], ["region"])
    model.fit(x_tr, y_tr)
    mv = wb.log_model(
        model, name="own", train=(x_tr, y_tr), eval=(x_ev, y_ev), positive_label="defaulted"
    )
    expected = recall_score(y_ev, model.predict(x_ev), pos_label="defaulted")
    wrong = recall_score(y_ev, model.predict(x_ev), pos_label="repaid")
    assert mv.metrics["recall"] == pytest.approx(expected) and expected != pytest.approx(wrong)


def test_an_unclear_label_pair_or_a_missing_column_registers_nothing(workspace):
    with pytest.raises(wb.UsageError, match="positive_label"):
        wb.train_and_log(_loans(), "Loan Status", name="loans")
    with pytest.raises(wb.UsageError, match="'paid' is not among"):
        wb.train_and_log(_loans(), "Loan Status", name="loans", positive_label="paid")
    with pytest.raises(wb.MissingColumnError, match="'customerid'"):
        wb.train_and_log(
            _loans(), "Loan Status", name="loans", positive_label="defaulted",
            id_columns=["customerid"],
        )  # fmt: skip
    assert _nothing_registered(workspace)


def test_multiclass_string_labels_keep_the_model_order(workspace):
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True)
    frame = iris.frame.assign(species=iris.target_names[iris.target]).drop(columns="target")
    mv = wb.train_and_log(frame, "species", name="iris", family="logistic_regression")
    contract = wb.model_contract(mv.model_uri)
    assert contract.labels == ["setosa", "versicolor", "virginica"]
    assert contract.positive_label is None and 0 <= mv.metrics["recall"] <= 1


def test_regression_with_an_integer_id_and_a_spaced_target(workspace):
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame.rename(columns={"target": "disease progression"})
    frame.insert(0, "PatientID", np.arange(10_000, 10_000 + len(frame)))
    mv = wb.train_and_log(frame, "disease progression", name="diabetes", family="random_forest",
                          params={"n_estimators": 20})  # fmt: skip
    contract = wb.model_contract(mv.model_uri)
    assert contract.task == "regression" and "PatientID" in contract.id_columns
    assert "PatientID" not in contract.features and "rmse" in contract.reference
