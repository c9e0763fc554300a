"""Which columns are tested: the model contract's roles, or identifiers and dates inferred from the
reference; every skipped column is listed with its reason."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.contract import infer_contract
from workbench.data import credit_risk
from workbench.monitoring.columns import plan_columns
from workbench.monitoring.scoring import PREDICTION


def _user_table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [f"C{seed}-{i:05d}" for i in range(n)],
            "ID": np.arange(n) + 1000 * seed,
            "applied": pd.date_range("2026-01-01", periods=n, freq="h").strftime("%Y-%m-%d %H:00"),
            "income": rng.lognormal(10, 0.4, n),
            "region": rng.choice(["north", "south", "east"], n),
            "outcome": rng.choice(["defaulted", "repaid"], n, p=[0.2, 0.8]),
        }
    )


def test_without_a_model_ids_and_dates_are_inferred_skipped_and_listed():
    ref, cur = _user_table(seed=0), _user_table(seed=1)
    plan = plan_columns(ref, cur, target="outcome", ignore=["region"])
    assert plan.kinds == {"income": "numerical", "outcome": "categorical"}
    assert plan.skipped["customer_id"].startswith("identifier")
    assert plan.skipped["ID"].startswith("identifier")
    assert plan.skipped["applied"].startswith("date")
    assert plan.skipped["region"] == "ignored on request"
    assert plan.id_columns == ["customer_id", "ID"] and plan.date_columns == ["applied"]


def test_an_unlabelled_batch_skips_the_target_and_says_why():
    ref, cur = _user_table(seed=0), _user_table(seed=1).drop(columns="outcome")
    plan = plan_columns(ref, cur, target="outcome")
    assert "outcome" not in plan.kinds
    assert "no labels" in plan.skipped["outcome"]


def test_with_a_contract_its_features_prediction_and_target_are_tested():
    frame = _user_table()
    frame["segment"] = "retail"  # in the table, not a model input
    contract = infer_contract(
        frame, "outcome", positive_label="defaulted", ignore=["segment"], protected=["region"]
    )
    scored = frame.assign(**{PREDICTION: frame["outcome"]})
    plan = plan_columns(scored, scored, "outcome", contract=contract, task="classification")
    assert plan.kinds == {
        "income": "numerical",
        "region": "categorical",
        "outcome": "categorical",
        PREDICTION: "categorical",
    }
    assert plan.skipped == {
        "customer_id": "identifier (model contract)",
        "ID": "identifier (model contract)",
        "applied": "date (model contract): dates always move",
        "segment": "ignored by the model contract",
    }


def test_contract_kinds_win_over_evidently_inference_and_types_are_cast():
    ref = credit_risk(400, seed=1)
    contract = infer_contract(ref, "default")
    cur = credit_risk(200, seed=2).astype({"age": str})  # numbers read back as text
    plan = plan_columns(ref, cur, "default", contract=contract, task="classification")
    # an integer with five values: Evidently would infer categorical, the contract says numeric
    assert plan.kinds["loan_term_months"] == "numerical"
    assert plan.kinds["default"] == "categorical"
    assert pd.api.types.is_float_dtype(plan.cur["age"])
    assert "application_date" in plan.skipped and plan.date_columns == ["application_date"]
    inferred = plan_columns(ref, cur, "default")
    assert inferred.kinds["loan_term_months"] == "categorical"
