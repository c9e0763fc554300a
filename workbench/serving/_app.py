"""MLflow's scoring-server app, loaded, with probabilities and the garbage collector tuned.

Importing this module loads the model named by MLflow's ``__pyfunc_model_path__`` environment variable
as ``mlflow.pyfunc.scoring_server.app`` does, builds MLflow's app for it (with class probabilities in
the answers of a scikit-learn classifier, see ``_scoring_app``), then:

* ``gc.collect(); gc.freeze()``: everything alive now (MLflow, FastAPI, pydantic, the model) moves to
  the permanent generation, which no later collection walks;
* ``gc.set_threshold(50_000, 20, 100)``: young collections run every 50,000 allocations instead of
  700, so a request rarely pays for one.
"""

from __future__ import annotations

import gc
import os

from mlflow.pyfunc import scoring_server

from workbench.serving._scoring_app import scoring_app

GC_THRESHOLDS = (50_000, 20, 100)

_MODEL_PATH = os.environ[scoring_server._SERVER_MODEL_PATH]  # noqa: SLF001 - MLflow's own variable
app = scoring_app(scoring_server.load_model_with_mlflow_config(_MODEL_PATH))

gc.collect()
gc.freeze()
gc.set_threshold(*GC_THRESHOLDS)

__all__ = ["app"]
