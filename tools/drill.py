"""The disaster drill (`make drill`): back up a workspace while a journey runs in it, lose the
workspace, restore it, and prove it whole.

1. A fresh workspace runs `workbench demo --quick` (train, check, promote, serve, monitor, retrain).
2. Once it has a champion and monitoring runs, `workbench backup` takes an archive while the
   journey goes on, and the champion's predictions on 200 fixed rows are noted.
3. The disaster: the journey is killed and the workspace folder deleted.
4. `workbench restore --accept-older` puts the last backup back in the same folder.
5. Then: `workbench history credit-risk --verify` is intact; the restored champion, served by the
   real model server, answers the same 200 rows with the same predictions; every monitoring run the
   backup holds is there with its files.

Each step's time is printed and written to ``<workspace>/reports/drill.json``; the exit code is
0 when every check holds, 1 otherwise. Everything runs in a scratch folder (its keys too) that is
removed at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODEL = "credit-risk"


def main(argv: list[str] | None = None) -> int:
    """Run the drill; 0 when every check holds."""
    parser = argparse.ArgumentParser(prog="make drill", description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="workbench-drill-"))
    os.environ["WORKBENCH_KEYS_DIR"] = str(scratch / "keys")  # this drill's own signing keys
    for name in ("MLFLOW_TRACKING_URI", "WORKBENCH_WORKSPACE"):
        os.environ.pop(name, None)
    try:
        result = _drill(scratch / "ws", scratch / "backups")
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result, indent=2) if args.json else _table(result))
    return 0 if result["ok"] else 1


def _drill(ws: Path, backups: Path) -> dict:
    import workbench as wb
    from workbench.data import credit_risk

    steps: dict[str, float] = {}
    checks: dict[str, bool] = {}
    ws.mkdir(parents=True)
    backups.mkdir()
    started = time.perf_counter()
    journey = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "--workspace", str(ws), "demo", "--quick"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wb.open_workspace(ws)
        while not _ready_to_back_up(wb):  # a champion and a few monitoring runs
            if journey.poll() is not None:
                break
            time.sleep(1)
        steps["journey until the backup"] = time.perf_counter() - started
        mark = time.perf_counter()
        taken = wb.backup(backups, workspace=ws)
        steps["backup (journey running)"] = time.perf_counter() - mark
        still_running = journey.poll() is None
    finally:
        _kill_family(journey)  # the disaster strikes mid-journey
    manifest = json.loads(_manifest(taken.archive))["record"]
    record = manifest["models"][MODEL]
    in_flight = set(manifest.get("in_flight_runs") or [])
    champion = int(record["aliases"]["champion"])
    rows = credit_risk(200, seed=11).drop(columns=["default"])
    before = wb.score(f"models:/{MODEL}/{champion}", rows, progress=False)

    mark = time.perf_counter()
    shutil.rmtree(ws)
    steps["workspace deleted"] = time.perf_counter() - mark
    mark = time.perf_counter()
    back = wb.restore(taken.archive, ws, accept_older=True)
    steps["restore and its verification"] = time.perf_counter() - mark

    mark = time.perf_counter()
    verify = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "--workspace", str(ws), "history", MODEL,
         "--verify"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    checks["history --verify intact"] = verify.returncode == 0 and "intact" in verify.stdout
    steps["history --verify"] = time.perf_counter() - mark

    mark = time.perf_counter()
    wb.open_workspace(ws)
    server = wb.serve(f"models:/{MODEL}@champion", workers=1)
    try:
        served = server.predict(rows, allow_extra=True)
    finally:
        server.stop()
    expected = [str(v) for v in before["prediction"].tolist()]
    differ = sum(a != b for a, b in zip([str(v) for v in served], expected, strict=True))
    checks["the champion serves the same predictions"] = (
        str(server.version) == str(champion) and differ == 0
    )
    steps["champion served and compared"] = time.perf_counter() - mark

    mark = time.perf_counter()
    history = wb.monitoring_history(MODEL)
    runs = len(history.frame)
    finished, without_files = _finished_runs(history, in_flight, taken.archive)
    checks["the monitoring history is whole"] = finished > 0 and not without_files
    steps["monitoring history read"] = time.perf_counter() - mark
    checks["the restore verified intact"] = back.intact
    result = {
        "ok": all(checks.values()),
        "checks": checks,
        "seconds": {k: round(v, 2) for k, v in steps.items()},
        "archive_bytes": taken.size,
        "journey_still_running_at_backup": still_running,
        "champion": champion,
        "served_version": str(server.version),
        "predictions_that_differ": differ,
        "monitoring_runs": runs,
        "runs_without_files": without_files,
        "restore": back.summary(),
        "notes": back.notes,
    }
    (ws / "reports").mkdir(exist_ok=True)
    (ws / "reports" / "drill.json").write_text(json.dumps(result, indent=2))
    return result


def _ready_to_back_up(wb) -> bool:
    try:
        wb.get_version(MODEL, "champion")
        return len(wb.monitoring_history(MODEL).frame) >= 3
    except Exception:  # nothing registered or monitored yet
        return False


def _kill_family(journey: subprocess.Popen) -> None:
    """SIGKILL the journey and every process under it. Its notebook kernels run in sessions of
    their own, out of reach of a group kill: one left alive would go on writing into the restored
    workspace (a run still running at the backup, finished there without its files)."""
    import psutil

    try:
        family = [psutil.Process(journey.pid), *psutil.Process(journey.pid).children(True)]
    except psutil.Error:
        family = []
    if journey.poll() is None:
        os.killpg(journey.pid, signal.SIGKILL)
    for proc in family:
        try:
            proc.kill()
        except psutil.Error:
            pass
    journey.wait()
    psutil.wait_procs(family, timeout=10)


def _finished_runs(history, in_flight: set[str], archive: str) -> tuple[int, list[dict]]:
    """How many monitoring runs had finished at the backup, and those of them without files after
    the restore (one still running then had not written them all yet, and the restore's notes say
    so): for each, its status, times, and its status in the backup's store ("absent": a run
    written after the restore, by a process the disaster did not stop)."""
    import mlflow

    client = mlflow.MlflowClient()
    finished, missing = 0, []
    for run_id in history.frame["run_id"]:
        info = client.get_run(run_id).info
        if run_id in in_flight or info.status != "FINISHED":
            continue
        finished += 1
        if not client.list_artifacts(run_id):
            missing.append({
                "run_id": run_id, "start_time": info.start_time, "end_time": info.end_time,
            })  # fmt: skip
    if missing:  # the backup's store is read only to explain a failure
        in_backup = _backup_runs(archive)
        for run in missing:
            run["in_backup"] = in_backup.get(run["run_id"], "absent")
    return finished, missing


def _backup_runs(archive: str) -> dict[str, str]:
    """Run id -> status in the backup's own store."""
    import sqlite3
    import tarfile

    with tempfile.TemporaryDirectory() as tmp, tarfile.open(archive) as tar:
        db = Path(tmp) / "mlflow.db"
        db.write_bytes(tar.extractfile("store/mlflow.db").read())
        with sqlite3.connect(db) as con:
            return dict(con.execute("SELECT run_uuid, status FROM runs").fetchall())


def _manifest(archive: str) -> str:
    import tarfile

    with tarfile.open(archive) as tar:
        return tar.extractfile("manifest.json").read().decode()


def _table(result: dict) -> str:
    lines = ["# make drill: back up during a journey, lose the workspace, restore", ""]
    lines += [f"  {seconds:7.2f} s  {step}" for step, seconds in result["seconds"].items()]
    lines.append("")
    lines += [f"  {'ok  ' if ok else 'FAIL'}  {check}" for check, ok in result["checks"].items()]
    lines += ["", f"  {result['restore']}"] + [f"  note: {n}" for n in result["notes"]]
    lines.append(f"\n# drill {'passed' if result['ok'] else 'FAILED'}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
