"""The context: features conformed once, metrics computed once, the champion on its own signature."""

from __future__ import annotations

import pandas as pd
import pytest

import workbench as wb
from workbench.checks.builtin._examples import (
    TARGET,
    example_context,
    example_model,
    example_table,
)
from workbench.checks.context import CheckContext, split_eval


def test_metrics_are_computed_once_and_known_afterwards():
    context = example_context(champion=example_model())
    assert context.known_metrics() is None and context.known_metrics("champion") is None
    first = context.metrics()
    assert context.metrics() is first and context.known_metrics() is first
    assert context.metrics("champion")["roc_auc"] == pytest.approx(first["roc_auc"])
    assert context.known_metrics("champion") is not None


def test_the_champion_is_scored_on_data_conformed_to_its_own_signature():
    from mlflow.models import infer_signature

    train = example_table()
    narrow = train.drop(columns="age")
    champion = example_model(train=narrow, numeric=["income"])
    context = example_context(champion=champion)
    context.champion_signature = infer_signature(narrow.drop(columns=TARGET))
    assert set(context.metrics("champion")) >= {"accuracy", "roc_auc"}
    assert "_cache" not in repr(context)


def test_split_eval_takes_a_column_labels_or_none():
    table = example_table(rows=10)
    x, y = split_eval(table, TARGET)
    assert TARGET not in x.columns and y.name == TARGET
    assert split_eval(table, None) == (table, None)
    with pytest.raises(wb.MissingColumnError, match="'nope'"):
        split_eval(table, "nope")
    with pytest.raises(wb.DataError, match="DataFrame"):
        split_eval([1, 2], TARGET)


def test_from_model_needs_a_classifier_or_a_regressor():
    from sklearn.preprocessing import StandardScaler

    table = example_table(rows=20)
    scaler = StandardScaler().fit(table[["income"]])
    with pytest.raises(wb.ModelError, match="StandardScaler"):
        CheckContext.from_model(scaler, table, TARGET)


def test_input_types_without_a_signature_come_from_the_dtypes():
    context = CheckContext.from_model(example_model(), example_table(rows=20), TARGET)
    types = context.input_types()
    assert types["income"] == "double" and types["region"] == "string"
    assert isinstance(context.x, pd.DataFrame)
