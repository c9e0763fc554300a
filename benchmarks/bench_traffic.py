"""Monitoring from traffic: the inference log read back as a batch and monitored.

A demo model is trained in a temporary workspace; 1,000,000 logged rows (smoke: 5,000) are written
in the inference log's own layout (``date=/hour=`` partitions, 10,000-row files, as the server's
writer leaves them), with labels come back for a tenth of them by request id. Measured:

* ``traffic_batch`` over the last 24 h (read, filter, labels joined), in seconds and rows/s;
* ``drift_report`` of that batch against 5,000 reference rows, with the model (the batch scored),
  without the Evidently report, in seconds (informational: the figure the issue asks for);
* the baseline: ``drift_report`` of the same rows given as a DataFrame (no log reading), so the
  ratio is what reading the log adds (goal: the log adds <= 0.5x of the monitoring itself).

Run alone: ``python -m benchmarks.bench_traffic [--smoke]``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks._common import row


def _write_log(folder: Path, frame, model: str, version: str) -> list[str]:
    """``frame``'s rows as the server's log would hold them; returns the request ids."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = len(frame)
    now = datetime.now(UTC).replace(tzinfo=None)
    ids = [f"r{i}" for i in range(n)]
    per_file = 10_000
    for start in range(0, n, per_file):
        part = frame.iloc[start : start + per_file].reset_index(drop=True)
        when = now - timedelta(hours=23) + timedelta(seconds=start // 50)
        table = {
            "request_id": ids[start : start + len(part)],
            "row": np.zeros(len(part), dtype="int64"),
            "time": [when] * len(part),
            "model": [model] * len(part),
            "version": [version] * len(part),
            "arm": ["main"] * len(part),
            "status": np.full(len(part), 200, dtype="int64"),
            "error": [None] * len(part),
            "latency_ms": np.full(len(part), 2.5),
            "prediction": np.zeros(len(part), dtype="int64"),
            "proba_1": np.full(len(part), 0.2),
        }
        for column in part.columns:
            table[column] = part[column].to_numpy()
        target = folder / when.strftime("date=%Y-%m-%d/hour=%H")
        target.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(table), target / f"part-bench-{uuid.uuid4().hex[:8]}.parquet")
    return ids


def run(smoke: bool = False) -> list[dict]:
    """Measure reading and monitoring the traffic; one dict per number."""
    import pandas as pd

    import workbench as wb
    from workbench.data import credit_risk

    n = 5_000 if smoke else 1_000_000
    wb.open_workspace(tempfile.mkdtemp(prefix="wb-bench-traffic-"))
    train = credit_risk(3000, seed=1)
    mv = wb.train_and_log(
        train, "default", name="bench-traffic", family="logistic_regression", plots=False
    )
    rows = credit_risk(n, seed=2)
    labels = rows["default"]
    features = rows.drop(columns=["default", "application_date"])
    folder = Path(tempfile.mkdtemp(prefix="wb-bench-traffic-log-"))
    ids = _write_log(folder, features, "bench-traffic", str(mv.version))
    back = pd.DataFrame({"request_id": ids[::10], "default": labels.iloc[::10].to_numpy()})
    wb.feedback(mv.model_uri, back, folder=folder)
    reference = train.drop(columns=["application_date"]).head(5000)

    started = time.perf_counter()
    batch = wb.traffic_batch(mv.model_uri, since="24h", folder=folder)
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    result = wb.drift_report(reference, batch, model=mv.model_uri, build_report=False)
    monitor_s = time.perf_counter() - started
    given = features.assign(default=batch["default"].to_numpy())
    started = time.perf_counter()
    wb.drift_report(reference, given, model=mv.model_uri, build_report=False)
    frame_s = time.perf_counter() - started
    assert len(batch) == n and result.valid, result.reasons
    label = "5k" if smoke else "1M"
    return [
        row(f"traffic_batch_{label}_rows_s", read_s, "s", None, "informational", True,
             note=f"{n / read_s:,.0f} rows/s; labels for {int(batch['default'].notna().sum()):,}"),
        row(f"monitor_traffic_{label}_rows_s", read_s + monitor_s, "s", frame_s,
             "reading the log <= 0.5x of the monitoring", read_s <= 0.5 * frame_s),
    ]  # fmt: skip


if __name__ == "__main__":
    started = time.perf_counter()
    out = run(smoke="--smoke" in sys.argv)
    print(json.dumps(out, indent=2))
    print(f"# {time.perf_counter() - started:.0f} s", file=sys.stderr)
