"""A bounded load test of a model server: :func:`load_test` and its :class:`LoadTestResult`.

A few threads, each with its own kept-alive connection, send a bounded number of requests (or stop
at a time limit); the result holds throughput and latency percentiles next to the in-process
prediction time of the same rows (the floor: what serving adds is the difference).
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from workbench._core.names import ARTIFACT
from workbench._core.progress import Progress, as_progress
from workbench._core.results import Result, html_table, utc_now
from workbench.errors import ServingError, UsageError
from workbench.serving.client import encode_frame
from workbench.serving.model_info import in_process_model
from workbench.serving.server import ModelServer

__all__ = ["LoadTestResult", "load_test"]

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_METRICS = ("rps", "p50_ms", "p95_ms", "p99_ms", "errors", "in_process_p50_ms")


@dataclass
class LoadTestResult(Result):
    """Throughput and latency of a bounded load test, next to the in-process floor.

    Attributes:
        url: The server tested.
        model_uri: Its model, when known.
        requests: Requests asked for; ``completed`` were answered (any status) before the bounds.
        concurrency: Parallel connections.
        rows_per_request: Rows in each request.
        seconds: Wall time of the test.
        rps: Answered requests per second.
        p50_ms, p95_ms, p99_ms, max_ms: Latency percentiles of answered requests.
        errors: Requests that failed (non-200 or connection error); ``error_samples`` shows some.
        in_process_p50_ms: Median time of ``model.predict`` on the same rows in this process: the
            floor the HTTP latency is compared against (``None`` without a model URI).
        latencies_ms: Every latency, in the order answers arrived.

    Example:
        >>> result = wb.load_test(server, df, requests=500, concurrency=4)  # doctest: +SKIP
        >>> result.p99_ms < 3 * result.p50_ms                               # doctest: +SKIP
        True
    """

    FILE_NAME: ClassVar[str] = ARTIFACT.LOAD_TEST_JSON

    url: str
    model_uri: str | None
    requests: int
    completed: int
    concurrency: int
    rows_per_request: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    in_process_p50_ms: float | None = None
    stopped_early: bool = False
    error_samples: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    created: str = field(default_factory=utc_now)

    @property
    def overhead_ratio(self) -> float | None:
        """p50 over the HTTP server divided by the in-process p50 (how much serving adds)."""
        if not self.in_process_p50_ms:
            return None
        return round(self.p50_ms / self.in_process_p50_ms, 2)

    def to_dict(self, with_latencies: bool = False) -> dict[str, Any]:
        """Plain, JSON-ready fields (latencies only when asked: they can be long)."""
        out = asdict(self)
        if not with_latencies:
            out.pop("latencies_ms")
        out["overhead_ratio"] = self.overhead_ratio
        return out

    def _saved_dict(self) -> dict[str, Any]:
        return self.to_dict(with_latencies=True)

    def log(self, run_id: str | None = None) -> None:
        """Log the numbers as ``load_*`` metrics of ``run_id`` (default: the active run), and the
        result (latencies included) as ``load_test.json``."""
        import mlflow

        metrics = {
            f"load_{k}": float(v)
            for k, v in self.to_dict().items()
            if k in _METRICS and v is not None
        }
        if run_id:
            client = mlflow.MlflowClient()
            for key, value in metrics.items():
                client.log_metric(run_id, key, value)
        else:
            mlflow.log_metrics(metrics)
        super().log(run_id)

    log_to_mlflow = log  # the name before the result protocol

    def plot(self):
        """A matplotlib histogram of the latencies, with p50/p99 and the in-process floor."""
        import matplotlib

        if "ipykernel" not in sys.modules:
            matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 3.2))
        ax = fig.subplots()
        values = np.asarray(self.latencies_ms) if self.latencies_ms else np.asarray([0.0])
        top = np.percentile(values, 99.9) if len(values) > 10 else values.max()
        ax.hist(np.clip(values, 0, top), bins=50, color="#4c72b0")
        for x, label, style in (
            (self.p50_ms, f"p50 {self.p50_ms:.1f} ms", "-"),
            (self.p99_ms, f"p99 {self.p99_ms:.1f} ms", "--"),
        ):
            ax.axvline(x, color="#c44e52", linestyle=style, label=label)
        if self.in_process_p50_ms:
            ax.axvline(
                self.in_process_p50_ms,
                color="#55a868",
                linestyle=":",
                label=f"in-process {self.in_process_p50_ms:.1f} ms",
            )
        ax.set_xlabel("latency per request (ms)")
        ax.set_ylabel("requests")
        ax.set_title(
            f"{self.completed} requests, {self.concurrency} connections, {self.rps:.0f} req/s"
        )
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig

    def plot_png(self) -> bytes:
        """The :meth:`plot` as PNG bytes (for panels and reports)."""
        import io

        buf = io.BytesIO()
        self.plot().savefig(buf, format="png", dpi=90)
        return buf.getvalue()

    def _repr_html_(self) -> str:
        import base64
        import html

        floor = f"{self.in_process_p50_ms:.2f} ms" if self.in_process_p50_ms else "-"
        rows = [
            ("server", self.url),
            ("requests answered", f"{self.completed} of {self.requests}"),
            ("connections", self.concurrency),
            ("throughput", f"{self.rps:.1f} req/s"),
            (
                "latency p50 / p95 / p99",
                f"{self.p50_ms:.2f} / {self.p95_ms:.2f} / {self.p99_ms:.2f} ms",
            ),
            ("in-process predict (floor)", floor),
            ("errors", self.errors),
        ]
        if self.stopped_early:
            rows.append(("note", "stopped at the time limit before all requests were sent"))
        img = base64.b64encode(self.plot_png()).decode()
        samples = "".join(f"<li>{html.escape(s)}</li>" for s in self.error_samples[:3])
        return (
            html_table(rows, title="Load test")
            + (f"<ul>{samples}</ul>" if samples else "")
            + f"<img src='data:image/png;base64,{img}'/>"
        )


def load_test(
    server: ModelServer,
    data: pd.DataFrame,
    requests: int = 1000,
    concurrency: int = 4,
    max_seconds: float = 60.0,
    rows_per_request: int = 1,
    progress: Progress | bool | None = None,
    floor_samples: int = 200,
    allow_extra: bool = True,
) -> LoadTestResult:
    """Send a bounded number of prediction requests and measure throughput and latency.

    Requests cycle through ``data`` ``rows_per_request`` rows at a time; each of ``concurrency``
    threads keeps its own connection. The test ends after ``requests`` requests or ``max_seconds``,
    whichever comes first. Only loopback servers are load-tested.

    Args:
        server: A running :class:`ModelServer` on 127.0.0.1 / localhost.
        data: Rows to send (validated against the signature once, up front).
        requests: Requests to send (1 to 100,000).
        concurrency: Parallel connections (1 to 64).
        max_seconds: Time limit for the whole test.
        rows_per_request: Rows in each request.
        progress: ``True`` for a tqdm bar, or a ``progress(step, fraction)`` callback (panels).
        floor_samples: In-process predictions timed for the floor.
        allow_extra: Drop columns the model does not take (a production batch with ids or
            dates) instead of refusing them.

    Returns:
        A :class:`LoadTestResult`.

    Raises:
        ServingError: the server is not on this machine, or not running.
        DataError: the rows do not fit the model's signature.
    """
    _check_bounds(server, requests, concurrency, max_seconds)
    frame = server.validate(data, allow_extra)
    bodies = _bodies(frame, rows_per_request)
    allow = bool(getattr(server, "allow_pickle", False))
    floor = _floor(server.model_uri, frame, rows_per_request, floor_samples, allow)
    report = as_progress(progress, desc="load test")
    latencies, errors, seconds, stopped = _hammer(
        server,
        bodies,
        requests,
        concurrency,
        max_seconds,
        lambda done: report(f"{done} / {requests} requests", done / requests),
    )
    report("load test done", 1.0)
    return LoadTestResult(
        url=server.url or "",
        model_uri=server.model_uri,
        requests=requests,
        concurrency=concurrency,
        rows_per_request=rows_per_request,
        in_process_p50_ms=floor,
        stopped_early=stopped,
        **_summary(latencies, errors, seconds),
    )


def _check_bounds(server: ModelServer, requests: int, concurrency: int, max_seconds: float):
    host = urlsplit(server.url or "").hostname
    if host not in _LOOPBACK:
        raise ServingError(
            f"load tests run against loopback servers only, not {server.url}: "
            "start the server here with wb.serve(...) or test the remote one with its own tools."
        )
    if not 1 <= requests <= 100_000 or not 1 <= concurrency <= 64 or max_seconds <= 0:
        raise UsageError("requests must be 1-100000, concurrency 1-64, max_seconds above 0")


def _summary(
    latencies: list[tuple[float, int]], errors: list[str], seconds: float
) -> dict[str, Any]:
    """Throughput, latency percentiles (of answered requests) and errors of one test."""
    ok = np.asarray([lat for lat, status in latencies if status == 200], dtype=float)
    pct = (lambda q: float(np.percentile(ok, q))) if len(ok) else (lambda q: float("nan"))
    return {
        "completed": len(latencies),
        "seconds": round(seconds, 3),
        "rps": round(len(latencies) / seconds, 1) if seconds > 0 else 0.0,
        "p50_ms": round(pct(50), 3),
        "p95_ms": round(pct(95), 3),
        "p99_ms": round(pct(99), 3),
        "max_ms": round(float(ok.max()), 3) if len(ok) else float("nan"),
        "errors": len(errors) + sum(1 for _, status in latencies if status != 200),
        "error_samples": errors[:5],
        "latencies_ms": [round(lat, 3) for lat, _ in latencies],
    }


def _bodies(frame: pd.DataFrame, rows: int) -> list[bytes]:
    rows = max(1, int(rows))
    count = min(len(frame), 500 * rows)
    return [
        encode_frame(frame.iloc[i : i + rows]) for i in range(0, max(1, count - rows + 1), rows)
    ]


def _floor(
    model_uri: str | None, frame: pd.DataFrame, rows: int, samples: int, allow_pickle: bool
) -> float | None:
    if not model_uri or samples <= 0:
        return None
    try:  # loaded as the server loaded it: checked first, pickle only when it was allowed
        model = in_process_model(model_uri, allow_pickle)
    except Exception:
        return None
    timings = []
    n = max(1, min(len(frame), samples * rows))
    chunks = [frame.iloc[i : i + rows] for i in range(0, n, rows)][:samples]
    model.predict(chunks[0])  # warm up
    for chunk in chunks:
        started = time.perf_counter()
        model.predict(chunk)
        timings.append((time.perf_counter() - started) * 1000)
    return round(float(np.median(timings)), 3)


def _hammer(server, bodies, total, concurrency, max_seconds, report):
    """Send ``total`` requests from ``concurrency`` threads; returns latencies, errors, seconds."""
    import gc

    lock = threading.Lock()
    next_index = [0]
    latencies: list[tuple[float, int]] = []
    errors: list[str] = []
    deadline = time.monotonic() + max_seconds
    stopped = [False]

    def take() -> int | None:
        with lock:
            if next_index[0] >= total:
                return None
            if time.monotonic() > deadline:
                stopped[0] = True
                return None
            next_index[0] += 1
            return next_index[0] - 1

    def worker() -> None:
        while (i := take()) is not None:
            body = bodies[i % len(bodies)]
            started = time.perf_counter()
            try:
                status, _ = server.post(body)
            except ServingError as err:
                with lock:
                    errors.append(str(err))
                continue
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append((elapsed, status))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()  # the client's own collector pauses are not the server's latency
    started = time.perf_counter()
    try:
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            report(len(latencies) + len(errors))
            for t in threads:
                t.join(timeout=0.1)
    finally:
        if gc_was_enabled:
            gc.enable()
    seconds = time.perf_counter() - started
    for t in threads:  # the threads' kept-alive connections are closed with the server's
        t.join()
    return latencies, errors, seconds, stopped[0]
