"""Every private or internal MLflow, Evidently and skops name the package uses still exists and
still takes what the package passes (issue 28 part 7).

The workbench reaches past the documented APIs in a few places: the fast path of ``log_model``
(``registry/_mlflow_private.py``), the serving fork of MLflow's scoring app
(``serving/_app.py``, ``_scoring_app.py``, ``_launcher.py``), the team server
(``team/app.py``, ``team/app_guard.py``, ``registry/team_api.py``) and the Evidently adapter
(``monitoring/evidently_adapter.py``); the public calls of the checked loader
(``registry/_mlflow_loading.py``) and of skops are pinned too. :data:`NEEDS` lists each name
once, where it is used and how it is called; :func:`problems` checks all of them and the test
fails in one place with the whole list, so an upgrade (``make upgrade-check``) says at once
everything it broke.

:func:`unlisted_private_uses` reads the package's source, so a new private import that is not
listed here fails too.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "workbench"
VENDORS = ("mlflow", "evidently", "skops")


@dataclass(frozen=True)
class Need:
    """One vendor name the package relies on.

    ``target`` is ``module`` or ``module:attr.attr``; ``where`` the package's file that uses it.
    ``args``/``kwargs``: the positional count and keyword names the package calls it with (a
    method's ``self`` not counted); None means "only has to exist" (a constant, a module). ``attrs``:
    attributes the object must have (checked on the object, or on ``instance()`` for attributes
    an ``__init__`` sets). ``source``: text that must still be in the object's source (for what
    only the source can show, such as an attribute set on ``g``).
    """

    target: str
    where: str
    args: int | None = None
    kwargs: tuple[str, ...] = ()
    attrs: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    instance: object = field(default=None, compare=False)

    @property
    def called(self) -> bool:
        return self.args is not None or bool(self.kwargs)


def _client():
    """An ``MlflowClient`` on a server that is never asked (no store is opened, no request sent)."""
    from mlflow import MlflowClient

    return MlflowClient("http://127.0.0.1:9")


_PRIVATE = "workbench/registry/_mlflow_private.py"
_LOADING = "workbench/registry/_mlflow_loading.py"
_SCORING = "workbench/serving/_scoring_app.py"
_APP = "workbench/serving/_app.py"
_LAUNCHER = "workbench/serving/_launcher.py"
_TEAM = "workbench/team/app.py"
_GUARD = "workbench/team/app_guard.py"
_TEAM_API = "workbench/registry/team_api.py"
_EVIDENTLY = "workbench/monitoring/evidently_adapter.py"
_RESTORE = "workbench/backups/restore.py"

#: Every private or internal vendor name the package uses, with how it uses it.
NEEDS: tuple[Need, ...] = (
    # ---- registry/_mlflow_private.py: the fast path of log_model
    Need("mlflow.models.utils:_save_example", _PRIVATE, args=3),
    Need("mlflow.utils.environment:_CONDA_ENV_FILE_NAME", _PRIVATE),
    Need("mlflow.utils.environment:_PYTHON_ENV_FILE_NAME", _PRIVATE),
    Need("mlflow.utils.environment:_CONSTRAINTS_FILE_NAME", _PRIVATE),
    Need("mlflow.utils.environment:_REQUIREMENTS_FILE_NAME", _PRIVATE),
    Need("mlflow.utils.environment:_process_pip_requirements", _PRIVATE, args=3),
    Need("mlflow.utils.environment:_PythonEnv.current", _PRIVATE, args=0),
    Need("mlflow.utils.environment:_PythonEnv.to_dict", _PRIVATE, args=0),
    Need("mlflow.utils.file_utils:get_total_file_size", _PRIVATE, args=1),
    Need("mlflow.utils.file_utils:local_file_uri_to_path", _PRIVATE, args=1),
    Need(
        "mlflow.pyfunc:add_to_model",
        _PRIVATE,
        args=1,
        kwargs=("loader_module", "model_path", "conda_env", "python_env", "code", "predict_fn"),
    ),
    Need("mlflow.models:Model.add_flavor", _PRIVATE, args=1, kwargs=("pickled_model",)),
    Need("mlflow.models.model:MLMODEL_FILE_NAME", _PRIVATE),
    Need(
        "mlflow:initialize_logged_model",
        _PRIVATE,
        kwargs=("name", "source_run_id", "params", "experiment_id"),
    ),
    Need("mlflow.entities:LoggedModelOutput", _PRIVATE, args=1, kwargs=("step",)),
    Need("mlflow.entities:Metric", _PRIVATE, args=4, kwargs=("model_id",)),
    Need("mlflow.tracking.fluent:_create_dataset_input", _PRIVATE, args=2),
    Need("mlflow.utils.time:get_current_time_millis", _PRIVATE, args=0),
    Need(
        "mlflow.store.artifact.artifact_repository_registry:get_artifact_repository",
        _PRIVATE,
        args=1,
        kwargs=("tracking_uri",),
    ),
    Need("mlflow.store.artifact.artifact_repo:ArtifactRepository.log_artifact", _PRIVATE, args=2),
    Need("mlflow.store.artifact.artifact_repo:ArtifactRepository.log_artifacts", _PRIVATE, args=1),
    Need("mlflow.utils.mlflow_tags:MLFLOW_MODEL_VERSIONS", _PRIVATE),
    Need(
        "mlflow.utils.mlflow_tags:MLFLOW_RUN_NOTE",
        "workbench/checks/runner.py, workbench/registry/evidence.py",
    ),
    Need("mlflow:MlflowClient._get_registry_client", _PRIVATE, args=0),
    Need(
        "mlflow.tracking._model_registry.client:ModelRegistryClient.set_registered_model_alias",
        _PRIVATE,
        args=3,
    ),
    Need(
        "mlflow:MlflowClient",
        _PRIVATE + " (client._tracking_client, client.tracking_uri)",
        attrs=("_tracking_client", "tracking_uri"),
        instance=_client,
    ),
    Need(
        "mlflow.tracking._tracking_service.client:TrackingServiceClient.set_logged_model_tags",
        _PRIVATE,
        args=2,
    ),
    Need(
        "mlflow.tracking._tracking_service.client:TrackingServiceClient.delete_logged_model_tag",
        _PRIVATE,
        args=2,
    ),
    Need(
        "mlflow.tracking._model_registry.client:ModelRegistryClient",
        _PRIVATE + " (registry client .store)",
        attrs=("store",),
        instance=lambda: _client()._get_registry_client(),
    ),
    Need(
        "mlflow.store.model_registry.sqlalchemy_store:SqlAlchemyStore",
        _PRIVATE + " (store.ManagedSessionMaker)",
        source=("self.ManagedSessionMaker",),
    ),
    Need(
        "mlflow.store.model_registry.dbmodels.models:SqlModelVersion",
        _PRIVATE,
        attrs=("name", "version", "user_id"),
    ),
    # ---- registry/_mlflow_loading.py: a checked folder as a pyfunc model
    Need("mlflow.pyfunc:PyFuncModel", _LOADING, kwargs=("model_meta", "model_impl", "model_id")),
    Need("mlflow.models:Model.load", _LOADING, args=1),
    # ---- serving: MLflow's scoring app, forked behind the edge
    Need("mlflow.pyfunc.scoring_server:init", _SCORING, args=1),
    Need("mlflow.pyfunc.scoring_server:predictions_to_json", _SCORING, args=2),
    Need("mlflow.pyfunc:PyFuncModel", _SCORING, args=2, kwargs=("model_id",)),
    Need("mlflow.pyfunc:PyFuncModel.get_raw_model", _SCORING, args=0),
    Need("mlflow.models:Model.get_input_schema", _SCORING, args=0),
    Need(
        "mlflow.environment_variables:MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT",
        f"{_SCORING}, {_LAUNCHER}",
        attrs=("get", "name"),
    ),
    Need("mlflow.utils.file_utils:local_file_uri_to_path", _APP, args=1),
    Need("mlflow.utils.file_utils:path_to_local_file_uri", _LAUNCHER, args=1),
    # ---- the team server: MLflow's Flask app and basic-auth, extended
    Need("mlflow.server:app", _TEAM, attrs=("add_url_rule", "config", "before_request")),
    Need("mlflow.server.auth:BEFORE_REQUEST_VALIDATORS", _TEAM, attrs=("__setitem__",)),
    Need("mlflow.server.auth:create_app", _TEAM, args=1),
    Need("mlflow.server.auth:_get_registered_model_permission", _TEAM, args=1),
    Need("mlflow.server.auth:sender_is_admin", _TEAM, args=0),
    Need(
        "mlflow.server.auth",
        f"{_TEAM}, {_GUARD} (flask g.mlflow_authenticated_user)",
        source=("mlflow_authenticated_user",),
    ),
    Need(
        "mlflow.server.auth.permissions:Permission",
        _TEAM + " (a permission's can_update)",
        attrs=("can_update",),
        instance=lambda: importlib.import_module("mlflow.server.auth.permissions").EDIT,
    ),
    Need("mlflow.server.handlers:_get_model_registry_store", f"{_TEAM}, {_GUARD}", args=0),
    Need("mlflow.server.handlers:_get_tracking_store", _GUARD, args=0),
    # ---- backups/restore.py: this process's connections on a store restored in place
    Need(
        "mlflow.store.tracking.sqlalchemy_store:SqlAlchemyStore._engine_map",
        _RESTORE,
        attrs=("values",),
    ),
    Need(
        "mlflow.store.model_registry.sqlalchemy_store:SqlAlchemyStore._engine_map",
        _RESTORE,
        attrs=("values",),
    ),
    Need("mlflow.utils.workspace_context:get_request_workspace", _GUARD, args=0),
    Need("mlflow.utils.workspace_context:ServerWorkspaceContext", _GUARD, args=1),
    Need(
        "mlflow.utils.rest_utils:http_request",
        _TEAM_API,
        args=3,
        kwargs=("max_retries", "timeout", "raise_on_status", "json", "data", "files"),
    ),
    Need("mlflow.utils.credentials:get_default_host_creds", _TEAM_API, args=1),
    # ---- elsewhere: telemetry, warmed modules, a logger's name
    Need("mlflow.telemetry:set_telemetry_client", "workbench/workspace.py", args=0),
    Need("mlflow.store.db.utils", "workbench/workspace.py (its logger)"),
    Need("mlflow.store.tracking.sqlalchemy_store", "workbench/demo.py, cli/_monitor.py (warmed)"),
    Need("mlflow.store.model_registry.sqlalchemy_store", "workbench/demo.py (warmed)"),
    # ---- Evidently: the one adapter (monitoring/evidently_adapter.py)
    Need(
        "evidently.legacy.calculations.stattests.registry:StatTest",
        _EVIDENTLY,
        kwargs=("name", "display_name", "allowed_feature_types", "default_threshold"),
    ),
    Need("evidently.legacy.calculations.stattests.registry:register_stattest", _EVIDENTLY, args=2),
    Need(
        "evidently.legacy.calculations.stattests.registry:_get_default_stattest",
        "workbench/monitoring/statistics.py (mirrors its rule)",
        args=3,
    ),
    Need("evidently.legacy.core:ColumnType.Numerical", _EVIDENTLY),
    Need("evidently.legacy.core:ColumnType.Categorical", _EVIDENTLY),
    Need("evidently.legacy.core:ColumnType.Text", _EVIDENTLY),
    Need(
        "evidently.core.datasets:BinaryClassification",
        _EVIDENTLY,
        kwargs=("target", "prediction_labels", "pos_label"),
    ),
    Need(
        "evidently.core.datasets:MulticlassClassification",
        _EVIDENTLY,
        kwargs=("target", "prediction_labels"),
    ),
    Need("evidently.core.datasets:Regression", _EVIDENTLY, kwargs=("target", "prediction")),
    Need("evidently.core.report:Snapshot.get_html_str", _EVIDENTLY, kwargs=("as_iframe",)),
    Need("evidently.core.report:Snapshot.json", _EVIDENTLY, args=0),
    Need("evidently.core.report", "workbench/fleet.py (warmed)"),
    Need(
        "evidently.presets:DataDriftPreset",
        _EVIDENTLY,
        kwargs=("columns", "drift_share", "per_column_method", "per_column_threshold"),
    ),
    Need("evidently.presets:DataSummaryPreset", _EVIDENTLY, kwargs=("columns",)),
    Need("evidently.presets:ClassificationPreset", _EVIDENTLY, args=0),
    Need("evidently.presets:RegressionPreset", _EVIDENTLY, args=0),
    Need("evidently:Report", _EVIDENTLY, args=1, kwargs=("include_tests",)),
    Need("evidently:Report.run", _EVIDENTLY, kwargs=("current_data", "reference_data")),
    Need("evidently:Dataset.from_pandas", _EVIDENTLY, args=1, kwargs=("data_definition",)),
    Need(
        "evidently:DataDefinition",
        _EVIDENTLY,
        kwargs=(
            "numerical_columns",
            "categorical_columns",
            "id_column",
            "timestamp",
            "classification",
            "regression",
        ),
    ),
    # ---- skops (public calls, pinned to how the package calls them)
    Need("skops.io:load", _LOADING, args=1, kwargs=("trusted",)),
    Need(
        "skops.io:get_untrusted_types",
        "workbench/registry/trust.py, workbench/registry/safety.py",
        kwargs=("data", "file"),
    ),
)


def _resolve(target: str):
    """``(owner, object)`` for ``module[:attr.attr]``; raises what the import or look-up raises."""
    module_name, _, path = target.partition(":")
    obj = owner = importlib.import_module(module_name)
    for part in path.split(".") if path else []:
        owner, obj = obj, getattr(obj, part)
    return owner, obj


def _call_problem(need: Need, owner, obj) -> str | None:
    """Why ``obj`` cannot be called as the package calls it (None when it can)."""
    if inspect.isclass(obj):
        sig = inspect.signature(obj)
        extra = 0
    else:
        sig = inspect.signature(obj)
        name = need.target.rpartition(".")[2]
        raw = inspect.getattr_static(owner, name, None) if inspect.isclass(owner) else None
        # a plain function on a class is called on an instance: its self is bound, not passed
        extra = 1 if inspect.isfunction(raw) and not inspect.ismethod(obj) else 0
    missing = [
        k
        for k in need.kwargs
        if k not in sig.parameters
        and not any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    ]
    if missing:
        return f"has no parameter {', '.join(missing)} (signature {sig})"
    try:
        sig.bind(*([None] * (extra + (need.args or 0))), **dict.fromkeys(need.kwargs))
    except TypeError as err:
        return f"cannot be called with {need.args or 0} positional and {list(need.kwargs)} ({err}; signature {sig})"
    return None


def check(need: Need) -> list[str]:
    """What is wrong with one need: missing, not callable as used, an attribute or source gone."""
    label = f"{need.target} (used in {need.where})"
    try:
        owner, obj = _resolve(need.target)
    except Exception as err:  # ImportError, AttributeError, or an import that fails
        return [f"{label}: missing ({type(err).__name__}: {err})"]
    out = []
    if need.called:
        if not callable(obj):
            out.append(f"{label}: no longer callable ({type(obj).__name__})")
        else:
            try:
                said = _call_problem(need, owner, obj)
            except (TypeError, ValueError) as err:  # no signature to read
                said = f"signature unreadable ({err})"
            if said:
                out.append(f"{label}: {said}")
    if need.attrs:
        try:
            holder = need.instance() if need.instance else obj
        except Exception as err:
            return [*out, f"{label}: cannot be made to read its attributes ({err})"]
        gone = [a for a in need.attrs if not hasattr(holder, a)]
        if gone:
            out.append(f"{label}: lost attribute(s) {', '.join(gone)}")
    if need.source:
        try:
            text = inspect.getsource(obj)
        except (OSError, TypeError) as err:
            return [*out, f"{label}: source unreadable ({err})"]
        gone = [s for s in need.source if s not in text]
        if gone:
            out.append(f"{label}: source no longer has {', '.join(map(repr, gone))}")
    return out


def problems(needs=NEEDS) -> list[str]:
    """Everything wrong with ``needs``, one line each (empty when all hold)."""
    return [line for need in needs for line in check(need)]


# --------------------------------------------------------------------------- the source scan


def _is_internal(module: str, name: str) -> bool:
    """A vendor name that is private (``_x``) or lives in a private or internal module."""
    parts = module.split(".")
    if name.startswith("_") and not name.startswith("__"):
        return True
    if any(p.startswith("_") for p in parts):
        return True
    internal = (
        "mlflow.utils",
        "mlflow.store",
        "mlflow.server",
        "mlflow.tracking",
        "mlflow.types.utils",
        "mlflow.models.utils",
        "mlflow.models.model",
        "mlflow.pyfunc.scoring_server",
        "evidently.legacy",
        "evidently.core",
    )
    return any(module == p or module.startswith(p + ".") for p in internal)


@functools.cache
def _listed() -> frozenset[str]:
    out = set()
    for need in NEEDS:
        module, _, path = need.target.partition(":")
        if path:
            out.add(f"{module}:{path.split('.')[0]}")
            out.add(path.split(".")[-1])  # an attribute reached through an object
        else:
            parent, _, last = module.rpartition(".")
            out.update({module, f"{parent}:{last}"})  # `from parent import last` imports it
        out.update(need.attrs)
    return frozenset(out)


def unlisted_private_uses(root: Path = PACKAGE) -> list[str]:
    """Private or internal vendor names the package's source imports, or reaches through an
    imported internal module (``scoring_server.init``), a private attribute of an imported vendor
    object (``auth._x``) or of a ``client`` in a file that imports a vendor (``client._x``), that
    :data:`NEEDS` does not list."""
    listed = _listed()
    out = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        vendor_names: set[str] = set()
        internal_objects: set[str] = set()  # names bound to an internal module or its objects
        imports_vendor = False
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.split(".")[0] not in VENDORS:
                    continue
                imports_vendor = True
                for alias in node.names:
                    vendor_names.add(alias.asname or alias.name)
                    if _is_internal(f"{node.module}.{alias.name}", "x"):
                        internal_objects.add(alias.asname or alias.name)
                    if _is_internal(node.module, alias.name):
                        key = f"{node.module}:{alias.name}"
                        if key not in listed and node.module not in listed:
                            out.append(f"{path.relative_to(root.parent)}:{node.lineno}: {key}")
            elif isinstance(node, ast.Import):
                if any(a.name.split(".")[0] in VENDORS for a in node.names):
                    imports_vendor = True
        if not imports_vendor:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or not isinstance(node.value, ast.Name):
                continue
            base, attr = node.value.id, node.attr
            private = attr.startswith("_") and not attr.startswith("__")
            if base in ("self", "cls") or attr.startswith("__"):
                continue
            if not (
                base in internal_objects or (private and (base in vendor_names or base == "client"))
            ):
                continue
            if attr not in listed:
                out.append(f"{path.relative_to(root.parent)}:{node.lineno}: {base}.{node.attr}")
    return out


# --------------------------------------------------------------------------- the tests


def test_every_vendor_private_name_the_package_uses_still_holds():
    found = problems()
    assert not found, (
        f"{len(found)} private/internal MLflow, Evidently or skops name(s) the workbench relies "
        "on moved or changed (fix the module named in each line, or pin the old version):\n  "
        + "\n  ".join(found)
    )


def test_every_private_use_in_the_source_is_listed():
    unlisted = unlisted_private_uses()
    assert not unlisted, (
        "private/internal vendor names used by the package but missing from NEEDS in "
        "tests/unit/test_vendor_private.py (add each, with how it is called):\n  "
        + "\n  ".join(unlisted)
    )


def test_the_checker_names_a_missing_or_changed_name():
    made_up = (
        Need("mlflow.types.utils:_no_such_helper", "nowhere", args=1),
        Need("mlflow.no_such_module:anything", "nowhere"),
        Need("mlflow.types.utils:_infer_schema", "nowhere", args=1, kwargs=("no_such_param",)),
        Need("mlflow.types.utils:_infer_schema", "nowhere", args=3),
        Need("mlflow.types.schema:ColSpec", "nowhere", attrs=("no_such_attribute",)),
        Need("mlflow.server.auth", "nowhere", source=("no such text anywhere",)),
        Need("mlflow.models.model:MLMODEL_FILE_NAME", "nowhere", args=0),
    )
    found = problems(made_up)
    assert len(found) == len(made_up), found
    assert "_no_such_helper (used in nowhere): missing (AttributeError" in found[0]
    assert "missing (ModuleNotFoundError" in found[1]
    assert "has no parameter no_such_param" in found[2]
    assert "cannot be called with 3 positional" in found[3]
    assert "lost attribute(s) no_such_attribute" in found[4]
    assert "source no longer has 'no such text anywhere'" in found[5]
    assert "no longer callable (str)" in found[6]


def test_the_source_scan_finds_an_unlisted_private_import(tmp_path):
    package = tmp_path / "workbench"
    package.mkdir()
    (package / "m.py").write_text(
        "from mlflow.utils.environment import _process_pip_requirements, _not_listed\n"
        "from mlflow.pyfunc import scoring_server\n"
        "from mlflow.utils.newplace import helper\n"
        "x = scoring_server.predictions_to_json + scoring_server._SOMETHING_NEW\n"
        "y = scoring_server.init, scoring_server.new_public_helper\n"
        "def f(client):\n"
        "    return client._new_private()\n"
    )
    found = unlisted_private_uses(package)
    assert sorted(found) == [
        "workbench/m.py:1: mlflow.utils.environment:_not_listed",
        "workbench/m.py:3: mlflow.utils.newplace:helper",
        "workbench/m.py:4: scoring_server._SOMETHING_NEW",
        "workbench/m.py:5: scoring_server.new_public_helper",
        "workbench/m.py:7: client._new_private",
    ], found
