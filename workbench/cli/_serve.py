"""The ``serve`` and ``score`` commands: their arguments (checked by argparse: exit code 2) and
what they run.

A bad ``--port`` (not 0-65535), ``--workers`` (below 1), ``--max-request-mb`` or ``--allow-host``
stops at parsing with exit code 2, before anything is resolved or started; a model that does not
exist is exit code 2 (``ModelNotFoundError``), one whose format runs code when loaded is refused
with exit code 2 unless ``--allow-pickle``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from workbench.cli._conventions import print_json

EXIT_OK, EXIT_FAILED = 0, 1

__all__ = ["cmd_score", "cmd_serve", "score_arguments", "serve_arguments"]


def _checked(check_name: str) -> Callable[[str], Any]:
    """An argparse ``type`` that runs ``workbench.serving.<check_name>`` (imported when used)."""

    def convert(text: str) -> Any:
        import workbench.serving as serving
        from workbench.errors import UsageError

        try:
            return getattr(serving, check_name)(text)
        except UsageError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    convert.__name__ = check_name.removeprefix("check_")
    return convert


def serve_arguments(p: argparse.ArgumentParser) -> None:
    """The ``serve`` command's arguments."""
    p.add_argument(
        "model_uri", help="models:/NAME@ALIAS, models:/NAME/VERSION, runs:/... or a path"
    )
    p.add_argument(
        "--port",
        type=_checked("check_port"),
        help="port on 127.0.0.1, 1-65535 (default or 0: a free one)",
    )
    p.add_argument(
        "--workers",
        type=_checked("check_workers"),
        help="server processes, 1 or more (default: one per core)",
    )
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for /ping")
    p.add_argument(
        "--plain-mlflow",
        action="store_true",
        help="run `mlflow models serve` itself (no workbench edge) instead of the tuned launcher",
    )
    p.add_argument(
        "--allow-pickle",
        action="store_true",
        help="serve a model whose format runs code when loaded (pickle; recorded on the version)",
    )
    p.add_argument(
        "--max-request-mb",
        type=_checked("check_max_request_mb"),
        default=None,
        metavar="MB",
        help="largest request body; a larger one gets 413 (default 16)",
    )
    p.add_argument(
        "--allow-host",
        action="append",
        type=_checked("check_hosts"),
        default=[],
        metavar="NAME",
        help="a Host name to answer besides 127.0.0.1, localhost and [::1]; repeatable",
    )
    p.add_argument(
        "--no-log",
        action="store_true",
        help="keep no inference log (default: every request under inference/<model>/)",
    )
    p.add_argument("--log-dir", metavar="DIR", help="folder of the inference log")
    p.add_argument(
        "--log-exclude",
        action="append",
        default=[],
        metavar="COL",
        help="an input column kept out of the log (personal data); repeatable",
    )
    p.add_argument("--arm", default="main", help="the name the log gives this server's rows")
    p.add_argument("--no-metrics", action="store_true", help="no /metrics page")
    trial = p.add_argument_group("a challenger on real traffic (then: workbench abtest NAME)")
    trial.add_argument("--challenger", metavar="URI", help="models:/NAME@challenger, tried beside")
    trial.add_argument(
        "--split", type=float, default=0.0, metavar="PCT",
        help="percent of requests the challenger answers (sticky by the contract's id column)",
    )  # fmt: skip
    trial.add_argument(
        "--shadow", action="store_true",
        help="mirror every request to the challenger; the champion answers all",
    )  # fmt: skip
    trial.add_argument(
        "--guard-errors", type=float, default=0.05, metavar="RATE",
        help="cut the challenger off above this error rate (default 0.05)",
    )  # fmt: skip
    trial.add_argument(
        "--guard-p99", type=float, default=1.0, metavar="SECONDS",
        help="cut the challenger off above this p99 latency (default 1.0 s)",
    )  # fmt: skip
    trial.add_argument(
        "--notify", action="append", default=[], metavar="URL|ADDRESS",
        help="where a guardrail cut is alerted (webhook URL or email address); repeatable",
    )  # fmt: skip


def score_arguments(p: argparse.ArgumentParser) -> None:
    """The ``score`` command's arguments."""
    p.add_argument("model_uri", help="models:/NAME@ALIAS, models:/NAME/VERSION, runs:/... or path")
    p.add_argument(
        "--data",
        required=True,
        help="rows to score, CSV or Parquet (--engine spark: also a Parquet folder or a table name)",
    )
    p.add_argument(
        "--out",
        required=True,
        help="output file, .csv or .parquet (--engine spark: a Parquet folder); written atomically",
    )
    p.add_argument("--id-column", action="append", default=[], metavar="COL", help="pass through")
    p.add_argument("--chunk-rows", type=int, default=100_000, help="rows read/written at a time")
    p.add_argument(
        "--allow-pickle",
        action="store_true",
        help="load a model whose format runs code when loaded (pickle; recorded on the version)",
    )
    engine_arguments(
        p, "pandas: this process, in chunks (default); spark: on Spark (needs PySpark and Java)"
    )


def engine_arguments(p: argparse.ArgumentParser, engine_help: str) -> None:
    """``--engine {pandas,spark}`` and ``--spark-master URL`` (``score`` and ``monitor``)."""
    p.add_argument("--engine", choices=("pandas", "spark"), default="pandas", help=engine_help)
    p.add_argument(
        "--spark-master",
        metavar="URL",
        help="Spark master for --engine spark: local[*] (default), spark://HOST:7077, yarn, ...",
    )


def on_spark(args: argparse.Namespace) -> bool:
    """True for ``--engine spark``; a master without it is a usage error."""
    from workbench.errors import UsageError

    if args.spark_master and args.engine != "spark":
        raise UsageError("--spark-master applies to --engine spark: add it, or drop the master.")
    return args.engine == "spark"


def _start(args: argparse.Namespace, serve: Callable[..., Any], hosts: list[str]) -> Any:
    """The server the arguments ask for, started and ready."""
    return serve(
        args.model_uri,
        port=args.port,
        workers=args.workers,
        timeout=args.timeout,
        gc_tuned=not args.plain_mlflow,
        allow_pickle=args.allow_pickle,
        allowed_hosts=hosts,
        max_request_mb=args.max_request_mb,
        traffic_log=False if args.no_log else (args.log_dir or True),
        log_exclude=args.log_exclude,
        arm=args.arm,
        metrics=not args.no_metrics,
        **_trial(args),
    )


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve in the foreground until Ctrl-C or SIGTERM; 1 when the server exits by itself."""
    import signal
    import time

    from workbench._core.ticker import ticking
    from workbench.serving import serve
    from workbench.serving.experiment import cut_record

    def interrupt(signum, frame):  # SIGTERM stops the server as Ctrl-C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    hosts = [name for names in args.allow_host for name in names]
    with ticking(f"starting the model server for {args.model_uri}"):
        server = _start(args, serve, hosts)
    try:
        version = f" (version {server.version})" if server.version else ""
        edge = (
            "  plain MLflow: no workbench edge (no Host check, size cap or strict types)"
            if args.plain_mlflow
            else f"  answers Host {', '.join(['127.0.0.1', 'localhost', '[::1]', *hosts])}; "
            f"bodies up to {server.edge.max_request_bytes / 1048576:.3g} MB"
        )
        print(
            f"serving {args.model_uri}{version} at {server.url} with {server.workers} worker(s), "
            f"ready in {server.launch_seconds} s\n{edge}\n"
            f"  try: curl -s {server.url}/ping ; POST JSON to {server.url}/invocations\n"
            f"  inference log: {server.traffic_folder or 'off'}"
            f"{'' if args.no_metrics or args.plain_mlflow else f'; metrics: {server.url}/metrics'}\n"
            f"  server output: {server.log_path}{_trial_line(server)}\nCtrl-C stops.",
            flush=True,
        )
        cut = None
        while server.running:
            time.sleep(0.5)
            if cut is None and (cut := cut_record(server.experiment_state)):
                print(f"guardrail: the challenger was cut off: {cut.get('reason')}", flush=True)
        print(f"the server exited by itself; last lines of its log:\n{server.logs(20)}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("stopping...", file=sys.stderr, flush=True)
        return EXIT_OK
    finally:
        code = server.stop()
        print(f"stopped (exit code {code}).", file=sys.stderr, flush=True)


def _trial(args: argparse.Namespace) -> dict[str, Any]:
    """``serve``'s experiment arguments (none without ``--challenger``)."""
    from workbench.errors import UsageError

    if not args.challenger:
        if args.split or args.shadow:
            raise UsageError("--split and --shadow need a --challenger URI to send traffic to.")
        return {}
    return {
        "challenger": args.challenger, "split": args.split, "shadow": args.shadow,
        "guard_errors": args.guard_errors, "guard_p99": args.guard_p99, "notify": args.notify,
    }  # fmt: skip


def _trial_line(server: Any) -> str:
    challenger = server.challenger
    if challenger is None:
        return ""
    route = server.route or {}
    how = "mirrors every request" if route.get("shadow") else f"answers {route.get('split'):g}%"
    return (
        f"\n  challenger {challenger.model_uri} (version {challenger.version}) {how}; cut off "
        f"above {route.get('max_error_rate'):.0%} errors or p99 {route.get('max_p99'):g} s; "
        f"compare: workbench abtest NAME --since 7d"
    )


def cmd_score(args: argparse.Namespace) -> int:
    """Score a file in chunks (or on Spark) and write the output atomically."""
    from workbench._core.gcpause import gc_paused

    with gc_paused():  # pandas' and numpy's imports
        from workbench.scoring import score

    chosen = {"out": args.out, "id_columns": args.id_column, "chunk_rows": args.chunk_rows}
    if on_spark(args):
        chosen.update(engine="spark", master=args.spark_master)
    result = score(
        args.model_uri,
        args.data,
        progress=not args.json,
        allow_pickle=args.allow_pickle,
        **chosen,
    )
    if args.json:
        print_json(args, result.to_dict())
    else:
        print(result.summary())
    return EXIT_OK
