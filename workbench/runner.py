"""Run the workbench's notebooks headless with papermill, and keep every executed copy.

``run_notebook`` reads like the steps it takes: resolve the notebook, choose where its output goes,
fill in the parameters it declares, execute it in the workbench's own kernel, and report.

The executed copy is written beside its final name (``.<name>.<pid>.partial.ipynb``) and renamed
onto it once it is whole: a run that cannot write it (a full disk, a file size limit) leaves no
truncated notebook behind, removes the partial file and says so.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench._core.text import first_line
from workbench.errors import DataError, DataFileError, NotebookError, WorkspaceError
from workbench.workspace import current_workspace

__all__ = [
    "NotebookRun",
    "SharedKernel",
    "notebook_summary",
    "parameters_from_text",
    "run_notebook",
]


@dataclass
class NotebookRun:
    """An executed notebook.

    Attributes:
        notebook: The source notebook.
        output_path: The executed copy (``runs/<notebook>/<UTC timestamp>.ipynb`` by default).
        parameters: The parameters it ran with.
        seconds: Wall time of the run.
        summary: What the notebook's cells tagged ``summary`` printed (its verdict, the version).

    Example:
        >>> run = NotebookRun("notebooks/04_monitor_drift.ipynb", "runs/04/x.ipynb", {"day": 3}, 2.5)
        >>> run.to_dict()["parameters"]
        {'day': 3}
    """

    notebook: str
    output_path: str
    parameters: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        return asdict(self)


def run_notebook(
    path: str | os.PathLike,
    parameters: dict[str, Any] | None = None,
    output_dir: str | os.PathLike | None = None,
    *,
    timeout: float | None = 900,
    kernel_name: str | None = None,
    progress: bool = False,
    kernel: SharedKernel | None = None,
) -> NotebookRun:
    """Execute a notebook with papermill, top to bottom, and archive the executed copy.

    Args:
        path: The notebook (``notebooks/04_monitor_drift.ipynb``).
        parameters: Values for its ``parameters`` cell. ``workspace`` is filled in with the open
            workspace when the notebook declares it and it is not given. Relative paths are read
            from the caller's folder, not the notebook's (:func:`workbench._core.paths.from_caller`).
        output_dir: Folder for the executed copy; default ``runs/<notebook name>/`` in the workspace.
        timeout: Seconds one cell may run before the run fails (``None``: no limit).
        kernel_name: Jupyter kernel; default the kernel of the running Python environment.
        progress: Show papermill's progress bar.
        kernel: A :class:`SharedKernel` to run in (several notebooks, one kernel, imports paid
            once); default a fresh kernel for this notebook alone.

    Returns:
        A :class:`NotebookRun` naming the executed copy.

    Raises:
        DataFileError: the notebook does not exist.
        NotebookError: a cell failed or timed out; the message names the cell and its exception
            and ``output_path`` points at the executed copy, which is kept.
        WorkspaceError: the executed copy could not be written (disk full): the partial file was
            removed, no truncated notebook is left.
    """
    import papermill as pm

    source = _resolve(path)
    output = _output_path(source, output_dir)
    params = _fill_parameters(source, dict(parameters or {}))
    started = time.perf_counter()
    engine_kwargs: dict[str, Any] = {"engine_name": _engine_name()}
    if kernel is not None:
        engine_kwargs["km"] = kernel.manager()
    elif kernel_name is None:  # this very Python, whatever kernelspecs the user has installed
        engine_kwargs["kernel_manager_class"] = _own_kernel_manager()
    partial = output.with_name(f".{output.stem}.{os.getpid()}.partial.ipynb")
    try:
        pm.execute_notebook(
            str(source),
            str(partial),
            parameters=params,
            cwd=str(source.parent),
            kernel_name=kernel_name or _kernel_name(),
            execution_timeout=timeout,
            progress_bar=progress,
            log_output=False,
            **engine_kwargs,
        )
    except pm.PapermillExecutionError as err:
        _keep(partial, output, err)
        where = _describe_cell(output, err.cell_index, err.source)
        failure = NotebookError(
            f"notebook {source.name} failed in {where}: {err.ename}: {first_line(err.evalue)}; "
            f"the executed notebook is kept at {output}",
            output_path=str(output),
            cell_index=err.cell_index,
        )
        failure.ename = err.ename
        failure.summary = notebook_summary(output)
        raise failure from err
    except BaseException as err:  # timeouts, dead kernels, a disk that filled up
        if not isinstance(err, Exception):  # interrupted: no truncated copy, the same exception
            with contextlib.suppress(WorkspaceError):
                _keep(partial, output, err)
            raise
        _keep(partial, output, err)
        name = type(err).__name__
        index, cell_source = _running_cell(output)
        where = f" in {_describe_cell(output, index, cell_source)}" if index is not None else ""
        what = (
            f"timed out after {timeout:g} s" if "Timeout" in name and timeout else "did not finish"
        )
        raise NotebookError(
            f"notebook {source.name} {what}{where} ({name}: {first_line(str(err))}); "
            f"the executed notebook is kept at {output}",
            output_path=str(output),
            cell_index=index,
        ) from err
    _keep(partial, output)
    seconds = round(time.perf_counter() - started, 2)
    return NotebookRun(str(source), str(output), params, seconds, notebook_summary(output))


def _keep(partial: Path, output: Path, failure: BaseException | None = None) -> None:
    """Rename the executed copy onto ``output`` once it is whole; remove a truncated one.

    After a failure the copy is kept only if it parses as a notebook (papermill writes it last,
    failed cells marked); one that does not (the disk filled while it was written) is removed.

    Raises:
        WorkspaceError: the copy could not be written whole (the partial file was removed).
    """
    if failure is None or _whole(partial):
        try:
            partial.replace(output)
            return
        except OSError as err:
            failure = err
    elif not partial.exists():
        return  # the run stopped before papermill wrote anything
    partial.unlink(missing_ok=True)
    raise WorkspaceError(
        f"could not write the executed notebook to {output.parent} "
        f"({first_line(str(failure)) or type(failure).__name__}): the partial copy was removed, "
        "no notebook was kept. Free some disk space (or choose another folder) and run it again."
    ) from failure


def _whole(path: Path) -> bool:
    """True when ``path`` is a complete notebook file (JSON with cells)."""
    import json

    try:
        return isinstance(json.loads(path.read_bytes()).get("cells"), list)
    except (OSError, ValueError, AttributeError):
        return False


def notebook_summary(path: str | os.PathLike) -> str:
    """The text printed by the cells tagged ``summary`` of an executed notebook (its verdict).

    ``workbench run`` prints it, so a scheduled run's log says what the notebook concluded.
    """
    try:
        import nbformat

        nb = nbformat.read(str(path), as_version=4)
    except Exception:
        return ""
    texts = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "summary" not in cell.metadata.get("tags", []):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                texts.append(out.get("text", ""))
            elif "text/plain" in out.get("data", {}):
                texts.append(out["data"]["text/plain"])
    return "".join(texts).strip()


class SharedKernel:
    """One kernel for several :func:`run_notebook` calls, as a context manager.

    Each notebook still runs top to bottom from its own parameters cell; what is shared is the
    Python process, so imports (MLflow, scikit-learn, Evidently) are paid once. The demo runs its
    eight notebook steps this way. Variables of one notebook stay visible to the next, so use it
    only for notebooks whose parameters cells set everything they read. ``env`` is added to the
    kernel's environment (a login: nothing of it is written into a notebook).

    Example:
        >>> with SharedKernel() as kernel:  # doctest: +SKIP
        ...     run_notebook("notebooks/01_train_and_log.ipynb", kernel=kernel)
        ...     run_notebook("notebooks/02_predeploy_checks.ipynb", kernel=kernel)
    """

    def __init__(
        self,
        cwd: str | os.PathLike | None = None,
        env: dict[str, str] | None = None,
        *,
        warm: tuple[str, ...] | list[str] = (),
        log_path: str | os.PathLike | None = None,
    ):
        self.cwd = str(cwd or current_workspace().root / "notebooks")
        self.env = dict(env or {})
        self.warm = tuple(warm)
        self.log_path = Path(log_path) if log_path else None
        self._km = None

    def start(self) -> SharedKernel:
        """Start the kernel now, without waiting for it: it imports the ``warm`` modules while
        the caller goes on (``workbench monitor`` validates its input meanwhile). The first
        notebook's first cell runs once the kernel is ready."""
        self.manager()
        return self

    def manager(self):
        """The started kernel manager (started on first use)."""
        if self._km is None:
            from jupyter_client.utils import run_sync

            from workbench._core.kernels import warm_arguments

            km = _own_kernel_manager(self.log_path, warm_arguments(self.warm))(
                kernel_name=_kernel_name()
            )
            env = {**os.environ, **self.env} if self.env else None
            run_sync(km.start_kernel)(cwd=self.cwd, **({"env": env} if env else {}))
            self._km = km
        return self._km

    def shutdown(self, wait: bool = True, now: bool = False) -> None:
        """Stop the kernel (by its manager, which started it).

        Args:
            wait: Wait until the kernel process has exited (killing it if it does not). With
                False, the kernel is asked to shut down (it runs its atexit hooks, then exits by
                itself, as it also does when this process ends) and this returns at once: a
                process that imported Evidently and MLflow takes a second or two just to free
                its memory. For a finished run only.
            now: Kill the kernel at once: for a kernel that never ran a notebook (the command
                stopped on bad input while the kernel was still importing).
        """
        if self._km is not None:
            from jupyter_client.utils import run_sync

            try:
                if wait or now:
                    # graceful: the kernel runs its atexit hooks (a model server it started stops)
                    run_sync(self._km.shutdown_kernel)(now=now)
                else:  # the kernel has its sockets open: its files can go
                    from workbench._core.kernels import stop_without_waiting

                    stop_without_waiting(self._km)
            finally:
                self._km = None

    def __enter__(self) -> SharedKernel:
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()


def _resolve(path: str | os.PathLike) -> Path:
    source = Path(path)
    if not source.exists():
        candidate = current_workspace().root / "notebooks" / source.name
        if not candidate.exists():
            raise DataFileError(
                f"notebook {source} does not exist: give a path such as "
                "notebooks/01_train_and_log.ipynb."
            )
        source = candidate
    source = source.resolve()
    _check_notebook(source)
    return source


def parameters_from_text(path: str | os.PathLike, raw: dict[str, str]) -> dict[str, Any]:
    """Command-line parameter values (text) as the types the notebook's defaults have.

    A parameter whose default is text keeps the text as typed (``-p model_name 007`` stays
    ``"007"``, where papermill would read the number 7); others are read as JSON (``20``, ``0.5``,
    ``true``, ``null``, ``["a", "b"]``), or kept as text when they are not JSON.

    Raises:
        DataFileError: the notebook does not exist or is not a notebook.
        DataError: a parameter the notebook does not declare.
    """
    import json

    import papermill as pm

    source = _resolve(path)
    declared = pm.inspect_notebook(str(source))
    out: dict[str, Any] = {}
    for name, text in raw.items():
        spec = declared.get(name)
        default = str(spec.get("default")) if spec else ""
        if default.startswith(("'", '"')):
            out[name] = text
            continue
        try:
            out[name] = json.loads(text)
        except ValueError:
            out[name] = text
    return out


def _check_notebook(source: Path) -> None:
    """Refuse a file that is not a Jupyter notebook, or a notebook that names no kernel."""
    import json

    if source.suffix != ".ipynb" or not source.is_file():
        raise DataFileError(
            f"{source.name} is not a notebook: give a Jupyter notebook (.ipynb), such as "
            "notebooks/04_monitor_drift.ipynb."
        )
    try:
        content = json.loads(source.read_text())
        cells = content["cells"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise DataFileError(
            f"{source.name} is not a valid notebook (not Jupyter's JSON format): open it in "
            "JupyterLab and save it again."
        ) from None
    if not isinstance(cells, list):
        raise DataFileError(f"{source.name} is not a valid notebook: it has no list of cells.")
    kernel = (content.get("metadata") or {}).get("kernelspec") or {}
    if not kernel.get("name"):
        raise DataFileError(
            f"notebook {source.name} names no kernel (metadata.kernelspec): open it in JupyterLab, "
            "choose the Python kernel and save it."
        )


def _output_path(source: Path, output_dir: str | os.PathLike | None) -> Path:
    from workbench._core.results import stamp  # imports pandas: not before a kernel starts

    folder = Path(output_dir) if output_dir else current_workspace().runs_dir / source.stem
    folder.mkdir(parents=True, exist_ok=True)
    return (folder / f"{stamp()}.ipynb").resolve()


def _fill_parameters(source: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Check every given parameter is declared (papermill only warns: a typo such as
    ``fail_on_drfit`` would silently run with the default), make the paths the caller named
    absolute from the caller's folder (the notebook runs in its own), and fill in ``workspace``."""
    import papermill as pm

    from workbench._core.paths import from_caller

    declared = pm.inspect_notebook(str(source))
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise DataError(
            f"{source.name} has no parameter {', '.join(map(repr, unknown))}: it takes "
            f"{', '.join(sorted(declared))}."
        )
    for name, value in params.items():
        _check_type(source, name, value, declared[name])
    params = from_caller(params, {name: spec.get("help") for name, spec in declared.items()})
    if "workspace" in declared and params.get("workspace") is None:
        params["workspace"] = str(current_workspace().root)
    return params


#: What a parameter whose default has this type accepts (None accepted everywhere).
_ACCEPTS = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "list": (list, tuple),
    "dict": (dict,),
}


def _check_type(source: Path, name: str, value: Any, spec: dict[str, Any]) -> None:
    """A value of the wrong type for a parameter is bad input (exit 2), not a cell failure."""
    import ast

    try:
        default = ast.literal_eval(str(spec.get("default")))
    except (ValueError, SyntaxError):
        return  # an expression as default: nothing to compare with
    kind = type(default).__name__
    accepted = _ACCEPTS.get(kind)
    if value is None or default is None or accepted is None:
        return
    wrong_bool = isinstance(value, bool) and kind in ("int", "float")
    if isinstance(value, accepted) and not wrong_bool:
        return
    raise DataError(
        f"parameter {name!r} of {source.name} takes {_article(kind)} (default {default!r}), "
        f"got {value!r} ({type(value).__name__}): pass a value of that type."
    )


def _article(kind: str) -> str:
    names = {"int": "a whole number", "float": "a number", "str": "text", "bool": "true or false"}
    return names.get(kind, f"a {kind}")


def _engine_name() -> str:
    """Papermill's nbclient engine, writing the output notebook less often (see
    :mod:`workbench._core.papermill_engine`)."""
    from workbench._core.papermill_engine import register

    return register()


def _kernel_name() -> str:
    """The kernel name recorded in the output; the kernel itself runs ``sys.executable``."""
    return "python3"


def _own_kernel_manager(log_file: Path | None = None, extra_args: tuple[str, ...] = ()):
    """The workbench's kernel manager class (:func:`workbench._core.kernels.kernel_manager_class`):
    this Python, Unix sockets where they fit, the kernel's output in ``runs/kernels.log`` (or
    ``log_file``)."""
    from workbench._core.kernels import kernel_manager_class

    return kernel_manager_class(
        log_file or current_workspace().runs_dir / "kernels.log", extra_args
    )


def _describe_cell(output: Path, index: int | None, source: str | None) -> str:
    """``cell 5 (`result = wb.drift_report(...`)``, counting code cells of the source notebook."""
    if index is None:
        return "an unknown cell"
    label = f"cell {index}"
    try:
        import nbformat

        nb = nbformat.read(str(output), as_version=4)
        injected = sum(
            1
            for c in nb.cells[:index]
            if "injected-parameters" in c.get("metadata", {}).get("tags", [])
        )
        label = f"cell {index - injected} of the notebook"
        source = source or nb.cells[index].source
    except Exception:
        pass
    first = first_line(source or "", limit=80)
    return f"{label} (`{first}`)" if first else label


def _running_cell(output: Path) -> tuple[int | None, str | None]:
    """The cell the run stopped in: the last one papermill started, in the executed copy."""
    try:
        import nbformat

        nb = nbformat.read(str(output), as_version=4)
    except Exception:
        return None, None
    started = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.get("metadata", {}).get("papermill", {}).get("start_time")
    ]
    if started:  # the run stopped in the last cell it started
        return started[-1], nb.cells[started[-1]].source
    return None, None
