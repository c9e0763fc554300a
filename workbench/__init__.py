"""Deploy Workbench: take a scikit-learn model from a notebook to a monitored MLflow deployment.

The public surface is what ``__all__`` lists. Importing the package does nothing else: no tracking
URI is set, no folder is made and nothing heavy is imported until a function needs it.

Example:
    >>> import workbench as wb
    >>> callable(wb.open_workspace) and "log_model" in wb.__all__
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from workbench.errors import (
    CheckError,
    DataError,
    DataFileError,
    DataQualityError,
    DriftAlert,
    GateError,
    MissingColumnError,
    ModelError,
    ModelNotFoundError,
    MonitoringError,
    NotebookError,
    NotFittedError,
    RegistryError,
    SchemaMismatchError,
    ServerRequestError,
    ServingError,
    UntrustedTypeError,
    UsageError,
    WorkbenchError,
    WorkspaceError,
)

__version__ = "0.1.0"

# Public name -> module that defines it; loaded on first access (PEP 562).
_LAZY = {
    # workspace
    "Workspace": "workbench.workspace",
    "open_workspace": "workbench.workspace",
    "current_workspace": "workbench.workspace",
    # data
    "load_table": "workbench.data",
    "demo_dataset": "workbench.data",
    "production_batch": "workbench.data",
    # stage 1 and the registry
    "ModelVersion": "workbench.registry",
    "log_model": "workbench.registry",
    "versions": "workbench.registry",
    "get_version": "workbench.registry",
    "train_and_log": "workbench.training",
    # stage 2
    "Check": "workbench.checks",
    "CheckResult": "workbench.checks",
    "CheckReport": "workbench.checks",
    "run_checks": "workbench.checks",
    "default_suite": "workbench.checks",
    "promote": "workbench.registry",
    "AuditEntry": "workbench.registry",
    "rollback": "workbench.registry",
    "history": "workbench.registry",
    # stage 3
    "ModelServer": "workbench.serving",
    "LoadTestResult": "workbench.serving",
    "serve": "workbench.serving",
    "load_test": "workbench.serving",
    "compare_servers": "workbench.serving",
    # stage 4
    "DriftResult": "workbench.monitoring",
    "drift_report": "workbench.monitoring",
    "monitoring_history": "workbench.monitoring",
    "run_notebook": "workbench.runner",
}

__all__ = [
    "CheckError",
    "DataError",
    "DataFileError",
    "DataQualityError",
    "DriftAlert",
    "GateError",
    "MissingColumnError",
    "ModelError",
    "ModelNotFoundError",
    "MonitoringError",
    "NotFittedError",
    "NotebookError",
    "RegistryError",
    "SchemaMismatchError",
    "ServerRequestError",
    "ServingError",
    "UntrustedTypeError",
    "UsageError",
    "WorkbenchError",
    "WorkspaceError",
    "__version__",
    *sorted(_LAZY),
]


# Submodules reachable as attributes (``wb.training.hyperparameters``), imported on first use.
_SUBMODULES = frozenset(
    {"apps", "checks", "cli", "data", "demo", "monitoring", "registry", "runner", "serving"}
    | {"training", "ui"}
    | {"workspace"}
)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"workbench.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from workbench.checks import Check, CheckReport, CheckResult, default_suite, run_checks
    from workbench.data import demo_dataset, load_table, production_batch
    from workbench.monitoring import DriftResult, drift_report, monitoring_history
    from workbench.registry import (
        AuditEntry,
        ModelVersion,
        get_version,
        history,
        log_model,
        promote,
        rollback,
        versions,
    )
    from workbench.runner import run_notebook
    from workbench.serving import LoadTestResult, ModelServer, compare_servers, load_test, serve
    from workbench.training import train_and_log
    from workbench.workspace import Workspace, current_workspace, open_workspace
