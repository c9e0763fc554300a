"""How the model server is started: its command line, its environment and its log file.

By default the server is MLflow's own scoring app run by ``python -m workbench.serving._launcher``,
which takes the flags of ``mlflow models serve`` and only tunes the garbage collector after the model
loads (the slowest requests were collector pauses). ``gc_tuned=False`` runs ``mlflow models serve``
itself. Either way the flags are the same: host, port, workers and request timeout.

Example:
    >>> launch_command("models:/credit-risk/3", port=5001, workers=2)[1:3]
    ['-m', 'workbench.serving._launcher']
    >>> launch_command("models:/credit-risk/3", port=5001, workers=2)[-8:]
    ['-h', '127.0.0.1', '-p', '5001', '-w', '2', '-t', '60']
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from workbench._core.process import HOST, python_bin_path
from workbench.registry.safety import ALLOW_PICKLE_ENV
from workbench.serving.options import EDGE_ENV, NONCE_ENV, EdgeSettings

__all__ = [
    "DIGEST_ENV",
    "METRICS_DIR_ENV",
    "OBSERVE_ENV",
    "TRUSTED_ENV",
    "VERDICT_ENV",
    "CONTRACT_ENV",
    "LAUNCHER",
    "default_workers",
    "launch_command",
    "launch_environment",
    "new_log",
]

#: The module ``python -m`` runs for the tuned server (see :mod:`workbench.serving._launcher`).
LAUNCHER = "workbench.serving._launcher"
#: Environment variable that hands the server the contract's labels and positive label (JSON).
CONTRACT_ENV = "WORKBENCH_SERVING_CONTRACT"
#: The digest of the files the caller checked: the launcher serves only files with this digest.
DIGEST_ENV = "WORKBENCH_SERVING_DIGEST"
#: Set by the launcher for its workers: the exact skops types its audit allowed (comma-separated).
TRUSTED_ENV = "WORKBENCH_SERVING_TRUSTED_TYPES"
#: The safety verdict the caller reached on the files of :data:`DIGEST_ENV` (JSON): the launcher
#: does not audit files with that digest again (its workers still judge them before loading).
VERDICT_ENV = "WORKBENCH_SERVING_VERDICT"
#: What the server's edge reports to (JSON): ``{"log": {...}, "metrics": {...}}``, see
#: :func:`workbench.serving._scoring_app.observers_from_config`.
OBSERVE_ENV = "WORKBENCH_SERVING_OBSERVE"
#: prometheus-client's folder for the workers' metrics files (its multiprocess mode).
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Variables this module hands over; an inherited value is never passed on.
_HANDED_OVER = (
    CONTRACT_ENV, EDGE_ENV, NONCE_ENV, ALLOW_PICKLE_ENV, DIGEST_ENV, TRUSTED_ENV, OBSERVE_ENV,
    METRICS_DIR_ENV, VERDICT_ENV,
)  # fmt: skip


def default_workers() -> int:
    """Workers per server by default: the machine's cores (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def launch_command(
    model_uri: str, port: int, workers: int, request_timeout: int = 60, gc_tuned: bool = True
) -> list[str]:
    """The argv that serves ``model_uri`` on 127.0.0.1:``port``.

    Args:
        model_uri: What to serve (a URI MLflow resolves in the child).
        port: Port to bind on 127.0.0.1.
        workers: Server processes.
        request_timeout: Seconds one request may take before the server answers 504.
        gc_tuned: The workbench launcher (collector tuned after the model loads); ``False`` runs
            ``mlflow models serve`` with the same flags.
    """
    flags = ["-h", HOST, "-p", str(port), "-w", str(workers), "-t", str(request_timeout)]
    if gc_tuned:
        return [sys.executable, "-m", LAUNCHER, "-m", model_uri, *flags]
    return [
        sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri,
        "--env-manager", "local", *flags,
    ]  # fmt: skip


def launch_environment(
    tracking_uri: str,
    labels: dict[str, Any] | None = None,
    *,
    settings: EdgeSettings | None = None,
    nonce: str | None = None,
    allow_pickle: bool = False,
    digest: str | None = None,
    observe: dict[str, Any] | None = None,
    metrics_dir: str | None = None,
    verdict: dict[str, Any] | None = None,
) -> dict[str, str]:
    """This process's environment for the server: the same tracking store and registry, this
    interpreter's ``mlflow`` and ``uvicorn`` first on ``PATH``, unbuffered output, and what the
    workbench hands the server (never a value inherited from the caller's environment).

    Args:
        tracking_uri: The store the server resolves the model URI against.
        labels: ``{"labels": [...], "positive_label": ...}`` from the version's contract: the
            server answers the probabilities of these labels (see :data:`CONTRACT_ENV`).
        settings: The edge's allowed hosts and size cap (:data:`~workbench.serving.options.EDGE_ENV`).
        nonce: This start's token (:data:`~workbench.serving.options.NONCE_ENV`).
        allow_pickle: Let the launcher load a model whose format can run code when loaded
            (``WORKBENCH_ALLOW_PICKLE=1``); otherwise it refuses one.
        digest: The digest of the files checked here (:data:`DIGEST_ENV`): the launcher refuses
            to serve files that hash otherwise.
        observe: What the edge reports to: the inference log, the metrics (:data:`OBSERVE_ENV`).
        metrics_dir: The workers' shared metrics folder (:data:`METRICS_DIR_ENV`).
        verdict: The safety verdict reached here on the files of ``digest`` (:data:`VERDICT_ENV`).
    """
    env = dict(os.environ)
    env["MLFLOW_TRACKING_URI"] = tracking_uri
    env.setdefault("MLFLOW_REGISTRY_URI", tracking_uri)
    env["PATH"] = python_bin_path(env)
    env["PYTHONUNBUFFERED"] = "1"
    for name in _HANDED_OVER:
        env.pop(name, None)
    if labels is not None:
        env[CONTRACT_ENV] = json.dumps(labels, default=str)
    if settings is not None:
        env[EDGE_ENV] = settings.to_env()
    if nonce:
        env[NONCE_ENV] = nonce
    if allow_pickle:
        env[ALLOW_PICKLE_ENV] = "1"
    if digest:
        env[DIGEST_ENV] = digest
        if verdict is not None:
            env[VERDICT_ENV] = json.dumps(verdict, default=str)
    if observe:
        env[OBSERVE_ENV] = json.dumps(observe, default=str)
    if metrics_dir:
        env[METRICS_DIR_ENV] = metrics_dir
    return env


def new_log(port: int) -> Path:
    """A new, empty temporary file for the output of the server on ``port``."""
    fd, path = tempfile.mkstemp(prefix=f"wb-serve-{port}-", suffix=".log")
    os.close(fd)
    return Path(path)
