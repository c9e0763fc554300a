"""What every ``workbench`` command shares: the parser class, ``--version``, ``--json`` and its
error documents, "did you mean" for a mistyped command or option, shell completion.

* :class:`Parser` never prints nor exits on a bad command line: it raises
  :class:`CommandLineError` (a :class:`~workbench.errors.UsageError`, exit code 2), whose message
  is one line that says what to do: the closest command, option or choice
  (:func:`difflib.get_close_matches`), else where the help is. ``main`` reports it.
* ``--json`` (every command that reports something): stdout carries exactly one JSON document,
  the result or, on failure, ``{"error": ..., "exit_code": N, "kind": ...}``
  (:func:`report_error`); the command's other output goes to stderr meanwhile
  (:func:`json_stdout`), and so does the error's usual line. The exit code is the same as
  without ``--json``.
* Completion: :func:`autocomplete` imports argcomplete only when the shell asks for completions
  (``_ARGCOMPLETE`` is set), so ``workbench --help`` stays light; ``workbench completion SHELL``
  prints the shell code to load (:func:`cmd_completion`).

Nothing here imports more than the standard library and :mod:`workbench.errors` (importlib.metadata
and argcomplete only in the command that needs them).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any, NoReturn

from workbench.errors import UsageError

__all__ = [
    "SHELLS",
    "CommandLineError",
    "Parser",
    "VersionAction",
    "add_json_options",
    "autocomplete",
    "cmd_completion",
    "completion_arguments",
    "error_kind",
    "json_stdout",
    "print_json",
    "report_error",
    "versions",
    "wants_json",
]

SHELLS = ("bash", "zsh", "fish")
JSON_HELP = (
    "print one JSON document on stdout (an error too: {error, exit_code, kind}); "
    "other output goes to stderr"
)


class CommandLineError(UsageError):
    """A command line the parser refused (exit code 2); ``prog`` names the command.

    Its ``kind`` in a ``--json`` error document is ``UsageError``.
    """

    def __init__(self, message: str, prog: str = "workbench"):
        super().__init__(message)
        self.prog = prog


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` (``'x' or 'y'`` when both are as close), or ``""``."""
    close = difflib.get_close_matches(word, sorted(set(candidates)), n=3, cutoff=0.6)
    if not close:
        return ""
    score = [difflib.SequenceMatcher(None, word, c).ratio() for c in close]
    best = [c for c, s in zip(close, score, strict=True) if s >= score[0] - 1e-9]
    return " Did you mean " + " or ".join(repr(c) for c in best) + "?"


class Parser(argparse.ArgumentParser):
    """The ``workbench`` parser: errors are :class:`CommandLineError`, one line, with a guess.

    ``json_mode`` (set by ``main`` when ``--json`` is on the command line) makes ``--version``
    print JSON.
    """

    json_mode = False

    def error(self, message: str) -> NoReturn:
        """Raise the refusal (``main`` prints its line, and with ``--json`` its document; exit 2)."""
        message = " ".join(message.split())
        if "Did you mean" not in message:
            message = f"{message.rstrip('.')}. See '{self.prog} --help'."
        raise CommandLineError(message, self.prog)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        # argparse's own check, with the closest choice; a command gets a sentence of its own
        if action.choices is None or value in action.choices:
            return
        names = [str(choice) for choice in action.choices]
        guess = _did_you_mean(str(value), names)
        if action.nargs == argparse.PARSER:
            listed = "" if guess else f" (commands: {', '.join(names)})"
            raise argparse.ArgumentError(None, f"unknown command {value!r}{listed}.{guess}")
        choices = ", ".join(map(repr, action.choices))
        raise argparse.ArgumentError(
            action, f"invalid choice: {value!r} (choose from {choices}).{guess}"
        )

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        """argparse's, but unknown arguments are named one by one with the closest option."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = self.commands().get(getattr(parsed, "command_name", None), self)
            command.error(_unknown_arguments(extras, command.options() | self.options()))
        return parsed

    def arguments(self) -> list[argparse.Action]:
        """Every argument (option, positional, the commands) of this parser."""
        return list(self._actions)

    def commands(self) -> dict[str, Parser]:
        """The parser of each command, by name (none for a command's own parser)."""
        for action in self._actions:
            if action.nargs == argparse.PARSER:
                return dict(action.choices)
        return {}

    def options(self) -> set[str]:
        """The option strings this parser shows in its help (``--json``, ``-h``, ...)."""
        return {
            option
            for action in self._actions
            if action.help != argparse.SUPPRESS
            for option in action.option_strings
        }


def _unknown_arguments(extras: Sequence[str], options: set[str]) -> str:
    unknown = [word for word in extras if word.startswith("-") and len(word) > 1]
    if not unknown:
        words = ", ".join(repr(word) for word in extras)
        return f"unexpected argument{'s' if len(extras) > 1 else ''} {words}"
    said = []
    for word in unknown:
        name = word.split("=", 1)[0]
        candidates = [o for o in options if o.startswith("--") == name.startswith("--")]
        said.append(f"unknown option {name!r}.{_did_you_mean(name, candidates)}")
    return " ".join(said)


def wants_json(argv: Sequence[str]) -> bool:
    """True when ``--json`` (or argparse's abbreviation ``--js``, ``--jso``) is on the command
    line before a ``--``: errors are JSON then."""
    for word in argv:
        if word == "--":
            return False
        if word in ("--json", "--jso", "--js"):
            return True
    return False


def add_json_options(parser: Parser, commands: Iterable[str]) -> None:
    """Give each of ``commands`` (the ones that report something) its ``--json`` option."""
    for name in commands:
        parser.commands()[name].add_argument("--json", action="store_true", help=JSON_HELP)


# --------------------------------------------------------------------------- output


def error_kind(err: BaseException) -> str:
    """The ``kind`` of an error document: the error's class name (``UsageError`` for a command
    line the parser refused)."""
    return UsageError.__name__ if isinstance(err, CommandLineError) else type(err).__name__


def report_error(
    err: BaseException,
    *,
    exit_code: int,
    as_json: bool,
    stream: IO[str],
    prefix: str = "error",
) -> None:
    """Say what went wrong: one line ``PREFIX: message`` on stderr, for people (always), and with
    ``as_json`` the document ``{"error", "exit_code", "kind"}`` on ``stream`` (the command's
    stdout), for scripts. ``WORKBENCH_DEBUG=1`` adds the traceback on stderr."""
    if os.environ.get("WORKBENCH_DEBUG"):
        import traceback

        traceback.print_exception(err)
    message = " ".join(str(err).split()) or type(err).__name__
    print(f"{prefix}: {message}" if prefix else message, file=sys.stderr, flush=True)
    if as_json:
        document = {"error": message, "exit_code": exit_code, "kind": error_kind(err)}
        print(json.dumps(document), file=stream, flush=True)


def print_json(args: argparse.Namespace, value: Any) -> None:
    """Print ``value`` as the command's one JSON document, on the stdout ``main`` kept in
    ``args.json_stream`` (while :func:`json_stdout` sends everything else to stderr)."""
    stream = getattr(args, "json_stream", None) or sys.stdout
    print(json.dumps(value, indent=2, default=str), file=stream, flush=True)


@contextlib.contextmanager
def json_stdout(as_json: bool) -> Iterator[None]:
    """With ``as_json``, what the command prints goes to stderr: stdout is the JSON document's."""
    if not as_json:
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield


# --------------------------------------------------------------------------- --version


def versions() -> dict[str, str]:
    """The versions ``--version`` names: the workbench, MLflow, Evidently, Python (read from the
    installed packages' metadata; nothing is imported)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    def installed(*names: str) -> str:
        for name in names:
            try:
                return version(name)
            except PackageNotFoundError:
                continue
        return "not installed"

    ours = installed("deploy-workbench")
    if ours == "not installed":  # a source checkout run without installing it
        from workbench._core.text import VERSION as ours
    return {
        "workbench": ours,
        "mlflow": installed("mlflow", "mlflow-skinny"),
        "evidently": installed("evidently"),
        "python": platform.python_version(),
    }


class VersionAction(argparse.Action):
    """``--version``: ``workbench X (mlflow Y, evidently Z, python P)``, or JSON with ``--json``."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, **kw):
        kw.setdefault("help", "print the workbench's version and the MLflow and Evidently it uses")
        super().__init__(option_strings, dest=dest, default=default, nargs=0, **kw)

    def __call__(self, parser, namespace, values, option_string=None) -> NoReturn:
        found = versions()
        if getattr(parser, "json_mode", False):
            print(json.dumps(found))
        else:
            others = ", ".join(f"{name} {v}" for name, v in found.items() if name != "workbench")
            print(f"workbench {found['workbench']} ({others})")
        parser.exit()


# --------------------------------------------------------------------------- completion


def autocomplete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request and exit, when it is one (``_ARGCOMPLETE`` set);
    otherwise return at once, without importing argcomplete."""
    if "_ARGCOMPLETE" not in os.environ:
        return
    import argcomplete

    argcomplete.autocomplete(parser)


def completion_arguments(p: argparse.ArgumentParser) -> None:
    """The ``completion`` command's argument."""
    p.add_argument("shell", choices=SHELLS, help="the shell to print completion code for")
    p.set_defaults(opens_workspace=False)


def cmd_completion(args: argparse.Namespace) -> int:
    """Print the shell code that completes ``workbench`` (argcomplete's), to load from the
    shell's rc file; in a terminal, also say on stderr which line to add there."""
    import argcomplete

    sys.stdout.write(argcomplete.shellcode(["workbench"], shell=args.shell))
    if sys.stdout.isatty():
        rc, line = {
            "bash": ("~/.bashrc", 'eval "$(workbench completion bash)"'),
            "zsh": ("~/.zshrc", 'eval "$(workbench completion zsh)"'),
            "fish": ("~/.config/fish/config.fish", "workbench completion fish | source"),
        }[args.shell]
        print(f"# add this line to {rc}: {line}", file=sys.stderr)
    return 0
