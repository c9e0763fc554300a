"""Stage 3: serve a registered version with MLflow's model server, call it, and measure it.

* :func:`serve` starts the model server for a model URI (``models:/credit-risk@champion``) on
  127.0.0.1 in its own process group and returns a :class:`ModelServer` once ``/ping`` answers from
  the process it started (a per-start token on a private route). A model whose format runs code
  when loaded (pickle, cloudpickle, untrusted skops types) is refused before a byte of it is
  deserialised, here and again in the server process, unless ``allow_pickle=True``.
  ``ModelServer.connect(url)`` attaches the same client to a server that runs elsewhere.
* The server's edge (the workbench's wrapper of MLflow's scoring app): loopback ``Host`` values
  only unless ``allowed_hosts=``, no cross-origin requests, a request-size cap
  (``max_request_mb=``, 16 MB), types as strict as the Python client's, and error answers that name
  the column but never carry a traceback, a path or the request body.
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
* :mod:`~workbench.serving.options`     port, workers, allowed hosts and size cap, checked
* ``_launcher.py``, ``_app.py``         the server process: model checked, MLflow's app, collector tuned
* ``_scoring_app.py``                   MLflow's app behind the edge, class probabilities in answers
* ``_edge.py``, ``_requests.py``        the edge (host, origin, size, token) and strict request parsing
* ``_ownership.py``, ``_calls.py``      the server is ours and all of it stops; the client calls
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
from workbench.serving.model_info import (
    checked_model,
    contract_of,
    in_process_model,
    in_process_predict,
)
from workbench.serving.options import (
    DEFAULT_MAX_REQUEST_MB,
    EdgeSettings,
    check_hosts,
    check_max_request_mb,
    check_port,
    check_workers,
)
from workbench.serving.probabilities import (
    PREDICTION,
    ProbabilitySpec,
    labels_and_probabilities,
    probability_frame,
    spec_for,
)
from workbench.serving.server import ModelServer, serve

__all__ = [
    "DEFAULT_MAX_REQUEST_MB",
    "HOST",
    "PREDICTION",
    "ComparisonResult",
    "EdgeSettings",
    "LoadTestResult",
    "ModelServer",
    "ProbabilitySpec",
    "check_hosts",
    "check_max_request_mb",
    "check_port",
    "check_workers",
    "checked_model",
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
