"""What the checks look at: :class:`CheckContext`, the candidate, its eval data and its memory.

:func:`workbench.run_checks` builds one from a model URI (the registry's version, its contract, its
training profile, its log-time predictions, the current ``@champion`` and its contract);
:meth:`CheckContext.from_model` builds one from an in-memory estimator, to check a model before it
is logged. The context takes the model's own feature columns out of the eval table (extra columns
are fine), and computes the metrics once, on the contract's positive label, whichever check asks
first.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.contract import ModelContract, infer_roles, resolve_positive_label
from workbench.errors import CheckError, DataError, MissingColumnError

__all__ = ["CheckContext", "check_protected", "resolve_contract", "split_eval"]


@dataclass
class CheckContext:
    """What the checks look at.

    :func:`workbench.run_checks` builds it from a model URI; :meth:`from_model` builds one from an
    in-memory estimator (checks before logging).

    Attributes:
        model: The candidate as a scikit-learn estimator (for metrics and probabilities).
        data: The eval table as given, target removed (extra columns included).
        target: The eval labels (``None`` when there are none).
        task: ``classification`` or ``regression``.
        signature: The model's MLflow signature (``None`` when it has none).
        profile: The training-data profile (see :mod:`workbench._core.profile`).
        champion: The current ``@champion`` as an estimator, or ``None``.
        champion_version: Its version number.
        pyfunc: The candidate as MLflow's pyfunc (what the server runs), or ``None``.
        reference: Rows and the predictions the model made on them when it was logged.
        artifact_dir: Local copy of the logged model's files.
        model_uri: The candidate's URI.
        name: Registered model name.
        version: Version number.
        description: The version's description (the model card's intended use).
        champion_signature: The champion's signature (its features are cast to it).
        contract: The candidate's :class:`~workbench.contract.ModelContract`: its features, labels
            and positive label (``None``: every eval column is an input, the larger label is
            positive).
        champion_contract: The champion's contract: it is fed its own features from the same
            eval table.
        protected: Attributes fairness is measured on (columns of the eval table; they need not
            be features).
        unsafe_artifact: The model's format could run code when loaded, and the user allowed it.
        digest: SHA-256 over every file of the candidate's model folder: what the checks judged.
        trusted_types: The exact types beyond skops' defaults it was loaded with.
        declared_types: The types its logger declared trusted (recorded on the version).
        contract_protected: The protected attributes its stored contract names (``None``: it
            has no stored contract), whatever the run was told: what the gate requires.

    Example:
        >>> import pandas as pd
        >>> from sklearn.linear_model import LinearRegression
        >>> frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0.0, 2.0, 4.0, 6.0]})
        >>> model = LinearRegression().fit(frame[["x"]], frame["y"])
        >>> context = CheckContext.from_model(model, frame.assign(note="extra"), "y")
        >>> context.task, round(context.metrics()["r2"], 3), list(context.x.columns)
        ('regression', 1.0, ['x'])
    """

    model: Any
    data: pd.DataFrame
    target: pd.Series | None
    task: str
    signature: Any = None
    profile: dict[str, Any] | None = None
    champion: Any = None
    champion_version: int | None = None
    pyfunc: Any = None
    reference: dict[str, Any] | None = None
    artifact_dir: Path | None = None
    model_uri: str = ""
    name: str | None = None
    version: int | None = None
    description: str = ""
    champion_signature: Any = None
    contract: ModelContract | None = None
    champion_contract: ModelContract | None = None
    protected: list[str] = field(default_factory=list)
    unsafe_artifact: bool = False
    digest: str = ""
    trusted_types: list[str] = field(default_factory=list)
    declared_types: list[str] = field(default_factory=list)
    contract_protected: list[str] | None = None
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_model(
        cls,
        model: Any,
        data: pd.DataFrame,
        target: str | pd.Series | None = None,
        *,
        train: pd.DataFrame | None = None,
        champion: Any = None,
        positive_label: Any = None,
        protected: str | list[str] | tuple[str, ...] = (),
    ) -> CheckContext:
        """A context for an in-memory fitted estimator (no registry involved).

        Args:
            model: A fitted scikit-learn estimator or Pipeline.
            data: Eval data, with the target column when ``target`` names one.
            target: The target column name, or the labels.
            train: Training features: the features, the profile and the signature are taken
                from them (default: the columns the model was fitted on).
            champion: Another fitted estimator to compare with (fed the columns it was fitted on).
            positive_label: The class recall, precision, F1 and fairness measure (binary
                labels other than 0/1, False/True, yes/no need one).
            protected: Attributes fairness is measured on (columns of ``data``).

        Raises:
            ModelError: ``model`` is neither a classifier nor a regressor.
            MissingColumnError: ``target`` or a protected column is not a column of ``data``.
            UsageError: the positive label is not among the model's classes, or needed.
        """
        from workbench._core.profile import training_profile
        from workbench._core.tasks import task_of_estimator
        from workbench.registry import signature_frame

        x, y = split_eval(data, target)
        protected = check_protected(protected, x)
        task = task_of_estimator(model)
        signature = profile = None
        if train is not None:
            from mlflow.models import infer_signature

            sig_frame = signature_frame(train)
            signature = infer_signature(sig_frame, model.predict(sig_frame.head(20)))
            profile = training_profile(sig_frame)
        features = list(train.columns) if train is not None else _inputs_of(model, x)
        target_name = str(getattr(y, "name", None) or "target")
        contract = _plain_contract(model, task, features, train if train is not None else x)
        contract = resolve_contract(
            replace(contract, target=target_name, protected=protected), model, positive_label
        )
        champion_contract = None
        if champion is not None:
            champion_contract = replace(contract, features=_inputs_of(champion, x))
        return cls(
            model=model,
            data=x,
            target=y,
            task=task,
            signature=signature,
            profile=profile,
            champion=champion,
            contract=contract,
            champion_contract=champion_contract,
            protected=protected,
        )

    # ----------------------------------------------------------------- what the checks read

    @property
    def x(self) -> pd.DataFrame:
        """The eval features the model takes (its contract's), cast to its signature's types.

        Raises:
            MissingColumnError: the eval data lacks a feature (the message names it).
            DataError: a value does not fit its column's type (see the schema check).
        """
        if "x" not in self._cache:
            self._cache["x"] = self._features(self.contract, self.signature, "the eval data")
        return self._cache["x"]

    def champion_x(self) -> pd.DataFrame:
        """The eval features the ``@champion`` takes (its own contract's), cast to its signature.

        Raises:
            MissingColumnError: the eval data lacks a feature of the champion (named).
        """
        if "champion_x" not in self._cache:
            what = f"the eval data (for the @champion{_v(self.champion_version)})"
            try:
                frame = self._features(self.champion_contract, self.champion_signature, what)
            except MissingColumnError as err:
                if self.champion_contract is None:
                    raise
                absent = self.champion_contract.missing_features(self.data)
                raise MissingColumnError(
                    f"the eval data lacks {', '.join(map(repr, absent))}, a feature of the "
                    f"@champion{_v(self.champion_version)} that the candidate does not need, so "
                    "the champion cannot be scored on it: add the column to the eval data to "
                    "compare the two."
                ) from err
            self._cache["champion_x"] = frame
        return self._cache["champion_x"]

    @property
    def positive_label(self) -> Any:
        """The class precision, recall, F1 and fairness measure (the contract's), or ``None``."""
        return None if self.contract is None else self.contract.positive_label

    def metric_label(self, metric: str) -> str:
        """``metric`` as shown: ``precision (macro)`` when the model has more than two classes
        (its precision, recall, F1 and ROC AUC are then averages over them)."""
        from workbench._core.tasks import metric_label

        labels = self.contract.labels if self.contract is not None else None
        return metric_label(metric, self.task == "classification" and len(labels or ()) > 2)

    @property
    def extra_columns(self) -> list[str]:
        """Columns of the eval table the model does not take (ids, dates, protected, others)."""
        if self.contract is None:
            return []
        return self.contract.extra_columns(self.data)

    def input_types(self) -> dict[str, str]:
        """Column -> MLflow type name (``double``, ``long``, ``string``...) from the signature."""
        inputs = getattr(self.signature, "inputs", None)
        if inputs is None or not inputs.has_input_names():
            columns = self.contract.features if self.contract is not None else self.data.columns
            return {str(c): _kind_of(self.data[c]) for c in columns if c in self.data}
        return {spec.name: str(spec.type).split(".")[-1].lower() for spec in inputs.inputs}

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        """Predictions as served: through the pyfunc model when there is one."""
        model = self.pyfunc if self.pyfunc is not None else self.model
        return np.asarray(model.predict(x))

    def metrics(self, which: str = "candidate") -> dict[str, float]:
        """Metrics of the candidate (or the ``champion``) on the eval data, computed once.

        Binary metrics (precision, recall, F1, ROC AUC) are measured on the candidate's positive
        label, for both models: they are scored on the same labels.

        Raises:
            CheckError: there are no labels, or no such model.
            MissingColumnError: the eval data lacks a feature of that model.
        """
        from workbench._core.tasks import metrics, predict

        key = f"metrics_{which}"
        if key not in self._cache:
            if self.target is None:
                raise CheckError("the eval data has no target column: metrics need labels.")
            model = self.model if which == "candidate" else self.champion
            if model is None:
                raise CheckError(f"there is no {which} model to evaluate.")
            x = self.x if which == "candidate" else self.champion_x()
            pred, proba = predict(model, x, self.task)
            self._cache[key] = metrics(
                self.target,
                pred,
                proba,
                self.task,
                classes=getattr(model, "classes_", None),
                positive_label=self.positive_label,
            )
        return self._cache[key]

    def known_metrics(self, which: str = "candidate") -> dict[str, float] | None:
        """The metrics a check already computed (see :meth:`metrics`), or ``None``; computes nothing."""
        return self._cache.get(f"metrics_{which}")

    def _features(self, contract: ModelContract | None, signature: Any, what: str) -> pd.DataFrame:
        from workbench.data import conform_to_signature

        frame = self.data if contract is None else contract.feature_frame(self.data, what)
        return conform_to_signature(
            frame, signature, allow_extra=True, what=what, missing="keep"
        )  # measured: gaps are data_quality's to count


def split_eval(
    data: pd.DataFrame, target: str | pd.Series | None
) -> tuple[pd.DataFrame, pd.Series | None]:
    """The eval features and labels: ``data`` without the ``target`` column, and that column.

    Args:
        data: The eval table.
        target: The label column's name, the labels themselves, or ``None`` (no labels).

    Raises:
        DataError: ``data`` is not a DataFrame; a label is missing (NaN) or not finite; a feature
            holds an infinite number or one beyond float32's range (NaN, a missing value, is
            fine: the suite checks how the model handles it). The message names the column and
            the count, and nothing has run or been recorded yet.
        MissingColumnError: ``target`` is not a column of ``data``.
    """
    from workbench.serving.options import check_in_range, out_of_range_counts, shown_name

    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    x, y = data, target
    if isinstance(target, str):
        from workbench.data import split_xy

        x, y = split_xy(data, target)
    if y is not None:
        labels = pd.Series(y)
        name = shown_name(target if isinstance(target, str) else (labels.name or "target"))
        missing = int(labels.isna().sum())
        infinite = sum(out_of_range_counts(labels.to_frame()).values())
        if missing or infinite:
            what = f"{missing:,} missing (NaN)" if missing else f"{infinite:,} infinite or huge"
            raise DataError(
                f"the eval data's target column {name} has {what} label(s): the checks need a "
                "finite label on every row. Drop those rows or fill in their labels."
            )
    check_in_range(x, None, "the eval data")
    return x, y


def check_protected(
    protected: str | list[str] | tuple[str, ...] | None, data: pd.DataFrame
) -> list[str]:
    """The protected attributes as a list, each a column of ``data``.

    Raises:
        MissingColumnError: a protected attribute is not a column of the eval data (named, with
            the columns there are).
    """
    names = [protected] if isinstance(protected, str) else list(protected or [])
    absent = [p for p in names if p not in data.columns]
    if absent:
        import difflib

        hints = [m for p in absent for m in difflib.get_close_matches(p, map(str, data.columns), 1)]
        hint = f" Did you mean {', '.join(map(repr, hints))}?" if hints else ""
        shown = ", ".join(map(str, list(data.columns)[:15]))
        raise MissingColumnError(
            f"protected attribute {', '.join(map(repr, absent))} is not a column of the eval data "
            f"(columns: {shown}{', ...' if data.shape[1] > 15 else ''}).{hint} Add it to the "
            "eval data, or name another column: when the model's contract names protected "
            "attributes the gate requires the fairness check, so a run without it cannot promote."
        )
    return names


def resolve_contract(contract: ModelContract, model: Any, positive_label: Any = None):
    """``contract`` with the model's class labels and its positive label settled.

    The labels are the contract's, else the model's ``classes_``; the positive label is
    ``positive_label`` when given, else the contract's, matched against the labels (so ``"1"``
    finds ``1``). Binary labels without an obvious positive class need one.

    Raises:
        UsageError: the positive label is not among the labels, or a label pair needs one.
    """
    if contract.task != "classification":
        return replace(contract, positive_label=None)
    classes = getattr(model, "classes_", None)
    labels = contract.labels or ([_plain(v) for v in classes] if classes is not None else None)
    wanted = positive_label if positive_label is not None else contract.positive_label
    if not labels:
        return replace(contract, positive_label=wanted)
    if len(labels) > 2 and wanted is None:
        return replace(contract, labels=list(labels))
    positive = resolve_positive_label(list(labels), wanted, contract.target)
    return replace(contract, labels=list(labels), positive_label=positive)


# --------------------------------------------------------------------------- helpers


def _plain_contract(model: Any, task: str, features: list[str], frame: pd.DataFrame):
    """A contract for an in-memory model: its features with their kinds, no labels yet."""
    present = [c for c in features if c in frame.columns]
    roles = infer_roles(frame[present], features=features)
    return ModelContract(
        target="target",
        task=task,
        features=list(features),
        kinds={r.name: r.kind for r in roles},
        columns=roles,
    )


def _inputs_of(model: Any, x: pd.DataFrame) -> list[str]:
    """The columns ``model`` was fitted on, else every column of ``x``."""
    names = getattr(model, "feature_names_in_", None)
    return [str(c) for c in names] if names is not None else [str(c) for c in x.columns]


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _v(version: int | None) -> str:
    return f" (version {version})" if version else ""


def _kind_of(col: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(col.dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(col.dtype):
        return "long"
    if pd.api.types.is_numeric_dtype(col.dtype):
        return "double"
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return "datetime"
    return "string"
