"""The benchmark runner behind ``python -m benchmarks`` (``make bench``, ``make bench-smoke``).

Each ``bench_<name>.py`` module runs in its own Python process (a crash, a hang or a memory peak
stays with it) under the time left in the run. The parent collects the rows, writes
``benchmarks/results/latest.json`` (figures, machine, time, git commit) and prints a table.

* A module whose file is absent, or that fails to import, gives a "not available" row.
* A module that raises, returns malformed rows, or runs out of time gives an "error" row, and the
  run exits 1 (after writing everything else), in smoke mode as in a full run.
* In smoke mode (``make bench-smoke``, part of ``make test``) a module file that is present but
  fails to import fails the run too: the harness cannot rot unnoticed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import ROW_KEYS
from benchmarks._common import DEADLINE_ENV, not_available, row

#: The modules in the order they run; any other bench_*.py found in the package runs after them.
ORDER = (
    "log_model",
    "import",
    "serving",
    "drift",
    "demo",
    "monitor",
    "alarms",
    "scoring",
    "team_load",
)
# A full run on a quiet 2-core machine (8 Dec 2026): about 27 minutes of modules before Spark
# (serving and monitor about 6 each), then bench_spark's 20M-row tables, about 20 minutes.
FULL_BUDGET_S = 4500.0
# smoke: about 330 s of modules on 2 cores (Spark 86 s, the two team servers 75 s), with room for load
SMOKE_BUDGET_S = 600.0
RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 1-2 repetitions")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only bench_NAME")
    parser.add_argument(
        "--out", type=Path, help="JSON file (default benchmarks/results/latest.json)"
    )
    parser.add_argument("--budget", type=float, help="seconds for the whole run")
    parser.add_argument("--package", default="benchmarks", help=argparse.SUPPRESS)
    parser.add_argument("--child", metavar="NAME", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.package, args.child, args.smoke, args.child_out)

    budget = args.budget or (SMOKE_BUDGET_S if args.smoke else FULL_BUDGET_S)
    names = discover(args.package, args.only)
    started = time.time()
    deadline = started + budget
    rows: list[dict[str, Any]] = []
    modules: list[dict[str, Any]] = []
    for name in names:
        outcome = run_module(args.package, name, args.smoke, deadline)
        modules.append({k: v for k, v in outcome.items() if k != "rows"})
        rows.extend(outcome["rows"])
        print(f"# bench_{name}: {outcome['status']} in {outcome['seconds']:.1f} s", flush=True)
    report = build_report(rows, modules, smoke=args.smoke, started=started)
    out = args.out or RESULTS / ("smoke.json" if args.smoke else "latest.json")
    write_report(report, out)
    print(format_table(rows))
    failed = [m["module"] for m in modules if _failed(m, args.smoke)]
    print(f"# {len(rows)} figures in {report['seconds']:.0f} s -> {out}")
    if failed:
        print(f"# FAILED: {', '.join(failed)} (see the error rows above)", file=sys.stderr)
        return 1
    return 0


def _failed(module: dict[str, Any], smoke: bool) -> bool:
    if module["status"] == "error":
        return True
    return smoke and module["status"] == "not available" and module.get("present", False)


def discover(package: str, only: list[str] | None = None) -> list[str]:
    """Benchmark names to run: :data:`ORDER` first, then other ``bench_*.py`` files, sorted."""
    folder = Path(importlib.import_module(package).__file__).parent
    found = {p.stem.removeprefix("bench_") for p in folder.glob("bench_*.py")}
    names = [n for n in ORDER if n in found or package == "benchmarks"]
    names += sorted(found - set(names))
    if only:
        unknown = [n for n in only if n not in names]
        if unknown:
            raise SystemExit(f"no benchmark called {', '.join(unknown)}; known: {', '.join(names)}")
        names = [n for n in names if n in only]
    return names


def run_module(package: str, name: str, smoke: bool, deadline: float) -> dict[str, Any]:
    """Run ``bench_<name>`` in a child process; its rows and how it went."""
    started = time.time()
    left = deadline - started
    outcome: dict[str, Any] = {"module": name, "status": "ok", "error": None}
    if left <= 1:
        outcome.update(status="error", error="no time left in the run's budget")
        return _finish(outcome, name, started)
    with tempfile.TemporaryDirectory(prefix="wb-bench-") as tmp:
        result_file = Path(tmp) / "rows.json"
        cmd = [sys.executable, "-m", "benchmarks", "--package", package, "--child", name]
        cmd += ["--child-out", str(result_file)] + (["--smoke"] if smoke else [])
        env = {**os.environ, DEADLINE_ENV: str(deadline)}
        try:
            proc = subprocess.run(
                cmd, env=env, timeout=left, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
        except subprocess.TimeoutExpired as err:
            tail = _tail(err.output)
            outcome.update(status="error", error=f"still running after {left:.0f} s: {tail}")
            return _finish(outcome, name, started)
        if result_file.exists():
            outcome.update(json.loads(result_file.read_text()))
        else:
            outcome.update(
                status="error", error=f"exit code {proc.returncode}: {_tail(proc.stdout)}"
            )
        if proc.returncode not in (0, 1) and outcome["status"] == "ok":
            outcome.update(status="error", error=f"exit code {proc.returncode}")
        if outcome["status"] != "ok" and outcome.get("present", True):
            print(
                f"# bench_{name} output (last lines):\n{_tail(proc.stdout, 25, ' ')}",
                file=sys.stderr,
            )
    return _finish(outcome, name, started)


def _finish(outcome: dict[str, Any], name: str, started: float) -> dict[str, Any]:
    outcome["seconds"] = round(time.time() - started, 2)
    rows = outcome.get("rows") or []
    if outcome["status"] == "not available":
        rows = [not_available(f"bench_{name}", outcome["error"])]
    elif outcome["status"] == "error":
        rows = [
            *rows,
            row(f"bench_{name}", None, "", None, None, False, note=f"error: {outcome['error']}"),
        ]
    outcome["rows"] = rows
    return outcome


def _child(package: str, name: str, smoke: bool, out: Path | None) -> int:
    """In the child process: import and run one module, write its rows (or why not) as JSON."""
    result: dict[str, Any] = {"status": "ok", "error": None, "rows": []}
    try:
        module = importlib.import_module(f"{package}.bench_{name}")
    except Exception as err:
        traceback.print_exc()
        result.update(status="not available", error=f"import failed: {type(err).__name__}: {err}")
        module = None
    result["present"] = importlib.util.find_spec(package) is not None and any(
        (Path(p) / f"bench_{name}.py").exists() for p in importlib.import_module(package).__path__
    )
    if module is not None:
        try:
            rows = module.run(smoke=smoke)
            result["rows"] = check_rows(rows, name)
        except Exception as err:
            traceback.print_exc()
            result.update(status="error", error=f"{type(err).__name__}: {err}")
    text = json.dumps(result, indent=1, default=str)
    if out:
        out.write_text(text)
    else:
        print(text)
    return 1 if result["status"] == "error" else 0


def check_rows(rows: Any, name: str) -> list[dict[str, Any]]:
    """The rows as plain dicts, or ValueError naming what is wrong."""
    if not isinstance(rows, list):
        raise ValueError(f"bench_{name}.run returned {type(rows).__name__}, not a list of dicts")
    for i, item in enumerate(rows):
        if not isinstance(item, dict):
            raise ValueError(f"bench_{name} row {i} is {type(item).__name__}, not a dict")
        missing = [k for k in ROW_KEYS if k not in item]
        if missing:
            raise ValueError(
                f"bench_{name} row {i} ({item.get('name')}) lacks {', '.join(missing)}"
            )
    return json.loads(json.dumps(rows, default=str))


def build_report(
    rows: list[dict[str, Any]], modules: list[dict[str, Any]], *, smoke: bool, started: float
) -> dict[str, Any]:
    """The JSON document: figures, per-module status, machine, time and git commit."""
    return {
        "timestamp": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "seconds": round(time.time() - started, 1),
        "smoke": smoke,
        "git": git_info(),
        "machine": machine_info(),
        "modules": modules,
        "figures": rows,
        "goals_met": sum(r.get("met") is True for r in rows),
        "goals_missed": [r["name"] for r in rows if r.get("met") is False],
    }


def write_report(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=2, default=str) + "\n")
    tmp.replace(path)


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table: figure, value, baseline, ratio, goal, met; notes below their row."""
    header = ("figure", "value", "baseline", "ratio", "goal", "met")
    lines = []
    for r in rows:
        unit = f" {r['unit']}" if r.get("unit") and r.get("value") is not None else ""
        met = {True: "yes", False: "NO", None: "-"}.get(r.get("met"), str(r.get("met")))
        lines.append(
            (
                str(r["name"]),
                _num(r.get("value")) + unit,
                _num(r.get("baseline")),
                _num(r.get("ratio")),
                "" if r.get("goal") is None else str(r["goal"]),
                met,
            )
        )
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    for r, line in zip(rows, lines, strict=True):
        out.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if r.get("note"):
            out.append(f"    {r['note']}")
    return "\n".join(out)


def _num(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if value == 0 or 0.01 <= abs(value) < 100_000:
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return f"{value:.3g}"


def _tail(output: bytes | str | None, lines: int = 5, indent: str | None = None) -> str:
    if not output:
        return "no output"
    text = output.decode(errors="replace") if isinstance(output, bytes) else output
    last = text.strip().splitlines()[-lines:]
    return "\n".join(indent + line for line in last) if indent is not None else " | ".join(last)


def git_info() -> dict[str, Any]:
    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=5
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    try:
        with open("/proc/meminfo") as f:
            total = next(line for line in f if line.startswith("MemTotal"))
        info["memory_gb"] = round(int(total.split()[1]) / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        pass
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line for line in f if line.startswith("model name"))
        info["cpu"] = model.split(":", 1)[1].strip()
    except (OSError, StopIteration):
        pass
    from importlib.metadata import PackageNotFoundError, version

    packages = {}
    for dist in ("mlflow", "scikit-learn", "skops", "evidently", "pandas", "numpy"):
        try:
            packages[dist] = version(dist)
        except PackageNotFoundError:
            packages[dist] = None
    info["packages"] = packages
    return info
