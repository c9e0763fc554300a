"""The serving smoke check: the version starts in MLflow's model server and answers like in-process.

It is off in the default suite because it starts a real server (seconds); add it with
``default_suite(serving=True)`` or ``suite=[..., ServingSmokeCheck()]``.
"""

from __future__ import annotations

import pandas as pd

from workbench.checks.base import Check, CheckResult
from workbench.checks.builtin._shared import same_predictions
from workbench.checks.context import CheckContext
from workbench.errors import CheckError, ServingError

__all__ = ["ServingSmokeCheck"]


class ServingSmokeCheck(Check):
    """Start the version's server, send the input example, compare with in-process predictions,
    send three bad requests (missing column, text in a number column, malformed JSON) and expect a
    4xx for each, then stop the server.

    Args:
        rows: Eval rows sent besides the input example.
        workers: Server workers (1 keeps the check light).
        start_timeout: Seconds the server may take to answer ``/ping``.

    Example:
        >>> import workbench as wb
        >>> report = wb.run_checks(uri, data=df, target="default",
        ...                        suite=[ServingSmokeCheck()])  # doctest: +SKIP
    """

    name = "serving_smoke"
    protects = "a version that passes every test in a notebook but fails or answers differently when served"

    def __init__(self, rows: int = 20, workers: int = 1, start_timeout: float = 120.0):
        self.rows = rows
        self.workers = workers
        self.start_timeout = start_timeout

    @classmethod
    def failing_example(cls) -> tuple[ServingSmokeCheck, CheckContext]:
        """A served model that is not the one tested: the server answers differently.

        It starts a real server (seconds), in the workspace that is open.
        """
        import mlflow
        from sklearn.dummy import DummyClassifier

        from workbench.checks.builtin._examples import (
            example_context,
            example_folder,
            example_model,
        )

        context = example_context()
        guesser = example_model(DummyClassifier(strategy="prior"))
        folder = example_folder() / "model"
        import skops.io

        own_types = skops.io.get_untrusted_types(data=skops.io.dumps(guesser))  # built just above
        mlflow.sklearn.save_model(
            guesser, str(folder), signature=context.signature, skops_trusted_types=own_types
        )
        context.model_uri = str(folder)
        return cls(rows=20), context

    def run(self, context: CheckContext) -> CheckResult:
        """Serve the version, send good and bad requests, compare, stop the server."""
        from workbench.serving import ModelServer

        if not context.model_uri:
            raise CheckError("the serving smoke check needs a logged model URI to serve.")
        sample = _sample(context, self.rows)
        try:
            with ModelServer(
                context.model_uri, workers=self.workers, timeout=self.start_timeout,
                allow_pickle=context.unsafe_artifact,
            ) as server:  # fmt: skip
                served = server.predict(sample)
                bad = _bad_request_statuses(server, sample)
                still_up = server.health()["ok"]
                launch = server.launch_seconds
        except ServingError as err:
            return self.result("fail", detail=f"the server failed: {err}")
        expected = context.predict(sample)
        same = same_predictions(served, expected, rtol=1e-9, atol=1e-12)
        rows = [
            {"request": "input example + eval rows", "expected": "200, same predictions",
             "got": f"200, {same.mean():.0%} identical"},
            *[{"request": k, "expected": "4xx", "got": str(v)} for k, v in bad.items()],
            {"request": "GET /health afterwards", "expected": "200", "got": "200" if still_up else "no"},
        ]  # fmt: skip
        table = pd.DataFrame(rows)
        problems = []
        if not same.all():
            problems.append(f"{int((~same).sum())} of {len(same)} served predictions differ")
        wrong = [k for k, v in bad.items() if not 400 <= v < 500]
        if wrong:
            problems.append(f"bad requests not refused with 4xx: {', '.join(wrong)}")
        if not still_up:
            problems.append("the server stopped answering after the bad requests")
        threshold = "identical predictions; 4xx for bad requests"
        if problems:
            return self.result(
                "fail",
                "; ".join(problems),
                threshold,
                "; ".join(problems) + ". Serve it with `workbench serve` and read its log.",
                table,
            )
        return self.result(
            "pass",
            f"{len(same)} rows identical",
            threshold,
            f"served in {launch} s from start; {len(same)} predictions identical to in-process; "
            "3 bad requests refused with 4xx",
            table,
        )


def _sample(context: CheckContext, rows: int) -> pd.DataFrame:
    from workbench.data import conform_to_signature

    parts = []
    example = (context.reference or {}).get("input_example")
    if example is None and context.artifact_dir is not None:
        try:
            import mlflow

            example = mlflow.models.Model.load(str(context.artifact_dir)).load_input_example(
                str(context.artifact_dir)
            )
        except Exception:
            example = None
    if example is not None:
        frame = example if isinstance(example, pd.DataFrame) else pd.DataFrame(example)
        parts.append(conform_to_signature(frame, context.signature, allow_extra=True))
    parts.append(context.x.head(rows))
    return pd.concat(parts, ignore_index=True)


def _bad_request_statuses(server, sample: pd.DataFrame) -> dict[str, int]:
    from workbench.serving import encode_frame

    row = sample.head(1)
    missing = encode_frame(row.drop(columns=row.columns[0]))
    numeric = [c for c in row.columns if pd.api.types.is_numeric_dtype(row[c].dtype)]
    wrong = row.astype(object)
    if numeric:
        wrong[numeric[0]] = "not a number"
    statuses = {
        f"missing column {row.columns[0]!r}": server.post(missing)[0],
        f"text in {numeric[0]!r}" if numeric else "text everywhere": server.post(
            encode_frame(wrong)
        )[0],
        "malformed JSON": server.post(b'{"dataframe_split": {')[0],
    }
    return statuses
