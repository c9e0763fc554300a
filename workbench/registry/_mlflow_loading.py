"""A checked model folder loaded as MLflow's pyfunc model: the one use of ``mlflow.sklearn``'s
private wrapper (see :func:`workbench.registry.safety.load_checked`).

``mlflow.pyfunc.load_model`` follows the ``loader_module`` the artifact names and tells skops to
trust the types the artifact's own ``MLmodel`` lists. :func:`sklearn_pyfunc` builds the same
``PyFuncModel`` from a folder whose every flavor and skops type the caller audited, with exactly the
types the audit allowed.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["sklearn_pyfunc"]


def sklearn_pyfunc(
    folder: str | os.PathLike, skops_path: str | os.PathLike, trusted: list[str]
) -> Any:
    """What ``mlflow.pyfunc.load_model`` builds for a skops sklearn folder, loaded with exactly
    ``trusted`` (never the artifact's own list or ``loader_module``)."""
    import skops.io
    from mlflow.models import Model
    from mlflow.pyfunc import PyFuncModel
    from mlflow.sklearn import _SklearnModelWrapper

    estimator = skops.io.load(str(skops_path), trusted=list(trusted) or None)
    meta = Model.load(os.path.join(str(folder), "MLmodel"))
    wrapper = _SklearnModelWrapper(estimator)
    return PyFuncModel(
        model_meta=meta, model_impl=wrapper, model_id=getattr(meta, "model_id", None)
    )
