"""MLflow's scoring app behind the workbench's edge, with class probabilities in its answers
(runs inside the server process).

:func:`scoring_app` builds MLflow's own app (``mlflow.pyfunc.scoring_server.init``) for the loaded
model, for ``/ping``, ``/health`` and ``/version``, and puts the edge (``_edge.Edge``) in front of
it: host and origin checks, a request-size cap, strict types, errors that leak nothing, and
``/invocations`` itself. A prediction is MLflow's: the rows go through the pyfunc model's
``predict`` (its schema enforcement included) and the answer is written by MLflow's
``predictions_to_json``.

For a scikit-learn classifier with ``predict_proba`` the pyfunc model is given an implementation
whose ``predict`` computes the probabilities once, returns the labels (``classes_[argmax]``, see
:mod:`~workbench.serving.probabilities`) and keeps the probabilities for the thread that asked; the
answer then carries ``probabilities``, ``labels`` and ``positive_label`` beside ``predictions``.
Anything else (a regressor, a model without ``predict_proba``) answers ``predictions`` only.

The labels and positive label come from the version's contract, handed over by the launcher in the
:data:`~workbench.serving.launch.CONTRACT_ENV` environment variable (``{"labels": [...], "positive_label": ...}``);
the edge's settings and this start's token in :data:`~workbench.serving.options.EDGE_ENV` and
:data:`~workbench.serving.options.NONCE_ENV`.
"""

from __future__ import annotations

import io
import json
import os
import threading
from typing import Any

from workbench.serving._edge import Edge
from workbench.serving._split import router_from_config
from workbench.serving.launch import CONTRACT_ENV, OBSERVE_ENV
from workbench.serving.options import NONCE_ENV, EdgeSettings
from workbench.serving.probabilities import ProbabilitySpec, labels_and_probabilities, spec_for

__all__ = [
    "MODEL_PATH_ENV",
    "SHADOW_NICE",
    "contract_from_env",
    "observers_from_config",
    "scoring_app",
    "yield_if_shadow",
]

#: The downloaded model folder (a ``file:`` URI) the launcher hands to the app's workers
#: (``_launcher`` sets it, ``_app`` reads it; MLflow's own app reads a private variable instead).
MODEL_PATH_ENV = "WORKBENCH_SERVING_MODEL_PATH"

#: How much lower a shadow's workers run (``nice``): it gets what the champion leaves of the CPU.
SHADOW_NICE = 10


class _ProbabilityModel:
    """A pyfunc implementation: ``predict`` returns labels and keeps the probabilities per thread."""

    def __init__(self, raw: Any, spec: ProbabilitySpec):
        self.raw = raw
        self.spec = spec
        self.local = threading.local()

    def predict(self, data, params: dict[str, Any] | None = None):
        labels, proba = labels_and_probabilities(self.raw, data, self.spec)
        self.local.proba = proba
        return labels

    def take(self) -> Any:
        """The probabilities of this thread's last prediction (then forgotten)."""
        proba = getattr(self.local, "proba", None)
        self.local.proba = None
        return proba


def contract_from_env() -> dict[str, Any] | None:
    """The labels handed over by the launcher (None when absent or unreadable)."""
    text = os.environ.get(CONTRACT_ENV)
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def scoring_app(
    model: Any,
    contract: dict[str, Any] | None = None,
    *,
    settings: EdgeSettings | None = None,
    nonce: str | None = None,
    observe: dict[str, Any] | None = None,
):
    """MLflow's scoring app for ``model`` behind the workbench's edge, with probabilities for
    scikit-learn classifiers.

    Args:
        model: The model as ``mlflow.pyfunc.load_model`` returns it.
        contract: ``{"labels", "positive_label", "id_columns", "target"}`` (default: read from
            :data:`CONTRACT_ENV`): the probabilities' labels, the identifiers a request may carry
            (echoed back as ``ids``) and the label column it may carry (ignored).
        settings: Allowed hosts and size cap (default: read from the environment).
        nonce: This start's token (default: read from :data:`NONCE_ENV`).
        observe: The inference log's and the metrics' settings, and the challenger's
            (``route``, see ``_split``) (default: read from
            :data:`~workbench.serving.launch.OBSERVE_ENV`; none: neither).
    """
    from mlflow.environment_variables import MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT
    from mlflow.pyfunc import scoring_server

    try:
        raw = model.get_raw_model()
    except Exception:  # not a flavor with a raw model: predictions only
        raw = None
    contract = contract if contract is not None else contract_from_env()
    spec = spec_for(raw, contract)
    config = observe if observe is not None else _observe_from_env()
    return Edge(
        scoring_server.init(model),
        _predictor(model, raw, spec),
        model.metadata.get_input_schema(),
        settings if settings is not None else EdgeSettings.from_env(),
        nonce if nonce is not None else os.environ.get(NONCE_ENV),
        MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT.get() or 60,
        echo=[str(c) for c in (contract or {}).get("id_columns") or []],
        ignore=[str(t) for t in [(contract or {}).get("target")] if t],
        observers=observers_from_config(config),
        router=router_from_config(config),
    )


def yield_if_shadow(config: dict[str, Any] | None = None) -> bool:
    """Lower this process's CPU priority when it serves a shadow (its answers reach nobody, and
    it must never slow the champion it mirrors); True when it did."""
    config = config if config is not None else _observe_from_env()
    if config.get("arm") != "shadow":
        return False
    try:
        os.nice(SHADOW_NICE)
    except OSError:  # not allowed here: the shadow still runs, at the same priority
        return False
    return True


def _observe_from_env() -> dict[str, Any]:
    try:
        found = json.loads(os.environ.get(OBSERVE_ENV) or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def observers_from_config(config: dict[str, Any]) -> list[Any]:
    """The edge's observers: the inference log (``config["log"]``, the keyword arguments of
    :class:`~workbench.serving.inference_log.InferenceLog`) and the metrics
    (``config["metrics"]``, of :class:`~workbench.serving._metrics.EdgeMetrics`)."""
    observers: list[Any] = []
    if config.get("log"):
        from workbench.serving.inference_log import InferenceLog

        observers.append(InferenceLog(**config["log"]))
    if config.get("metrics"):
        from workbench.serving._metrics import EdgeMetrics

        observers.append(EdgeMetrics(**config["metrics"]))
    return observers


def _predictor(model: Any, raw: Any, spec: ProbabilitySpec | None):
    """``frame -> JSON bytes``: MLflow's prediction and answer, plus the probabilities."""
    from mlflow.pyfunc import PyFuncModel, scoring_server

    if spec is None:

        def predict(frame) -> bytes:
            out = io.StringIO()
            scoring_server.predictions_to_json(model.predict(frame), out)
            return out.getvalue().encode()

        return predict

    impl = _ProbabilityModel(raw, spec)
    wrapped = PyFuncModel(model.metadata, impl, model_id=getattr(model, "model_id", None))

    def predict_with_probabilities(frame) -> bytes:
        impl.take()
        labels = wrapped.predict(frame)
        proba = impl.take()
        out = io.StringIO()
        scoring_server.predictions_to_json(labels, out)
        content = out.getvalue().rstrip()
        if proba is not None and content.endswith("}"):
            extra = json.dumps(spec.response_fields(proba))
            content = content[:-1] + ", " + extra[1:]
        return content.encode()

    return predict_with_probabilities
