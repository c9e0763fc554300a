"""A full disk during monitoring leaves nothing half-written: no truncated notebook, no ``.tmp`` file.

The disk is made "full" for real: each step runs in a fresh Python process whose file size limit
(``RLIMIT_FSIZE``, inherited by the notebook's kernel) is 1 MB, with ``SIGXFSZ`` ignored, so a
write past 1 MB fails with ``EFBIG`` as a full disk fails with ``ENOSPC``. Nothing of the code
under test is replaced.

* ``run_notebook`` of a notebook whose output is 3 MB: ``WorkspaceError`` saying the partial copy
  was removed; the output folder is empty (no truncated ``.ipynb``, no partial file);
* ``DriftResult.save`` of a drift report (its HTML is several MB): ``MonitoringError``; the report
  folder holds no ``.tmp`` file and no report without its summary;
* ``workbench monitor`` under the same limit exits non-zero, and leaves no ``.tmp`` or partial
  file, and no ``.ipynb`` that does not parse, under the reports and runs folders.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat

LIMIT = 1_000_000
ROOT = Path(__file__).resolve().parents[2]

_LIMITED = """
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG

def limit():
    resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
"""


def _run(code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    script = _LIMITED.format(limit=LIMIT) + textwrap.dedent(code)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout, env=env
    )


def _leftovers(folder: Path) -> list[str]:
    """Partial or temporary files, and notebooks that do not parse, under ``folder``."""
    found = []
    for path in folder.rglob("*"):
        if path.name.endswith((".tmp", ".partial.ipynb")):
            found.append(str(path))
        elif path.suffix == ".ipynb":
            try:
                nbformat.read(str(path), as_version=4)
            except Exception:
                found.append(f"{path} (does not parse)")
    return found


def test_run_notebook_leaves_no_truncated_notebook(tmp_path):
    notebook = tmp_path / "loud.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell("size = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print('x' * 3_000_000 * size)"),
    ]
    nbformat.write(nb, str(notebook))
    out = tmp_path / "out"
    done = _run(f"""
        import workbench as wb
        from workbench.errors import WorkspaceError
        wb.open_workspace({str(tmp_path / "ws")!r})
        limit()
        try:
            wb.run_notebook({str(notebook)!r}, output_dir={str(out)!r}, timeout=120)
        except WorkspaceError as err:
            print("WorkspaceError:", err)
        except Exception as err:
            print("other:", type(err).__name__, err)
        else:
            print("no error")
    """)
    assert "WorkspaceError:" in done.stdout, done.stdout + done.stderr[-3000:]
    assert "partial copy was removed" in done.stdout
    assert sorted(p.name for p in out.iterdir()) == []  # nothing, not even a hidden file


def test_drift_report_save_leaves_no_tmp_file(tmp_path):
    folder = tmp_path / "report"
    done = _run(f"""
        import workbench as wb
        from workbench.data import credit_risk
        from workbench.errors import MonitoringError
        wb.open_workspace({str(tmp_path / "ws")!r})
        frame = credit_risk(1500, seed=3)
        result = wb.drift_report(reference=frame.iloc[:700], current=frame.iloc[700:])
        limit()
        try:
            result.save({str(folder)!r})
        except MonitoringError as err:
            print("MonitoringError:", err)
        else:
            print("saved")
    """)
    assert "MonitoringError:" in done.stdout, done.stdout + done.stderr[-3000:]
    assert sorted(p.name for p in folder.iterdir()) == []  # no .tmp, no report without summary
    assert "File too large" in done.stdout and "no partial file" in done.stdout


def test_monitor_command_on_a_full_disk_leaves_nothing_half_written(tmp_path):
    import workbench as wb
    from workbench.data import credit_risk
    from workbench.workspace import mlflow_client

    ws = wb.open_workspace(tmp_path / "ws")
    mlflow_client().search_experiments()  # the store exists before the limit
    frame = credit_risk(1500, seed=4)
    ref, cur = tmp_path / "ref.csv", tmp_path / "cur.csv"
    frame.iloc[:700].to_csv(ref, index=False)
    frame.iloc[700:].to_csv(cur, index=False)
    out = tmp_path / "report"
    done = _run(f"""
        import sys
        from workbench.cli import main
        limit()
        sys.exit(main(["--workspace", {str(ws.root)!r}, "monitor", "--reference", {str(ref)!r},
                       "--current", {str(cur)!r}, "--out", {str(out)!r}, "--json"]))
    """)
    assert done.returncode not in (0, 3), done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    print(done.returncode, done.stderr.strip()[-600:])
    assert _leftovers(tmp_path) == []
    summary = out / "summary.json"
    assert not summary.exists() or json.loads(summary.read_text())  # whole, when there is one
