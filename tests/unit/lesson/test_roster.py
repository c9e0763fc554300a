"""``class up --local``: one workspace folder per learner (learner.json, own SQLite store, the lesson
notebooks), a roster in the shared format, idempotent; clear errors. No server."""

from __future__ import annotations

import json
import sqlite3

import pytest

from workbench.cli import main
from workbench.errors import TeamError, UsageError
from workbench.lesson import roster
from workbench.lesson.roster import class_up, load_class


@pytest.fixture
def notebooks(tmp_path, monkeypatch):
    """Two lesson notebooks and the instructor's where the package looks for them."""
    folder = tmp_path / "lesson-notebooks"
    folder.mkdir()
    for name in ("1_train.ipynb", "2_check.ipynb", "instructor.ipynb"):
        (folder / name).write_text(json.dumps({"cells": [], "name": name}))
    (folder / "notes.txt").write_text("not a notebook")
    monkeypatch.setattr(roster, "LESSON_NOTEBOOKS", folder)
    return folder


@pytest.fixture
def quick_store(monkeypatch):
    """A stand-in for MLflow's new store (its migrations take seconds); one test makes real ones."""

    def new_store(db):
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE experiments (experiment_id, artifact_location)")
            conn.execute("INSERT INTO experiments VALUES (0, 'x')")

    monkeypatch.setattr(roster, "_new_store", new_store)


def test_a_local_class_is_a_folder_per_learner_with_the_shared_roster(tmp_path, notebooks):
    root = tmp_path / "class"
    room = class_up(3, local=True, root=root)
    assert room.names == ["learner-01", "learner-02", "learner-03"] == room.added
    data = json.loads((root / "class.json").read_text())
    assert set(data) == {"mode", "created", "tracking_uri", "learners"}
    assert data["mode"] == "local" and data["tracking_uri"] is None
    assert data["learners"][1] == {
        "name": "learner-02",
        "workspace": str(root / "learner-02"),
        "login": None,
        "model": "learner-02.credit-risk",
    }
    for name in room.names:
        folder = root / name
        assert json.loads((folder / "learner.json").read_text()) == {"name": name}
        assert sorted(p.name for p in (folder / "notebooks" / "lesson").iterdir()) == [
            "1_train.ipynb",
            "2_check.ipynb",
        ]
        db = folder / "mlruns" / "mlflow.db"  # its own store, its Default experiment its own
        with sqlite3.connect(db) as conn:
            (location,) = conn.execute(
                "SELECT artifact_location FROM experiments WHERE experiment_id = 0"
            ).fetchone()
        assert location == (folder / "mlruns" / "artifacts" / "0").as_uri()
    sheet = room.sheet()
    assert "3 learners, 3 new" in sheet and str(root / "learner-03") in sheet
    assert "learner-01" in room._repr_html_() and room.to_dict()["mode"] == "local"


def test_running_it_again_keeps_learners_and_their_work_and_adds_new_ones(
    tmp_path, notebooks, quick_store
):
    root = tmp_path / "class"
    first = class_up(2, local=True, root=root)
    work = root / "learner-01" / "notebooks" / "lesson" / "1_train.ipynb"
    work.write_text("the learner's answers")
    again = class_up(["learner-02", "Zoë Ü"], local=True, root=root)
    assert again.names == ["learner-01", "learner-02", "zo"] and again.added == ["zo"]
    assert again.created == first.created
    assert work.read_text() == "the learner's answers"  # never overwritten
    assert load_class(root).names == again.names == load_class(root / "class.json").names


def test_a_missing_lesson_folder_still_makes_the_class(tmp_path, monkeypatch, quick_store):
    monkeypatch.setattr(roster, "LESSON_NOTEBOOKS", tmp_path / "nowhere")
    room = class_up(["ana"], local=True, root=tmp_path / "c")
    assert (tmp_path / "c" / "ana" / "notebooks" / "lesson").is_dir() and room.names == ["ana"]


@pytest.mark.parametrize(
    ("learners", "said"),
    [(0, "1 to 500"), (501, "1 to 500"), ([], "no learner names"), (["ana", "ANA"], "ana come"),
     (True, "number of learners")],
)  # fmt: skip
def test_bad_learners_are_refused_clearly(tmp_path, learners, said):
    with pytest.raises(UsageError, match=said):
        class_up(learners, local=True, root=tmp_path / "c")
    assert not (tmp_path / "c" / "class.json").exists()


def test_a_team_class_needs_a_running_team_server(tmp_path):
    with pytest.raises(TeamError, match="`workbench team up` first"):
        class_up(2, local=False, workspace=tmp_path)
    with pytest.raises(UsageError, match="team's own user names"):
        class_up(["ds1", "ana"], local=False, workspace=tmp_path)
    with pytest.raises(UsageError, match="--local"):
        class_up(2, local=False, root=tmp_path)


def test_a_local_class_is_not_added_to_a_team_roster(tmp_path):
    (tmp_path / "class.json").write_text(
        json.dumps({"mode": "team", "created": "x", "tracking_uri": "http://h", "learners": []})
    )
    with pytest.raises(UsageError, match="holds a team class"):
        class_up(1, local=True, root=tmp_path)
    with pytest.raises(UsageError, match="no class file"):
        load_class(tmp_path / "empty-dir-that-is-missing")


def test_the_cli_prints_the_sheet_or_json_and_says_what_is_wrong(
    tmp_path, notebooks, capsys, quick_store
):
    root = tmp_path / "class"
    assert main(["class", "up", "--local", "--names", "ana,ben", "--root", str(root)]) == 0
    assert "ana" in capsys.readouterr().out
    assert main(["class", "up", "--local", "--learners", "1", "--root", str(root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [lr["name"] for lr in data["learners"]] == ["ana", "ben", "learner-01"]
    assert "new_passwords" not in data
    assert main(["class", "up", "--local", "--root", str(root)]) == 2
    assert "--learners N or --names" in capsys.readouterr().err
    assert main(["class", "up", "--learners", "2", "--names", "a", "--local"]) == 2
    assert main(["class", "up", "--learners", "2", "--root", str(root)]) == 2  # --root: --local
    assert main(["class", "dashboard", "--root", str(tmp_path / "none"), "--json"]) == 2
    assert "no class file" in json.loads(capsys.readouterr().out)["error"]
