"""How the server is launched: the two commands share MLflow's flags; the launcher parses them."""

from __future__ import annotations

import os

import workbench as wb
from workbench.serving._launcher import APP, parse_args
from workbench.serving.launch import (
    LAUNCHER,
    default_workers,
    launch_command,
    launch_environment,
    new_log,
)


def test_commands_keep_mlflow_models_serve_flags():
    tuned = launch_command("models:/fake/1", port=5123, workers=2)
    assert tuned[1:3] == ["-m", "workbench.serving._launcher"] == ["-m", LAUNCHER]
    plain = launch_command("models:/fake/1", port=5123, workers=2, gc_tuned=False)
    assert plain[1:5] == ["-m", "mlflow", "models", "serve"] and "--env-manager" in plain
    assert tuned[-8:] == plain[-8:] == ["-h", "127.0.0.1", "-p", "5123", "-w", "2", "-t", "60"]
    args = parse_args(tuned[3:])
    assert (args.model_uri, args.host, args.port, args.workers, args.timeout) == (
        "models:/fake/1",
        "127.0.0.1",
        5123,
        2,
        60,
    )


def test_the_launcher_module_and_its_app_are_where_the_command_says():
    import importlib.util

    assert importlib.util.find_spec(LAUNCHER) is not None
    assert APP.split(":")[0] == "workbench.serving._app"
    assert importlib.util.find_spec(APP.split(":")[0]) is not None


def test_environment_points_the_child_at_the_same_store_and_interpreter():
    import sys
    from pathlib import Path

    env = launch_environment("sqlite:///tmp/x.db")
    assert env["MLFLOW_TRACKING_URI"] == "sqlite:///tmp/x.db"
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert env["PYTHONUNBUFFERED"] == "1"


def test_new_log_is_an_empty_file_named_for_the_port():
    path = new_log(5123)
    try:
        assert path.exists() and path.stat().st_size == 0 and "5123" in path.name
    finally:
        path.unlink()


def test_default_workers_is_the_number_of_cores():
    assert default_workers() == len(os.sched_getaffinity(0))
    assert wb.ModelServer("x").workers == default_workers()


def test_the_edge_settings_token_and_pickle_choice_reach_the_server_and_nothing_stale(monkeypatch):
    from workbench.registry.safety import ALLOW_PICKLE_ENV
    from workbench.serving.launch import DIGEST_ENV, VERDICT_ENV
    from workbench.serving.options import EDGE_ENV, NONCE_ENV, EdgeSettings

    for name in (EDGE_ENV, NONCE_ENV, ALLOW_PICKLE_ENV, DIGEST_ENV, VERDICT_ENV):
        monkeypatch.setenv(name, "inherited")
    plain = launch_environment("sqlite:///x.db")
    assert not {EDGE_ENV, NONCE_ENV, ALLOW_PICKLE_ENV, DIGEST_ENV, VERDICT_ENV} & set(plain)
    handed = launch_environment("sqlite:///x.db", digest="ab" * 32, verdict={"safe": True})
    assert handed[DIGEST_ENV] == "ab" * 32 and handed[VERDICT_ENV] == '{"safe": true}'
    assert VERDICT_ENV not in launch_environment("sqlite:///x.db", verdict={"safe": True})
    settings = EdgeSettings.build(["model.internal"], 4)
    env = launch_environment("sqlite:///x.db", settings=settings, nonce="tok", allow_pickle=True)
    assert EdgeSettings.from_env(env) == settings
    assert env[NONCE_ENV] == "tok" and env[ALLOW_PICKLE_ENV] == "1"
    assert ALLOW_PICKLE_ENV not in launch_environment("sqlite:///x.db", allow_pickle=False)
