"""Each built-in check passes on a sound model and fails on a model or data built to fail it.

In-memory contexts (``CheckContext.from_model``): real scikit-learn pipelines, a real signature and
training profile, no registry. The registry-backed parts are in tests/integration/test_checks.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.checks import (
    CheckContext,
    DataQuality,
    FairnessGap,
    HandlesMissingValues,
    HandlesUnseenCategories,
    LatencyBudget,
    MetricThreshold,
    NoiseStability,
    NoRegression,
    ReloadReproducibility,
    SafeArtifact,
    SchemaContract,
)
from workbench.data import credit_risk, production_batch, split_xy
from workbench.training import build_model, feature_columns

TARGET = "default"


@pytest.fixture(scope="module")
def tables():
    train = credit_risk(800, seed=3).drop(columns="application_date")
    evaluation = credit_risk(400, seed=4).drop(columns="application_date")
    return train, evaluation


@pytest.fixture(scope="module")
def good(tables):
    train, _ = tables
    x, y = split_xy(train, TARGET)
    numeric, categorical, _ = feature_columns(x)
    return build_model("logistic_regression", "classification", numeric, categorical).fit(x, y)


def _context(model, tables, evaluation=None, **kwargs):
    train, default_eval = tables
    evaluation = default_eval if evaluation is None else evaluation
    return CheckContext.from_model(
        model, evaluation, TARGET, train=train.drop(columns=TARGET), **kwargs
    )


def _pipeline(tables, estimator, *, numeric=None, categorical=(), encoder=None, impute=True):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    train, _ = tables
    x, y = split_xy(train, TARGET)
    num, _, _ = feature_columns(x)
    numeric = num if numeric is None else numeric
    num_step = make_pipeline(SimpleImputer()) if impute else "passthrough"
    parts = [("num", num_step, list(numeric))]
    if categorical:
        enc = encoder or OneHotEncoder(handle_unknown="ignore")
        parts.append(
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), enc), categorical)
        )
    return make_pipeline(ColumnTransformer(parts), estimator), x, y


def test_sound_model_passes_every_check(good, tables):
    context = _context(good, tables)
    checks = [
        SchemaContract(),
        MetricThreshold("roc_auc", minimum=0.6),
        NoRegression(),
        DataQuality(),
        NoiseStability(),
        HandlesMissingValues(),
        HandlesUnseenCategories(),
        FairnessGap("age_band", max_gap=0.5),
        LatencyBudget(p95_ms=500, min_rows_per_s=10),
        ReloadReproducibility(),
    ]
    results = {c.name: c(context) for c in checks}
    assert {n: r.status for n, r in results.items() if r.status != "pass"} == {}
    assert results["metric_roc_auc"].value > 0.6


def test_metric_threshold_fails_a_model_that_guesses(tables):
    from sklearn.dummy import DummyClassifier

    model, x, y = _pipeline(tables, DummyClassifier(strategy="prior"))
    result = MetricThreshold("roc_auc", minimum=0.65)(_context(model.fit(x, y), tables))
    assert result.status == "fail" and result.value == pytest.approx(0.5)
    assert "roc_auc is 0.5000" in result.detail and ">= 0.65" in result.detail


def test_metric_threshold_errors_on_a_metric_the_task_lacks(good, tables):
    result = MetricThreshold("rmse", maximum=1.0)(_context(good, tables))
    assert result.status == "error" and "rmse" in result.detail and "available" in result.detail


def test_no_regression_fails_a_candidate_worse_than_the_champion(good, tables):
    from sklearn.dummy import DummyClassifier

    model, x, y = _pipeline(tables, DummyClassifier(strategy="prior"))
    context = _context(model.fit(x, y), tables, champion=good)
    result = NoRegression(tolerance=0.02)(context)
    assert result.status == "fail" and "roc_auc" in result.detail
    assert set(result.table["metric"]) == {"roc_auc"}
    assert set(NoRegression(["roc_auc", "f1"])(context).table["metric"]) == {"roc_auc", "f1"}
    assert result.table.set_index("metric").loc["roc_auc", "regressed"]
    assert NoRegression()(_context(good, tables, champion=good)).status == "pass"
    cand, champ = context.metrics()["roc_auc"], context.metrics("champion")["roc_auc"]
    assert result.detail.startswith(
        f"roc_auc worse than the champion beyond the 0.02 tolerance ({cand - champ:+.3g}: "
        f"{cand:.4f} vs {champ:.4f})"
    ), result.detail


def test_no_regression_says_a_pass_within_the_tolerance_with_the_real_numbers(good, tables):
    """Not "at least as good" when the candidate is worse, within the tolerance."""
    from sklearn.linear_model import LogisticRegression

    model, x, y = _pipeline(tables, LogisticRegression(C=0.001, max_iter=500), numeric=["income"])
    context = _context(model.fit(x, y), tables, champion=good)
    cand, champ = context.metrics()["roc_auc"], context.metrics("champion")["roc_auc"]
    assert 0 < champ - cand < 0.5  # a weaker candidate, within this tolerance
    result = NoRegression(tolerance=0.5)(context)
    assert result.status == "pass"
    assert result.detail == (
        f"roc_auc within the 0.5 tolerance of the champion ({cand - champ:+.3g}: "
        f"{cand:.4f} vs {champ:.4f})"
    )
    same = NoRegression()(_context(good, tables, champion=good))
    assert same.detail.startswith("roc_auc at least as good as the champion (+0:"), same.detail


def test_no_regression_of_an_error_uses_a_relative_tolerance_and_says_so():
    from sklearn.dummy import DummyRegressor
    from sklearn.linear_model import Ridge

    from workbench.data import diabetes

    frame = diabetes()
    train, evaluation = frame.iloc[:300], frame.iloc[300:]
    x, y = train.drop(columns="target"), train["target"]
    guesser, champion = DummyRegressor().fit(x, y), Ridge(alpha=0.1).fit(x, y)
    context = CheckContext.from_model(guesser, evaluation, "target", train=x, champion=champion)
    cand, champ = context.metrics()["rmse"], context.metrics("champion")["rmse"]
    share = (cand - champ) / champ
    assert 0.02 < share < 1.0
    result = NoRegression(tolerance=1.0)(context)
    assert result.status == "pass"
    assert result.detail == (
        f"rmse within the 100% tolerance of the champion ({cand - champ:+.3g}, {share:+.1%}: "
        f"{cand:.4f} vs {champ:.4f})"
    )
    assert NoRegression()(context).detail.startswith("rmse worse than the champion beyond the 2%")


@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing_column", "income"),
        ("text_in_numbers", "loan_amount"),
        ("misspelt_column", "'income' (is 'incme' it?)"),
    ],
)
def test_schema_contract_fails_data_that_breaks_the_signature(good, tables, case, expected):
    evaluation = tables[1].copy()
    if case == "missing_column":
        evaluation = evaluation.drop(columns="income")
    elif case == "text_in_numbers":
        evaluation["loan_amount"] = evaluation["loan_amount"].astype(str)
        evaluation.loc[evaluation.index[3], "loan_amount"] = "n/a"
    else:
        evaluation = evaluation.rename(columns={"income": "incme"})
    result = SchemaContract()(_context(good, tables, evaluation))
    assert result.status == "fail", result
    assert expected in result.detail


def test_schema_contract_warns_on_integer_inputs(tables):
    from mlflow.models import infer_signature

    train, evaluation = tables
    x, y = split_xy(train, TARGET)
    model, _, _ = _pipeline(tables, _logistic())
    model.fit(x, y)
    context = _context(model, tables)
    context.signature = infer_signature(x, model.predict(x.head()))  # age stays int64 -> long
    result = SchemaContract()(context)
    assert result.status == "warn" and "age" in result.detail


def _logistic():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=500)


@pytest.mark.parametrize("scenario", ["null_surge", "new_category", "constant", "duplicates"])
def test_data_quality_fails_eval_data_unlike_training(good, tables, scenario):
    if scenario in ("null_surge", "new_category"):
        evaluation = production_batch(1, scenario, n=400).drop(columns="application_date")
    else:
        evaluation = tables[1].copy()
        if scenario == "constant":
            evaluation["region"] = "north"
        else:
            evaluation = pd.concat([evaluation.head(200)] * 2, ignore_index=True)
    result = DataQuality()(_context(good, tables, evaluation))
    assert result.status == "fail", result.detail
    expected = {
        "null_surge": "'income' is",
        "new_category": "'crypto'",
        "constant": "'region' is constant",
        "duplicates": "duplicates",
    }[scenario]
    assert expected in result.detail
    assert {"column", "train_missing", "eval_missing", "unseen"} <= set(result.table.columns)


def test_data_quality_fails_values_outside_the_training_range(good, tables):
    evaluation = tables[1].copy()
    evaluation["loan_amount"] = evaluation["loan_amount"] * 50
    result = DataQuality()(_context(good, tables, evaluation))
    assert result.status == "fail" and "column 'loan_amount' (" in result.detail
    assert "lies outside the training range" in result.detail


def test_data_quality_warns_without_a_profile(good, tables):
    context = _context(good, tables)
    context.profile = None
    assert DataQuality()(context).status == "warn"


def test_noise_stability_fails_a_model_that_memorised_noise(tables):
    from sklearn.tree import DecisionTreeClassifier

    model, x, _ = _pipeline(tables, DecisionTreeClassifier(random_state=0), numeric=["income"])
    random_labels = np.random.default_rng(0).integers(0, 2, len(x))
    context = _context(model.fit(x, random_labels), tables)
    result = NoiseStability()(context)
    assert result.status == "fail" and result.value > 0.05
    assert "of the labels changed" in result.detail


def test_handles_missing_fails_a_model_without_an_imputer(tables):
    train, evaluation = tables
    model, x, y = _pipeline(tables, _logistic(), impute=False)
    filled_x = x.fillna(0)
    filled_eval = evaluation.fillna({"income": 0.0, "num_late_payments": 0.0})
    model.fit(filled_x, y)
    context = CheckContext.from_model(model, filled_eval, TARGET, train=filled_x)
    result = HandlesMissingValues()(context)
    assert result.status == "fail" and "income" in result.detail and "imputer" in result.detail
    assert "income" in set(result.table["column"])


def test_handles_unseen_categories_fails_a_strict_encoder(tables):
    from sklearn.preprocessing import OneHotEncoder

    model, x, y = _pipeline(
        tables, _logistic(), categorical=["purpose"], encoder=OneHotEncoder(handle_unknown="error")
    )
    result = HandlesUnseenCategories()(_context(model.fit(x, y), tables))
    assert result.status == "fail" and "purpose" in result.detail


def test_fairness_gap_fails_a_model_that_singles_out_one_age_band(tables):
    train, evaluation = tables
    biased_train = train.assign(**{TARGET: train[TARGET] | (train["age_band"] == "18-25")})
    biased_eval = evaluation.assign(
        **{TARGET: evaluation[TARGET] | (evaluation["age_band"] == "18-25")}
    )
    model, x, y = _pipeline(
        (biased_train, biased_eval), _logistic(), categorical=["age_band", "purpose"]
    )
    context = CheckContext.from_model(
        model.fit(x, y), biased_eval, TARGET, train=biased_train.drop(columns=TARGET)
    )
    result = FairnessGap("age_band", metric="positive_rate", max_gap=0.2)(context)
    assert result.status == "fail" and result.value > 0.5
    table = result.table.set_index("slice")
    assert set(table.index) == {"18-25", "26-40", "41-60", "60+"}
    assert table.loc["18-25", "positive_rate"] > 0.9
    assert "age_band" in result.detail
    # the gap is a difference of shares, and says so, of which metric and which class (the
    # biased label is True/False)
    gap = table.loc[table["judged"], "positive_rate"]
    assert result.value == pytest.approx(gap.max() - gap.min())
    assert result.detail.startswith(
        f"absolute gap in positive_rate of True across 'age_band' slices: {result.value:.3f} "
        "(best slice minus worst"
    ), result.detail


def test_fairness_gap_of_a_regressor_is_relative_to_the_overall_mae_and_says_so():
    from sklearn.linear_model import Ridge

    from workbench.data import diabetes

    frame = diabetes()
    frame["sex"] = np.where(frame["sex"] > 0, "f", "m")
    train, evaluation = frame.iloc[:300], frame.iloc[300:]
    x = train.drop(columns=["target", "sex"])
    model = Ridge().fit(x, train["target"])
    context = CheckContext.from_model(model, evaluation, "target", train=x, protected="sex")
    result = FairnessGap("sex", max_gap=0.9)(context)
    errors = np.abs(model.predict(evaluation[x.columns]) - evaluation["target"])
    by_sex = errors.groupby(evaluation["sex"]).mean()
    relative = (by_sex.max() - by_sex.min()) / errors.mean()
    assert result.value == pytest.approx(relative)
    assert result.detail.startswith(
        f"relative gap in mae across 'sex' slices: {relative:.3f} of the overall mae "
        f"(worst slice minus best, over the overall {errors.mean():.3f}"
    ), result.detail
    assert "absolute" not in result.detail


def test_fairness_gap_names_a_missing_protected_column(good, tables):
    result = FairnessGap("gender")(_context(good, tables))
    assert result.status == "error" and "'gender'" in result.detail


def test_latency_budget_fails_when_the_model_is_slower_than_the_budget(good, tables):
    result = LatencyBudget(p95_ms=0.001, single_rows=10)(_context(good, tables))
    assert result.status == "fail" and "over the 0.001 ms budget" in result.detail
    table = result.table.set_index("measure")["value"]
    assert table["timing rounds"] == 3  # 3 of 5 rounds over budget settle the median
    p50 = table["single-row p50 (ms), median of rounds"]
    assert 0 < p50 <= table["single-row p95 (ms), median of rounds"]


def test_reload_reproducibility_fails_a_model_that_answers_at_random(tables):
    from sklearn.dummy import DummyClassifier

    model, x, y = _pipeline(tables, DummyClassifier(strategy="uniform"))
    result = ReloadReproducibility()(_context(model.fit(x, y), tables))
    assert result.status == "fail" and "different answer the second time" in result.detail


def test_safe_artifact_fails_a_pickled_model_without_requirements(good, tables, tmp_path):
    (tmp_path / "MLmodel").write_text(
        "flavors:\n  sklearn:\n    serialization_format: cloudpickle\n    pickled_model: model.pkl\n"
    )
    (tmp_path / "model.pkl").write_bytes(b"x" * 1000)
    context = _context(good, tables)
    context.artifact_dir = tmp_path
    result = SafeArtifact()(context)
    assert result.status == "fail"
    assert "cloudpickle" in result.detail and "requirements.txt is missing" in result.detail
    (tmp_path / "requirements.txt").write_text("mlflow==3.17.2\nscikit-learn\n")
    (tmp_path / "MLmodel").write_text("flavors:\n  sklearn:\n    serialization_format: skops\n")
    result = SafeArtifact()(context)
    assert result.status == "warn" and "scikit-learn" in result.detail
    assert SafeArtifact(max_mb=0.0001)(context).status == "fail"
