"""The public surface is deliberate: ``wb.__all__`` is pinned here, as httpx pins its exports.

Adding or removing a public name is a decision: change this list, DESIGN.md and the docs together.
"""

from __future__ import annotations

import inspect

import workbench as wb
from workbench import errors

EXPORTED = [
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


def test_exported_names_are_pinned():
    assert wb.__all__ == EXPORTED


def test_lazy_table_and_errors_cover_exactly_the_exports():
    lazy = set(wb._LAZY)
    assert lazy | set(errors.__all__) | {"__version__"} == set(EXPORTED)
    assert not lazy & set(errors.__all__)


def test_every_export_resolves_from_the_module_the_table_names():
    for name, module in wb._LAZY.items():
        value = getattr(wb, name)
        assert value is getattr(__import__(module, fromlist=[name]), name), name
        owner = getattr(value, "__module__", "") or ""
        assert owner.startswith(module), f"{name} is defined in {owner}, the table says {module}"


def test_every_export_is_documented():
    for name in EXPORTED:
        if name == "__version__":
            continue
        doc = inspect.getdoc(getattr(wb, name)) or ""
        assert len(doc.split()) >= 3, f"wb.{name} needs a docstring"


def test_public_classes_show_a_runnable_example():
    """Rule 7 of the house: one runnable example on each public class (errors excepted)."""
    missing = [
        name
        for name in EXPORTED
        if inspect.isclass(getattr(wb, name, None))
        and name not in errors.__all__
        and ">>>" not in (inspect.getdoc(getattr(wb, name)) or "")
    ]
    assert missing == []
