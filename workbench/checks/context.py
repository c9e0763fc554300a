"""What the checks look at: :class:`CheckContext`, the candidate, its eval data and its memory.

:func:`workbench.run_checks` builds one from a model URI (the registry's version, its training
profile, its log-time predictions, the current ``@champion``); :meth:`CheckContext.from_model`
builds one from an in-memory estimator, to check a model before it is logged. The context computes
the conformed eval features and the metrics once, whichever check asks first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import CheckError, DataError

__all__ = ["CheckContext", "split_eval"]


@dataclass
class CheckContext:
    """What the checks look at.

    :func:`workbench.run_checks` builds it from a model URI; :meth:`from_model` builds one from an
    in-memory estimator (checks before logging).

    Attributes:
        model: The candidate as a scikit-learn estimator (for metrics and probabilities).
        data: The eval features as given (target removed).
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
        expected_extra: Columns the model drops on purpose (dates, ids): not a schema problem.
        description: The version's description (the model card's intended use).
        champion_signature: The champion's signature: its metrics are computed on the eval data
            conformed to it (``None``: the candidate's).

    Example:
        >>> import pandas as pd
        >>> from sklearn.linear_model import LinearRegression
        >>> frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0.0, 2.0, 4.0, 6.0]})
        >>> model = LinearRegression().fit(frame[["x"]], frame["y"])
        >>> context = CheckContext.from_model(model, frame, "y")
        >>> context.task, round(context.metrics()["r2"], 3)
        ('regression', 1.0)
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
    expected_extra: tuple[str, ...] = ()
    description: str = ""
    champion_signature: Any = None
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
    ) -> CheckContext:
        """A context for an in-memory fitted estimator (no registry involved).

        Args:
            model: A fitted scikit-learn estimator or Pipeline.
            data: Eval data, with the target column when ``target`` names one.
            target: The target column name, or the labels.
            train: Training features: the profile and the signature are taken from them.
            champion: Another fitted estimator to compare with.

        Raises:
            ModelError: ``model`` is neither a classifier nor a regressor.
            MissingColumnError: ``target`` is not a column of ``data``.
        """
        from workbench._core.profile import training_profile
        from workbench._core.tasks import task_of_estimator
        from workbench.registry import signature_frame

        x, y = split_eval(data, target)
        signature = profile = None
        if train is not None:
            from mlflow.models import infer_signature

            sig_frame = signature_frame(train)
            signature = infer_signature(sig_frame, model.predict(sig_frame.head(20)))
            profile = training_profile(sig_frame)
        return cls(
            model=model,
            data=x,
            target=y,
            task=task_of_estimator(model),
            signature=signature,
            profile=profile,
            champion=champion,
        )

    @property
    def x(self) -> pd.DataFrame:
        """The eval features the model takes, cast to its signature's types.

        Raises:
            DataError: the eval data does not match the signature (see the schema check).
        """
        if "x" not in self._cache:
            from workbench.data import conform_to_signature

            frame = self.data.drop(columns=[c for c in self.expected_extra if c in self.data])
            self._cache["x"] = conform_to_signature(
                frame, self.signature, allow_extra=True, what="the eval data"
            )
        return self._cache["x"]

    def input_types(self) -> dict[str, str]:
        """Column -> MLflow type name (``double``, ``long``, ``string``...) from the signature."""
        inputs = getattr(self.signature, "inputs", None)
        if inputs is None or not inputs.has_input_names():
            return {str(c): _kind_of(self.data[c]) for c in self.data.columns}
        return {spec.name: str(spec.type).split(".")[-1].lower() for spec in inputs.inputs}

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        """Predictions as served: through the pyfunc model when there is one."""
        model = self.pyfunc if self.pyfunc is not None else self.model
        return np.asarray(model.predict(x))

    def metrics(self, which: str = "candidate") -> dict[str, float]:
        """Metrics of the candidate (or the ``champion``) on the eval data, computed once.

        Raises:
            CheckError: there are no labels, or no such model.
        """
        from workbench._core.tasks import evaluate

        key = f"metrics_{which}"
        if key not in self._cache:
            if self.target is None:
                raise CheckError("the eval data has no target column: metrics need labels.")
            model = self.model if which == "candidate" else self.champion
            if model is None:
                raise CheckError(f"there is no {which} model to evaluate.")
            x = self.x
            if which == "champion" and self.champion_signature is not None:
                from workbench.data import conform_to_signature

                x = conform_to_signature(
                    self.data, self.champion_signature, allow_extra=True, what="the eval data"
                )
            self._cache[key] = evaluate(model, x, self.target, self.task)
        return self._cache[key]

    def known_metrics(self, which: str = "candidate") -> dict[str, float] | None:
        """The metrics a check already computed (see :meth:`metrics`), or ``None``; computes nothing."""
        return self._cache.get(f"metrics_{which}")


def split_eval(
    data: pd.DataFrame, target: str | pd.Series | None
) -> tuple[pd.DataFrame, pd.Series | None]:
    """The eval features and labels: ``data`` without the ``target`` column, and that column.

    Args:
        data: The eval table.
        target: The label column's name, the labels themselves, or ``None`` (no labels).

    Raises:
        DataError: ``data`` is not a DataFrame.
        MissingColumnError: ``target`` is not a column of ``data``.
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    if isinstance(target, str):
        from workbench.data import split_xy

        return split_xy(data, target)
    return data, target


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
