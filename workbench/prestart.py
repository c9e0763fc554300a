"""A command's notebook kernel, started before its workspace opens (:func:`start_early`).

``workbench monitor`` and ``workbench demo`` spend seconds opening the store and checking their
input before the first notebook cell can run; their kernel starts first and imports its modules
meanwhile, on the other core.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable
from pathlib import Path

from workbench.runner import SharedKernel
from workbench.workspace import find_root, telemetry_off

__all__ = ["start_early"]


def start_early(
    workspace: str | os.PathLike | None,
    folder: Callable[[Path], Path | str],
    warm: tuple[str, ...],
) -> SharedKernel | None:
    """A kernel started before the workspace opens (a command's ``before_open``): it imports
    ``warm`` while the command opens the store and checks its input.

    ``workspace`` is the command's ``--workspace`` (else ``WORKBENCH_WORKSPACE``, else the project
    root); ``folder(root)`` is the notebooks' folder, where the kernel runs. The kernel is
    stopped at exit should the command fail before using it. Never fails: None, and the run
    starts its own kernel and reports what is wrong with it.
    """
    try:
        telemetry_off()  # before the kernel inherits the environment
        root = Path(workspace or os.environ.get("WORKBENCH_WORKSPACE") or find_root())
        root = root.expanduser().resolve()
        (root / "runs").mkdir(parents=True, exist_ok=True)
        kernel = SharedKernel(folder(root), warm=warm, log_path=root / "runs" / "kernels.log")
        atexit.register(kernel.shutdown)  # also when opening the workspace fails
        return kernel.start()
    except Exception:  # the run starts its own kernel, and reports what is wrong with it
        return None
