"""Run MLflow's own scoring server with the garbage collector tuned for steady latency.

``python -m workbench.serving._launcher -m URI -h HOST -p PORT -w WORKERS -t TIMEOUT`` does what
``mlflow models serve -m URI --env-manager local ...`` does (download the model, then run
``uvicorn mlflow.pyfunc.scoring_server.app:app`` with the same host, port, workers and request
timeout, so the endpoints, payloads and error answers are MLflow's own), with one difference: each
worker freezes the objects that exist once the model is loaded (``gc.freeze()``) and collects the
youngest generation less often. A full collection then walks only what requests allocate, not the
hundreds of thousands of objects MLflow, FastAPI and the model leave behind, which is what made the
slowest requests (p99) about ten times slower than the median.

On SIGTERM uvicorn stops accepting, lets in-flight requests finish and exits 0.
"""

from __future__ import annotations

import argparse
import os
import sys

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
    """Download the model, point MLflow's app at it, and run uvicorn in the foreground."""
    args = parse_args(argv)
    import uvicorn
    from mlflow.environment_variables import MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT
    from mlflow.pyfunc import scoring_server
    from mlflow.tracking.artifact_utils import _download_artifact_from_uri
    from mlflow.utils.file_utils import path_to_local_file_uri

    # MLflow's own private names, used exactly as its pyfunc backend uses them before uvicorn starts
    local_path = _download_artifact_from_uri(args.model_uri)
    model_path_variable = scoring_server._SERVER_MODEL_PATH  # noqa: SLF001
    os.environ[model_path_variable] = path_to_local_file_uri(local_path)
    timeout = args.timeout or MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT.get()
    os.environ[MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT.name] = str(timeout)
    if args.workers > 1:  # spawned workers import APP themselves
        uvicorn.run(APP, host=args.host, port=args.port, workers=args.workers)
        return 0
    from workbench.serving._app import app

    uvicorn.run(app, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
