"""Stage 1 on a real SQLite store: log, register, alias, reload, and refuse bad input cleanly."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.data import credit_risk, diabetes, split_xy
from workbench.registry import signature_frame
from workbench.training import build_model, feature_columns


def _credit_pipeline(family="random_forest", n=600, seed=0, **params):
    frame = credit_risk(n, seed=seed).drop(columns="application_date")
    x, y = split_xy(frame, "default")
    numeric, categorical, _ = feature_columns(x)
    params = params or ({"n_estimators": 20} if family != "logistic_regression" else {})
    model = build_model(family, "classification", numeric, categorical, params).fit(x, y)
    return model, x, y


def test_two_versions_get_numbers_and_the_challenger_alias_moves(trained):
    client = mlflow.MlflowClient()
    assert (trained.forest.version, trained.linear.version) == (1, 2)
    assert int(client.get_model_version_by_alias("credit-risk", "challenger").version) == 2
    assert [v.version for v in wb.versions("credit-risk")] == [2, 1]
    assert wb.get_version("credit-risk", "@challenger").version == 2
    assert set(trained.forest.metrics) >= {"accuracy", "roc_auc", "recall", "f1"}
    assert 0.6 < trained.forest.metrics["roc_auc"] <= 1.0


def test_run_has_params_metrics_lineage_tags_and_signature(trained):
    client = mlflow.MlflowClient()
    run = client.get_run(trained.forest.run_id)
    assert run.data.params["family"] == "random_forest"
    assert run.data.metrics["roc_auc"] == pytest.approx(trained.forest.metrics["roc_auc"])
    assert "train_roc_auc" in run.data.metrics
    assert run.data.tags["workbench.task"] == "classification"
    assert run.data.tags["workbench.user"] == "tester"
    contexts = sorted(
        tag.value
        for ds in run.inputs.dataset_inputs
        for tag in ds.tags
        if tag.key == "mlflow.data.context"
    )
    assert contexts == ["evaluation", "training"]
    info = mlflow.models.get_model_info(trained.forest.model_uri)
    inputs = {c.name: str(c.type) for c in info.signature.inputs.inputs}
    assert inputs["age"].endswith("double")  # integer columns are logged as double (NaN-safe)
    assert inputs["purpose"].endswith("string")
    assert info.saved_input_example_info is not None


def test_reloaded_pipeline_predicts_exactly_as_the_estimator_with_nans_and_categories(workspace):
    model, x, y = _credit_pipeline()
    x = x.copy()
    x.loc[x.index[:25], "num_late_payments"] = np.nan
    x.loc[x.index[25:40], "income"] = np.nan
    mv = wb.log_model(model, name="pipe", train=(x, y), eval=(x[:200], y[:200]))
    loaded = mlflow.pyfunc.load_model(mv.model_uri)
    np.testing.assert_array_equal(loaded.predict(signature_frame(x)), model.predict(x))
    proba = mlflow.sklearn.load_model(mv.model_uri).predict_proba(x)
    np.testing.assert_allclose(proba, model.predict_proba(x))


def test_regressor_reloads_and_predicts_exactly(workspace):
    from sklearn.ensemble import GradientBoostingRegressor

    x, y = split_xy(diabetes(), "target")
    model = GradientBoostingRegressor(n_estimators=30, random_state=0).fit(x, y)
    mv = wb.log_model(model, name="diabetes", train=(x, y), eval=(x[:100], y[:100]))
    assert mv.task == "regression" and set(mv.metrics) == {"rmse", "mae", "r2"}
    loaded = mlflow.pyfunc.load_model(mv.model_uri)
    np.testing.assert_allclose(loaded.predict(x), model.predict(x))


def test_requirements_are_pinned_to_installed_versions(workspace):
    from importlib.metadata import version

    model, x, y = _credit_pipeline("logistic_regression")
    mv = wb.log_model(model, name="lr", train=(x, y))
    path = mlflow.artifacts.download_artifacts(f"{mv.model_uri}/requirements.txt")
    reqs = open(path).read().split()
    assert f"scikit-learn=={version('scikit-learn')}" in reqs
    assert f"mlflow=={version('mlflow')}" in reqs
    assert f"skops=={version('skops')}" in reqs


def _registered_count() -> int:
    return len(mlflow.MlflowClient().search_registered_models())


@pytest.mark.parametrize(
    "case, error",
    [
        ("unfitted", wb.NotFittedError),
        ("empty", wb.DataError),
        ("target_missing", wb.MissingColumnError),
        ("eval_columns_differ", wb.SchemaMismatchError),
        ("untrusted_type", wb.UntrustedTypeError),
    ],
)
def test_bad_input_raises_a_clear_error_and_registers_nothing(workspace, case, error):
    from sklearn.base import BaseEstimator, TransformerMixin
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model, x, y = _credit_pipeline("logistic_regression", n=200)
    kwargs = {"train": (x, y)}
    if case == "unfitted":
        model = LogisticRegression()
    elif case == "empty":
        kwargs = {"train": (x.iloc[:0], y.iloc[:0])}
    elif case == "target_missing":
        kwargs = {"train": (x, "no_such_column")}
    elif case == "eval_columns_differ":
        kwargs["eval"] = (x.drop(columns="income").assign(extra=1), y)
    elif case == "untrusted_type":

        class Doubler(BaseEstimator, TransformerMixin):
            def fit(self, X, y=None):
                return self

            def transform(self, X):
                return X * 2

        xs = x.select_dtypes("number").fillna(0)
        model = make_pipeline(Doubler(), LogisticRegression(max_iter=500)).fit(xs, y)
        kwargs = {"train": (xs, y)}
    with pytest.raises(error) as info:
        wb.log_model(model, name="bad", **kwargs)
    message = str(info.value)
    expected = {
        "unfitted": "fit",
        "empty": "no rows",
        "target_missing": "no_such_column",
        "eval_columns_differ": "income",
        "untrusted_type": "trusted_types=",
    }[case]
    assert expected in message
    assert _registered_count() == 0


def test_train_and_log_drops_dates_and_reports_progress(workspace):
    steps = []
    frame = credit_risk(400)
    mv = wb.train_and_log(
        frame,
        "default",
        name="tl",
        family="gradient_boosting",
        params={"n_estimators": 10},
        progress=lambda step, done: steps.append(done),
    )
    info = mlflow.models.get_model_info(mv.model_uri)
    assert "application_date" not in info.signature.inputs.input_names()
    assert steps[-1] == 1.0 and steps == sorted(steps)
    assert mv.tags["workbench.dropped_columns"] == "application_date"


def test_train_and_log_refuses_missing_labels(workspace):
    frame = credit_risk(100)
    frame.loc[:4, "default"] = np.nan
    with pytest.raises(wb.DataError, match="5 missing values"):
        wb.train_and_log(frame, "default", name="nolabels")
    assert _registered_count() == 0
    assert isinstance(frame, pd.DataFrame)


def test_processes_opening_a_new_workspace_at_once_all_succeed(tmp_path):
    """MLflow's first-use migrations collide when two processes create one SQLite store."""
    import subprocess
    import sys

    code = (
        f"import workbench as wb, mlflow; wb.open_workspace({str(tmp_path)!r}); "
        "mlflow.MlflowClient().search_experiments()"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    failures = [p.stderr.read()[-300:] for p in procs if p.wait() != 0]
    assert failures == []


def _store_state(ws):
    client = mlflow.MlflowClient(ws.tracking_uri)
    experiments = sorted(e.name for e in client.search_experiments())
    runs = sum(len(client.search_runs([e.experiment_id])) for e in client.search_experiments())
    files = sorted(
        str(p.relative_to(ws.root)) for p in ws.root.rglob("*") if "mlflow.db" not in p.name
    )
    outside = sorted(p.name for p in ws.root.parent.iterdir())
    return experiments, runs, client.search_registered_models(), files, outside


HOSTILE_NAMES = ["../../x", "..", "a/b", "", " lead", "x" * 101, "a\nb", None]
BAD_ALIASES = ["latest", "v3", "cham pion", "../x", ""]


def test_hostile_names_and_aliases_create_nothing(workspace):
    from sklearn.linear_model import LogisticRegression

    x, y = split_xy(credit_risk(200, seed=2)[["income", "age", "default"]].dropna(), "default")
    model = LogisticRegression().fit(x, y)
    before = _store_state(workspace)
    for name in HOSTILE_NAMES:
        with pytest.raises(wb.UsageError, match="model name") as info:
            wb.log_model(model, name=name, train=(x, y))
        assert info.value.exit_code == 2
        with pytest.raises(wb.UsageError, match="model name"):
            wb.train_and_log(credit_risk(200), "default", name=name)
        with pytest.raises(wb.UsageError, match="model name"):
            wb.promote(name, 1, by="ana", reason="x")
    for alias in BAD_ALIASES:
        with pytest.raises(wb.UsageError, match="alias"):
            wb.log_model(model, name="ok", train=(x, y), alias=alias)
    assert _store_state(workspace) == before


def test_params_override_the_builders_defaults():
    """`params={"max_iter": 2000}` wins over the builder's max_iter=1000 (it was a TypeError),
    and so do a forest's random_state and n_jobs; without params the defaults stand."""
    final = lambda model: model.named_steps["model"]  # noqa: E731
    logistic = build_model(
        "logistic_regression", "classification", ["income"], [], {"max_iter": 2000}
    )
    assert final(logistic).max_iter == 2000
    assert final(build_model("logistic_regression", "classification", ["a"], [])).max_iter == 1000
    forest = build_model(
        "random_forest", "regression", ["a"], [], {"random_state": 7, "n_jobs": 2}, seed=3
    )
    assert (final(forest).random_state, final(forest).n_jobs) == (7, 2)
    plain = build_model("random_forest", "regression", ["a"], [], seed=3)
    assert (plain.named_steps["model"].random_state, plain.named_steps["model"].n_jobs) == (3, 1)


def test_an_unknown_param_names_itself_and_the_valid_ones():
    with pytest.raises(wb.UsageError) as info:
        build_model("logistic_regression", "classification", ["a"], [], {"max_iters": 2000})
    message = str(info.value)
    assert "'max_iters'" in message and "LogisticRegression" in message
    assert "max_iter," in message and "C," in message  # the parameters it does take
    assert message.endswith("Did you mean 'max_iter'?")
    assert info.value.exit_code == 2
    with pytest.raises(wb.UsageError, match=r"random_forest .*no parameter 'C'"):
        build_model("random_forest", "classification", ["a"], [], {"C": 0.5})


def test_train_and_log_takes_params_over_the_defaults_and_refuses_unknown_ones(workspace):
    frame = credit_risk(300)
    mv = wb.train_and_log(
        frame, "default", name="iters", family="logistic_regression",
        params={"max_iter": 2000}, plots=False,
    )  # fmt: skip
    run = mlflow.MlflowClient().get_run(mv.run_id)
    assert run.data.params["model__max_iter"] == "2000"  # what the fitted pipeline holds
    with pytest.raises(wb.UsageError, match="'max_iters'"):
        wb.train_and_log(
            frame, "default", name="typo", family="logistic_regression",
            params={"max_iters": 2000}, plots=False,
        )  # fmt: skip
    assert [m.name for m in mlflow.MlflowClient().search_registered_models()] == ["iters"]
