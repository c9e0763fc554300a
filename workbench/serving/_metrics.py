"""The model server's ``/metrics``: what it answered, in Prometheus' text format.

An observer of the edge (:mod:`~workbench.serving._edge`): :class:`EdgeMetrics` counts every
``/invocations`` answer it is shown and answers ``GET /metrics`` with prometheus-client's text
exposition (format 0.0.4). Every series carries the served model's ``model`` (registered name),
``version`` and ``arm`` labels:

========================================  ==========================================================
``workbench_serving_requests_total``      answers by HTTP ``status`` (``"200"``, ``"400"``, ...)
``workbench_serving_request_seconds``     histogram of the latency, arrival to answer (1 ms to 60 s)
``workbench_serving_refusals_total``      refused requests by ``reason`` (the answer's ``error_code``)
``workbench_serving_rows_total``          rows predicted (200 answers)
``workbench_serving_predictions_total``   a classifier's predicted rows by ``class``
``workbench_serving_predicted_value``     histogram of a regressor's predicted values
========================================  ==========================================================

A classifier is an answer with ``labels`` or ``probability_of`` (the scikit-learn classifiers the
server adds probabilities for), or whose predictions are text, booleans or integers; a regressor's
predictions are floats. At most :data:`MAX_CLASSES` class values (the answer's ``labels`` first, in
their order, so every worker keeps the same ones) get a series of their own; the rest are counted
as ``other``, and so are refusal reasons beyond :data:`MAX_REASONS`. Predictions that are not one
value per row (several outputs) are not counted by class; a ``NaN`` value is not put in the
histogram.

The server runs several worker processes: the launcher hands them a fresh folder in
``PROMETHEUS_MULTIPROC_DIR`` (:data:`~workbench.serving.launch.METRICS_DIR_ENV`), prometheus-client
then keeps each worker's values in memory-mapped files there (its multiprocess mode), and the
page, whichever worker answers it, is the sum over every worker's files. Without that folder (the
app built in a test's process) the page is this instance's own values. An answer is counted just
after it is sent, so a scrape that races a client's last answer may miss it by a moment. The
metrics are created in an instance's own registry, never the global one, so two instances in one
process do not collide.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter as Tally
from typing import Any

from workbench.serving.launch import METRICS_DIR_ENV

__all__ = ["MAX_CLASSES", "MAX_REASONS", "EdgeMetrics", "OTHER"]

#: Class values with a series of their own; the rest are ``other``.
MAX_CLASSES = 50
#: Refusal reasons with a series of their own; the rest are ``other``.
MAX_REASONS = 20
#: The label value of what is beyond the caps.
OTHER = "other"
#: The latency buckets (seconds): a fast model server, up to the default request timeout.
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
#: A regressor's predicted values: 0, and 1 and 3 of every decade either side, from 0.01 to 1e6.
VALUE_BUCKETS = tuple(
    sorted(
        {0.0, -1e6, 1e6}
        | {float(f"{s * m}e{e}") for s in (-1, 1) for m in (1, 3) for e in range(-2, 6)}
    )
)
_PREFIX = "workbench_serving"
_BASE = ("model", "version", "arm")
_REASON = re.compile(r"^[A-Z0-9_]{1,40}$")
_MAX_LABEL_CHARS = 100


class EdgeMetrics:
    """An observer of the edge that counts what it is shown and answers ``GET /metrics``.

    Args:
        model: The registered model's name (every series' ``model`` label).
        version: The version served (``version``).
        arm: The server's arm (``arm``: ``main``, a challenger's name).
    """

    def __init__(self, model: str, version: str = "", arm: str = "main") -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram, values

        self.base = (str(model), str(version), str(arm))
        self.folder = os.environ.get(METRICS_DIR_ENV) or None
        if not getattr(values.ValueClass, "_multiprocess", False):
            self.folder = None  # prometheus-client was imported before the folder was set
        self.registry = CollectorRegistry()
        self.routes = {"/metrics": self.page}
        self._classes: list[str] = []
        self._class_set: set[str] = set()
        self._labels_seen: tuple[Any, ...] | None = None
        self._reasons: set[str] = set()

        def counter(name: str, doc: str, extra: tuple[str, ...] = ()) -> Any:
            return Counter(f"{_PREFIX}_{name}", doc, (*_BASE, *extra), registry=self.registry)

        self.requests = counter("requests", "Answers to /invocations, by HTTP status.", ("status",))
        self.refusals = counter(
            "refusals", "Refused /invocations requests, by error_code.", ("reason",)
        )
        self.rows = counter("rows", "Rows predicted (answers with status 200).").labels(*self.base)
        self.predictions = counter(
            "predictions", "A classifier's predicted rows, by predicted class.", ("class",)
        )
        self.latency = Histogram(
            f"{_PREFIX}_request_seconds", "Latency of /invocations, arrival to answer.", _BASE,
            registry=self.registry, buckets=LATENCY_BUCKETS,
        ).labels(*self.base)  # fmt: skip
        self._values = Histogram(
            f"{_PREFIX}_predicted_value", "A regressor's predicted values.", _BASE,
            registry=self.registry, buckets=VALUE_BUCKETS,
        )  # fmt: skip
        self.values: Any = None  # its series, from the first regressor's answer on

    # ------------------------------------------------------------------ the edge's side

    def observe(self, served: Any) -> None:
        """Count one ``/invocations`` answer (called in the server's event loop: no blocking;
        in the server the values are memory-mapped files, written without a system call)."""
        self.requests.labels(*self.base, str(int(served.status))).inc()
        self.latency.observe(max(0.0, float(served.seconds)))
        if served.status != 200:
            self.refusals.labels(*self.base, self._reason(served.reason)).inc()
            return
        if not served.answer:
            return
        answer = json.loads(served.answer)
        predictions = answer.get("predictions") if isinstance(answer, dict) else None
        if not isinstance(predictions, list):
            return
        self.rows.inc(len(predictions))
        if not all(_is_scalar(p) for p in predictions):
            return  # several outputs per row: not counted by class or value
        if _is_classifier(answer, predictions):
            self._count_classes(answer, predictions)
        else:
            self._observe_values(predictions)

    def page(self) -> tuple[int, bytes, bytes]:
        """``GET /metrics``: every worker's values summed (this instance's without a folder)."""
        from prometheus_client import CollectorRegistry, generate_latest, multiprocess
        from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

        registry = self.registry
        if self.folder is not None:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=self.folder)
        return 200, generate_latest(registry), CONTENT_TYPE_PLAIN_0_0_4.encode()

    # ------------------------------------------------------------------ counting

    def _reason(self, reason: str | None) -> str:
        code = str(reason) if reason else "UNKNOWN"
        if not _REASON.match(code):
            return OTHER
        if code not in self._reasons:
            if len(self._reasons) >= MAX_REASONS:
                return OTHER
            self._reasons.add(code)
        return code

    def _count_classes(self, answer: dict[str, Any], predictions: list[Any]) -> None:
        labels = answer.get("labels")
        if isinstance(labels, list) and tuple(map(repr, labels)) != self._labels_seen:
            self._labels_seen = tuple(map(repr, labels))
            for label in labels:  # the model's classes first, in their order
                if _is_scalar(label):
                    self._admit(_label_text(label))
        for value, n in Tally(_label_text(p) for p in predictions).items():
            name = value if self._admit(value) else OTHER
            self.predictions.labels(*self.base, name).inc(n)

    def _admit(self, value: str) -> bool:
        if value in self._class_set:
            return True
        if len(self._classes) >= MAX_CLASSES:
            return False
        self._classes.append(value)
        self._class_set.add(value)
        return True

    def _observe_values(self, predictions: list[Any]) -> None:
        import numpy as np

        found = np.asarray([p for p in predictions if p is not None], dtype=float)
        found = found[~np.isnan(found)]
        if not found.size:
            return
        if self.values is None:  # not before: a classifier's page has no empty histogram
            self.values = self._values.labels(*self.base)
        child = self.values
        buckets, total = getattr(child, "_buckets", None), getattr(child, "_sum", None)
        bounds = getattr(child, "_upper_bounds", None)
        if buckets is None or total is None or bounds is None or len(buckets) != len(bounds):
            for value in found.tolist():  # prometheus-client's own way, one value at a time
                child.observe(value)
            return
        # one increment per bucket, not per row: prometheus-client's observe() is ~10 µs a value
        # in multiprocess mode (a locked file write), too slow in the event loop for large requests
        where = np.searchsorted(np.asarray(bounds, dtype=float), found, side="left")
        total.inc(float(found.sum()))
        for index, n in zip(*np.unique(where, return_counts=True), strict=True):
            buckets[int(index)].inc(int(n))


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | bool | int | float)


def _is_classifier(answer: dict[str, Any], predictions: list[Any]) -> bool:
    if "labels" in answer or "probability_of" in answer:
        return True
    return not any(isinstance(p, float) for p in predictions)


def _label_text(value: Any) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    text = "null" if value is None else str(value)
    return text[:_MAX_LABEL_CHARS]
