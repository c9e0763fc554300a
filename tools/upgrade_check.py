"""Would the newest MLflow and Evidently break the workbench (``make upgrade-check``)?

Builds a scratch virtualenv in a temporary folder with the newest ``mlflow`` and ``evidently``
that pip can resolve together with the rest of ``requirements.lock`` (every pin but mlflow,
mlflow-skinny, mlflow-tracing and evidently), installs the package itself with ``--no-deps``,
then runs ``tests/unit/test_vendor_private.py`` (every private MLflow/Evidently name the package
relies on) and ``tests/unit``. It prints the versions it tried, why a newer one was passed over
(for instance ``mlflow`` 3.18.0 needing an ``mlflow-tracing`` 3.18.0 the index does not have),
the versions it ran with and each step's result. When a newer mlflow exists but does not resolve,
it is then forced in with ``--no-deps`` and the vendor test alone is run against that unsupported
mix (a probe, which does not change the exit code). Nothing outside the temporary folder changes
(the tests run on this checkout's ``workbench/``); the folder is removed unless ``--keep``.

Exit codes: 0 both test runs passed, 1 a test run failed, 2 no environment could be built.

Usage::

    python tools/upgrade_check.py [--mlflow VERSION] [--evidently VERSION] [--vendor-only] [--keep]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
#: Pins left out of the lock: the packages under test and those released in step with MLflow.
FAMILY = {
    "mlflow": ("mlflow", "mlflow-skinny", "mlflow-tracing"),
    "evidently": ("evidently",),
}
VENDOR_TEST = "tests/unit/test_vendor_private.py"
#: Most versions tried per package before giving up (newest first, never older than the lock's).
MAX_TRIES = 6


def say(text: str = "") -> None:
    """One line of the report, at once (the steps take minutes)."""
    print(text, flush=True)


def _name(requirement: str) -> str:
    return re.split(r"[=<>!~;\[ ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def read_lock(path: Path = LOCK) -> tuple[list[str], dict[str, str]]:
    """``(the lock's other lines, {package: pinned version})`` for the packages in :data:`FAMILY`."""
    family = {n for names in FAMILY.values() for n in names}
    rest, pinned = [], {}
    for line in path.read_text().splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name = _name(text)
        if name in family:
            pinned[name] = text.split("==", 1)[1].strip() if "==" in text else ""
        else:
            rest.append(text)
    return rest, pinned


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _is_release(version: str) -> bool:
    return re.fullmatch(r"\d+(\.\d+)*", version) is not None


def available_versions(python: str, package: str) -> list[str]:
    """Final releases of ``package`` on the index, newest first (empty when pip cannot say)."""
    run = subprocess.run(
        [python, "-m", "pip", "index", "versions", package],
        capture_output=True,
        text=True,
        timeout=300,
    )
    found = re.search(r"Available versions:\s*(.+)", run.stdout)
    if run.returncode != 0 or not found:
        return []
    versions = [v.strip() for v in found.group(1).split(",")]
    return sorted((v for v in versions if _is_release(v)), key=_key, reverse=True)


def candidates(python: str, package: str, pinned: str, forced: str | None) -> list[str]:
    """Versions to try for ``package``: ``forced`` alone, or the index's releases from the
    newest down to the lock's pin (at most :data:`MAX_TRIES`; the pin itself always last)."""
    if forced:
        return [forced]
    newer = [v for v in available_versions(python, package) if not pinned or _key(v) > _key(pinned)]
    tries = newer[: MAX_TRIES - 1]
    return [*tries, pinned] if pinned else tries or [""]


def pip_reason(output: str) -> str:
    """The line of pip's output that says why a resolution failed."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for marker in ("No matching distribution", "ResolutionImpossible", "conflict", "ERROR"):
        hit = [line for line in lines if marker in line]
        if hit:
            return hit[0][:300]
    return (lines[-1] if lines else "pip failed")[:300]


def resolves(python: str, base: Path, requirements: list[str]) -> tuple[bool, str]:
    """Whether pip can resolve ``requirements`` under the lock's other pins (a dry run with the
    pins as constraints: only the requirements' own dependency tree is resolved)."""
    run = subprocess.run(
        [python, "-m", "pip", "install", "--dry-run", "--quiet", "-c", str(base), *requirements],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    return run.returncode == 0, pip_reason(run.stdout + run.stderr)


def pick(
    python: str,
    base: Path,
    package: str,
    tries: list[str],
    others: list[str],
    lock_pin: str | None = None,
) -> tuple[str | None, list[tuple[str, str]]]:
    """The newest of ``tries`` that resolves beside ``others``, and each refused one's reason.
    ``lock_pin``: the lock's version of ``package`` when ``others`` are the lock's pins too (that
    combination resolved when the lock was made: it is taken without a dry run)."""
    refused = []
    for version in tries:
        if lock_pin and version == lock_pin:
            return version, refused
        spec = f"{package}=={version}" if version else package
        ok, reason = resolves(python, base, [spec, *others])
        if ok:
            return version, refused
        refused.append((version or "(newest)", reason))
        say(f"  {package} {version or '(newest)'}: does not resolve: {reason}")
    return None, refused


def install(python: str, args: list[str], log: Path) -> None:
    """``pip install ARGS`` in the scratch environment, its output appended to ``log``; on a
    failure the output's last lines are printed and :class:`subprocess.CalledProcessError` raised."""
    run = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", *args], capture_output=True, text=True
    )
    with open(log, "a") as out:
        out.write(run.stdout + run.stderr)
    if run.returncode != 0:
        for line in (run.stdout + run.stderr).splitlines()[-20:]:
            say("  " + line)
        raise subprocess.CalledProcessError(run.returncode, ["pip", "install", *args])


def installed_version(python: str, package: str) -> str:
    """The version of ``package`` in the scratch environment."""
    code = f"import importlib.metadata as m; print(m.version({package!r}))"
    run = subprocess.run([python, "-c", code], capture_output=True, text=True)
    return run.stdout.strip() or "not installed"


def pytest_summary(output: str) -> str:
    """The closing line of pytest's output (``3 passed, 1 failed in 12.3s``)."""
    for line in reversed(output.splitlines()):
        if re.search(r"\b(passed|failed|error|errors|no tests ran)\b", line):
            return line.strip("= ").strip()
    return "no summary line"


def run_tests(python: str, env: dict[str, str], args: list[str], log: Path) -> tuple[bool, str]:
    """``python -m pytest ARGS`` from the checkout; its output goes to ``log``."""
    started = time.monotonic()
    with open(log, "w") as out:
        run = subprocess.run(
            [python, "-m", "pytest", *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    text = log.read_text()
    summary = f"{pytest_summary(text)} [{time.monotonic() - started:.0f} s wall]"
    return run.returncode == 0, summary


def probe_newest(
    python: str, env: dict[str, str], version: str, scratch: Path, common: list[str]
) -> str:
    """The vendor test against an ``mlflow`` that does not resolve, forced in over the tested
    environment with ``--no-deps`` (mlflow and mlflow-skinny only; its other pins, such as a
    missing ``mlflow-tracing``, stay as they are): an unsupported mix that still says early which
    private names that release moved. Runs after the real tests; its line says what it was."""
    say(f"probing mlflow {version} (forced with --no-deps, unsupported mix) ...")
    log = scratch / "probe.log"
    try:
        install(python, ["--no-deps", f"mlflow=={version}", f"mlflow-skinny=={version}"], log)
    except subprocess.CalledProcessError:
        return f"probe mlflow {version}: could not be installed even with --no-deps"
    mix = f"mlflow {installed_version(python, 'mlflow')}, mlflow-tracing " + installed_version(
        python, "mlflow-tracing"
    )
    ok, summary = run_tests(python, env, [VENDOR_TEST, *common, "-W", "ignore"], log)
    lines = [
        f"probe ({mix}, forced with --no-deps: not an installable stack): {VENDOR_TEST}: "
        f"{'PASS' if ok else 'FAIL'} ({summary})"
    ]
    if not ok:
        lines += [
            "  " + line[1:].strip()
            for line in log.read_text().splitlines()
            if line.startswith("E ")
        ]
    return "\n".join(lines)


def _package_copy(where: Path) -> Path:
    """The files the package is built from, copied (the build writes nothing into the checkout)."""
    copy = where / "src"
    copy.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, copy / name)
    shutil.copytree(
        ROOT / "workbench", copy / "workbench", ignore=shutil.ignore_patterns("__pycache__")
    )
    return copy


def _failures(log: Path, limit: int = 25) -> list[str]:
    lines = [line for line in log.read_text().splitlines() if line.startswith(("FAILED", "ERROR"))]
    return lines[:limit]


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(f"upgrade-check: stopped by signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Build the scratch environment, run the tests, print the report; the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlflow", help="try this mlflow version only")
    parser.add_argument("--evidently", help="try this evidently version only")
    parser.add_argument("--vendor-only", action="store_true", help=f"run {VENDOR_TEST} only")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the scratch venv")
    args = parser.parse_args(argv)

    started = time.monotonic()
    signal.signal(signal.SIGTERM, _stop)  # a timeout's SIGTERM still removes the scratch folder
    rest, pinned = read_lock()
    scratch = Path(tempfile.mkdtemp(prefix="workbench-upgrade-check-"))
    say(f"upgrade-check: scratch environment in {scratch}")
    say(
        "lock pins: "
        + ", ".join(f"{n}=={v}" for n, v in sorted(pinned.items()))
        + f" (+{len(rest)} other pins, kept)"
    )
    try:
        venv = scratch / "venv"
        subprocess.run([args.python, "-m", "venv", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        base = scratch / "requirements-rest.txt"
        base.write_text("\n".join(rest) + "\n")

        say("resolving mlflow (newest first) ...")
        evidently_pin = (
            f"evidently=={pinned['evidently']}" if pinned.get("evidently") else "evidently"
        )
        mlflow_tries = candidates(python, "mlflow", pinned.get("mlflow", ""), args.mlflow)
        mlflow, mlflow_refused = pick(
            python, base, "mlflow", mlflow_tries, [evidently_pin], pinned.get("mlflow")
        )
        if mlflow is None:
            say("no mlflow version tried resolves with the rest of the lock: nothing to test")
            return 2
        mlflow_spec = f"mlflow=={mlflow}" if mlflow else "mlflow"
        say("resolving evidently (newest first) ...")
        evidently_tries = candidates(
            python, "evidently", pinned.get("evidently", ""), args.evidently
        )
        at_lock = mlflow == pinned.get("mlflow")
        evidently, evidently_refused = pick(
            python,
            base,
            "evidently",
            evidently_tries,
            [mlflow_spec],
            pinned.get("evidently") if at_lock else None,
        )
        if evidently is None:
            say("no evidently version tried resolves with the rest of the lock: nothing to test")
            return 2
        evidently_spec = f"evidently=={evidently}" if evidently else "evidently"

        say(f"installing {mlflow_spec}, {evidently_spec} and {len(rest)} other pins ...")
        pip_log = scratch / "pip.log"
        install(python, ["setuptools>=68", "wheel"], pip_log)
        install(python, ["-r", str(base), mlflow_spec, evidently_spec], pip_log)
        install(python, ["--no-deps", "--no-build-isolation", str(_package_copy(scratch))], pip_log)
        subprocess.run(
            [python, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"],
            check=False,
            capture_output=True,
        )
        versions = {
            name: installed_version(python, name)
            for name in ("mlflow", "mlflow-skinny", "mlflow-tracing", "evidently")
        }

        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        say(f"running {VENDOR_TEST} ...")
        vendor_log = scratch / "vendor.log"
        common = ["-q", "-p", "no:randomly", "-p", "no:cacheprovider"]
        vendor_ok, vendor_summary = run_tests(python, env, [VENDOR_TEST, *common], vendor_log)
        unit_ok, unit_summary, unit_log = True, "skipped (--vendor-only)", None
        if not args.vendor_only:
            say("running tests/unit ...")
            unit_log = scratch / "unit.log"
            unit_ok, unit_summary = run_tests(
                python, env, ["tests/unit", *common, "--timeout=900"], unit_log
            )

        probe = None
        if mlflow_refused and not args.mlflow:  # a newer mlflow exists but does not resolve
            probe = probe_newest(python, env, mlflow_refused[0][0], scratch, common)

        say()
        say("==== upgrade-check report ====")
        for package, tries, refused, chosen in (
            ("mlflow", mlflow_tries, mlflow_refused, mlflow),
            ("evidently", evidently_tries, evidently_refused, evidently),
        ):
            lock = pinned.get(package, "?")
            say(f"{package}: tried {', '.join(v or '(newest)' for v in tries)} (lock: {lock})")
            for version, reason in refused:
                say(f"  {version} passed over: {reason}")
            if refused:
                say(f"  fell back to {chosen}, the newest that resolves")
            if chosen == lock:
                say(f"  {chosen} is the lock's own pin: no newer {package} to test")
        say("installed: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
        say(f"{VENDOR_TEST}: {'PASS' if vendor_ok else 'FAIL'} ({vendor_summary})")
        if not vendor_ok:
            for line in vendor_log.read_text().splitlines():
                if line.startswith("E "):
                    say("  " + line[1:].strip())
        say(f"tests/unit: {'PASS' if unit_ok else 'FAIL'} ({unit_summary})")
        if unit_log is not None and not unit_ok:
            for line in _failures(unit_log):
                say("  " + line)
        if probe is not None:
            say(probe)
        ok = vendor_ok and unit_ok
        if not ok:  # the logs outlive the scratch folder
            logs = Path(tempfile.mkdtemp(prefix="workbench-upgrade-check-logs-"))
            for log in (vendor_log, unit_log, scratch / "pip.log"):
                if log is not None and log.exists():
                    shutil.copy2(log, logs / log.name)
            say(f"logs: {logs}")
        say(f"result: {'PASS' if ok else 'FAIL'} in {time.monotonic() - started:.0f} s")
        return 0 if ok else 1
    except subprocess.CalledProcessError as err:
        say(f"could not build the scratch environment: {err}")
        return 2
    finally:
        if args.keep:
            say(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
