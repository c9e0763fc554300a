"""Stage 1: build a scikit-learn pipeline for a table, train it and log it.

``train_and_log`` is what the stage-1 notebook, its panel and the demo call: split the data, build the
pipeline for the chosen model family, fit it, and hand it to :func:`workbench.log_model`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import pandas as pd

from workbench._core.names import TAG
from workbench._core.progress import Progress, as_progress
from workbench._core.refs import check_model_name
from workbench.contract import infer_contract, infer_roles
from workbench.data import split_xy
from workbench.errors import DataError, UsageError
from workbench.registry import ModelVersion, log_model

__all__ = [
    "FAMILIES",
    "TrainingTable",
    "build_model",
    "feature_columns",
    "hyperparameters",
    "load_training_data",
    "log_training_plots",
    "train_and_log",
    "training_plots",
]

#: Folder of a training run holding its evaluation plots (``plots.html`` and one JSON each).
PLOTS_FOLDER = "plots"

#: Model families by task: the name the panel shows -> scikit-learn estimator.
FAMILIES = {
    "classification": ("logistic_regression", "random_forest", "gradient_boosting"),
    "regression": ("linear_regression", "random_forest", "gradient_boosting"),
}
_ALIASES = {"ridge": "linear_regression", "logistic": "logistic_regression"}
#: Columns a notebook shows of a training table before ``show details`` (the target first).
_PREVIEW_COLUMNS = 10


@dataclass
class TrainingTable:
    """A table to train on, with its target column and a name for the lineage.

    Example:
        >>> import pandas as pd
        >>> table = TrainingTable(pd.DataFrame({"x": [1, 2], "y": [0, 1]}), "y", "tiny")
        >>> "2 rows" in table._repr_html_()
        True
    """

    frame: pd.DataFrame
    target: str
    name: str

    def _repr_html_(self) -> str:
        """Its size and first rows: the target and the first columns, the rest behind
        ``show details``."""
        from workbench._core.results import short_table_html

        first = self.frame.head()
        columns = [self.target, *(c for c in first.columns if c != self.target)]
        name, target = html.escape(str(self.name)), html.escape(str(self.target))
        size = f"{len(self.frame):,} rows, {self.frame.shape[1]} columns"
        preview = short_table_html(first, columns[:_PREVIEW_COLUMNS])
        return f"<b>{name}</b>: {size}, target <code>{target}</code>{preview}"


def load_training_data(
    dataset: str, target: str | None = None, extra: str | None = None,
    categorical: list[str] | None = None,
) -> TrainingTable:  # fmt: skip
    """A demo data set by name, or a CSV / Parquet file, with its target column.

    Args:
        dataset: ``credit_risk``, ``breast_cancer``, ``diabetes``, or a file path.
        target: The target column; required for a file, defaults to the demo set's own.
        extra: Optional file of more labelled rows (recent production batches) appended to the table.
        categorical: Columns of a CSV read as text as written: codes (``07``, store ``101``)
            to be declared categorical in :func:`train_and_log`, never read as numbers.

    Raises:
        DataFileError: a file is missing or does not parse.
        DataError: no target was named for a file.
        MissingColumnError: the target is not a column of the table.
    """
    from workbench.data import DEMO_DATASETS, demo_dataset, load_table

    if dataset in DEMO_DATASETS:
        demo = demo_dataset(dataset)
        frame, target, name = demo.frame, target or demo.target, dataset
    else:
        if not target:
            raise DataError(f"name the target column of {dataset} (target=...).")
        frame, name = load_table(dataset, text=categorical or ()), dataset
    if extra:
        more = load_table(extra, text=categorical or ())
        if "application_date" in more.columns and "application_date" in frame.columns:
            more["application_date"] = pd.to_datetime(more["application_date"])
        frame = pd.concat([frame, more], ignore_index=True)
        name = f"{name}+{extra}"
    split_xy(frame, target)  # fails early, naming the target, if it is absent
    return TrainingTable(frame, target, name)


def hyperparameters(
    family: str, n_estimators: int = 100, max_depth: int | None = None, C: float = 1.0
) -> dict[str, Any]:
    """The hyperparameters that apply to ``family``, from the few the notebook and panel expose."""
    family = _ALIASES.get(family, family)
    if family in ("random_forest", "gradient_boosting"):
        params: dict[str, Any] = {"n_estimators": int(n_estimators)}
        if max_depth:
            params["max_depth"] = int(max_depth)
        return params
    if family == "logistic_regression":
        return {"C": float(C)}
    return {"alpha": 1.0 / float(C)}


def feature_columns(x: pd.DataFrame) -> tuple[list[str], list[str], list[str]]:
    """Split columns into (numeric, categorical, dropped) by the model contract's rules:
    identifiers, dates and free text are dropped."""
    roles = infer_roles(x)
    numeric = [r.name for r in roles if r.feature and r.kind in ("numeric", "boolean")]
    categorical = [r.name for r in roles if r.feature and r.name not in numeric]
    return numeric, categorical, [r.name for r in roles if not r.feature]


def build_model(
    family: str,
    task: str,
    numeric: list[str],
    categorical: list[str],
    params: dict[str, Any] | None = None,
    seed: int = 0,
):
    """A Pipeline: impute and encode the columns, then the estimator of ``family`` for ``task``.

    Args:
        family: One of :data:`FAMILIES` for the task.
        task: ``classification`` or ``regression``.
        numeric: Numeric columns (median-imputed; scaled for linear models).
        categorical: Text columns (most-frequent-imputed, one-hot, unseen categories ignored).
        params: Hyperparameters of the estimator (``n_estimators``, ``max_depth``, ``C``...); they
            override the builder's defaults (``max_iter=1000`` for logistic regression,
            ``random_state=seed``, ``n_jobs=1`` for forests).
        seed: ``random_state`` of the estimator (unless ``params`` names one).

    Raises:
        UsageError: unknown family or task, or a parameter the estimator does not take (the
            message names it and lists the ones it does).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    family = _ALIASES.get(family, family)
    if task not in FAMILIES or family not in FAMILIES[task]:
        allowed = ", ".join(FAMILIES.get(task, ()))
        raise UsageError(f"unknown model family {family!r} for {task}: choose one of {allowed}")
    linear = family in ("logistic_regression", "linear_regression")
    num_steps = [SimpleImputer(strategy="median")] + ([StandardScaler()] if linear else [])
    cat_steps = [
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    ]
    pre = ColumnTransformer(
        [
            ("num", make_pipeline(*num_steps), numeric),
            ("cat", make_pipeline(*cat_steps), categorical),
        ],
        remainder="drop",
    )
    return Pipeline([("prep", pre), ("model", _estimator(family, task, params or {}, seed))])


def _estimator(family: str, task: str, params: dict[str, Any], seed: int):
    """The estimator of ``family`` with the builder's defaults, ``params`` winning over them.

    Raises:
        UsageError: a parameter the estimator does not take (the message lists those it does).
    """
    from sklearn import ensemble, linear_model

    classify = task == "classification"
    if family == "logistic_regression":
        cls, defaults = linear_model.LogisticRegression, {"max_iter": 1000}
    elif family == "linear_regression":
        cls, defaults = linear_model.Ridge, {}
    elif family == "random_forest":
        cls = ensemble.RandomForestClassifier if classify else ensemble.RandomForestRegressor
        defaults = {"random_state": seed, "n_jobs": 1}
    else:
        cls = (
            ensemble.GradientBoostingClassifier if classify else ensemble.GradientBoostingRegressor
        )
        defaults = {"random_state": seed}
    given = {k: v for k, v in params.items() if v is not None}
    valid = cls().get_params(deep=False)
    unknown = [k for k in given if k not in valid]
    if unknown:
        import difflib

        hints = [m for k in unknown for m in difflib.get_close_matches(k, list(valid), 1)]
        hint = f" Did you mean {', '.join(map(repr, hints))}?" if hints else ""
        raise UsageError(
            f"{family} ({cls.__name__}) has no parameter {', '.join(map(repr, unknown))}: it "
            f"takes {', '.join(sorted(valid))}.{hint}"
        )
    return cls(**{**defaults, **given})


def train_and_log(
    data: pd.DataFrame,
    target: str,
    *,
    name: str,
    family: str = "random_forest",
    task: str | None = None,
    params: dict[str, Any] | None = None,
    test_size: float = 0.25,
    seed: int = 0,
    alias: str | None = "challenger",
    dataset_name: str = "train",
    progress: Progress | None = None,
    positive_label: Any = None,
    id_columns: list[str] | None = None,
    date_columns: list[str] | None = None,
    ignore: list[str] | None = None,
    protected: list[str] | None = None,
    plots: bool = True,
    categorical: list[str] | None = None,
    personal: list[str] | None = None,
) -> ModelVersion:
    """Split ``data``, fit a pipeline of ``family`` and log it as a new version of ``name``.

    Args:
        data: The whole table, target included.
        target: The column to predict.
        name: Registered model name.
        family: Model family (see :data:`FAMILIES`).
        task: ``classification`` or ``regression``; inferred from the target when ``None``.
        params: Estimator hyperparameters, overriding the builder's defaults (see
            :func:`build_model`).
        test_size: Share of rows held out for evaluation.
        seed: Seed of the split and the estimator.
        alias: Alias for the new version.
        dataset_name: Name of the training data in the lineage.
        progress: Called with (step, fraction done) as the work goes on.
        positive_label: The class that counts as positive (see :func:`workbench.log_model`).
        id_columns: Identifier columns (never features; more are inferred).
        date_columns: Date/time columns (never features; more are inferred).
        ignore: Columns to leave out of the features.
        protected: Attributes fairness is measured on (features unless also ignored).
        categorical: Numeric codes that are categories (store ids, postcodes): one-hot
            encoded as text, never read as numbers; the contract records them, and scoring,
            serving and monitoring read them as text.
        personal: Columns holding personal data: recorded in the contract, kept out of the
            model server's inference log.
        plots: Draw the evaluation plots on the held-out rows (ROC, precision-recall and the
            confusion matrix, or predicted vs actual and residuals; permutation importance) and
            keep them with the run under ``plots/`` (see :func:`training_plots`).

    Returns:
        The new :class:`~workbench.ModelVersion`; ``wb.model_contract(mv.model_uri)`` shows the
        column roles it was trained with.

    Raises:
        DataError: empty data, a missing target, or too few rows to split.
        MissingColumnError: a declared column is not in the data (nothing is logged).
        UsageError: the positive label is unknown, a label pair needs one, or ``params`` names
            a parameter the estimator does not take (nothing is trained).
    """
    from sklearn.model_selection import train_test_split

    check_model_name(name)
    report = as_progress(progress)
    report("preparing data", 0.05)
    x, y = split_xy(data, target)
    y_missing = int(y.isna().sum())
    if y_missing:
        raise DataError(
            f"target column {target!r} has {y_missing} missing values: drop or fill those rows."
        )
    if len(x) < 10:
        raise DataError(
            f"the data has {len(x)} rows: at least 10 are needed to train and evaluate."
        )
    contract = infer_contract(
        data, target, task=task, positive_label=positive_label, id_columns=id_columns or (),
        date_columns=date_columns or (), ignore=ignore or (), protected=protected or (),
        categorical=categorical or (), personal=personal or (),
    )  # fmt: skip
    task, numeric, categorical = contract.task, contract.numeric, contract.categorical
    if not numeric and not categorical:
        raise DataError(
            "no usable feature columns: every column is the target, an identifier, a date or "
            "ignored (see wb.model_contract roles); the table needs numeric or text features."
        )
    x = contract.feature_frame(x)  # declared categorical codes become text
    stratify = y if task == "classification" and y.value_counts().min() >= 2 else None
    x_tr, x_ev, y_tr, y_ev = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=stratify
    )
    report(f"training {family}", 0.2)
    model = build_model(family, task, numeric, categorical, params, seed).fit(x_tr, y_tr)
    report("logging to MLflow", 0.6)
    tags = {TAG.FAMILY: family, TAG.DROPPED_COLUMNS: ",".join(contract.skipped)}
    mv = log_model(
        model,
        name=name,
        train=(x_tr, y_tr),
        eval=(x_ev, y_ev),
        params={"family": family, "test_size": test_size, "seed": seed},
        tags=tags,
        alias=alias,
        dataset_name=dataset_name,
        contract=contract,
    )
    if plots:
        report("drawing the evaluation plots", 0.85)
        log_training_plots(mv, model, x_ev, y_ev, task, contract.positive_label, seed)
    report("done", 1.0)
    return mv


def log_training_plots(
    mv: ModelVersion, model: Any, x_ev: pd.DataFrame, y_ev: Any, task: str,
    positive_label: Any = None, seed: int = 0,
) -> list[str]:  # fmt: skip
    """Draw the evaluation plots of ``model`` on the held-out rows and keep them with the
    version's run under ``plots/`` (one folder upload). Returns the names of the plots kept.

    The version is already logged: a plot that cannot be drawn is left out with a warning
    naming the version, never a failed training.
    """
    import tempfile
    import warnings

    from workbench.plots.evaluation import evaluation_figures
    from workbench.plots.files import save_figures
    from workbench.workspace import mlflow_client

    what = f"{mv.name} version {mv.version}"
    try:
        drawn = evaluation_figures(model, x_ev, y_ev, task, positive_label, seed=seed)
        for note in drawn.notes:
            warnings.warn(f"{what}: {note}", stacklevel=2)
        if not drawn.figures:
            return []
        with tempfile.TemporaryDirectory(prefix="wb-plots-") as tmp:
            save_figures(drawn.figures, tmp, title=f"{what}: evaluation on held-out rows")
            mlflow_client().log_artifacts(mv.run_id, tmp, PLOTS_FOLDER)
    except Exception as err:  # the version stands; its plots are an extra
        warnings.warn(
            f"{what} is logged, but its evaluation plots could not be kept: "
            f"{type(err).__name__}: {err}",
            stacklevel=2,
        )
        return []
    return list(drawn.figures)


def training_plots(mv: ModelVersion) -> dict[str, Any]:
    """The evaluation plots kept with ``mv``'s run (name -> plotly Figure); empty when the
    version was logged without them. Only the small JSON files are read, not the page."""
    import tempfile

    import mlflow

    from workbench.plots.files import load_figures
    from workbench.workspace import mlflow_client

    try:
        files = [f.path for f in mlflow_client().list_artifacts(mv.run_id, PLOTS_FOLDER)]
    except Exception:  # no plots folder: a version logged without plots
        return {}
    with tempfile.TemporaryDirectory(prefix="wb-plots-") as tmp:
        for path in files:
            if path.endswith(".json"):
                mlflow.artifacts.download_artifacts(
                    run_id=mv.run_id, artifact_path=path, dst_path=tmp
                )
        return load_figures(tmp)
