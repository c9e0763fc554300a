"""What a model server answers: the calls :class:`~workbench.serving.server.ModelServer` makes.

:class:`ServerCalls` holds the client side of a server (predict, predict_proba, validate, post,
health, logs, curl, the model's contract and signature); ``ModelServer`` adds the life of the
process (start, stop, connect). It needs ``url``, ``model_uri``, ``request_timeout`` and the
state ``ModelServer.__init__`` sets.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import ServingError
from workbench.serving.client import (
    HttpClient,
    curl_command,
    decode_predictions,
    decode_probabilities,
    encode_frame,
    validate_frame,
)
from workbench.serving.model_info import contract_of, input_example, model_info

__all__ = ["ServerCalls"]


class ServerCalls:
    """The calls a :class:`~workbench.serving.server.ModelServer` answers (see there)."""

    url: str | None = None
    model_uri: str | None = None
    request_timeout: int = 60
    _info: Any = None
    _process: Any = None
    _http: HttpClient | None = None
    _http_lock: threading.Lock

    def predict(
        self, data: pd.DataFrame, validate: bool = True, allow_extra: bool = False
    ) -> np.ndarray:
        """Predictions for ``data`` from the server (real HTTP, ``dataframe_split`` JSON).

        Args:
            data: The rows to score, with the model's input columns.
            validate: Check the rows against the signature before sending (recommended).
            allow_extra: Drop columns the model does not take (ids, dates, the target) instead
                of refusing them.

        Raises:
            DataError: the rows do not fit the signature (the message names the column).
            ServerRequestError: the server answered with an error (its message and status code).
            ServingError: the server cannot be reached.
        """
        frame = self.validate(data, allow_extra) if validate else data
        status, body = self.post(encode_frame(frame))
        return decode_predictions(status, body)

    def predict_proba(
        self, data: pd.DataFrame, validate: bool = True, allow_extra: bool = False
    ) -> pd.DataFrame:
        """Labels and class probabilities for ``data`` from the server, in one request.

        Returns:
            A table with the rows' index: ``prediction`` (the label, as :meth:`predict` gives it)
            and ``proba_<label>`` columns, named as the model contract names them
            (:meth:`~workbench.contract.ModelContract.probability_columns`): the positive label's
            probability for a binary model, every label's for a multiclass one.

        Raises:
            DataError: the rows do not fit the signature (the message names the column).
            ServerRequestError: the server answered with an error (its message and status code).
            ServingError: the server gives no probabilities (a regressor, a model without
                ``predict_proba``, or plain ``mlflow models serve``), or cannot be reached.
        """
        frame = self.validate(data, allow_extra) if validate else data
        status, body = self.post(encode_frame(frame))
        return decode_probabilities(status, body, index=frame.index)

    def validate(self, data: pd.DataFrame, allow_extra: bool = False) -> pd.DataFrame:
        """``data`` checked against the model's signature and cast to its types.

        Refuses what MLflow's server would silently accept or turn into a stack trace: unknown
        columns, text or fractions in integer columns, infinite values, no rows.

        Raises:
            DataError: the message names the column and the value.
        """
        return validate_frame(data, self.signature, allow_extra)

    def post(
        self, body: bytes, content_type: str = "application/json", path: str = "/invocations"
    ) -> tuple[int, bytes]:
        """Send ``body`` as is and return ``(status, response body)``; no validation, no raising
        on 4xx/5xx. Useful to see what the server does with a bad request."""
        timeout = self.request_timeout + 5.0
        return self._client().request("POST", path, timeout, body, {"Content-Type": content_type})

    def health(self) -> dict[str, Any]:
        """``{"ok", "status_code", "latency_ms", "url"}`` from ``GET /health``; never raises."""
        started = time.perf_counter()
        try:
            status, _ = self._client().request("GET", "/health", timeout=5.0)
        except ServingError as err:
            return {"ok": False, "status_code": None, "error": str(err), "url": self.url}
        latency = (time.perf_counter() - started) * 1000
        return {
            "ok": status == 200,
            "status_code": status,
            "latency_ms": round(latency, 2),
            "url": self.url,
        }

    def logs(self, tail: int | None = None) -> str:
        """The server's output (the last ``tail`` lines); empty for a server started elsewhere."""
        return self._process.logs(tail) if self._process is not None else ""

    def curl(self, data: pd.DataFrame, allow_extra: bool = False) -> str:
        """A ``curl`` command line that sends the same request as ``predict(data)``."""
        return curl_command(self.url or "", self.validate(data, allow_extra))

    @property
    def contract(self):
        """The served version's :class:`~workbench.contract.ModelContract` (``None`` when the store
        has none: a local path, a connected server without model URI)."""
        return contract_of(self.model_uri) if self.model_uri else None

    @property
    def signature(self):
        """The model's signature (``None`` when unknown, e.g. a connected server without URI)."""
        info = self._model_info()
        return getattr(info, "signature", None) if info is not None else None

    def input_example(self) -> pd.DataFrame | None:
        """The input example logged with the model, as a DataFrame (``None`` if there is none)."""
        info = self._model_info()
        if info is None:
            return None
        try:
            return input_example(info)
        except Exception:
            return None

    # ------------------------------------------------------------------ internals

    def _model_info(self):
        if self._info is None and self.model_uri:
            self._info = model_info(self.model_uri)
        return self._info

    def _client(self) -> HttpClient:
        """The HTTP client for :attr:`url` (a new one when the address changed)."""
        if self.url is None:
            raise ServingError("the server is not started: call start() or use wb.serve(...).")
        with self._http_lock:
            if self._http is None or self._http.url != self.url:
                if self._http is not None:
                    self._http.close()
                self._http = HttpClient(self.url)
            return self._http

    def _pings(self) -> bool:
        try:
            return self._client().pings()
        except ServingError:
            return False
