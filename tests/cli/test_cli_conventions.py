"""The CLI's conventions (issue 28 part 6), on the real command: ``--version``, shell completion,
"did you mean", ``--json`` on every command that reports something (errors too), help on every
positional. The parser walk at the end fails on a new command that breaks a convention."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import workbench.cli as cli
from workbench.cli import NON_REPORTING_COMMANDS, REPORTING_COMMANDS, build_parser, main

SCRIPT = Path(sys.executable).parent / "workbench"
HEAVY = ("pandas", "mlflow", "sklearn", "evidently", "argcomplete")


def _script(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    """The installed ``workbench`` executable (the console script users run)."""
    if not SCRIPT.exists():
        pytest.skip(f"no console script at {SCRIPT}: install the package (pip install -e .)")
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


def _usage_error(capsys, argv: list[str]) -> tuple[str, str]:
    """Run ``argv`` expecting the parser to refuse it: SystemExit(2); returns (stdout, stderr)."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    return capsys.readouterr()


def _loaded_after(argv: list[str]) -> list[str]:
    """The heavy modules a fresh process has imported after ``main(argv)``."""
    code = (
        "import sys\nfrom workbench.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})), file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    return json.loads(out.stderr.strip().splitlines()[-1].replace("'", '"'))


# --------------------------------------------------------------------------- 1. --version


def test_version_names_the_workbench_mlflow_and_evidently():
    out = _script("--version")
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip()
    assert line.startswith(f"workbench {version('deploy-workbench')} (")
    assert f"mlflow {version('mlflow')}" in line and f"evidently {version('evidently')}" in line
    assert out.stdout.count("\n") == 1 and out.stderr == ""


def test_version_with_json_is_a_document(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version", "--json"])
    assert stop.value.code == 0
    found = json.loads(capsys.readouterr().out)
    assert found["workbench"] == version("deploy-workbench")
    assert found["mlflow"] == version("mlflow") and found["evidently"] == version("evidently")


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["check", "--help"]])
def test_help_and_version_import_nothing_heavy(argv):
    """Versions are read from the packages' metadata, argcomplete only when the shell asks."""
    assert _loaded_after(argv) == []


# --------------------------------------------------------------------------- 2. completion


@pytest.mark.parametrize("shell, fragment", [("bash", "complete "), ("zsh", "#compdef workbench"),
                                             ("fish", "complete --command workbench")])  # fmt: skip
def test_completion_prints_the_shell_code_and_opens_no_workspace(
    shell, fragment, capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert main(["completion", shell]) == 0
    out, err = capsys.readouterr()
    assert fragment in out and "_ARGCOMPLETE" in out and "workbench" in out
    assert list(tmp_path.iterdir()) == [], "completion opened a workspace"


def test_completion_of_an_unknown_shell_suggests_one(capsys):
    _, err = _usage_error(capsys, ["completion", "bsh"])
    assert "invalid choice: 'bsh'" in err and "Did you mean 'bash'?" in err


@pytest.mark.parametrize(
    "line, expected",
    [("workbench mon", "monitor"), ("workbench check --js", "--json"),
     ("workbench team st", "status"), ("workbench completion z", "zsh")],
)  # fmt: skip
def test_the_shell_gets_completions_from_the_executable(line, expected, tmp_path):
    answer = tmp_path / "completions"
    env = dict(
        os.environ,
        _ARGCOMPLETE="1",
        _ARGCOMPLETE_IFS="\n",
        COMP_LINE=line,
        COMP_POINT=str(len(line)),
        _ARGCOMPLETE_STDOUT_FILENAME=str(answer),
    )
    out = _script(env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert expected in answer.read_text().split(), answer.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["completions"]  # no workspace


def test_the_console_script_carries_argcomplete_marker():
    """Global completion (activate-global-python-argcomplete) completes `workbench` only when
    the module of its entry point says PYTHON_ARGCOMPLETE_OK in its first 1024 bytes."""
    assert "PYTHON_ARGCOMPLETE_OK" in Path(cli.__file__).read_text()[:1024]
    if not SCRIPT.exists():
        pytest.skip(f"no console script at {SCRIPT}")
    check = [sys.executable, "-m", "argcomplete._check_console_script", str(SCRIPT)]
    out = subprocess.run(check, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


# --------------------------------------------------------------------------- 3. did you mean


def test_an_unknown_command_suggests_the_closest(capsys):
    out, err = _usage_error(capsys, ["monitr"])
    assert err == "workbench: unknown command 'monitr'. Did you mean 'monitor'?\n"
    assert out == ""
    run = _script("monitr")  # the executable: the same line, exit code 2
    assert (run.returncode, run.stdout, run.stderr) == (2, "", err)


def test_an_unknown_command_with_nothing_close_lists_the_commands(capsys):
    _, err = _usage_error(capsys, ["xyzzy"])
    assert err.count("\n") == 1 and "unknown command 'xyzzy'" in err
    assert "monitor" in err and "workbench --help" in err


def test_an_unknown_option_suggests_the_closest(capsys):
    _, err = _usage_error(capsys, ["check", "models:/m/1", "--data", "d.csv", "--target", "y",
                                   "--jsn"])  # fmt: skip
    assert err == "workbench check: unknown option '--jsn'. Did you mean '--json'?\n"
    _, err = _usage_error(capsys, ["history", "m", "--verfy"])
    assert "unknown option '--verfy'. Did you mean '--verify'?" in err
    _, err = _usage_error(capsys, ["demo", "--worksapce", "w"])
    assert "Did you mean '--workspace'?" in err


def test_an_invalid_choice_suggests_the_closest(capsys):
    _, err = _usage_error(capsys, ["team", "statu"])
    assert "invalid choice: 'statu'" in err and "Did you mean 'status'?" in err


@pytest.mark.parametrize(
    "argv, fragment",
    [(["check"], "the following arguments are required: model_uri, --data, --target"),
     (["history", "m", "extra"], "unexpected argument 'extra'"),
     (["check", "m", "--data", "d", "--target", "t", "--threshold", "auc"], "expected 2"),
     (["lab", "--port", "http"], "invalid int value")],
)  # fmt: skip
def test_every_usage_error_is_one_line_saying_where_help_is(capsys, argv, fragment):
    out, err = _usage_error(capsys, argv)
    assert out == "" and err.count("\n") == 1, err
    assert fragment in err and "--help'" in err and "usage:" not in err


# --------------------------------------------------------------------------- 4, 5. --json


def _json_only(capsys) -> tuple[dict, str]:
    out, err = capsys.readouterr()
    return json.loads(out), err


def test_a_usage_error_with_json_is_a_json_document(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["check", "models:/m/1", "--json"])
    assert stop.value.code == 2
    document, err = _json_only(capsys)
    assert set(document) == {"error", "exit_code", "kind"}
    assert document["exit_code"] == 2 and document["kind"] == "UsageError"
    assert "--data" in document["error"]
    assert err == f"workbench check: {document['error']}\n"  # the line for people, as ever
    with pytest.raises(SystemExit):
        main(["monitr", "--json"])
    document, _ = _json_only(capsys)
    assert document["error"] == "unknown command 'monitr'. Did you mean 'monitor'?"
    with pytest.raises(SystemExit):
        main(["history", "--js"])  # argparse's abbreviation of --json counts too
    document, _ = _json_only(capsys)
    assert document["kind"] == "UsageError" and "name" in document["error"]


def test_a_workbench_error_with_json_keeps_its_exit_code_and_names_its_class(capsys, tmp_path):
    code = main(["--workspace", str(tmp_path), "run", str(tmp_path / "nope.ipynb"), "--json"])
    document, err = _json_only(capsys)
    assert code == 2 == document["exit_code"]
    assert document["kind"] == "DataFileError" and "nope.ipynb" in document["error"]
    assert err == f"error: {document['error']}\n"
    # without --json: the same line on stderr, nothing on stdout
    assert main(["--workspace", str(tmp_path), "run", str(tmp_path / "nope.ipynb")]) == 2
    assert capsys.readouterr() == ("", err)


def test_a_refused_promotion_with_json_is_exit_3(capsys, tmp_path, monkeypatch):
    import workbench.registry
    from workbench.errors import GateError

    def refuse(name, version, **_):
        raise GateError(f"{name} v{version}: its checks failed; run `workbench check` again")

    monkeypatch.setattr(workbench.registry, "promote", refuse)
    argv = ["--workspace", str(tmp_path), "promote", "m", "3", "--reason", "r", "--json"]
    assert main(argv) == 3
    document, _ = _json_only(capsys)
    assert document == {
        "error": "m v3: its checks failed; run `workbench check` again",
        "exit_code": 3,
        "kind": "GateError",
    }


def test_an_unexpected_failure_with_json_is_exit_1(capsys, tmp_path, monkeypatch):
    def broken(args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cli, "_cmd_history", broken)
    assert main(["--workspace", str(tmp_path), "history", "m", "--json"]) == 1
    document, _ = _json_only(capsys)
    assert document == {"error": "disk on fire", "exit_code": 1, "kind": "RuntimeError"}


def test_with_json_stdout_holds_only_the_document(capsys, tmp_path, monkeypatch):
    """What a command prints besides its document goes to stderr."""

    def chatty(args):
        print("a progress line")
        cli.print_json(args, {"entries": [], "ok": True})
        return 0

    monkeypatch.setattr(cli, "_cmd_history", chatty)
    assert main(["--workspace", str(tmp_path), "history", "m", "--json"]) == 0
    document, err = _json_only(capsys)
    assert document == {"entries": [], "ok": True} and "a progress line" in err
    assert main(["--workspace", str(tmp_path), "history", "m"]) == 0  # without: all on stdout
    out, _ = capsys.readouterr()
    assert "a progress line" in out


def test_a_real_command_with_json_prints_one_document(tmp_path):
    out = _script("--workspace", str(tmp_path), "team", "status", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert isinstance(json.loads(out.stdout), dict)
    bad = _script("--workspace", str(tmp_path), "team", "sideways", "--json", cwd=tmp_path)
    assert bad.returncode == 2 and json.loads(bad.stdout)["kind"] == "UsageError"


# --------------------------------------------------------------------------- 6. the whole parser


def test_every_command_is_classified_and_reporting_ones_take_json():
    commands = build_parser().commands()
    assert set(commands) == set(REPORTING_COMMANDS) | set(NON_REPORTING_COMMANDS), (
        "a new command: list it in REPORTING_COMMANDS (it reports something: --json) or in "
        "NON_REPORTING_COMMANDS (workbench/cli/__init__.py)"
    )
    assert not set(REPORTING_COMMANDS) & set(NON_REPORTING_COMMANDS)
    missing = [name for name in REPORTING_COMMANDS if "--json" not in commands[name].options()]
    assert missing == [], f"reporting commands without --json: {missing}"
    extra = [name for name in NON_REPORTING_COMMANDS if "--json" in commands[name].options()]
    assert extra == [], f"--json on a command listed as not reporting: {extra}"


def test_every_positional_and_command_has_help():
    parser = build_parser()
    unhelped = []
    for name, command in {"": parser, **parser.commands()}.items():
        assert name == "" or command.description, f"workbench {name} has no description"
        for action in command.arguments():
            if action.option_strings or action.nargs == argparse.PARSER:
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                unhelped.append(f"workbench {name} {action.dest}".replace("  ", " "))
    assert unhelped == [], f"positionals without help=: {unhelped}"


def test_the_walk_finds_a_positional_without_help():
    """The two walks above read what they claim to: a bare positional is caught."""
    parser = build_parser()
    parser.commands()["history"].add_argument("since")
    bare = [a.dest for a in parser.commands()["history"].arguments() if not a.help]
    assert bare == ["since"]
