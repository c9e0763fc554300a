"""MLflow's scoring app with class probabilities in its answers (runs inside the server process).

:func:`scoring_app` builds MLflow's own app (``mlflow.pyfunc.scoring_server.init``) for the loaded
model. For a scikit-learn classifier with ``predict_proba`` it gives MLflow a model whose ``predict``
computes the probabilities once, returns the labels (``classes_[argmax]``, see
:mod:`~workbench.serving.probabilities`) and keeps the probabilities for the thread that asked; its
``/invocations`` route runs MLflow's own request handling (JSON and CSV parsing, schema
enforcement, error answers) and adds ``probabilities``, ``labels`` and ``positive_label`` to a
successful answer. Anything else (a regressor, a model without ``predict_proba``) gets MLflow's app
unchanged.

The labels and positive label come from the version's contract, handed over by the launcher in the
:data:`~workbench.serving.launch.CONTRACT_ENV` environment variable (``{"labels": [...], "positive_label": ...}``).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from typing import Any

from workbench.serving.launch import CONTRACT_ENV
from workbench.serving.probabilities import ProbabilitySpec, labels_and_probabilities, spec_for

__all__ = ["contract_from_env", "scoring_app"]


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


def scoring_app(model: Any, contract: dict[str, Any] | None = None):
    """MLflow's scoring app for ``model`` (a loaded pyfunc model), with probabilities for
    scikit-learn classifiers.

    Args:
        model: The model as ``mlflow.pyfunc.load_model`` returns it.
        contract: ``{"labels", "positive_label"}`` (default: read from :data:`CONTRACT_ENV`).
    """
    from mlflow.pyfunc import PyFuncModel, scoring_server

    try:
        raw = model.get_raw_model()
    except Exception:  # not a flavor with a raw model: MLflow's app as it is
        raw = None
    spec = spec_for(raw, contract if contract is not None else contract_from_env())
    if spec is None:
        return scoring_server.init(model)
    impl = _ProbabilityModel(raw, spec)
    wrapped = PyFuncModel(model.metadata, impl, model_id=getattr(model, "model_id", None))
    app = scoring_server.init(wrapped)
    input_schema = wrapped.metadata.get_input_schema()
    handler = _invocations(wrapped, impl, input_schema)
    app.router.routes[:] = [
        r for r in app.router.routes if getattr(r, "path", "") != "/invocations"
    ]
    app.add_route("/invocations", handler, methods=["POST"])
    return app


def _invocations(model: Any, impl: _ProbabilityModel, input_schema: Any):
    """The ``/invocations`` endpoint: MLflow's handling, then the probabilities of this request."""
    from fastapi.responses import Response
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc import scoring_server

    def answer(body: bytes, content_type: str | None):
        impl.take()
        result = scoring_server.invocations(body, content_type, model, input_schema)
        proba = impl.take()
        content = result.response
        if result.status == 200 and proba is not None and content.rstrip().endswith("}"):
            extra = json.dumps(impl.spec.response_fields(proba))
            content = content.rstrip()[:-1] + ", " + extra[1:]
        return Response(content=content, status_code=result.status, media_type=result.mimetype)

    async def invocations(request):
        body = await request.body()
        try:
            return await asyncio.to_thread(answer, body, request.headers.get("content-type"))
        except MlflowException as err:  # the answer MLflow's own route gives
            return Response(
                content=err.serialize_as_json(),
                status_code=err.get_http_status_code(),
                media_type="application/json",
            )

    return invocations
