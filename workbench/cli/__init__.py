"""The ``workbench`` command: the same functions the notebooks and panels call.

Exit codes: 0 ok, 1 failed to run, 2 bad usage or bad input, 3 the gate said no (or drift, with
``--fail-on-drift``). Errors are one line on stderr, without a traceback (set ``WORKBENCH_DEBUG=1``
for one).

The parser and every command live here, except ``serve`` and ``score`` (``_serve.py``: their
arguments are checked at parsing). ``python -m workbench.cli`` runs ``__main__.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from workbench._core.remote import server_refusal
from workbench.cli._monitor import cmd_monitor, monitor_arguments
from workbench.cli._serve import cmd_score, cmd_serve, score_arguments, serve_arguments
from workbench.cli._team import cmd_team, team_arguments
from workbench.errors import WorkbenchError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_GATE = 0, 1, 2, 3


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
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        if getattr(args, "before_open", None):  # monitor, demo: a kernel starts while this opens
            args.before_open(args)
        _open(args)
        return int(args.handler(args) or EXIT_OK)
    except WorkbenchError as err:
        _fail(err)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # one clear line, never a traceback, unless asked
        command = " ".join(["workbench", getattr(args, "command_name", "")]).strip()
        refusal = server_refusal(err, f"`{command}`")
        if refusal is not None:
            _fail(refusal)
            return refusal.exit_code
        _fail(err, unexpected=True)
        return EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command (cheap: imports nothing heavy)."""
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Deploy Workbench: train, check, promote, serve and monitor scikit-learn "
        "models with MLflow.",
        epilog="Exit codes: 0 ok, 1 failed to run, 2 bad usage or input, 3 gate refused / drift.",
    )
    workspace_help = (
        "workspace folder (env WORKBENCH_WORKSPACE; default: nearest folder with mlruns/ "
        "or pyproject.toml)"
    )
    parser.add_argument(
        "--workspace", default=os.environ.get("WORKBENCH_WORKSPACE"), help=workspace_help
    )
    common = argparse.ArgumentParser(add_help=False)
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

    p = command("lab", _cmd_lab, "JupyterLab on notebooks/ (127.0.0.1) with the MLflow UI")
    p.add_argument("--port", type=int, default=8888)
    p.add_argument("--mlflow-port", type=int, default=5000)
    p.add_argument("--no-mlflow", action="store_true", help="do not start the MLflow UI")

    p = command("dashboard", _cmd_dashboard, "the monitoring dashboard as a Voila app, 127.0.0.1")
    p.add_argument("--port", type=int, default=8866)

    p = command("run", _cmd_run, "run a notebook with papermill; output kept under runs/")
    p.add_argument("notebook")
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
    p.add_argument("--output-dir")
    p.add_argument("--timeout", type=float, default=900, help="seconds a cell may run")

    p = command("check", _cmd_check, "the pre-deployment suite; exit 3 when it fails")
    p.add_argument("model_uri")
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
    p.add_argument("--json", action="store_true")

    p = command("promote", _cmd_promote, "point an alias at a version whose checks passed")
    p.add_argument("name")
    p.add_argument("version")
    p.add_argument("--alias", default="champion")
    p.add_argument("--by", help="who promotes (default: you; on a team server, the logged-in user)")
    p.add_argument("--reason", required=True)
    p.add_argument("--force", action="store_true", help="promote despite failed checks")

    p = command("rollback", _cmd_rollback, "return an alias to its previous version")
    p.add_argument("name")
    p.add_argument("--alias", default="champion")
    p.add_argument(
        "--by", help="who rolls back (default: you; on a team server, the logged-in user)"
    )
    p.add_argument("--reason", required=True)
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
    p.add_argument("--json", action="store_true")

    from workbench.cli._abtest import abtest_arguments, cmd_abtest

    abtest_arguments(command("abtest", cmd_abtest, "champion against challenger on served traffic"))

    p = command("history", _cmd_history, "the audit log of promotions and rollbacks")
    p.add_argument("name")
    p.add_argument(
        "--verify",
        action="store_true",
        help="check the audit chain and the aliases; exit 3 when it is broken",
    )
    p.add_argument("--json", action="store_true")

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
    return parser


# --------------------------------------------------------------------------- helpers


def _open(args: argparse.Namespace) -> None:
    from workbench.workspace import open_workspace

    open_workspace(args.workspace)


def _fail(err: BaseException, unexpected: bool = False) -> None:
    if os.environ.get("WORKBENCH_DEBUG"):
        import traceback

        traceback.print_exception(err)
    message = " ".join(str(err).split()) or type(err).__name__
    prefix = f"error ({type(err).__name__})" if unexpected else "error"
    print(f"{prefix}: {message}", file=sys.stderr)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


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
            args.notebook, params, output_dir=args.output_dir, timeout=args.timeout, progress=True
        )
    except NotebookError as err:
        if err.summary:
            print(err.summary)
        cls = _error_class_named(err.ename or "")
        if cls is not None and cls.exit_code in (EXIT_USAGE, EXIT_GATE):
            _fail(err)
            return cls.exit_code
        raise
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
    )
    print(summary.text())
    return EXIT_OK


def _cmd_lab(args: argparse.Namespace) -> int:
    from workbench.apps import start_lab, start_mlflow_ui, stop_all, wait_forever
    from workbench.workspace import current_workspace

    ws = current_workspace()
    apps = []
    try:
        apps.append(start_lab(port=args.port))
        if ws.shared:  # a team's tracking server has its own UI
            print(f"MLflow UI: {ws.ui_command()}", flush=True)
        elif not args.no_mlflow:
            apps.append(start_mlflow_ui(port=args.mlflow_port))
    except BaseException:
        stop_all(apps)
        raise
    for app in apps:
        print(f"{app.name}: {app.url}", flush=True)
    print("Ctrl-C stops them all.", flush=True)
    return wait_forever(apps)


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from workbench.apps import start_dashboard, wait_forever

    app = start_dashboard(port=args.port)
    print(f"dashboard: {app.url}  (Ctrl-C stops it)", flush=True)
    return wait_forever([app])


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
        _print_json(report.to_dict() | {"promotable": report.promotable, "gate": report.gate})
    else:
        print(report.summary())  # its last line is the gate's verdict
    return EXIT_OK if report.promotable else EXIT_GATE


def _cmd_promote(args: argparse.Namespace) -> int:
    from workbench.registry import promote

    entry = promote(
        args.name, args.version, alias=args.alias, by=args.by, reason=args.reason, force=args.force
    )
    print(entry.summary())
    return EXIT_OK


def _cmd_rollback(args: argparse.Namespace) -> int:
    from workbench.registry import rollback

    entry = rollback(args.name, alias=args.alias, by=args.by, reason=args.reason, force=args.force)
    print(entry.summary())
    return EXIT_OK


def _cmd_feedback(args: argparse.Namespace) -> int:
    """Record the labels; print what was recorded and refused (exit 0 even with refusals)."""
    from workbench.monitoring import feedback

    result = feedback(
        args.name, args.data, id_column=args.id_column, label_column=args.label_column
    )
    if args.json:
        _print_json(result.to_dict())
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
        _print_json({"entries": records, "verification": check.to_dict()})
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
