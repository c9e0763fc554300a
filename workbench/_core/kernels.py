"""The workbench's Jupyter kernels: which Python they run, how they talk, what they import first.

A kernel runs ``sys.executable -m ipykernel_launcher`` (the workbench's own environment, whatever
``python3`` kernelspec a user has), over Unix sockets of its own where the path fits, with its
output in a log file rather than the user's terminal, without input history (nothing headless
reads it), and optionally importing modules while it starts (:func:`warm_arguments`).
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ipc_fits",
    "ipc_prefix",
    "kernel_manager_class",
    "reap_later",
    "stop_without_waiting",
    "warm_arguments",
]


def warm_arguments(modules: tuple[str, ...]) -> tuple[str, ...]:
    """IPython options that import ``modules`` while the kernel starts, before its first cell
    (no name is bound in the notebook; a module that fails to import is left to the cell that
    needs it, which then reports the error)."""
    for name in modules:
        if not all(part.isidentifier() for part in name.split(".")):
            raise ValueError(f"not a module name: {name!r}")
    if not modules:
        return ()
    # the garbage collector paused over the imports (a third of their time: it re-traverses the
    # long-lived objects they make), then everything made into its oldest generation; no name
    # is bound in the notebook
    pause = "--IPKernelApp.exec_lines=__import__('gc').disable()"
    resume = (
        "--IPKernelApp.exec_lines=__import__('gc').freeze(); __import__('gc').unfreeze(); "
        "__import__('gc').enable()"
    )
    return (
        pause,
        *(
            f"--IPKernelApp.exec_lines=try: __import__({name!r})\nexcept Exception: pass"
            for name in modules
        ),
        resume,
    )


def kernel_manager_class(log_path: Path, extra_args: tuple[str, ...] = ()) -> type:
    """A kernel manager that starts ``sys.executable -m ipykernel_launcher``: the workbench's own
    environment, even when a user-level ``python3`` kernelspec points at another Python. It talks
    to the kernel over Unix sockets where it can (no TCP port, no transport warning). The kernel's
    own output (tracebacks of its shutdown after a time-out) goes to ``log_path``
    (``runs/kernels.log``), not to the user's terminal. A headless kernel keeps no input history (no SQLite
    file to open and lock); ``extra_args`` are more IPython options (the warm imports)."""
    import sys

    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    argv += ["--HistoryManager.enabled=False", *extra_args]

    class _WorkbenchKernelManager(AsyncKernelManager):
        @property
        def kernel_spec(self):
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(
                    argv=argv,
                    display_name="Python 3 (workbench)",
                    language="python",
                )
            return self._kernel_spec

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(log_path, "ab") as log:  # the child keeps its own copy of the handle
                kw.setdefault("stdout", log)
                kw.setdefault("stderr", log)
                await super()._async_launch_kernel(kernel_cmd, **kw)

        _launch_kernel = _async_launch_kernel

        @default("transport")
        def _transport_default(self) -> str:
            return "ipc" if ipc_fits() else "tcp"

        @default("ip")
        def _ip_default(self) -> str:  # jupyter_client's is `kernel-ipc` in the working folder
            return ipc_prefix() if self.transport == "ipc" else super()._ip_default()

    return _WorkbenchKernelManager


def ipc_fits() -> bool:
    """Whether the kernel can talk over Unix sockets: POSIX, and the socket paths
    (``<runtime dir>/workbench-<uuid>-ipc-<n>``) within the 107 bytes a Unix socket path may have.
    Over TCP, ipykernel warns that traffic is unencrypted; over IPC no port is open at all."""
    import os

    from jupyter_core.paths import jupyter_runtime_dir

    longest = len(jupyter_runtime_dir()) + len("/workbench--ipc-99999") + 32
    return os.name == "posix" and longest < 107


def ipc_prefix() -> str:
    """A socket path prefix of this kernel's own (``<runtime dir>/workbench-<uuid>-ipc``, the
    folder private to the user): two kernels never share sockets, and none lands in the
    notebook's folder."""
    import os
    import uuid

    from jupyter_core.paths import jupyter_runtime_dir

    folder = jupyter_runtime_dir()
    os.makedirs(folder, mode=0o700, exist_ok=True)
    return os.path.join(folder, f"workbench-{uuid.uuid4().hex}-ipc")


def reap_later(process, grace: float = 20.0) -> None:
    """Wait in a daemon thread for a kernel ``process`` (a ``subprocess.Popen``) asked to shut
    down, and reap it; if it is still running after ``grace`` seconds (the request was lost, or
    an exit hook hangs), stop its process group (TERM, then KILL 5 s later). If this process ends
    first, the kernel exits by itself when it sees its parent gone."""
    import os
    import signal
    import subprocess
    import threading

    def wait() -> None:
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            pass
        for signum, seconds in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, signum)  # the kernel leads its own group
            except OSError:
                process.send_signal(signum)
            try:
                process.wait(timeout=seconds)
                return
            except subprocess.TimeoutExpired:
                continue

    threading.Thread(target=wait, name=f"reap-kernel-{process.pid}", daemon=True).start()


def stop_without_waiting(km) -> None:
    """Ask the kernel of the manager ``km`` to shut down, free its files and sockets, and return
    at once; :func:`reap_later` makes sure the process does not outlive a lost request."""
    from jupyter_client.utils import run_sync

    process = getattr(km.provisioner, "process", None)
    run_sync(km.request_shutdown)()
    # sent on a socket just connected: 10 s (not 100 ms) to deliver it when busy
    if getattr(km, "_control_socket", None) is not None:
        km._control_socket.linger = 10_000  # noqa: SLF001
    run_sync(km.cleanup_resources)()
    if process is not None:
        reap_later(process)
