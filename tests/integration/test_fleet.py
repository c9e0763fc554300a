"""The nightly fleet end to end: ``workbench monitor --plan plan.yaml -j 2`` over real files, a real
registered model, real worker processes, a real MLflow store, a notebook job through papermill and
a real webhook receiving the alerts.

Each job must get what a single ``workbench monitor`` gives it (its report folder, its MLflow run,
its exit code, its alert, the same verdict), a bad job must fail alone, and the fleet's exit code
must be the worst of them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import mlflow
import psutil
import pytest

from tests.integration.test_notify import webhook
from workbench.data import credit_risk, production_batch

pytestmark = [pytest.mark.notebook]


@pytest.fixture(scope="module")
def fleet_ws(tmp_path_factory):
    """A workspace with a registered champion, a reference table and four production days."""
    import workbench as wb

    folder = tmp_path_factory.mktemp("fleet")
    ws = wb.open_workspace(folder / "ws")
    reference = credit_risk(3000, seed=1)
    wb.train_and_log(reference, "default", name="credit-risk", family="logistic_regression",
                     alias="champion")  # fmt: skip
    data = folder / "data"
    data.mkdir()
    reference.to_csv(data / "ref.csv", index=False)
    production_batch(3, "none", n=800, seed=5).to_csv(data / "clean.csv", index=False)
    production_batch(6, "gradual_shift", n=800, seed=5).to_csv(data / "shifted.csv", index=False)
    (data / "broken.csv").write_text('age,income\n1,"2\n')  # an unterminated quote
    return ws, folder


def _cli(ws, *args, timeout=600):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    return subprocess.run(
        [sys.executable, "-m", "workbench.cli", "--workspace", str(ws.root), "monitor", *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip


def test_a_plan_runs_each_job_as_its_own_monitoring_run(fleet_ws):
    ws, folder = fleet_ws
    plan = folder / "plan.yaml"
    plan.write_text(
        "defaults:\n  reference: data/ref.csv\n  notify_always: true\n"
        "jobs:\n"
        "  - {name: clean, current: data/clean.csv}\n"
        "  - {name: shifted, current: data/shifted.csv, fail_on_drift: true}\n"
        "  - {name: scored, current: data/shifted.csv, model: 'models:/credit-risk@champion'}\n"
        "  - {name: missing, current: data/no-such-day.csv}\n"
        "  - {name: broken, current: data/broken.csv}\n"
        "  - {name: no-model, current: data/clean.csv, model: 'models:/no-such-model@champion'}\n"
        "  - {name: in-notebook, current: data/shifted.csv, report: notebook}\n"
    )
    with webhook() as (received, url):
        proc = _cli(ws, "--plan", str(plan), "-j", "2", "--json", "--notify", url)
    assert proc.returncode == 2, proc.stderr  # the worst: invalid input (a failed run would be 1)
    fleet = json.loads(proc.stdout)
    jobs = {job["name"]: job for job in fleet["jobs"]}
    assert list(jobs) == ["clean", "shifted", "scored", "missing", "broken", "no-model",
                          "in-notebook"]  # fmt: skip
    assert fleet["workers"] == 2 and fleet["exit_code"] == 2
    assert (jobs["clean"]["status"], jobs["clean"]["exit_code"]) == ("ok", 0)
    assert (jobs["shifted"]["status"], jobs["shifted"]["exit_code"]) == ("drift", 3)
    assert jobs["scored"]["status"] == "drift" and jobs["scored"]["exit_code"] == 0
    assert "prediction" in jobs["scored"]["drifted_columns"]  # the model scored both tables
    assert (jobs["missing"]["status"], jobs["missing"]["exit_code"]) == ("invalid", 2)
    assert "no-such-day.csv" in jobs["missing"]["error"]
    assert (jobs["broken"]["status"], jobs["broken"]["exit_code"]) == ("invalid", 2)
    assert "broken.csv" in jobs["broken"]["error"]
    assert (jobs["no-model"]["status"], jobs["no-model"]["exit_code"]) == ("failed", 2)
    assert "no-such-model" in jobs["no-model"]["error"]
    nb = jobs["in-notebook"]
    assert nb["status"] == "drift" and nb["executed_notebook"] and nb["run_id"]
    assert os.path.exists(nb["executed_notebook"])
    # every judged job: its own folder with the report, its own MLflow run, tagged with its data
    for name in ("clean", "shifted", "scored", "in-notebook"):
        job = jobs[name]
        assert os.path.getsize(os.path.join(job["report_folder"], "report.html")) > 100_000
        summary = json.load(open(os.path.join(job["report_folder"], "summary.json")))
        assert summary["status"] == job["status"]
        run = mlflow.MlflowClient(ws.tracking_uri).get_run(job["run_id"])
        assert run.info.status == "FINISHED"
    assert len({jobs[n]["run_id"] for n in ("clean", "shifted", "scored", "in-notebook")}) == 4
    # an alert per job (notify_always), each naming its job's outcome
    statuses = sorted(body.get("status") for _, body in received)
    assert len(received) == 7, statuses
    assert statuses.count("drift") == 3 and statuses.count("ok") == 1
    assert statuses.count("invalid") >= 2
    # a line per job on stderr as it was recorded, and fleet.json beside the jobs' folders
    assert proc.stderr.count("] ") >= 7 and "[7/7]" in proc.stderr
    saved = json.load(open(os.path.join(fleet["folder"], "fleet.json")))
    assert saved["exit_code"] == 2 and len(saved["jobs"]) == 7


def test_the_fleet_says_what_a_single_monitor_run_says(fleet_ws):
    """One verdict: a job of the plan and ``workbench monitor`` on the same files agree."""
    ws, folder = fleet_ws
    plan = folder / "one.yaml"
    plan.write_text("jobs:\n  - {reference: data/ref.csv, current: data/shifted.csv}\n")
    fleet = _cli(ws, "--plan", str(plan), "--json")
    single = _cli(ws, "--reference", str(folder / "data/ref.csv"), "--current",
                  str(folder / "data/shifted.csv"), "--json")  # fmt: skip
    assert fleet.returncode == single.returncode == 0, fleet.stderr + single.stderr
    job = json.loads(fleet.stdout)["jobs"][0]
    alone = json.loads(single.stdout)
    assert job["status"] == alone["status"] == "drift"
    assert job["drifted_columns"] == alone["drifted_columns"]


def test_a_killed_worker_fails_its_jobs_and_the_others_run_on(fleet_ws):
    import workbench as wb

    ws, folder = fleet_ws
    wb.open_workspace(ws.root)
    big = folder / "data" / "big.csv"  # day1 is still running when day0's answer arrives
    if not big.exists():
        production_batch(3, "none", n=150_000, seed=6).to_csv(big, index=False)
    jobs = [{"name": f"day{i}", "reference": str(folder / "data/ref.csv"),
             "current": str(big if i == 1 else folder / "data/clean.csv")} for i in range(6)]  # fmt: skip
    killed: list[int] = []

    def kill_the_workers(outcome, done, total):
        if killed:
            return
        workers = [p for p in psutil.Process().children() if _is_worker(p)]
        assert workers, "no worker process found"
        for worker in workers:
            os.kill(worker.pid, signal.SIGKILL)
            killed.append(worker.pid)

    result = wb.monitor_plan(jobs, workers=2, progress=kill_the_workers)
    by_name = {job.name: job for job in result.jobs}
    assert killed and len(by_name) == 6
    assert by_name["day0"].status == "ok"
    assert by_name["day1"].status == "failed"
    died = [job for job in result.jobs if job.status == "failed"]
    assert all("worker process running it died" in job.error for job in died)
    # at most the one job sent while the pool was dying is lost with it; a fresh pool took the rest
    assert len(died) <= 2 and by_name["day5"].status == by_name["day4"].status == "ok"
    assert result.exit_code == 1
    left = [p for p in psutil.Process().children() if _is_worker(p)]
    assert left == []


def _is_worker(proc: psutil.Process) -> bool:
    """A live fleet worker: a direct child started by multiprocessing's spawn (a zombie, or a
    process gone meanwhile, is not: this test's process may have other children, from other tests,
    in any state; a model server's uvicorn workers, grandchildren, are spawned the same way)."""
    try:
        return proc.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(proc.cmdline())
    except (psutil.ZombieProcess, psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def test_a_bad_plan_runs_nothing_and_exits_2(fleet_ws, capsys):
    """Refused before any worker, folder or kernel: in this process (the exit code and the one
    line are main()'s, as in a subprocess)."""
    from workbench.cli import main

    ws, folder = fleet_ws

    def refused(*args: str) -> str:
        code = main(["--workspace", str(ws.root), "monitor", *args])
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err, err
        return err

    plan = folder / "bad.yaml"
    plan.write_text("jobs:\n  - {reference: data/ref.csv, curent: data/clean.csv}\n")
    assert "did you mean 'current'" in refused("--plan", str(plan))
    assert "drop --reference" in refused("--plan", str(plan), "--reference", "x.csv")
    good = folder / "good.yaml"
    good.write_text("jobs:\n  - {reference: data/ref.csv, current: data/clean.csv}\n")
    assert "neither an http" in refused("--plan", str(good), "--notify", "not-a-target")
    assert "workers must be" in refused("--plan", str(good), "-j", "0")


def test_workers_do_not_outlive_a_killed_fleet(fleet_ws):
    """A scheduler's time-out kills the command: its workers go with it, within seconds."""
    ws, folder = fleet_ws
    plan = folder / "many.yaml"
    plan.write_text(
        "defaults: {reference: data/ref.csv}\njobs:\n"
        + "".join(f"  - {{name: day{i}, current: data/clean.csv}}\n" for i in range(12))
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING")}
    cmd = [sys.executable, "-m", "workbench.cli", "--workspace", str(ws.root), "monitor",
           "--plan", str(plan), "-j", "2"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        workers: list[psutil.Process] = []
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            workers = [
                p for p in psutil.Process(proc.pid).children()
                if "spawn_main" in " ".join(p.cmdline())
            ]  # fmt: skip
        assert len(workers) == 2, "the fleet started no workers"
        proc.kill()
        proc.wait(timeout=10)
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert alive == [], f"workers outlived the fleet: {[p.pid for p in alive]}"
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in workers:
            if p.is_running():
                p.kill()
