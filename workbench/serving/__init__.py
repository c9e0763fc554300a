"""Stage 3: serve a registered version with MLflow's model server, call it, and measure it.

* :func:`serve` starts the model server for a model URI (``models:/credit-risk@champion``) on
  127.0.0.1 in its own process group and returns a :class:`ModelServer` once ``/ping`` answers.
  ``ModelServer.connect(url)`` attaches the same client to a server that runs elsewhere.
* ``server.predict(df)`` checks the rows against the model's signature first (MLflow's server silently
  ignores unknown columns and truncates 30.9 into an integer column), then posts ``dataframe_split``
  JSON over a kept-alive connection. Server errors arrive as :class:`ServerRequestError` with the
  server's message and status, without its stack trace. ``server.predict_proba(df)`` gives the
  labels and the class probabilities (``proba_<label>`` columns) of the same single request: the
  workbench's server answers them beside the predictions for a scikit-learn classifier.
* :func:`load_test` sends a bounded number of requests from a few threads and reports throughput and
  latency percentiles next to the in-process prediction time of the same rows (the floor).
* :func:`compare_servers` serves two versions (champion and challenger) and replays rows to both.

Where things live:

* :mod:`~workbench.serving.launch`      the command and environment that start a server, workers
* ``_launcher.py``, ``_app.py``         the server process: MLflow's scoring app, collector tuned
* ``_scoring_app.py``                   MLflow's app with class probabilities in its answers
* :mod:`~workbench.serving.probabilities` labels and probabilities of a classifier, their columns
* :mod:`~workbench.serving.server`      :class:`ModelServer` (start, stop, connect, predict) and serve
* :mod:`~workbench.serving.client`      HTTP connections, the request codec, validation, errors
* :mod:`~workbench.serving.model_info`  model info and in-process model caches, pinned URIs
* :mod:`~workbench.serving.load_test`   :func:`load_test` and :class:`LoadTestResult`
* :mod:`~workbench.serving.compare`     :func:`compare_servers` and :class:`ComparisonResult`
"""

from __future__ import annotations

from workbench._core.process import HOST
from workbench.serving.client import (
    decode_predictions,
    decode_probabilities,
    encode_frame,
    frame_from_form,
)
from workbench.serving.compare import ComparisonResult, compare_servers
from workbench.serving.launch import default_workers, launch_command
from workbench.serving.load_test import LoadTestResult, load_test
from workbench.serving.model_info import contract_of, in_process_model, in_process_predict
from workbench.serving.probabilities import (
    PREDICTION,
    ProbabilitySpec,
    labels_and_probabilities,
    probability_frame,
    spec_for,
)
from workbench.serving.server import ModelServer, serve

__all__ = [
    "HOST",
    "PREDICTION",
    "ComparisonResult",
    "LoadTestResult",
    "ModelServer",
    "ProbabilitySpec",
    "compare_servers",
    "contract_of",
    "decode_predictions",
    "decode_probabilities",
    "default_workers",
    "encode_frame",
    "frame_from_form",
    "in_process_model",
    "in_process_predict",
    "labels_and_probabilities",
    "launch_command",
    "load_test",
    "probability_frame",
    "serve",
    "spec_for",
]
