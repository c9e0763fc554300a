"""MLflow's scoring-server app, loaded, with the garbage collector tuned (see ``_launcher``).

Importing this module loads the model named by MLflow's ``__pyfunc_model_path__`` environment variable
exactly as ``mlflow.pyfunc.scoring_server.app`` does, then:

* ``gc.collect(); gc.freeze()``: everything alive now (MLflow, FastAPI, pydantic, the model) moves to
  the permanent generation, which no later collection walks;
* ``gc.set_threshold(50_000, 20, 100)``: young collections run every 50,000 allocations instead of
  700, so a request rarely pays for one.
"""

from __future__ import annotations

import gc

from mlflow.pyfunc.scoring_server.app import app

GC_THRESHOLDS = (50_000, 20, 100)

gc.collect()
gc.freeze()
gc.set_threshold(*GC_THRESHOLDS)

__all__ = ["app"]
