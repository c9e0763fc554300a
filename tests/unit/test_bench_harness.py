"""The benchmark harness: table and JSON on fake figures, and a failing module fails the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from benchmarks import ROW_KEYS
from benchmarks._common import not_available, row
from benchmarks.runner import build_report, check_rows, discover, format_table, write_report

ROOT = Path(__file__).resolve().parents[2]

FAKE_ROWS = [
    row("log_model forest: workbench vs mlflow", 0.21, "s", 4.6, "<= 0.05", False, note="22x"),
    row("import workbench", 0.016, "s", 2.9, "<= 0.3 s", True),
    not_available("bench_serving", "import failed: ModuleNotFoundError"),
]


def test_rows_carry_every_key_and_the_ratio_is_value_over_baseline():
    for r in FAKE_ROWS:
        assert set(ROW_KEYS) <= set(r)
    assert FAKE_ROWS[0]["ratio"] == pytest.approx(0.21 / 4.6, abs=1e-4)
    assert FAKE_ROWS[2]["value"] is None and FAKE_ROWS[2]["met"] is None
    assert FAKE_ROWS[2]["note"].startswith("not available")


def test_table_shows_each_figure_its_baseline_ratio_goal_and_verdict():
    table = format_table(FAKE_ROWS)
    lines = table.splitlines()
    assert lines[0].split() == ["figure", "value", "baseline", "ratio", "goal", "met"]
    forest = next(line for line in lines if line.startswith("log_model forest"))
    assert "0.21 s" in forest and "4.6" in forest and "0.0457" in forest and forest.endswith("NO")
    assert next(line for line in lines if line.startswith("import workbench")).endswith("yes")
    serving = next(line for line in lines if line.startswith("bench_serving"))
    assert "n/a" in serving
    assert any("not available: import failed" in line for line in lines)
    assert "    22x" in lines


def test_report_json_has_figures_machine_time_and_commit(tmp_path):
    modules = [{"module": "log_model", "status": "ok", "error": None, "seconds": 1.0}]
    report = build_report(FAKE_ROWS, modules, smoke=True, started=0.0)
    out = tmp_path / "results" / "latest.json"
    write_report(report, out)
    data = json.loads(out.read_text())
    assert data["figures"] == json.loads(json.dumps(FAKE_ROWS))
    assert data["timestamp"].startswith("1970-01-01T00:00:00")
    assert data["smoke"] is True
    assert {"python", "cpus", "packages"} <= set(data["machine"])
    assert "commit" in data["git"]
    assert data["goals_met"] == 1 and data["goals_missed"] == [
        "log_model forest: workbench vs mlflow"
    ]
    assert not (tmp_path / "results" / "latest.tmp").exists()


def test_malformed_rows_are_refused_with_the_missing_keys():
    with pytest.raises(ValueError, match="lacks .*ratio"):
        check_rows(
            [{"name": "x", "value": 1, "unit": "s", "baseline": 1, "goal": 1, "met": 1}], "x"
        )
    with pytest.raises(ValueError, match="not a list"):
        check_rows({"name": "x"}, "x")


def test_the_real_benchmarks_are_discovered_in_order_and_import():
    names = discover("benchmarks")
    assert names[:5] == ["log_model", "import", "serving", "drift", "demo"]
    import importlib

    for name in ("log_model", "import", "demo"):
        assert callable(importlib.import_module(f"benchmarks.bench_{name}").run)


# --------------------------------------------------------------------------- the runner end to end


def _fake_package(tmp_path, name, modules):
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for module, body in modules.items():
        (pkg / f"bench_{module}.py").write_text(textwrap.dedent(body))
    return tmp_path


OK = """
    def run(smoke):
        return [{"name": "fake ok", "value": 1.0, "unit": "s", "baseline": 2.0, "ratio": 0.5,
                 "goal": "<= 1", "met": True}]
"""
BOOM = """
    def run(smoke):
        raise RuntimeError("the benchmark broke")
"""
BROKEN_IMPORT = """
    import no_such_module_anywhere
    def run(smoke):
        return []
"""


def _run(tmp_path, package, *args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    out = tmp_path / f"{package}.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--package", package, "--out", str(out), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc, json.loads(out.read_text()) if out.exists() else None


def test_a_module_that_raises_makes_the_run_exit_non_zero_after_writing_the_rest(tmp_path):
    _fake_package(tmp_path, "fakebench_boom", {"ok": OK, "boom": BOOM})
    proc, report = _run(tmp_path, "fakebench_boom", "--smoke")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED: boom" in proc.stderr
    names = [r["name"] for r in report["figures"]]
    assert names == ["bench_boom", "fake ok"]  # discovery is alphabetical after the known order
    boom = report["figures"][0]
    assert boom["met"] is False and "RuntimeError: the benchmark broke" in boom["note"]
    assert {m["module"]: m["status"] for m in report["modules"]} == {"boom": "error", "ok": "ok"}
    assert "fake ok" in proc.stdout and "the benchmark broke" in proc.stdout


def test_all_modules_fine_exits_zero(tmp_path):
    _fake_package(tmp_path, "fakebench_ok", {"ok": OK})
    proc, report = _run(tmp_path, "fakebench_ok", "--smoke")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [r["name"] for r in report["figures"]] == ["fake ok"]


def test_an_import_failure_is_not_available_and_fails_only_the_smoke_run(tmp_path):
    _fake_package(tmp_path, "fakebench_imp", {"ok": OK, "broken": BROKEN_IMPORT})
    proc, report = _run(tmp_path, "fakebench_imp")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = next(r for r in report["figures"] if r["name"] == "bench_broken")
    assert broken["value"] is None and "not available: import failed" in broken["note"]
    smoke, _ = _run(tmp_path, "fakebench_imp", "--smoke")
    assert smoke.returncode == 1


def test_only_runs_the_named_module_and_refuses_unknown_names(tmp_path):
    _fake_package(tmp_path, "fakebench_only", {"ok": OK, "boom": BOOM})
    proc, report = _run(tmp_path, "fakebench_only", "--smoke", "--only", "ok")
    assert proc.returncode == 0
    assert [m["module"] for m in report["modules"]] == ["ok"]
    proc, _ = _run(tmp_path, "fakebench_only", "--only", "nope")
    assert proc.returncode != 0 and "no benchmark called nope" in proc.stderr
