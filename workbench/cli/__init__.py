# PYTHON_ARGCOMPLETE_OK  (argcomplete's global completion looks for this in the first 1024 bytes)
"""The ``workbench`` command: the same functions the notebooks and panels call.

Exit codes: 0 ok, 1 failed to run, 2 bad usage or bad input, 3 the gate said no (or drift, with
``--fail-on-drift``). Errors are one line on stderr, without a traceback (set ``WORKBENCH_DEBUG=1``
for one); with ``--json`` they are also a JSON document on stdout (``_conventions.py``, which
also holds ``--version``, "did you mean" and shell completion; docs/cli.md).

The parser and most commands live here; ``serve`` and ``score`` in ``_serve.py`` (their arguments
are checked at parsing), ``lab`` and ``dashboard`` in ``_apps.py``, ``monitor``, ``team``,
``abtest`` in modules of their own.
``python -m workbench.cli`` runs ``__main__.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from workbench._core.remote import server_refusal
from workbench.cli._apps import cmd_dashboard, cmd_lab, dashboard_arguments, lab_arguments
from workbench.cli._conventions import (
    CommandLineError,
    Parser,
    VersionAction,
    add_json_options,
    autocomplete,
    cmd_completion,
    completion_arguments,
    json_stdout,
    print_json,
    report_error,
    wants_json,
)
from workbench.cli._monitor import cmd_monitor, monitor_arguments
from workbench.cli._serve import cmd_score, cmd_serve, score_arguments, serve_arguments
from workbench.cli._team import cmd_team, team_arguments
from workbench.errors import WorkbenchError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_GATE = 0, 1, 2, 3

#: The commands that report something: each takes ``--json`` (one JSON document on stdout).
REPORTING_COMMANDS = (
    "demo", "run", "check", "promote", "rollback", "feedback", "abtest", "history", "score",
    "team", "monitor", "backup", "restore", "class",
)  # fmt: skip
#: The others: servers and apps that run until Ctrl-C, and shell code for completion.
NON_REPORTING_COMMANDS = ("lab", "dashboard", "serve", "completion")


def console() -> None:
    """The ``workbench`` executable: :func:`main`, then the process ends as soon as its exit
    handlers have run (stopping kernels, flushing logs, removing temporary folders).

    Tearing down the interpreter afterwards (freeing every module of MLflow, pandas, Evidently
    one object at a time) costs about half a second of a scheduled ``workbench monitor`` run
    and does nothing a finished process needs. :func:`main` itself returns normally, for
    callers in a longer-lived process.
    """
    import atexit

    code = [EXIT_FAILED]

    def _end_now() -> None:  # registered first, so it runs after every other exit handler
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: S110 - a closed pipe: nothing more to write
                pass
        os._exit(code[0])

    atexit.register(_end_now)
    try:
        code[0] = main()
    except SystemExit as stop:  # argparse's usage error (2) or --help (0)
        code[0] = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
        raise
    sys.exit(code[0])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return its exit code.

    A command line the parser refuses raises ``SystemExit(2)`` once it is reported (as
    ``--help`` and ``--version`` exit 0), as argparse does.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json, stdout = wants_json(argv), sys.stdout
    parser = build_parser()
    parser.json_mode = as_json
    autocomplete(parser)  # a completion request from the shell ends here
    try:
        args = parser.parse_args(argv)
    except CommandLineError as err:
        report_error(err, exit_code=EXIT_USAGE, as_json=as_json, stream=stdout, prefix=err.prog)
        raise SystemExit(EXIT_USAGE) from None
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    as_json = bool(getattr(args, "json", False))
    args.json_stream = stdout  # the JSON document's stream (print_json); the rest: stderr

    def fail(err: BaseException, code: int, prefix: str = "error") -> int:
        report_error(err, exit_code=code, as_json=as_json, stream=stdout, prefix=prefix)
        return code

    try:
        with json_stdout(as_json):
            if getattr(args, "before_open", None):  # monitor, demo: a kernel starts meanwhile
                args.before_open(args)
            if getattr(args, "opens_workspace", True):
                _open(args)
            return int(args.handler(args) or EXIT_OK)
    except WorkbenchError as err:
        return fail(err, err.exit_code)
    except KeyboardInterrupt:
        return fail(KeyboardInterrupt("interrupted"), 130, "")
    except Exception as err:  # one clear line, never a traceback, unless asked
        command = " ".join(["workbench", getattr(args, "command_name", "")]).strip()
        refusal = server_refusal(err, f"`{command}`")
        if refusal is not None:
            return fail(refusal, refusal.exit_code)
        return fail(err, EXIT_FAILED, f"error ({type(err).__name__})")


def build_parser() -> Parser:
    """The argument parser of every command (cheap: imports nothing heavy).

    Each command in :data:`REPORTING_COMMANDS` gets ``--json``; every positional has a help.
    """
    parser = Parser(
        prog="workbench",
        description="Deploy Workbench: train, check, promote, serve and monitor scikit-learn "
        "models with MLflow.",
        epilog="Exit codes: 0 ok, 1 failed to run, 2 bad usage or input, 3 gate refused / drift. "
        "--json (commands that report): one JSON document on stdout, errors too. Shell "
        "completion: workbench completion bash|zsh|fish. More: docs/cli.md.",
    )
    workspace_help = (
        "workspace folder (env WORKBENCH_WORKSPACE; default: nearest folder with mlruns/ "
        "or pyproject.toml)"
    )
    parser.add_argument(
        "--workspace", default=os.environ.get("WORKBENCH_WORKSPACE"), help=workspace_help
    )
    parser.add_argument("--version", action=VersionAction)
    common = Parser(add_help=False)
    common.add_argument("--workspace", default=argparse.SUPPRESS, help=workspace_help)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], int], help_: str):
        p = sub.add_parser(name, parents=[common], help=help_, description=help_)
        p.set_defaults(handler=handler, command_name=name)
        return p

    p = command("demo", _cmd_demo, "the whole journey headless on demo data, via the notebooks")
    p.set_defaults(before_open=_demo_kernel_early)
    p.add_argument("--quick", action="store_true", help="smaller data and load test")
    p.add_argument(
        "--tracking-uri",
        help="run the journey against this tracking server (e.g. `workbench team up`'s) as two "
        "people: a data scientist and an approver",
    )
    p.add_argument(
        "--user", help="the data scientist's login (default MLFLOW_TRACKING_USERNAME, ds1)"
    )
    p.add_argument(
        "--approver", help="who promotes (default: approver, when the credentials know it)"
    )
    p.add_argument(
        "--credentials",
        help='JSON file {"user": "password"} (default <workspace>/team/credentials.json)',
    )

    lab_arguments(
        command("lab", cmd_lab, "JupyterLab on notebooks/ (127.0.0.1) with the MLflow UI")
    )
    dashboard_arguments(
        command("dashboard", cmd_dashboard, "the monitoring dashboard as a Voila app, 127.0.0.1")
    )

    p = command("run", _cmd_run, "run a notebook with papermill; output kept under runs/")
    p.add_argument(
        "notebook", help="the notebook to run (.ipynb), e.g. notebooks/04_monitor_drift.ipynb"
    )
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a parameter (VALUE parsed as JSON when it parses, else a string; a relative path "
        "is read from the current folder, not the notebook's)",
    )
    p.add_argument("--output-dir", help="folder for the executed copy (default runs/NOTEBOOK/)")
    p.add_argument("--timeout", type=float, default=900, help="seconds a cell may run")

    p = command("check", _cmd_check, "the pre-deployment suite; exit 3 when it fails")
    p.add_argument("model_uri", help="models:/NAME@ALIAS, models:/NAME/VERSION, runs:/... or path")
    p.add_argument("--data", required=True, help="eval data, CSV or Parquet")
    p.add_argument("--target", required=True, help="target column")
    p.add_argument("--protected", action="append", help="repeatable; default: the contract's")
    p.add_argument(
        "--no-protected",
        action="store_true",
        help="no fairness check (the gate refuses such a run when the contract names protected "
        "attributes; the last line says so)",
    )
    p.add_argument("--positive-label", help="the class recall measures; default: the contract's")
    p.add_argument(
        "--threshold",
        nargs=2,
        action="append",
        default=[],
        metavar=("METRIC", "VALUE"),
        help="an absolute metric bar, e.g. --threshold roc_auc 0.7 (errors such as rmse: maximum)",
    )
    p.add_argument(
        "--serving",
        action="store_true",
        help="add the serving smoke check (starts the real model server, about 10 s more)",
    )
    p.add_argument(
        "--allow-pickle",
        action="store_true",
        help="load the model although its format can run code when loaded (recorded)",
    )
    p.add_argument("--out", help="also write checks.json, checks.html and the model card here")

    p = command("promote", _cmd_promote, "point an alias at a version whose checks passed")
    p.add_argument("name", help="the registered model's name")
    p.add_argument("version", help="the version to promote, e.g. 4")
    p.add_argument("--alias", default="champion", help="the alias to move (default champion)")
    p.add_argument("--by", help="who promotes (default: you; on a team server, the logged-in user)")
    p.add_argument("--reason", required=True, help="why, for the audit log")
    p.add_argument("--force", action="store_true", help="promote despite failed checks")

    p = command("rollback", _cmd_rollback, "return an alias to its previous version")
    p.add_argument("name", help="the registered model's name")
    p.add_argument("--alias", default="champion", help="the alias to move back (default champion)")
    p.add_argument(
        "--by", help="who rolls back (default: you; on a team server, the logged-in user)"
    )
    p.add_argument("--reason", required=True, help="why, for the audit log")
    p.add_argument("--force", action="store_true", help="roll back despite a broken audit chain")

    p = command("feedback", _cmd_feedback, "record labels that came back for served predictions")
    p.add_argument("name", help="the model's name (its inference log) or a models:/ URI")
    p.add_argument("--data", required=True, help="CSV or Parquet of ids and labels")
    p.add_argument(
        "--id-column",
        default="request_id",
        help="request_id (the id the server answered with) or a contract id column",
    )
    p.add_argument("--label-column", help="the label column (default: the contract's target)")

    from workbench.cli._abtest import abtest_arguments, cmd_abtest

    abtest_arguments(command("abtest", cmd_abtest, "champion against challenger on served traffic"))

    p = command("history", _cmd_history, "the audit log of promotions and rollbacks")
    p.add_argument("name", help="the registered model's name")
    p.add_argument(
        "--verify",
        action="store_true",
        help="check the audit chain and the aliases; exit 3 when it is broken",
    )

    p = command("serve", cmd_serve, "serve a model behind the workbench's edge (Ctrl-C stops)")
    serve_arguments(p)

    p = command("score", cmd_score, "batch scoring of a CSV/Parquet file, in chunks")
    score_arguments(p)

    p = command(
        "team", cmd_team, "a local PostgreSQL + authenticated MLflow server (up/down/status)"
    )
    team_arguments(p)

    p = command("monitor", cmd_monitor, "drift report on a batch; exit 3 on drift with the flag")
    monitor_arguments(p)

    from workbench.cli._backup import (
        backup_arguments,
        cmd_backup,
        cmd_restore,
        restore_arguments,
    )

    backup_arguments(command("backup", cmd_backup, "one verified archive of the workspace"))
    restore_arguments(
        command("restore", cmd_restore, "restore an archive into --workspace DIR, verified")
    )

    from workbench.cli._class import class_arguments, cmd_class

    class_arguments(command("class", cmd_class, "a workspace per learner (up) and its dashboard"))

    p = command("completion", cmd_completion, "print the shell code that completes workbench")
    completion_arguments(p)
    add_json_options(parser, REPORTING_COMMANDS)
    return parser


# --------------------------------------------------------------------------- helpers


def _open(args: argparse.Namespace) -> None:
    from workbench.workspace import open_workspace

    open_workspace(args.workspace)


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        from workbench.errors import DataError

        raise DataError(f"{what} {text!r}: the value must be a number, such as 0.7.") from None


# --------------------------------------------------------------------------- commands


def _cmd_run(args: argparse.Namespace) -> int:
    """Run a notebook; print what its ``summary`` cells said. A notebook that stopped on a
    workbench error exits with that error's code (3 when its gate said no, 2 for bad input)."""
    from workbench.errors import NotebookError
    from workbench.runner import parameters_from_text, run_notebook

    params = parameters_from_text(args.notebook, dict(args.parameter))
    try:
        run = run_notebook(
            args.notebook,
            params,
            output_dir=args.output_dir,
            timeout=args.timeout,
            progress=sys.stderr.isatty() and not args.json,  # a bar on a terminal only
        )
    except NotebookError as err:
        if err.summary:
            print(err.summary)  # with --json, on stderr
        cls = _error_class_named(err.ename or "")
        if cls is not None and cls.exit_code in (EXIT_USAGE, EXIT_GATE):
            err.exit_code = cls.exit_code  # the cell's verdict: 3 gate said no, 2 bad input
        raise
    if args.json:
        print_json(args, run.to_dict())
        return EXIT_OK
    if run.summary:
        print(run.summary)
    print(f"ran {run.notebook} in {run.seconds:.1f} s; executed notebook: {run.output_path}")
    return EXIT_OK


def _demo_kernel_early(args: argparse.Namespace) -> None:
    """The journey's kernel starts before the workspace opens (a fresh store takes seconds)."""
    from workbench.demo import start_kernel_early

    start_kernel_early(args)


def _cmd_demo(args: argparse.Namespace) -> int:
    from workbench.demo import run_demo

    summary = run_demo(
        quick=args.quick,
        tracking_uri=args.tracking_uri,
        user=args.user,
        approver=args.approver,
        credentials=args.credentials,
        kernel=getattr(args, "kernel", None),
        echo=lambda line: print(line, flush=True),  # each step as it starts and ends
    )
    if args.json:
        print_json(args, summary.to_dict())
    else:
        print(summary.text())
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    from workbench._core.gcpause import gc_paused

    with gc_paused():  # the checks', MLflow's and the store's imports (run_checks: the models')
        from workbench.checks import load_eval_data, run_checks

        data = load_eval_data(args.data, model=args.model_uri)  # the model's text columns as text
    thresholds = {
        metric: _number(value, f"--threshold {metric}") for metric, value in args.threshold
    }
    thresholds = thresholds or None
    report = run_checks(
        args.model_uri,
        data=data,
        target=args.target,
        protected=[] if args.no_protected else args.protected,
        thresholds=thresholds,
        progress=not args.json,
        serving=args.serving,
        positive_label=args.positive_label,
        allow_pickle=args.allow_pickle,
    )
    if args.out:
        report.save(args.out)
    if args.json:
        document = report.to_dict() | {"promotable": report.promotable, "gate": report.gate}
        print_json(args, document)
    else:
        print(report.summary())  # its last line is the gate's verdict
    return EXIT_OK if report.promotable else EXIT_GATE


def _cmd_promote(args: argparse.Namespace) -> int:
    from workbench.registry import promote

    entry = promote(
        args.name, args.version, alias=args.alias, by=args.by, reason=args.reason, force=args.force
    )
    if args.json:
        print_json(args, entry.to_dict())
    else:
        print(entry.summary())
    return EXIT_OK


def _cmd_rollback(args: argparse.Namespace) -> int:
    from workbench.registry import rollback

    entry = rollback(args.name, alias=args.alias, by=args.by, reason=args.reason, force=args.force)
    if args.json:
        print_json(args, entry.to_dict())
    else:
        print(entry.summary())
    return EXIT_OK


def _cmd_feedback(args: argparse.Namespace) -> int:
    """Record the labels; print what was recorded and refused (exit 0 even with refusals)."""
    from workbench.monitoring import feedback

    result = feedback(
        args.name, args.data, id_column=args.id_column, label_column=args.label_column
    )
    if args.json:
        print_json(args, result.to_dict())
    else:
        print(result.summary())
        for key, reason in result.refused:
            print(f"  refused {key}: {reason}", file=sys.stderr)
    return EXIT_OK


def _cmd_history(args: argparse.Namespace) -> int:
    """Print the audit log and whether its chain holds; ``--verify`` exits 3 when it does not."""
    from workbench.registry import history, verify_history

    log = history(args.name)
    check = verify_history(args.name)
    if args.json:
        records = log.astype(object).where(log.notna(), None).to_dict("records")
        print_json(args, {"entries": records, "verification": check.to_dict()})
    else:
        if log.empty:
            print(f"no promotions or rollbacks of {args.name} yet")
        else:
            columns = ["time", "action", "alias", "old_version", "new_version", "by", "forced"]
            print(log[["seq", *columns, "checks_status", "reason"]].to_string(index=False))
        print(check.summary(), file=sys.stdout if check.ok else sys.stderr)
    return EXIT_GATE if args.verify and not check.ok else EXIT_OK


def _error_class_named(name: str) -> type[WorkbenchError] | None:
    """The workbench error class called ``name`` (an exception a notebook cell raised)."""
    import workbench.monitoring  # noqa: F401 - registers its DataError subclasses
    from workbench.errors import error_class_named

    return error_class_named(name)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
