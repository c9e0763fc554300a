"""The workspace: where things live, and which tracking store wins."""

from __future__ import annotations

import os

import workbench as wb


def test_open_workspace_makes_the_layout_and_sets_the_store(tmp_path):
    import mlflow

    ws = wb.open_workspace(tmp_path)
    assert (tmp_path / "mlruns" / "artifacts").is_dir()
    assert (tmp_path / "reports").is_dir() and (tmp_path / "runs").is_dir()
    assert ws.tracking_uri == f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    assert mlflow.get_tracking_uri() == ws.tracking_uri
    assert not ws.shared
    assert "--backend-store-uri" in ws.ui_command()


def test_workspace_is_found_from_a_notebook_folder(tmp_path, monkeypatch):
    (tmp_path / "mlruns").mkdir()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert wb.workspace.find_root() == tmp_path.resolve()
    assert wb.open_workspace().root == tmp_path.resolve()


def test_a_users_tracking_uri_wins_but_ours_does_not_stick(tmp_path, monkeypatch):
    first = wb.open_workspace(tmp_path / "a")
    second = wb.open_workspace(tmp_path / "b")  # the URI MLflow exported for "a" is not a user's
    assert second.tracking_uri != first.tracking_uri and not second.shared
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'team.db'}")
    shared = wb.open_workspace(tmp_path / "c")
    assert shared.shared and shared.tracking_uri.endswith("team.db")


def _python(code: str, env: dict) -> str:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def test_open_workspace_turns_telemetry_off_for_itself_and_its_children(tmp_path):
    # MLflow turns telemetry off by itself under CI or pytest: unset those to see the workbench's
    # own setting at work (importing mlflow happens after the workspace opened, so nothing starts).
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_CURRENT_TEST")}
    env = {k: v for k, v in env.items() if k not in ("DO_NOT_TRACK", "MLFLOW_DISABLE_TELEMETRY")}
    code = (
        "import os, subprocess, sys, workbench as wb\n"
        f"wb.open_workspace({str(tmp_path)!r})\n"
        "from mlflow.telemetry import get_telemetry_client\n"
        "from mlflow.telemetry.utils import is_telemetry_disabled\n"
        "child = subprocess.run([sys.executable, '-c', 'import os; "
        'print(os.environ.get("DO_NOT_TRACK"), os.environ.get("MLFLOW_DISABLE_TELEMETRY"))\'],'
        " capture_output=True, text=True).stdout.strip()\n"
        "print(is_telemetry_disabled(), get_telemetry_client() is None, child)\n"
    )
    assert _python(code, env) == "True True true true"


def test_telemetry_is_an_explicit_opt_in(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if k not in ("DO_NOT_TRACK", "MLFLOW_DISABLE_TELEMETRY")
    }
    env["CI"] = "true"  # keep MLflow's own CI switch on: this test must not start a client
    env["WORKBENCH_TELEMETRY"] = "on"
    code = (
        "import os, workbench as wb\n"
        f"wb.open_workspace({str(tmp_path)!r})\n"
        "print(os.environ.get('DO_NOT_TRACK'), os.environ.get('MLFLOW_DISABLE_TELEMETRY'))\n"
    )
    assert _python(code, env) == "None None"


def test_a_users_server_stays_the_store_when_the_workspace_is_opened_again(tmp_path, monkeypatch):
    """The demo runs eight notebooks in one kernel, each opening the workspace: a team server must
    stay the store, and once the user drops it, nothing of it may stick (the registry included)."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    first = wb.open_workspace(tmp_path / "a")
    second = wb.open_workspace(tmp_path / "a")
    assert first.shared and second.shared and second.tracking_uri == "http://127.0.0.1:9"
    assert mlflow.get_registry_uri() == "http://127.0.0.1:9"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    local = wb.open_workspace(tmp_path / "b")
    assert not local.shared and local.tracking_uri.startswith("sqlite:///")
    assert mlflow.get_registry_uri() == local.tracking_uri


def test_opening_a_made_store_leaves_mlflow_unloaded_until_used(tmp_path):
    """A notebook that only computes drift never pays MLflow's import: the store is pointed at
    through the environment, which MLflow reads when it is imported (as do child processes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "WORKBENCH_"))}
    _python(f"import workbench as wb; wb.open_workspace({str(tmp_path)!r})", env)  # makes it
    code = (
        "import sys, workbench as wb\n"
        f"ws = wb.open_workspace({str(tmp_path)!r})\n"
        "loaded = 'mlflow' in sys.modules\n"
        "import mlflow\n"
        "print(loaded, mlflow.get_tracking_uri() == ws.tracking_uri,"
        " mlflow.get_registry_uri() == ws.tracking_uri,"
        " [e.name for e in mlflow.MlflowClient().search_experiments()])\n"
    )
    assert _python(code, env) == "False True True ['Default']"
