"""Artifact checks: the reloaded version predicts what was logged, and its files are safe."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.checks.base import Check, CheckResult
from workbench.checks.builtin._shared import same_predictions
from workbench.checks.context import CheckContext
from workbench.errors import CheckError

__all__ = ["ReloadReproducibility", "SafeArtifact"]


class ReloadReproducibility(Check):
    """The version loaded from the registry predicts exactly what the model predicted when it was
    logged (input example and eval rows), and the same input gives the same answer twice."""

    name = "reload_reproducibility"
    protects = "serving something other than what was tested (a broken save, a different library)"

    @classmethod
    def failing_example(cls) -> tuple[ReloadReproducibility, CheckContext]:
        """A model that answers at random: the same rows get different answers."""
        from sklearn.dummy import DummyClassifier

        from workbench.checks.builtin._examples import example_context, example_model

        return cls(), example_context(example_model(DummyClassifier(strategy="uniform")))

    def run(self, context: CheckContext) -> CheckResult:
        """Predict twice, and on the rows logged with the version, and compare."""
        from workbench._core.profile import reference_frame

        x = context.x
        first, second = context.predict(x), context.predict(x)
        unstable = int(np.sum(~same_predictions(first, second)))
        rows = []
        if unstable:
            rows.append(f"{unstable} of {len(x)} eval rows got a different answer the second time")
        checked = len(x)
        if context.reference is not None:
            frame = reference_frame(context.reference)
            if context.signature is not None:
                from workbench.data import conform_to_signature

                frame = conform_to_signature(frame, context.signature, what="the reference rows")
            now = context.predict(frame)
            then = pd.Series(context.reference["predictions"]).to_numpy()  # JSON null: NaN
            differ = int(np.sum(~same_predictions(now.ravel(), then)))
            checked += len(then)
            if differ:
                rows.append(
                    f"{differ} of {len(then)} logged rows (input example and eval) predict "
                    "differently than when the model was logged"
                )
        elif context.pyfunc is not None:
            return self.result(
                "warn",
                unstable,
                0,
                "no reference predictions were logged with this version (it predates "
                "reference.json); only determinism was checked.",
            )
        if rows:
            return self.result(
                "fail",
                len(rows),
                0,
                "; ".join(rows)
                + ". Check the library versions and any randomness at predict time.",
            )
        return self.result(
            "pass", 0, 0, f"{checked} predictions identical to the logged ones and across reloads"
        )


class SafeArtifact(Check):
    """The logged model is safe to load and install: not too large, saved with skops rather than
    pickle (which runs arbitrary code on load), with pinned requirements.

    Args:
        max_mb: Largest acceptable size of the model's files, in megabytes.
    """

    name = "safe_artifact"
    protects = "a model file that runs code when loaded, or cannot be installed elsewhere"

    def __init__(self, max_mb: float = 200.0):
        self.max_mb = max_mb

    @classmethod
    def failing_example(cls) -> tuple[SafeArtifact, CheckContext]:
        """Model files saved with cloudpickle and no ``requirements.txt``."""
        from workbench.checks.builtin._examples import example_context, example_folder

        folder = example_folder()
        (folder / "MLmodel").write_text(
            "flavors:\n  sklearn:\n    serialization_format: cloudpickle\n"
            "    pickled_model: model.pkl\n"
        )
        (folder / "model.pkl").write_bytes(b"not really a model")
        context = example_context()
        context.artifact_dir = folder
        return cls(), context

    def run(self, context: CheckContext) -> CheckResult:
        """Inspect the model's files: format, size, requirements."""
        folder = context.artifact_dir
        if folder is None:
            raise CheckError(
                "the model was not loaded from MLflow: there is no artifact to inspect."
            )
        folder = Path(folder)
        size_mb = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6
        problems, warnings = [], []
        fmt = _serialization_format(folder)
        if fmt != "skops":
            problems.append(
                f"the model is saved as {fmt}: loading pickle runs arbitrary code. Log it with "
                "workbench.log_model (skops)."
            )
        if size_mb > self.max_mb:
            problems.append(f"the model's files take {size_mb:.1f} MB (limit {self.max_mb:g} MB)")
        reqs_file = folder / "requirements.txt"
        reqs = (
            [r.strip() for r in reqs_file.read_text().splitlines() if r.strip()]
            if reqs_file.exists()
            else []
        )
        if not reqs:
            problems.append("requirements.txt is missing or empty: the server cannot install it")
        unpinned = [r for r in reqs if "==" not in r and not r.startswith(("-", "#"))]
        if unpinned:
            warnings.append(f"unpinned requirement(s): {', '.join(unpinned[:5])}")
        table = pd.DataFrame(
            [
                {"item": "format", "value": fmt},
                {"item": "size (MB)", "value": round(size_mb, 3)},
                {"item": "requirements", "value": "; ".join(reqs) or "(none)"},
            ]
        )
        threshold = f"skops, <= {self.max_mb:g} MB, pinned requirements"
        if problems:
            return self.result("fail", round(size_mb, 3), threshold, "; ".join(problems), table)
        if warnings:
            return self.result("warn", round(size_mb, 3), threshold, "; ".join(warnings), table)
        return self.result(
            "pass",
            round(size_mb, 3),
            threshold,
            f"skops format, {size_mb:.2f} MB, {len(reqs)} pinned requirements",
            table,
        )


def _serialization_format(folder: Path) -> str:
    import yaml

    mlmodel = folder / "MLmodel"
    if not mlmodel.exists():
        return "unknown (no MLmodel file)"
    flavors = (yaml.safe_load(mlmodel.read_text()) or {}).get("flavors", {})
    sk = flavors.get("sklearn")
    if sk is not None:
        return str(sk.get("serialization_format") or "pickle")
    return "pyfunc only: " + json.dumps(sorted(flavors))
