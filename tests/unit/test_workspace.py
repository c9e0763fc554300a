"""The workspace: where things live, and which tracking store wins."""

from __future__ import annotations

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
