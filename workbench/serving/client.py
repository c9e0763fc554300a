"""Talking to a model server: kept-alive HTTP connections, the request codec, and error messages.

* :class:`HttpClient` keeps one connection per thread to one server and retries a request once
  when the server closed a kept-alive connection.
* :func:`validate_frame` refuses, before anything is sent, what MLflow's server would silently
  accept (unknown columns, 30.9 truncated into an integer column) or turn into a stack trace.
* :func:`encode_frame` writes ``dataframe_split`` JSON; :func:`decode_predictions` reads the answer
  (:func:`decode_probabilities` the labels and class probabilities beside it) and turns an error
  answer into a :class:`~workbench.errors.ServerRequestError` that keeps the server's message and
  status but not its stack trace.
* :func:`frame_from_form` types the text fields of the panel's request form.

Example:
    >>> import pandas as pd
    >>> encode_frame(pd.DataFrame({"income": [1.5, None]}))
    b'{"dataframe_split": {"columns": ["income"], "data": [[1.5], [null]]}}'
    >>> decode_predictions(200, b'{"predictions": [0, 1]}')
    array([0, 1])
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import shlex
import threading
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from workbench.errors import DataError, SchemaMismatchError, ServerRequestError, ServingError

__all__ = [
    "HttpClient",
    "curl_command",
    "decode_predictions",
    "decode_probabilities",
    "encode_frame",
    "frame_from_form",
    "validate_frame",
]


class HttpClient:
    """Kept-alive HTTP connections to one server, one per thread.

    Args:
        url: Base address such as ``http://127.0.0.1:5001``.

    Example:
        >>> HttpClient("http://127.0.0.1:9").pings()
        False
    """

    def __init__(self, url: str):
        self.url = url
        parts = urlsplit(url)
        self.host = parts.hostname
        self.port = parts.port or 80
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []

    def request(
        self,
        method: str,
        path: str,
        timeout: float,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """Send one request on this thread's kept-alive connection; ``(status, body)``.

        A connection the server closed meanwhile is replaced and the request sent once more.

        Raises:
            ServingError: the server cannot be reached or keeps closing the connection.
        """
        for attempt in (1, 2):
            conn = self._connection(timeout)
            try:
                conn.request(method, path, body=body, headers=headers or {})
                resp = conn.getresponse()
                return resp.status, resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as err:
                conn.close()
                if attempt == 2:
                    raise ServingError(
                        f"the model server at {self.url} closed the connection ({err}): "
                        "is it still running? See server.logs()."
                    ) from err
            except (OSError, http.client.HTTPException) as err:
                conn.close()
                raise ServingError(
                    f"cannot reach the model server at {self.url}{path}: {err}. "
                    "Is it running? See server.health() and server.logs()."
                ) from err
        raise AssertionError("unreachable")  # pragma: no cover

    def request_once(self, method: str, path: str, timeout: float) -> tuple[int, bytes]:
        """Send one request on a new connection, closed afterwards (a probe); ``(status, body)``.

        Raises:
            ServingError: the server cannot be reached.
        """
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        except (OSError, http.client.HTTPException) as err:
            raise ServingError(f"{self.url}{path} is not reachable: {err}") from err
        finally:
            conn.close()

    def pings(self) -> bool:
        """True when ``GET /ping`` answers 200 within 2 seconds."""
        try:
            status, _ = self.request_once("GET", "/ping", timeout=2.0)
        except ServingError:
            return False
        return status == 200

    def close(self) -> None:
        """Close every connection, of every thread; later requests open new ones."""
        for conn in self._connections:
            with contextlib.suppress(Exception):
                conn.close()
        self._connections = []
        self._local = threading.local()

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            self._local.conn = conn
            self._connections.append(conn)
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn


# --------------------------------------------------------------------------- requests


def validate_frame(data: pd.DataFrame, signature: Any, allow_extra: bool = False) -> pd.DataFrame:
    """``data`` checked against the model's ``signature`` (when known) and cast to its types.

    Refuses what MLflow's server would silently accept or turn into a stack trace: unknown
    columns, text or fractions in integer columns, infinite values, a missing value where the
    signature requires one, no rows. The server's edge refuses the same (``_requests``).

    Args:
        data: The rows to send.
        signature: The model's signature, or None when it is unknown.
        allow_extra: Drop columns the model does not take instead of refusing them.

    Raises:
        DataError: the message names the column and the value.
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"send a pandas DataFrame, got {type(data).__name__}.")
    if len(data) == 0:
        raise DataError("the request has no rows: send at least one row.")
    frame = data
    if signature is not None and signature.inputs is not None:
        from workbench.data import conform_to_signature

        frame = conform_to_signature(data, signature, allow_extra=allow_extra, what="the request")
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_float_dtype(col.dtype) and np.isinf(col.to_numpy()).any():
            raise SchemaMismatchError(
                f"column {name!r} in the request holds an infinite value, which JSON cannot "
                "carry: send a finite number or leave it empty (missing)."
            )
    for spec in _required(signature):
        if spec.name in frame.columns and frame[spec.name].isna().any():
            row = int(np.argmax(frame[spec.name].isna().to_numpy()))
            raise SchemaMismatchError(
                f"column {spec.name!r} in the request has a missing value (row {row}), but the "
                "model's signature requires it (it had no missing values in training): fill it."
            )
    return frame


def _required(signature: Any) -> list:
    """The input columns a signature says may not be missing (none when it has no names)."""
    inputs = getattr(signature, "inputs", None)
    if inputs is None or not inputs.has_input_names():
        return []
    return [spec for spec in inputs.inputs if getattr(spec, "required", True)]


def encode_frame(frame: pd.DataFrame) -> bytes:
    """``dataframe_split`` JSON for ``frame``: missing values as ``null``, dates as ISO text,
    floats with full precision."""
    columns = [str(c) for c in frame.columns]
    data = []
    for row in frame.itertuples(index=False, name=None):
        data.append([_json_value(v) for v in row])
    return json.dumps(
        {"dataframe_split": {"columns": columns, "data": data}}, allow_nan=False
    ).encode()


def curl_command(url: str, frame: pd.DataFrame) -> str:
    """A ``curl`` command line that posts ``frame`` to ``url``'s ``/invocations``."""
    return (
        f"curl -s -X POST {url}/invocations -H 'Content-Type: application/json' "
        f"-d {shlex.quote(encode_frame(frame).decode())}"
    )


def frame_from_form(values: dict[str, str], schema) -> pd.DataFrame:
    """One row from text fields (the panel's request form), typed by the model's input schema.

    Empty fields become missing values.

    Raises:
        SchemaMismatchError: a numeric field holds text; the message names the column.
    """
    schema = getattr(schema, "inputs", schema)
    row: dict[str, Any] = {}
    for spec in schema.inputs:
        raw = (values.get(spec.name) or "").strip()
        kind = str(spec.type).split(".")[-1].lower()
        if kind in ("double", "float", "long", "integer"):
            try:
                row[spec.name] = float(raw) if raw else np.nan
            except ValueError as err:
                raise SchemaMismatchError(
                    f"field {spec.name!r} holds {raw!r}, but the model expects a number: "
                    "type digits (or leave it empty for a missing value)."
                ) from err
        elif kind == "boolean":
            row[spec.name] = raw.lower() in ("1", "true", "yes")
        else:
            row[spec.name] = raw if raw else None
    return pd.DataFrame([row])


# --------------------------------------------------------------------------- answers


def decode_predictions(status: int, body: bytes) -> np.ndarray:
    """The predictions in a server's answer.

    Raises:
        ServerRequestError: the server answered with an error (its message and status, no trace).
        ServingError: the server answered 200 without predictions.
    """
    preds = _answer(status, body)["predictions"]
    if preds and isinstance(preds[0], dict):
        return pd.DataFrame(preds).to_numpy()
    return np.asarray(preds)


def decode_probabilities(status: int, body: bytes, index: pd.Index | None = None) -> pd.DataFrame:
    """The predictions and class probabilities in a server's answer, as a table.

    Columns: ``prediction`` and ``proba_<label>`` (the positive label's only, for a binary model
    with one; every label's otherwise), named as the model contract names them.

    Example:
        >>> body = b'{"predictions": ["b"], "probabilities": [[0.1, 0.9]], "labels": ["a", "b"]}'
        >>> decode_probabilities(200, body).columns.tolist()
        ['prediction', 'proba_a', 'proba_b']

    Raises:
        ServerRequestError: the server answered with an error (its message and status, no trace).
        ServingError: the answer holds no probabilities (a regressor, plain MLflow serving).
    """
    from workbench.serving.probabilities import probability_frame

    payload = _answer(status, body)
    return probability_frame(payload["predictions"], payload, index=index)


def _answer(status: int, body: bytes) -> dict[str, Any]:
    payload = _json_or_none(body)
    if status != 200:
        raise ServerRequestError(_error_message(status, payload, body), status_code=status)
    if not isinstance(payload, dict) or "predictions" not in payload:
        raise ServingError(f"the server answered 200 without predictions: {body[:200]!r}")
    return payload


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    return value


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _error_message(status: int, payload: Any, body: bytes) -> str:
    if isinstance(payload, dict):
        code = payload.get("error_code") or payload.get("error_class") or ""
        message = str(payload.get("message") or payload.get("detail") or "").strip()
    else:
        code, message = "", body.decode(errors="replace").strip()
    message = message.split("\nInput:")[0].split("Traceback (most recent call last)")[0]
    message = message.strip().rstrip(".")
    trace = payload.get("stack_trace") if isinstance(payload, dict) else None
    if trace:  # the exception's last line says what was wrong; the frames above stay private
        cause = str(trace).strip().splitlines()[-1].strip()
        message = f"{message} (cause: {cause[:300]})"
    if len(message) > 600:
        message = message[:600] + "..."
    hint = {
        400: "fix the request (columns and types of the model's signature)",
        415: "send Content-Type: application/json",
        504: "the prediction took longer than the server's request timeout",
    }.get(status, "see server.logs() for details")
    return f"the server refused the request ({status} {code}): {message or 'no message'}. {hint}."
