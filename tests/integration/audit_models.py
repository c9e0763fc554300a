"""Shared by the audit-chain tests: cheap versions to promote, the CLI, an entry's run.

Versions are copies of the session's logged forest, promoted with force and a reason, since these
tests are about the log, not the checks.
"""

from __future__ import annotations

import subprocess
import sys

import mlflow

import workbench as wb
from workbench._core.names import TAG


def make_versions(name: str, source_uri: str, count: int) -> None:
    """Register ``name`` with ``count`` versions of the model at ``source_uri``."""
    client = mlflow.MlflowClient()
    client.create_registered_model(name)
    info = mlflow.models.get_model_info(source_uri)
    for _ in range(count):
        client.create_model_version(name, info.model_uri, tags={TAG.TASK: "classification"})


def promote_three(name: str, trained, versions: int = 3) -> None:
    """v1, v2, v3 promoted in turn by ana, bob and carol (forced, with a reason)."""
    make_versions(name, trained.forest.model_uri, versions)
    for version, who in ((1, "ana"), (2, "bob"), (3, "carol")):
        wb.promote(name, version, by=who, reason=f"v{version}", force=True)


def cli(*args: str, root) -> subprocess.CompletedProcess:
    """``workbench --workspace ROOT ARGS`` in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "workbench.cli", "--workspace", str(root), *args],
        capture_output=True,
        text=True,
    )


def run_of(name: str, seq: int) -> str:
    """The run id of entry #``seq`` of ``name``'s audit log."""
    log = wb.history(name)
    return log.loc[log["seq"] == seq, "run_id"].item()
