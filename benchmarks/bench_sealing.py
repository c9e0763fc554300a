"""What sealed promotion costs: the digest and the signatures at log, check, promote, serve, score.

In a temporary workspace, for a 100-tree random forest (9 MB of model files, the largest the demo
makes), each call is timed with sealing and without it, in alternating rounds of the same process
(medians). "Without" replaces, for that round only, the sealing parts by what they return (a
benchmark-only stand-in; nothing in the package can turn them off):

* log: the folder's digest (SHA-256 over every file);
* check: the digest of the checked files, the seal (``checks.json``'s SHA-256 and the checker's
  signature) and the gate's verdict on the recorded run (``check``'s last line);
* promote: the version's files hashed where they lie and the check run's seal verified;
* score (a fresh load, 1,000 rows): the digest and the look-up of the promoted digest;
* serve: launch to ready is about 4 s; its sealing parts are the score's, twice (the caller
  and the launcher), timed alone.

Rows: the added time against the call without it (goal: at most 5%). Run it alone with
``python -m benchmarks.bench_sealing [--smoke]``.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

from benchmarks._common import median, row

GOAL = 0.05


@contextlib.contextmanager
def _patched(patches: list[tuple[object, str, object]]) -> Iterator[None]:
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    try:
        for obj, name, value in patches:
            setattr(obj, name, value)
        yield
    finally:
        for obj, name, value in saved:
            setattr(obj, name, value)


def _with_and_without(
    call: Callable[[], object], without: list[tuple[object, str, object]], rounds: int
) -> tuple[float, float]:
    """Medians of ``call`` with sealing and without it, in alternating rounds."""
    sealed, bare = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        sealed.append(time.perf_counter() - start)
        with _patched(without):
            start = time.perf_counter()
            call()
            bare.append(time.perf_counter() - start)
    return median(sealed), median(bare)


def run(smoke: bool = False) -> list[dict]:
    """Rows: each call's sealing cost against the call without it."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    import workbench as wb
    from workbench.checks import runner
    from workbench.data import credit_risk
    from workbench.registry import audit, digest, gate, log, resolved, seal
    from workbench.serving.model_info import _in_process_model_cached
    from workbench.training import build_model

    rounds = 1 if smoke else 5
    wb.open_workspace(tempfile.mkdtemp(prefix="wb-bench-seal-"))
    frame = credit_risk(600 if smoke else 3000, seed=1)
    numeric = ["age", "income", "loan_amount", "loan_term_months", "credit_history_years"]
    categorical = ["employment", "purpose", "region"]
    x, y = frame[numeric + categorical], frame["default"]
    model = build_model("random_forest", "classification", numeric, categorical,
                        {"n_estimators": 10 if smoke else 100})  # fmt: skip
    model.fit(x, y)
    half = len(x) * 2 // 3
    train, held = (x[:half], y[:half]), (x[half:], y[half:])
    mv = wb.log_model(model, name="seal", train=train, eval=held)
    known = resolved.version_digest("seal", mv.version)
    rows = []

    def constant(*_args, **_kwargs):
        return known

    log_s, log_bare = _with_and_without(
        lambda: wb.log_model(model, name="seal-log", train=train, eval=held),
        [(log, "folder_digest", constant)],
        rounds,
    )
    rows.append(_row("log_model", log_s, log_bare, "digest of the model folder"))

    evaluation = credit_risk(500, seed=9)
    check_s, check_bare = _with_and_without(
        lambda: wb.run_checks(mv.model_uri, data=evaluation, target="default", progress=False),
        [
            (resolved, "folder_digest", constant),
            (seal, "seal_tags", lambda *a, **k: {}),
            (runner, "_gate_verdict", lambda *a, **k: []),
        ],
        max(1, rounds // 2 + 1),
    )
    wb.run_checks(mv.model_uri, data=evaluation, target="default", progress=False)  # sealed
    rows.append(_row("run_checks", check_s, check_bare, "digest, seal, gate verdict"))

    counter = iter(range(10_000))
    promote_s, promote_bare = _with_and_without(
        lambda: wb.promote("seal", mv.version, alias=f"a{next(counter)}", reason="bench"),
        [(gate, "version_digest", constant), (gate, "seal_problems", lambda *a, **k: [])],
        rounds,
    )
    rows.append(_row("promote", promote_s, promote_bare, "digest in place, seal verified"))

    batch = credit_risk(1000, seed=11)[numeric + categorical]

    def score():
        _in_process_model_cached.cache_clear()  # a fresh process's load
        return wb.score("models:/seal@a0", batch)

    score_s, score_bare = _with_and_without(
        score,
        [
            (resolved, "folder_digest", constant),
            (resolved, "expected_digest", lambda rm: (None, "")),
        ],
        rounds,
    )
    rows.append(_row("score", score_s, score_bare, "digest, promoted-digest look-up"))

    if smoke:
        rows.append(row("sealing cost, serve", None, "", None, f"<= {GOAL:.0%}", None,
                        note="not measured in smoke mode (a server start)"))  # fmt: skip
    else:
        ready = []
        for _ in range(2):
            with wb.serve("models:/seal@a0", workers=1) as server:
                ready.append(server.launch_seconds or 0.0)
        with resolved.resolve(mv.model_uri) as rm:
            parts = [time.perf_counter()]
            digest.folder_digest(rm.local)
            audit.promoted_digest("seal", mv.version)
            parts.append(time.perf_counter())
        added = 2 * (parts[1] - parts[0])
        base = median(ready) - added
        rows.append(_row("serve", base + added, base, "2 x (digest + look-up), timed alone"))
    return rows


def _row(call: str, sealed: float, bare: float, what: str) -> dict:
    share = (sealed - bare) / bare if bare > 0 else None
    return row(
        f"sealing cost, {call}",
        sealed,
        "s",
        bare,
        f"<= {GOAL:.0%} over the call without it",
        share is not None and share <= GOAL,
        ratio=None if share is None else round(share, 4),
        note=f"{what}: {(sealed - bare) * 1000:+.1f} ms ({sealed:.3f} s vs {bare:.3f} s)",
    )


if __name__ == "__main__":
    print(json.dumps(run("--smoke" in sys.argv), indent=2))
