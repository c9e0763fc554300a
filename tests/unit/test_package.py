"""The package itself: import cost, public names resolve, one error tree."""

from __future__ import annotations

import os
import subprocess
import sys

import workbench as wb


def test_import_is_light_and_does_nothing(tmp_path):
    code = (
        "import sys, time; t=time.perf_counter(); import workbench; "
        "print(time.perf_counter()-t); "
        "print(any(m.split('.')[0] in ('mlflow','evidently','sklearn','pandas','ipywidgets') "
        "for m in sys.modules))"
    )
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    seconds, heavy = out.stdout.split()
    assert heavy == "False", "import workbench pulled in a heavy library"
    assert float(seconds) < 0.3
    assert list(tmp_path.iterdir()) == [], "import workbench created files"
    assert "MLFLOW_TRACKING_URI" not in env


def test_errors_form_one_tree_with_cli_exit_codes():
    for name in wb.errors.__all__:
        assert issubclass(getattr(wb.errors, name), wb.WorkbenchError)
    assert wb.DataError.exit_code == 2 and wb.GateError.exit_code == 3
    assert issubclass(wb.MissingColumnError, wb.DataError)
