"""The CLI contract: help is fast, errors are one line with the right exit code."""

from __future__ import annotations

import subprocess
import sys
import time

from workbench.cli import main


def _workbench(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "workbench.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def test_help_lists_every_command_quickly():
    started = time.perf_counter()
    out = _workbench("--help")
    assert out.returncode == 0
    assert time.perf_counter() - started < 5  # the benchmark holds the real 0.5 s goal
    for command in (
        "demo",
        "lab",
        "run",
        "check",
        "promote",
        "rollback",
        "history",
        "serve",
        "monitor",
    ):
        assert command in out.stdout


def test_bad_usage_exits_2():
    assert _workbench("no-such-command").returncode == 2


def test_missing_notebook_is_one_clear_line_exit_2(tmp_path):
    out = _workbench("--workspace", str(tmp_path), "run", "nope.ipynb", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0, out.stderr
    assert "nope.ipynb" in out.stderr and "Traceback" not in out.stderr


def test_main_returns_the_error_exit_code(tmp_path, capsys):
    assert main(["--workspace", str(tmp_path), "run", str(tmp_path / "x.ipynb")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_cell_time_out_is_one_line_without_a_traceback(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("workspace = None")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("import time; time.sleep(60)")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(tmp_path / "slow.ipynb"))
    out = _workbench(
        "--workspace", str(tmp_path), "run", "slow.ipynb", "--timeout", "2", cwd=tmp_path
    )
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and "ZMQError" not in out.stderr, out.stderr[-2000:]
    errors = [line for line in out.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "timed out after 2 s" in errors[0]


def test_wrong_parameters_and_files_are_exit_2(tmp_path):
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    out = _workbench("--workspace", str(tmp_path), "run", "table.csv", cwd=tmp_path)
    assert out.returncode == 2 and "not a notebook" in out.stderr and "Traceback" not in out.stderr


def test_team_status_says_nothing_runs_on_a_fresh_workspace(tmp_path):
    out = _workbench("--workspace", str(tmp_path), "team", "status", cwd=tmp_path)
    assert out.returncode == 0 and "not running" in out.stdout, out.stderr[-2000:]
    bad = _workbench("--workspace", str(tmp_path), "team", "sideways", cwd=tmp_path)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_the_executable_runs_every_exit_handler_and_keeps_the_exit_code():
    """`console()` skips the interpreter's teardown, never what a command registered to run at
    exit (stopping a kernel, flushing output), nor its exit code or message."""
    code = (
        "import atexit, sys\n"
        "import workbench.cli as cli\n"
        "def command():\n"
        "    atexit.register(print, 'stopped the kernel')\n"
        "    print('result', end=' ')\n"
        "    if sys.argv[1] == 'raise':\n"
        "        sys.exit('error: told to')\n"
        "    return int(sys.argv[1])\n"
        "cli.main = command\n"
        "cli.console()\n"
    )
    for arg, rc in (("0", 0), ("3", 3), ("raise", 1)):
        out = subprocess.run([sys.executable, "-c", code, arg], capture_output=True, text=True)
        assert out.returncode == rc, out.stderr
        assert out.stdout == "result stopped the kernel\n"
    assert out.stderr.strip() == "error: told to"


def test_run_reads_a_relative_path_from_the_callers_folder(tmp_path):
    """The README's `workbench run ... -p dataset data/x.csv`: the file in the caller's folder,
    although the notebook runs in its own folder."""
    import json

    import nbformat

    caller, notebooks = tmp_path / "caller", tmp_path / "notebooks"
    (caller / "data").mkdir(parents=True)
    (caller / "data" / "x.csv").write_text("income\n42\n")
    notebooks.mkdir()
    (notebooks / "data").mkdir()
    (notebooks / "data" / "x.csv").write_text("income\n-1\n")  # the file it must not read
    seen = tmp_path / "seen.json"
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        "workspace = None\ndataset = 'credit_risk'  # a demo name or a CSV path"
    )
    params.metadata["tags"] = ["parameters"]
    read = (
        "import json, pathlib\n"
        f"json.dump({{'path': dataset, 'text': pathlib.Path(dataset).read_text()}}, "
        f"open({str(seen)!r}, 'w'))"
    )
    nb.cells = [params, nbformat.v4.new_code_cell(read)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(notebooks / "read.ipynb"))
    out = _workbench(
        "--workspace", str(tmp_path), "run", str(notebooks / "read.ipynb"),
        "-p", "dataset", "data/x.csv", cwd=caller,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(seen.read_text())
    assert got == {"path": str(caller / "data" / "x.csv"), "text": "income\n42\n"}
