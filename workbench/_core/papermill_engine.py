"""papermill's nbclient engine, saving the executed notebook less often.

papermill writes the whole output notebook twice per cell (when the cell starts and when it ends),
markdown cells included, and the next cell waits for each write. Once a notebook shows an Evidently
report inline (about 5 MB of HTML), that is some 50 ms per write, over a second per run of notebook
04. This engine writes when a cell starts or ends only if :data:`SAVE_EVERY_S` seconds passed since
the last write (so a long run still shows its progress), and always at the end, failures and
time-outs included (papermill's own ``finally``): the kept notebook is the same.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["ENGINE_NAME", "SAVE_EVERY_S", "register"]

#: The name the engine is registered under with papermill.
ENGINE_NAME = "workbench"
#: Seconds between two writes of the output notebook while it runs.
SAVE_EVERY_S = 5.0


def register() -> str:
    """Register the engine with papermill (once per process); returns its name, for
    ``papermill.execute_notebook(..., engine_name=...)``."""
    global _registered
    if not _registered:
        from papermill.engines import papermill_engines

        papermill_engines.register(ENGINE_NAME, _engine_class())
        _registered = True
    return ENGINE_NAME


_registered = False


def _engine_class() -> type:
    from papermill.engines import NBClientEngine, NotebookExecutionManager

    class _ThrottledManager(NotebookExecutionManager):
        """Writes at the start and the end of the run, and in between at most every
        :data:`SAVE_EVERY_S` seconds."""

        final = False
        last_write = 0.0

        def save(self, **kwargs: Any) -> None:
            now = time.monotonic()
            if not self.final and self.last_write and now - self.last_write < SAVE_EVERY_S:
                return
            super().save(**kwargs)
            self.last_write = time.monotonic()

        def notebook_complete(self, **kwargs: Any) -> None:
            self.final = True
            super().notebook_complete(**kwargs)

    class _ThrottledEngine(NBClientEngine):
        @classmethod
        def execute_notebook(
            cls,
            nb,
            kernel_name,
            output_path=None,
            progress_bar=True,
            log_output=False,
            autosave_cell_every=30,
            **kwargs,
        ):
            """Papermill's ``Engine.execute_notebook`` with the throttled manager."""
            nb_man = _ThrottledManager(
                nb,
                output_path=output_path,
                progress_bar=progress_bar,
                log_output=log_output,
                autosave_cell_every=autosave_cell_every,
            )
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

    return _ThrottledEngine
