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

from workbench._core.text import VERSION as __version__
from workbench.errors import (
    ArtifactChangedError,
    BackupError,
    CheckError,
    ConflictError,
    DamagedArchiveError,
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
    PermissionDeniedError,
    RegistryError,
    SchemaMismatchError,
    ServerRequestError,
    ServerUnavailableError,
    ServingError,
    StoreNotEmptyError,
    TeamError,
    UnsafeModelError,
    UntrustedTypeError,
    UsageError,
    WorkbenchError,
    WorkspaceError,
)

# Public name -> module that defines it; loaded on first access (PEP 562).
_LAZY = {
    # workspace and data
    "Workspace": "workbench.workspace",
    "open_workspace": "workbench.workspace",
    "current_workspace": "workbench.workspace",
    "load_table": "workbench.data",
    "demo_dataset": "workbench.data",
    "production_batch": "workbench.data",
    # stage 1: train and log
    "ModelVersion": "workbench.registry",
    "log_model": "workbench.registry",
    "versions": "workbench.registry",
    "get_version": "workbench.registry",
    "model_names": "workbench.registry",
    "ModelContract": "workbench.contract",
    "model_contract": "workbench.registry",
    "TrainingTable": "workbench.training",
    "load_training_data": "workbench.training",
    "hyperparameters": "workbench.training",
    "train_and_log": "workbench.training",
    # stage 2: checks, gate, audit
    "Check": "workbench.checks",
    "CheckContext": "workbench.checks",
    "CheckResult": "workbench.checks",
    "CheckReport": "workbench.checks",
    "run_checks": "workbench.checks",
    "default_suite": "workbench.checks",
    "load_eval_data": "workbench.checks",
    "promote": "workbench.registry",
    "AuditEntry": "workbench.registry",
    "rollback": "workbench.registry",
    "history": "workbench.registry",
    "ResolvedModel": "workbench.registry",
    "resolve": "workbench.registry",
    # stage 3: serve
    "ModelServer": "workbench.serving",
    "LoadTestResult": "workbench.serving",
    "ComparisonResult": "workbench.serving",
    "serve": "workbench.serving",
    "load_test": "workbench.serving",
    "compare_servers": "workbench.serving",
    "ScoringResult": "workbench.scoring",
    "score": "workbench.scoring",
    # stage 4: monitor
    "ColumnDrift": "workbench.monitoring",
    "DriftResult": "workbench.monitoring",
    "MonitoringHistory": "workbench.monitoring",
    "RetrainDecision": "workbench.monitoring",
    "WeekSimulation": "workbench.monitoring",
    "drift_report": "workbench.monitoring",
    "check_status": "workbench.monitoring",
    "monitoring_history": "workbench.monitoring",
    "apply_retrain_policy": "workbench.monitoring",
    "batches": "workbench.monitoring",
    "simulate_week": "workbench.monitoring",
    "Feedback": "workbench.monitoring",
    "feedback": "workbench.monitoring",
    "ABTest": "workbench.monitoring",
    "abtest": "workbench.monitoring",
    "traffic_batch": "workbench.monitoring",
    # running notebooks and the journey
    "NotebookRun": "workbench.runner",
    "SharedKernel": "workbench.runner",
    "run_notebook": "workbench.runner",
    "DemoSummary": "workbench.demo",
    "run_demo": "workbench.demo",
    "FleetResult": "workbench.monitoring.nightly",
    "monitor_plan": "workbench.fleet",
    # backups
    "BackupResult": "workbench.backups",
    "RestoreResult": "workbench.backups",
    "backup": "workbench.backups",
    "restore": "workbench.backups",
}

__all__ = [
    "ABTest",
    "ArtifactChangedError",
    "AuditEntry",
    "BackupError",
    "BackupResult",
    "Check",
    "CheckContext",
    "CheckError",
    "ConflictError",
    "CheckReport",
    "CheckResult",
    "ColumnDrift",
    "ComparisonResult",
    "DamagedArchiveError",
    "DataError",
    "DataFileError",
    "DataQualityError",
    "DemoSummary",
    "DriftAlert",
    "DriftResult",
    "Feedback",
    "FleetResult",
    "GateError",
    "LoadTestResult",
    "MissingColumnError",
    "ModelError",
    "ModelNotFoundError",
    "ModelContract",
    "ModelServer",
    "ModelVersion",
    "MonitoringError",
    "MonitoringHistory",
    "NotFittedError",
    "NotebookError",
    "PermissionDeniedError",
    "NotebookRun",
    "RegistryError",
    "ResolvedModel",
    "RestoreResult",
    "RetrainDecision",
    "SchemaMismatchError",
    "ScoringResult",
    "ServerRequestError",
    "ServerUnavailableError",
    "ServingError",
    "SharedKernel",
    "StoreNotEmptyError",
    "TeamError",
    "TrainingTable",
    "UnsafeModelError",
    "UntrustedTypeError",
    "UsageError",
    "WeekSimulation",
    "WorkbenchError",
    "Workspace",
    "WorkspaceError",
    "__version__",
    "abtest",
    "apply_retrain_policy",
    "backup",
    "batches",
    "check_status",
    "compare_servers",
    "current_workspace",
    "default_suite",
    "demo_dataset",
    "drift_report",
    "feedback",
    "get_version",
    "history",
    "hyperparameters",
    "load_eval_data",
    "load_table",
    "load_test",
    "load_training_data",
    "log_model",
    "model_contract",
    "model_names",
    "monitor_plan",
    "monitoring_history",
    "open_workspace",
    "production_batch",
    "promote",
    "resolve",
    "restore",
    "rollback",
    "run_checks",
    "run_demo",
    "run_notebook",
    "score",
    "serve",
    "simulate_week",
    "traffic_batch",
    "train_and_log",
    "versions",
]


# Submodules reachable as attributes (``wb.training.hyperparameters``), imported on first use.
_SUBMODULES = frozenset(
    {"apps", "checks", "cli", "data", "demo", "errors", "fleet", "monitoring", "registry"}
    | {"lesson", "runner"}
    | {"serving", "training", "ui", "workspace"}
)


def __getattr__(name: str) -> Any:
    """Import a public name (or a stage submodule) on first access."""
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
    from workbench.backups import BackupResult, RestoreResult, backup, restore
    from workbench.checks import (
        Check,
        CheckContext,
        CheckReport,
        CheckResult,
        default_suite,
        load_eval_data,
        run_checks,
    )
    from workbench.contract import ModelContract
    from workbench.data import demo_dataset, load_table, production_batch
    from workbench.demo import DemoSummary, run_demo
    from workbench.fleet import monitor_plan
    from workbench.monitoring import (
        ABTest,
        ColumnDrift,
        DriftResult,
        Feedback,
        MonitoringHistory,
        RetrainDecision,
        WeekSimulation,
        abtest,
        apply_retrain_policy,
        batches,
        check_status,
        drift_report,
        feedback,
        monitoring_history,
        simulate_week,
        traffic_batch,
    )
    from workbench.monitoring.nightly import FleetResult
    from workbench.registry import (
        AuditEntry,
        ModelVersion,
        get_version,
        history,
        log_model,
        model_contract,
        model_names,
        promote,
        rollback,
        versions,
    )
    from workbench.runner import NotebookRun, SharedKernel, run_notebook
    from workbench.scoring import ScoringResult, score
    from workbench.serving import (
        ComparisonResult,
        LoadTestResult,
        ModelServer,
        compare_servers,
        load_test,
        serve,
    )
    from workbench.training import (
        TrainingTable,
        hyperparameters,
        load_training_data,
        train_and_log,
    )
    from workbench.workspace import Workspace, current_workspace, open_workspace
