"""Run MLflow's own scoring app behind the workbench's edge, with the collector tuned.

``python -m workbench.serving._launcher -m URI -h HOST -p PORT -w WORKERS -t TIMEOUT`` does what
``mlflow models serve -m URI --env-manager local ...`` does (download the model, then run uvicorn
on MLflow's scoring app with the same host, port, workers and request timeout, so the endpoints and
payloads are MLflow's own), with three differences:

* **nothing is deserialised before every flavor is checked**: the model is resolved with
  :func:`~workbench.registry.resolve`, which reads ``MLmodel``, every flavor and the skops schema and
  refuses pickle, cloudpickle, foreign loaders and untrusted skops types (exit code 2, one line on
  stderr) unless ``WORKBENCH_ALLOW_PICKLE=1`` is in this process's environment (the workbench sets
  it only when the user allowed it); files whose digest differs from the one the caller checked
  (``WORKBENCH_SERVING_DIGEST``), or from the one promoted, are refused too. When the files have
  the digest the caller checked and it handed over its verdict (``WORKBENCH_SERVING_VERDICT``),
  that verdict is judged as it stands instead of importing skops to audit the schema again
  (another digest is audited here as usual). The workers judge the folder again before they
  load it, through skops with exactly the audited types;
* the app answers behind the workbench's edge (``_edge``: loopback ``Host`` only, a size cap,
  strict types, errors that leak nothing, this start's token on a private route);
* each worker freezes the objects that exist once the model is loaded (``gc.freeze()``) and collects
  the youngest generation less often: the slowest requests (p99) were collector pauses.

The listening socket is bound with address reuse (uvicorn's default), so a restart on a port that a
client's kept-alive connection still holds works at once. On SIGTERM uvicorn stops accepting, lets
in-flight requests finish and exits 0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

from workbench.errors import WorkbenchError
from workbench.registry.resolved import resolve
from workbench.registry.safety import ALLOW_PICKLE_ENV
from workbench.serving.launch import DIGEST_ENV, TRUSTED_ENV, VERDICT_ENV

#: uvicorn imports this in each worker; it loads the model and tunes the collector there.
APP = "workbench.serving._app:app"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The subset of ``mlflow models serve`` flags the workbench uses, with the same names."""
    p = argparse.ArgumentParser(prog="python -m workbench.serving._launcher", add_help=False)
    p.add_argument("-m", "--model-uri", required=True)
    p.add_argument("-h", "--host", default="127.0.0.1")
    p.add_argument("-p", "--port", type=int, default=5000)
    p.add_argument("-w", "--workers", type=int, default=1)
    p.add_argument("-t", "--timeout", type=int, default=None)
    p.add_argument("--help", action="help")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Download and check the model, point MLflow's app at it, and run uvicorn in the foreground.

    Returns:
        0 after a clean stop; the error's exit code (2 for a refused model) when it cannot start.
    """
    args = parse_args(argv)
    folder = tempfile.mkdtemp(prefix="wb-serve-model-")
    try:
        try:
            rm = resolve(
                args.model_uri,
                folder,
                allow_pickle=os.environ.get(ALLOW_PICKLE_ENV) == "1",
                audited=_audited(),
            )
            # the files the caller checked (or, started by hand, the ones checked and promoted)
            rm.verify_promoted(os.environ.get(DIGEST_ENV) or None)
            local, safety = rm.local, rm.safety
        except WorkbenchError as err:  # refused or not found: one line, nothing loaded
            print(f"error: {' '.join(str(err).split())}", file=sys.stderr, flush=True)
            return err.exit_code
        if not safety.safe:
            print(
                f"warning: loading {args.model_uri} although {'; '.join(safety.problems())} "
                f"({ALLOW_PICKLE_ENV}=1).",
                file=sys.stderr,
                flush=True,
            )
        os.environ[TRUSTED_ENV] = ",".join(safety.trusted)
        try:
            _run(args, str(local))
        except WorkbenchError as err:  # the app judged the folder again and refused it
            print(f"error: {' '.join(str(err).split())}", file=sys.stderr, flush=True)
            return err.exit_code
        return 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _audited() -> tuple[str, dict] | None:
    """The digest and verdict the caller handed over (``None``: audit the files here)."""
    import json

    digest, text = os.environ.get(DIGEST_ENV), os.environ.get(VERDICT_ENV)
    if not digest or not text:
        return None
    try:
        verdict = json.loads(text)
    except ValueError:
        return None
    return (digest, verdict) if isinstance(verdict, dict) else None


def _run(args: argparse.Namespace, local_path: str) -> None:
    import uvicorn
    from mlflow.environment_variables import MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT
    from mlflow.utils.file_utils import path_to_local_file_uri

    from workbench.serving._scoring_app import MODEL_PATH_ENV

    os.environ[MODEL_PATH_ENV] = path_to_local_file_uri(local_path)
    timeout = args.timeout or MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT.get()
    os.environ[MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT.name] = str(timeout)
    if args.workers > 1:  # spawned workers import APP themselves
        uvicorn.run(APP, host=args.host, port=args.port, workers=args.workers)
        return
    from workbench.serving._app import app

    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    sys.exit(main())
