"""What makes ``workbench monitor`` fast, on tiny real notebooks and real kernels: the output
notebook written less often (yet complete, failures included), a kernel that imports what the
notebook needs while it starts, and a kernel asked to stop that exits by itself."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest

import workbench as wb
from workbench.runner import SharedKernel, run_notebook

pytestmark = pytest.mark.notebook


def _notebook(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    first = nbformat.v4.new_code_cell("workspace = None\nvalue = 1")
    first.metadata["tags"] = ["parameters"]
    nb.cells = [first]
    for src in cells:
        nb.cells.append(nbformat.v4.new_markdown_cell("a note"))
        nb.cells.append(nbformat.v4.new_code_cell(src))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def writes(monkeypatch):
    """Every write of an output notebook papermill makes."""
    import papermill.engines as engines

    seen: list[str] = []
    original = engines.write_ipynb

    def counting(nb, path):
        seen.append(str(path))
        return original(nb, path)

    monkeypatch.setattr(engines, "write_ipynb", counting)
    return seen


def test_the_output_is_written_a_few_times_and_complete_at_the_end(workspace, tmp_path, writes):
    cells = [f"print('cell {i}', value * {i})" for i in range(6)]
    run = run_notebook(_notebook(tmp_path / "six.ipynb", *cells), {"value": 7})
    # papermill alone writes at every cell's start and end: 2 x 14 cells + start + end = 30
    assert 2 <= len(writes) <= 4, writes
    nb = nbformat.read(run.output_path, as_version=4)
    printed = [o["text"] for c in nb.cells for o in c.get("outputs", []) if "text" in o]
    assert printed == [f"cell {i} {7 * i}\n" for i in range(6)]
    assert all(c.metadata.papermill["status"] == "completed" for c in nb.cells)
    assert nb.metadata.papermill["end_time"]


def test_a_failing_cell_is_in_the_kept_output_although_writes_are_spaced(
    workspace, tmp_path, writes
):
    source = _notebook(
        tmp_path / "bad.ipynb", "x = 1", "raise ValueError('column age is odd')", "y"
    )
    with pytest.raises(wb.NotebookError) as info:
        run_notebook(source)
    assert len(writes) <= 4
    nb = nbformat.read(info.value.output_path, as_version=4)
    failed = [c for c in nb.cells if c.metadata.get("papermill", {}).get("exception")]
    assert len(failed) == 1 and "column age is odd" in failed[0].outputs[-1]["evalue"]
    assert nb.metadata.papermill["exception"] is True


def test_a_warm_kernel_imports_while_it_starts_and_binds_no_name(workspace, tmp_path):
    out = tmp_path / "seen.txt"
    source = _notebook(
        tmp_path / "warm.ipynb",
        "import sys\n"
        f"open({str(out)!r}, 'w').write(repr(("
        "'email.mime.text' in sys.modules, 'colorsys' in sys.modules, "
        "'email' in dir(), 'no_such_module_here' in sys.modules)))",
    )
    with SharedKernel(
        cwd=tmp_path, warm=("email.mime.text", "colorsys", "no_such_module_here")
    ) as kernel:
        run_notebook(source, kernel=kernel.start())
    # warmed (a module that does not exist is left to the cell that needs it), no name bound
    assert out.read_text() == "(True, True, False, False)"


def test_warm_names_must_be_module_names(workspace, tmp_path):
    with pytest.raises(ValueError, match="not a module name"):
        SharedKernel(cwd=tmp_path, warm=("os; import shutil",)).start()


def test_a_kernel_asked_to_stop_exits_by_itself(workspace, tmp_path):
    psutil = pytest.importorskip("psutil")
    kernel = SharedKernel(cwd=tmp_path).start()
    run_notebook(_notebook(tmp_path / "one.ipynb", "value + 1"), kernel=kernel)
    km = kernel.manager()
    process = psutil.Process(km.provisioner.pid)
    files = [Path(km.connection_file)]
    if km.transport == "ipc":
        files += [Path(f"{km.ip}-{port}") for port in (km.shell_port, km.iopub_port)]
    assert process.is_running() and all(f.exists() for f in files)
    kernel.shutdown(wait=False)
    assert not any(f.exists() for f in files)  # its connection file and sockets are gone
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.is_running():
        if process.status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.1)
    assert not process.is_running() or process.status() == psutil.STATUS_ZOMBIE


def test_a_kernel_that_ignores_the_request_is_stopped_after_its_grace():
    # the request can be lost (a busy machine) or an exit hook can hang: no kernel outlives it
    import subprocess
    import sys

    from workbench._core.kernels import reap_later

    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(120)",
        ],
        start_new_session=True,
    )
    try:
        time.sleep(0.5)
        reap_later(stubborn, grace=0.5)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and stubborn.poll() is None:
            time.sleep(0.1)
        assert stubborn.poll() is not None  # TERM ignored, then KILL
    finally:
        if stubborn.poll() is None:
            stubborn.kill()
            stubborn.wait()
