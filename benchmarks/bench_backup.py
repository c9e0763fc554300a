"""Backup and restore of a workspace (``wb.backup``, ``wb.restore``), time and size, in one process:

* a demo-sized workspace: a 100-tree forest and a logistic regression, both checked, one
  promoted, a week of monitoring runs;
* a workspace with 100 versions (one logged model registered 100 times) and 20 promotions.

The baseline is what a person would do without the workbench: ``tar czf`` of the workspace's
``mlruns/`` folder, which is neither consistent while the store is written nor verified on the
way back. The workbench's backup adds the SQLite online backup, the manifest's SHA-256 digests and
the record; its restore verifies every digest, every audit chain and every version's files.
Informational (the issue names no goal): time and size against the plain copy.

Run alone with ``python -m benchmarks.bench_backup [--smoke]`` (prints JSON rows).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks._common import median, quiet_mlflow, row, timed


def _demo_workspace(root: Path, smoke: bool) -> None:
    import workbench as wb
    from workbench.data import credit_risk, production_batch

    wb.open_workspace(root)
    frame = credit_risk(800 if smoke else 2000, seed=1)
    trees = 20 if smoke else 100
    wb.train_and_log(frame, "default", name="credit-risk", params={"n_estimators": trees})
    wb.train_and_log(frame, "default", name="credit-risk", family="logistic_regression")
    for version in (1, 2):
        wb.run_checks(
            f"models:/credit-risk/{version}",
            data=credit_risk(600, seed=2),
            target="default",
            progress=False,
        )
    wb.promote("credit-risk", 2, by="bench", reason="the better of the two", force=True)
    for day in range(1, 4 if smoke else 8):
        wb.drift_report(
            frame, production_batch(day, "gradual_shift", n=500), build_report=False,
            on_invalid="return", data_ids={"current": f"day {day}"},
        ).log()  # fmt: skip


def _many_versions(root: Path, count: int) -> None:
    import mlflow

    import workbench as wb
    from workbench.data import credit_risk

    wb.open_workspace(root)
    first = wb.train_and_log(
        credit_risk(600, seed=1), "default", name="many", family="logistic_regression"
    )
    client = mlflow.MlflowClient()
    source = mlflow.models.get_model_info(first.model_uri).model_uri
    for _ in range(count - 1):
        client.create_model_version("many", source, run_id=first.run_id)
    for i in range(20):
        wb.promote("many", 1 + (i * 7) % count, by="bench", reason=f"round {i}", force=True)


def _measure(label: str, root: Path, repeats: int) -> list[dict]:
    import workbench as wb

    out = Path(tempfile.mkdtemp(prefix="wb-bench-backups-"))
    tar = out / "plain.tar.gz"

    def ours() -> float:
        return timed(lambda: wb.backup(out / "ours.tar.gz", workspace=root))[0]

    def plain() -> float:
        cmd = ["tar", "czf", str(tar), "-C", str(root), "mlruns"]
        return timed(lambda: subprocess.run(cmd, check=True, capture_output=True))[0]

    ours(), plain()  # warm the page cache and the imports, untimed
    mine, theirs = [], []
    for i in range(repeats):
        for side in (ours, plain) if i % 2 == 0 else (plain, ours):
            (mine if side is ours else theirs).append(side())
    archive = out / "ours.tar.gz"
    restored = []
    for i in range(repeats):
        target = out / f"restored-{i}"
        seconds, result = timed(lambda t=target: wb.restore(archive, t))
        assert result.intact, result.problems
        restored.append(seconds)
    wb.open_workspace(root)
    size, plain_size = archive.stat().st_size, tar.stat().st_size
    load = os.getloadavg()[0]
    return [
        row(
            f"backup, {label}: wb.backup vs tar czf of mlruns/", median(mine), "s",
            median(theirs), "informational", None,
            note=f"median of {repeats}; load {load:.2f}",
        ),
        row(
            f"restore and verify, {label} (every digest, chain and version's files)",
            median(restored), "s", None, "informational", None,
            note=f"median of {repeats}; into a new folder",
        ),
        row(
            f"archive size, {label}: wb.backup vs tar czf of mlruns/", size / 1e6, "MB",
            plain_size / 1e6, "informational", None,
        ),
    ]  # fmt: skip


def run(smoke: bool = False) -> list[dict]:
    """Rows for the demo workspace and the one with many versions."""
    quiet_mlflow()
    repeats, versions = (1, 10) if smoke else (3, 100)
    demo = Path(tempfile.mkdtemp(prefix="wb-bench-backup-demo-"))
    many = Path(tempfile.mkdtemp(prefix="wb-bench-backup-many-"))
    os.environ.setdefault("WORKBENCH_KEYS_DIR", tempfile.mkdtemp(prefix="wb-bench-keys-"))
    _demo_workspace(demo, smoke)
    _many_versions(many, versions)
    return _measure("demo workspace", demo, repeats) + _measure(
        f"{versions} versions", many, repeats
    )


if __name__ == "__main__":
    print(json.dumps(run(smoke="--smoke" in sys.argv), indent=2))
