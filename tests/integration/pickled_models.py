"""A hostile model for the loading tests: a pickled classifier whose unpickling writes a file.

:func:`log_pickled` logs it with plain ``mlflow.sklearn.log_model(serialization_format="pickle")``
(explicit requirements, a signature and no input example: MLflow would otherwise load it while
logging), so the marker file exists only once something unpickled it. Unpickled, it becomes the
same classifier without the payload, so a load that was allowed predicts normally.
"""

from __future__ import annotations

import os
import pickle

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

MARKER_ENV = "WB_PAYLOAD_MARKER"


class Hostile(LogisticRegression):
    """A classifier whose unpickling writes the file named by ``$WB_PAYLOAD_MARKER``, then gives
    back ``plain`` (the same classifier, pickled without the payload)."""

    plain: bytes = b""

    def __reduce__(self):
        marker = os.environ[MARKER_ENV]
        return (
            eval,
            (
                f"open({marker!r}, 'w').write('ran') and None or "
                f"__import__('pickle').loads({self.plain!r})",
            ),
        )


def log_pickled(name: str, columns: list[str]) -> str:
    """Log and register a :class:`Hostile` model taking ``columns``; returns its version's URI."""
    import mlflow
    from mlflow.models import infer_signature

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(80, len(columns))), columns=columns)
    y = (x.iloc[:, 0] > 0).astype(int)
    model = Hostile().fit(x, y)
    model.plain = pickle.dumps(LogisticRegression().fit(x, y))
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model,
            name="m",
            serialization_format="pickle",
            registered_model_name=name,
            pip_requirements=["scikit-learn"],
            signature=infer_signature(x, model.predict(x)),
        )
    return f"models:/{name}/{info.registered_model_version}"
