"""A checked model folder loaded as MLflow's pyfunc model (see
:func:`workbench.registry.safety.load_checked`).

``mlflow.pyfunc.load_model`` follows the ``loader_module`` the artifact names and tells skops to
trust the types the artifact's own ``MLmodel`` lists. :func:`sklearn_pyfunc` builds the same
``PyFuncModel`` from a folder whose every flavor and skops type the caller audited, with exactly the
types the audit allowed, around :class:`SklearnPyfunc`: the workbench's own copy of what
``mlflow.sklearn``'s (private) pyfunc wrapper does, so no private MLflow name is needed.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["SklearnPyfunc", "sklearn_pyfunc"]


class SklearnPyfunc:
    """A scikit-learn estimator as a pyfunc implementation: ``predict`` (``params`` ignored, as
    MLflow's sklearn flavor does), ``get_raw_model``, and the estimator's own ``predict_proba``,
    ``predict_log_proba``, ``predict_joint_log_proba`` and ``score`` where it has them.

    Example:
        >>> from sklearn.dummy import DummyClassifier
        >>> wrapped = SklearnPyfunc(DummyClassifier().fit([[0], [1]], [0, 1]))
        >>> wrapped.predict([[0]]).shape, hasattr(wrapped, "predict_proba")
        ((1,), True)
    """

    #: The estimator methods copied onto the wrapper (MLflow's ``pyfunc_predict_fn`` choices).
    COPIED = ("predict_proba", "predict_log_proba", "predict_joint_log_proba", "score")

    def __init__(self, sklearn_model: Any) -> None:
        self.sklearn_model = sklearn_model
        for name in self.COPIED:
            if fn := getattr(sklearn_model, name, None):
                setattr(self, name, fn)

    def get_raw_model(self) -> Any:
        """The scikit-learn estimator itself."""
        return self.sklearn_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """The estimator's ``predict(data)``; ``params`` is accepted and ignored."""
        return self.sklearn_model.predict(data)


def sklearn_pyfunc(
    folder: str | os.PathLike, skops_path: str | os.PathLike, trusted: list[str]
) -> Any:
    """What ``mlflow.pyfunc.load_model`` builds for a skops sklearn folder, loaded with exactly
    ``trusted`` (never the artifact's own list or ``loader_module``)."""
    import skops.io
    from mlflow.models import Model
    from mlflow.pyfunc import PyFuncModel

    estimator = skops.io.load(str(skops_path), trusted=list(trusted) or None)
    meta = Model.load(os.path.join(str(folder), "MLmodel"))
    return PyFuncModel(
        model_meta=meta,
        model_impl=SklearnPyfunc(estimator),
        model_id=getattr(meta, "model_id", None),
    )
