"""The workbench's one error tree.

Every error the workbench raises is a :class:`WorkbenchError`. Catch that to catch them all, or a
subclass to handle one kind of failure::

    WorkbenchError                      anything the workbench refuses or fails to do
    ├── WorkspaceError                  the workspace cannot be opened or written
    ├── UsageError                      a bad argument: unknown scenario, family, task (exit code 2)
    ├── DataError                       bad input data (exit code 2 in the CLI)
    │   ├── DataFileError               a data file is missing or does not parse
    │   ├── MissingColumnError          a column the step needs is absent
    │   ├── SchemaMismatchError         columns or types differ from what the model expects
    │   └── DataQualityError            a batch cannot be trusted: null surge, all-null column, too few rows
    ├── ModelError                      the model cannot be logged or used as given
    │   ├── NotFittedError              the estimator was never fitted
    │   ├── UntrustedTypeError          skops cannot vouch for a type inside the model
    │   └── UnsafeModelError            loading the model could run arbitrary code: refused (exit 2)
    │       └── ArtifactChangedError    its files differ from what was checked/promoted (exit 2)
    ├── RegistryError                   the MLflow registry refused or failed
    │   ├── ModelNotFoundError          no such registered model, version or alias
    │   ├── GateError                   promotion refused: the checks did not pass (exit code 3)
    │   ├── PermissionDeniedError       the tracking server refused the user: login or permission (3)
    │   ├── ServerUnavailableError      the tracking server did not answer (or failed every retry)
    │   └── ConflictError               another promotion holds the model's audit lock: retry
    ├── CheckError                      a pre-deployment check could not run
    ├── ServingError                    the model server failed to start, answer or stop
    │   └── ServerRequestError          the server answered a request with an error
    ├── MonitoringError                 a drift report could not be built
    │   └── DriftAlert                  drift found and fail-on-drift asked (exit code 3)
    ├── NotebookError                   a notebook run failed (names the cell and its exception)
    ├── TeamError                       the team server (PostgreSQL, MLflow server) failed
    └── BackupError                     a backup could not be written or restored
        ├── DamagedArchiveError         an archive is damaged or tampered with: nothing restored (2)
        └── StoreNotEmptyError          restore refused: the target holds a store (exit code 2)

Every message says what went wrong, names the column, file, model or version concerned, and says what to
do next. A step that raises leaves nothing half-written behind it.

Example:
    >>> import workbench as wb
    >>> try:
    ...     wb.load_table("no/such/file.csv")
    ... except wb.DataFileError as err:
    ...     print(type(err).__name__)
    DataFileError
"""

from __future__ import annotations

__all__ = [
    "ArtifactChangedError",
    "BackupError",
    "CheckError",
    "ConflictError",
    "DataError",
    "DataFileError",
    "DataQualityError",
    "DamagedArchiveError",
    "DriftAlert",
    "GateError",
    "MissingColumnError",
    "ModelError",
    "ModelNotFoundError",
    "MonitoringError",
    "NotFittedError",
    "NotebookError",
    "PermissionDeniedError",
    "RegistryError",
    "SchemaMismatchError",
    "ServerRequestError",
    "ServerUnavailableError",
    "ServingError",
    "StoreNotEmptyError",
    "TeamError",
    "UnsafeModelError",
    "UntrustedTypeError",
    "UsageError",
    "WorkbenchError",
    "WorkspaceError",
]


class WorkbenchError(Exception):
    """Base of every error the workbench raises. ``exit_code`` is what the CLI returns for it."""

    exit_code = 1


class WorkspaceError(WorkbenchError):
    """The workspace (tracking store, artifact root, reports) cannot be opened or written."""


class UsageError(WorkbenchError, ValueError):
    """A bad argument (an unknown scenario, model family or task; a bound out of range).

    It is also a ``ValueError``, so code that caught the built-in keeps working.
    """

    exit_code = 2


class DataError(WorkbenchError):
    """Bad input data: the message names the column or file and what to fix."""

    exit_code = 2


class DataFileError(DataError):
    """A data file does not exist, has an unsupported format or does not parse."""


class MissingColumnError(DataError):
    """A column the step needs (target, feature, protected attribute) is absent."""


class SchemaMismatchError(DataError):
    """Columns or dtypes differ from the model's signature or from the reference data."""


class DataQualityError(DataError):
    """The batch cannot be trusted for drift: too few rows, an all-null column, a null surge."""


class ModelError(WorkbenchError):
    """The model cannot be logged or used as given."""

    exit_code = 2


class NotFittedError(ModelError):
    """The estimator was never fitted: call ``fit`` before logging it."""


class UntrustedTypeError(ModelError):
    """skops cannot vouch for a type inside the model; the message lists what to pass as trusted."""


class UnsafeModelError(ModelError):
    """A model whose loading could run arbitrary code (pickle, untrusted skops types): refused
    before any byte of it is deserialised, unless the user allows it explicitly."""


class ArtifactChangedError(UnsafeModelError):
    """The model's files differ from the ones that were checked and promoted: refused (exit 2).

    ``expected`` and ``found`` carry the two digests (SHA-256 over the model folder's files)."""

    def __init__(self, message: str, *, expected: str = "", found: str = ""):
        super().__init__(message)
        self.expected = expected
        self.found = found


class RegistryError(WorkbenchError):
    """The MLflow model registry refused or failed an operation."""


class ModelNotFoundError(RegistryError):
    """No such registered model, version or alias."""

    exit_code = 2


class GateError(RegistryError):
    """Promotion refused: the version's latest checks did not pass (or were never run)."""

    exit_code = 3


class PermissionDeniedError(RegistryError):
    """The tracking server refused the user: not logged in (401), or the user lacks the MLflow
    permission the step needs (403). The message names the user, the server, the request and the
    permission; nothing was written by the refused step (exit code 3)."""

    exit_code = 3


class ServerUnavailableError(RegistryError):
    """The tracking server did not answer (connection refused, time-out), or answered 5xx to every
    retry. The message names the server, the step, and what the step left behind; retry once the
    server runs again."""


class ConflictError(RegistryError):
    """Another promotion or rollback of the same model holds its audit lock; this one waited and
    moved nothing. Retry in a moment."""


class CheckError(WorkbenchError):
    """A pre-deployment check could not run (as opposed to running and failing)."""


class ServingError(WorkbenchError):
    """The model server failed to start, answer or stop. Start failures carry the log's tail."""


class ServerRequestError(ServingError):
    """The server answered a request with an error (its message, without the server's stack trace)."""

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class MonitoringError(WorkbenchError):
    """A drift or performance report could not be built."""


class DriftAlert(MonitoringError):
    """Drift was detected and the caller asked to fail on it (exit code 3)."""

    exit_code = 3


class NotebookError(WorkbenchError):
    """A notebook run failed; the message names the cell and its exception, the output is kept.

    ``ename`` is the name of the exception the cell raised (``GateError`` when a notebook's gate said
    no), ``summary`` what the notebook's ``summary`` cells printed before it stopped.
    """

    def __init__(self, message: str, output_path: str | None = None, cell_index: int | None = None):
        super().__init__(message)
        self.output_path = output_path
        self.cell_index = cell_index
        self.ename: str | None = None
        self.summary: str = ""


class TeamError(WorkbenchError):
    """The team server (PostgreSQL or the MLflow tracking server) failed to start, answer or stop."""


class BackupError(WorkbenchError):
    """A backup could not be written, or an archive could not be restored."""


class DamagedArchiveError(BackupError):
    """A backup archive is damaged or was tampered with; nothing was restored (exit code 2).

    ``archive`` is the archive's path and ``member`` the file inside it that failed (``None``
    when the archive as a whole cannot be read).
    """

    exit_code = 2

    def __init__(self, archive: str, member: str | None, why: str):
        self.archive = str(archive)
        self.member = member
        where = f"{self.archive}" + (f" (member {member})" if member else "")
        super().__init__(
            f"the backup archive {where} is damaged or was tampered with: {why}. Nothing was "
            "restored; restore another backup, or make a new one with `workbench backup`."
        )


class StoreNotEmptyError(BackupError):
    """Restore refused: the target workspace already holds a store (exit code 2); nothing was
    written. ``--force`` replaces it (the replaced store is kept beside it)."""

    exit_code = 2


def error_class_named(name: str) -> type[WorkbenchError] | None:
    """The workbench error class called ``name`` among those defined so far (an exception a
    notebook cell raised is known to the caller by its name only).

    Example:
        >>> error_class_named("DataFileError").exit_code, error_class_named("KeyError")
        (2, None)
    """
    todo, seen = [WorkbenchError], {}
    while todo:
        cls = todo.pop()
        seen[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return seen.get(name)
