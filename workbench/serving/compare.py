"""Champion against challenger: serve two versions side by side and replay the same rows to both.

:func:`compare_servers` returns a :class:`ComparisonResult`: how often the two disagree, and each
one's latency and share of predicted values.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from workbench._core.names import ARTIFACT
from workbench._core.progress import Progress, as_progress
from workbench._core.results import Result, plain
from workbench.errors import ServingError, UsageError
from workbench.serving.server import ModelServer

__all__ = ["ComparisonResult", "compare_servers"]


@dataclass
class ComparisonResult(Result):
    """Two versions of a model answering the same rows, side by side.

    Attributes:
        model_name: The registered model.
        labels: The two versions compared, as given (aliases or numbers).
        versions: The registry versions they resolved to.
        rows: Rows replayed to both.
        disagreement: Share of rows where the predictions differ (0.0 to 1.0).
        disagreeing_rows: Index of up to 20 rows that differ.
        latency: Per label: p50 and p99 latency (ms) of single-row requests.
        prediction_share: Per label: share of each predicted value (class balance).

    Example:
        >>> result = ComparisonResult(
        ...     "credit-risk", ("champion", "2"), ("1", "2"), rows=4, disagreement=0.25,
        ...     disagreeing_rows=[3],
        ...     latency={"champion": {"p50_ms": 2.0, "p99_ms": 4.0},
        ...              "2": {"p50_ms": 2.5, "p99_ms": 5.0}},
        ...     prediction_share={"champion": {"0": 0.5, "1": 0.5}, "2": {"0": 0.75, "1": 0.25}},
        ... )
        >>> list(result.table().columns)
        ['@champion', 'v2']
    """

    FILE_NAME: ClassVar[str] = ARTIFACT.COMPARISON_JSON

    model_name: str
    labels: tuple[str, str]
    versions: tuple[str | None, str | None]
    rows: int
    disagreement: float
    disagreeing_rows: list[Any]
    latency: dict[str, dict[str, float]]
    prediction_share: dict[str, dict[str, float]]

    def table(self) -> pd.DataFrame:
        """The side-by-side table: one column per version."""
        out = {}
        for label, version in zip(self.labels, self.versions):
            lat = self.latency[label]
            shares = ", ".join(f"{k}: {v:.0%}" for k, v in self.prediction_share[label].items())
            out[f"@{label}" if not label.isdigit() else f"v{label}"] = {
                "version": version or "-",
                "p50 latency (ms)": round(lat["p50_ms"], 2),
                "p99 latency (ms)": round(lat["p99_ms"], 2),
                "predictions": shares,
            }
        return pd.DataFrame(out)

    def _repr_html_(self) -> str:
        head = (
            f"<h4 style='margin:4px 0'>{html.escape(self.model_name)}: "
            f"{html.escape(self.labels[0])} vs {html.escape(self.labels[1])}</h4>"
            f"<p class='wb-disagreement'>The two disagree on <b>{self.disagreement:.1%}</b> of "
            f"{self.rows} rows.</p>"
        )
        return head + self.table().to_html(classes="wb-compare-table")


def compare_servers(
    model_name: str,
    data: pd.DataFrame,
    aliases: tuple[str, str] = ("champion", "challenger"),
    rows: int = 200,
    workers: int = 1,
    progress: Progress | None = None,
    allow_pickle: bool = False,
) -> ComparisonResult:
    """Serve two versions of ``model_name``, replay the same rows to both, and compare.

    Both servers start side by side and are always stopped. Each row goes as a single-row request
    to one server, then the other, so both see the same load.

    Args:
        model_name: Registered model name.
        data: Rows to replay (only the model's input columns are sent; others are dropped).
        aliases: Two aliases or version numbers (``("champion", "challenger")``, ``("1", "2")``).
        rows: Rows replayed (the first ``rows`` of ``data``).
        workers: Workers per server.
        progress: ``progress(step, fraction)`` callback.
        allow_pickle: Serve versions whose format runs code when loaded (see :func:`serve`).

    Returns:
        A :class:`ComparisonResult` with the disagreement rate and each one's latency.

    Raises:
        ModelNotFoundError: an alias or version does not exist.
        UnsafeModelError: a version's format runs code when loaded and ``allow_pickle`` is False.
        ServingError: a server failed to start.
    """
    from workbench.registry import get_version

    report = as_progress(progress)
    labels = tuple(str(a).lstrip("@") for a in aliases)
    if len(labels) != 2:
        raise UsageError("compare exactly two aliases or versions, e.g. ('champion', 'challenger')")
    found = [get_version(model_name, label) for label in labels]  # ModelNotFoundError names it
    servers = [ModelServer(v.model_uri, workers=workers, allow_pickle=allow_pickle) for v in found]
    sample = data.head(rows)
    try:
        report("starting both servers", 0.05)
        _start_all(servers)
        preds, latency = _replay(servers, sample, report)
    finally:
        for server in servers:
            server.stop()
    differ = [idx for idx, a, b in zip(sample.index, preds[0], preds[1]) if a != b]
    report("done", 1.0)
    return ComparisonResult(
        model_name=model_name,
        labels=labels,  # type: ignore[arg-type]
        versions=(str(found[0].version), str(found[1].version)),
        rows=len(sample),
        disagreement=round(len(differ) / max(1, len(sample)), 4),
        disagreeing_rows=[plain(i) for i in differ[:20]],
        latency={
            label: {
                "p50_ms": float(np.percentile(lat, 50)),
                "p99_ms": float(np.percentile(lat, 99)),
            }
            for label, lat in zip(labels, latency)
        },
        prediction_share={label: _shares(p) for label, p in zip(labels, preds)},
    )


def _start_all(servers: Iterable[ModelServer]) -> None:
    """Launch every server, then wait for each: they load their models in parallel."""
    servers = list(servers)
    for server in servers:
        server.launch()
    for server in servers:
        server.wait_until_ready()
    ports = [s.port for s in servers]
    if len(set(ports)) != len(ports):  # two servers answering on one port would compare one model
        raise ServingError(f"servers were given the same port ({ports}): start them again.")


def _replay(
    servers: list[ModelServer], sample: pd.DataFrame, report: Progress
) -> tuple[list[list[Any]], list[list[float]]]:
    """Each row to each server in turn: their predictions and latencies (ms), per server."""
    frames = [s.validate(_known_columns(sample, s.signature)) for s in servers]
    preds: list[list[Any]] = [[] for _ in servers]
    latency: list[list[float]] = [[] for _ in servers]
    for i in range(len(sample)):
        for k, server in enumerate(servers):
            started = time.perf_counter()
            out = server.predict(frames[k].iloc[i : i + 1], validate=False)
            latency[k].append((time.perf_counter() - started) * 1000)
            preds[k].append(out[0].tolist() if hasattr(out[0], "tolist") else out[0])
        if i % 20 == 0:
            report(f"replayed {i + 1} of {len(sample)} rows", 0.2 + 0.75 * i / len(sample))
    return preds, latency


def _known_columns(frame: pd.DataFrame, signature) -> pd.DataFrame:
    if signature is None or signature.inputs is None or not signature.inputs.has_input_names():
        return frame
    names = signature.inputs.input_names()
    return frame[[c for c in frame.columns if c in names]]


def _shares(values: list[Any]) -> dict[str, float]:
    if not values:
        return {}
    series = pd.Series([str(v) for v in values])
    if series.nunique() > 10:  # a regressor: summarise instead
        nums = pd.to_numeric(series, errors="coerce")
        return {"mean": float(nums.mean()), "std": float(nums.std())}
    return {k: float(v) for k, v in series.value_counts(normalize=True).sort_index().items()}
