"""MLflow's scoring-server app, loaded, behind the workbench's edge, with the collector tuned.

Importing this module loads the model folder the launcher names in ``WORKBENCH_SERVING_MODEL_PATH``
(a ``file:`` URI, read as ``mlflow.pyfunc.scoring_server.app`` reads MLflow's own variable), builds
MLflow's app for it behind the workbench's edge (with class probabilities in the answers of a
scikit-learn classifier, see ``_scoring_app``), then:

* ``gc.collect(); gc.freeze()``: everything alive now (MLflow, FastAPI, pydantic, the model) moves to
  the permanent generation, which no later collection walks;
* ``gc.set_threshold(50_000, 20, 100)``: young collections run every 50,000 allocations instead of
  700, so a request rarely pays for one.

The folder is judged here again before anything is loaded (every flavor, the skops schema; the
launcher hands over the exact types its audit allowed), and loaded only through the checked flavor
(:func:`~workbench.registry.safety.load_checked`): pickle, foreign loaders and untrusted skops types
are refused unless ``WORKBENCH_ALLOW_PICKLE=1``.
"""

from __future__ import annotations

import gc
import os

from mlflow.utils.file_utils import local_file_uri_to_path

from workbench.registry.safety import ALLOW_PICKLE_ENV, ensure_loadable, load_checked
from workbench.serving._scoring_app import MODEL_PATH_ENV, scoring_app, yield_if_shadow
from workbench.serving.launch import TRUSTED_ENV

GC_THRESHOLDS = (50_000, 20, 100)

yield_if_shadow()  # a shadow's workers run below the champion's priority
_MODEL_PATH = os.environ[MODEL_PATH_ENV]
_FOLDER = local_file_uri_to_path(_MODEL_PATH)
_SAFETY = ensure_loadable(
    _FOLDER,
    allow_pickle=os.environ.get(ALLOW_PICKLE_ENV) == "1",
    trusted_types=[t for t in os.environ.get(TRUSTED_ENV, "").split(",") if t],
)
app = scoring_app(load_checked(_FOLDER, _SAFETY))

gc.collect()
gc.freeze()
gc.set_threshold(*GC_THRESHOLDS)

__all__ = ["app"]
