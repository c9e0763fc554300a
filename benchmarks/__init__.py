"""`make bench`: every performance goal as a ratio against a baseline measured in the same run.

``python -m benchmarks [--smoke] [--only NAME ...]`` runs each ``bench_<name>.py`` module of this
package in its own process and writes ``benchmarks/results/latest.json``. A module exposes
``run(smoke: bool) -> list[dict]``, one dict per figure with the keys of :data:`ROW_KEYS`.
See ``benchmarks/runner.py``.
"""

ROW_KEYS = ("name", "value", "unit", "baseline", "ratio", "goal", "met")
