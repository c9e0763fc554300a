"""The built-in checks. Each one is small, holds its settings, and says what it protects against."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.checks.base import LOWER_IS_BETTER, Check, CheckContext, CheckResult
from workbench.errors import CheckError, DataError, MissingColumnError, UsageError

__all__ = [
    "DataQuality",
    "FairnessGap",
    "HandlesMissingValues",
    "HandlesUnseenCategories",
    "LatencyBudget",
    "MetricThreshold",
    "NoRegression",
    "NoiseStability",
    "ReloadReproducibility",
    "SafeArtifact",
    "SchemaContract",
]

_UNSEEN = "__unseen_category__"


def _numeric_columns(context: CheckContext) -> list[str]:
    types = context.input_types()
    x = context.x
    return [
        c
        for c in x.columns
        if types.get(c) in ("double", "float") and pd.api.types.is_float_dtype(x[c].dtype)
    ]


def _text_columns(context: CheckContext) -> list[str]:
    return [c for c, kind in context.input_types().items() if kind == "string" and c in context.x]


class MetricThreshold(Check):
    """An absolute bar on one metric: ``roc_auc`` at least 0.75, ``rmse`` at most 50...

    Args:
        metric: A metric of :func:`workbench.registry.evaluate` (``roc_auc``, ``f1``, ``rmse``...).
        minimum: The lowest acceptable value (for scores).
        maximum: The highest acceptable value (for errors such as ``rmse``).

    Example:
        >>> MetricThreshold("roc_auc", minimum=0.75).name
        'metric_roc_auc'
    """

    protects = "a model that is simply not good enough reaching users"

    def __init__(self, metric: str, minimum: float | None = None, maximum: float | None = None):
        if minimum is None and maximum is None:
            raise UsageError(f"give MetricThreshold({metric!r}) a minimum or a maximum")
        self.metric = metric
        self.minimum = minimum
        self.maximum = maximum
        self.name = f"metric_{metric}"

    def run(self, context: CheckContext) -> CheckResult:
        metrics = context.metrics()
        if self.metric not in metrics:
            raise CheckError(
                f"metric {self.metric!r} is not available for this {context.task} model "
                f"(available: {', '.join(sorted(metrics))}): choose one of those."
            )
        value = metrics[self.metric]
        if value is None or not np.isfinite(value):
            return self.result(
                "error", value, None, f"{self.metric} could not be computed on the eval data"
            )
        too_low = self.minimum is not None and value < self.minimum
        too_high = self.maximum is not None and value > self.maximum
        bar = " and ".join(
            ([f">= {self.minimum:g}"] if self.minimum is not None else [])
            + ([f"<= {self.maximum:g}"] if self.maximum is not None else [])
        )
        if too_low or too_high:
            return self.result(
                "fail",
                value,
                bar,
                f"{self.metric} is {value:.4f} on the eval data, the bar is {bar}: improve the "
                "model (features, tuning) before it may be promoted.",
            )
        return self.result("pass", value, bar, f"{self.metric} {value:.4f} meets {bar}")


class NoRegression(Check):
    """The candidate is not worse than the current ``@champion`` on the same eval data.

    Args:
        metrics: Metrics to compare; default ``roc_auc`` (classification: it does not depend on a
            decision threshold, so it is stable between retrains) or ``rmse`` (regression).
        tolerance: Allowed loss: absolute for scores (0.02 = two points of ROC AUC), relative for
            errors (0.02 = RMSE up to 2% higher).
    """

    name = "no_regression"
    protects = "replacing a good model by a worse one"

    def __init__(self, metrics: list[str] | None = None, tolerance: float = 0.02):
        self.metrics = metrics
        self.tolerance = tolerance

    def run(self, context: CheckContext) -> CheckResult:
        if context.champion is None:
            return self.result("pass", detail="no @champion yet: nothing to compare with")
        if context.champion_version is not None and context.champion_version == context.version:
            return self.result("pass", detail="this version is the @champion itself")
        cand, champ = context.metrics("candidate"), context.metrics("champion")
        default = ["roc_auc"] if context.task == "classification" else ["rmse"]
        names = [m for m in (self.metrics or default) if m in cand and m in champ]
        if not names:
            raise CheckError(f"none of the metrics {self.metrics or default} could be computed.")
        rows, worse = [], []
        for metric in names:
            lower = metric in LOWER_IS_BETTER
            delta = cand[metric] - champ[metric]
            allowed = abs(champ[metric]) * self.tolerance if lower else self.tolerance
            regressed = delta > allowed if lower else delta < -allowed
            rows.append(
                {
                    "metric": metric,
                    "candidate": cand[metric],
                    "champion": champ[metric],
                    "delta": delta,
                    "allowed_loss": allowed,
                    "regressed": regressed,
                }
            )
            if regressed:
                worse.append(f"{metric} {cand[metric]:.4f} vs {champ[metric]:.4f}")
        table = pd.DataFrame(rows)
        first = rows[0]
        vs = f"champion v{context.champion_version}" if context.champion_version else "champion"
        if worse:
            return self.result(
                "fail",
                first["delta"],
                f"tolerance {self.tolerance:g}",
                f"worse than the {vs} beyond the tolerance: {'; '.join(worse)}. Keep the "
                "champion, or retrain.",
                table,
            )
        return self.result(
            "pass",
            first["delta"],
            f"tolerance {self.tolerance:g}",
            f"at least as good as the {vs} on {', '.join(names)}",
            table,
        )


class SchemaContract(Check):
    """The eval data honours the model's signature: every column present, types that fit, no
    unknown columns, and no integer (``long``) inputs that would refuse a missing value."""

    name = "schema_contract"
    protects = "requests the model cannot read, or columns the server would silently ignore"

    def run(self, context: CheckContext) -> CheckResult:
        from workbench.data import conform_to_signature

        if context.signature is None or getattr(context.signature, "inputs", None) is None:
            return self.result(
                "fail",
                detail="the model has no signature: the server cannot refuse bad requests. "
                "Log it with workbench.log_model, which records one.",
            )
        types = context.input_types()
        frame = context.data.drop(columns=[c for c in context.expected_extra if c in context.data])
        try:
            conform_to_signature(frame, context.signature, what="the eval data")
        except DataError as err:
            return self.result("fail", "mismatch", "signature", str(err))
        table = pd.DataFrame(
            {
                "column": list(types),
                "signature_type": list(types.values()),
                "eval_dtype": [str(context.data[c].dtype) for c in types],
            }
        )
        longs = [c for c, kind in types.items() if kind in ("long", "integer")]
        if longs:
            return self.result(
                "warn",
                len(longs),
                0,
                f"integer input column(s) {', '.join(longs)}: a missing value in a request will "
                "be refused. Log the model with them as float (workbench.log_model does).",
                table,
            )
        return self.result(
            "pass", len(types), None, f"all {len(types)} columns match the signature", table
        )


class DataQuality(Check):
    """The eval data looks like the training data: missing shares, constant columns, duplicate
    rows, values outside the training range and categories never seen in training.

    Args:
        max_missing_increase: Largest allowed rise of a column's missing share (0.10 = 10 points).
        max_duplicate_share: Largest allowed share of duplicated rows.
        max_out_of_range_share: Largest allowed share of a column's values outside the training
            range.
        max_unseen_share: Largest allowed share of a column's values in categories training never saw.
    """

    name = "data_quality"
    protects = "testing (and later serving) on data unlike what the model learned from"

    def __init__(
        self,
        max_missing_increase: float = 0.10,
        max_duplicate_share: float = 0.05,
        max_out_of_range_share: float = 0.05,
        max_unseen_share: float = 0.05,
    ):
        self.max_missing_increase = max_missing_increase
        self.max_duplicate_share = max_duplicate_share
        self.max_out_of_range_share = max_out_of_range_share
        self.max_unseen_share = max_unseen_share

    def run(self, context: CheckContext) -> CheckResult:
        profile = context.profile
        if not profile:
            return self.result(
                "warn",
                detail="no training-data profile was logged with this version (it predates "
                "profile.json): log it again with workbench.log_model to get this check.",
            )
        x = context.x
        rows, problems = [], []
        for name, entry in profile["columns"].items():
            if name not in x.columns:
                continue
            row, issues = self._column(name, x[name], entry, len(x))
            rows.append(row)
            problems.extend(issues)
        duplicates = float(x.duplicated().mean()) if len(x) else 0.0
        if duplicates > self.max_duplicate_share:
            problems.append(
                f"{duplicates:.1%} of the rows are duplicates (limit {self.max_duplicate_share:.0%})"
            )
        table = pd.DataFrame(rows)
        if problems:
            return self.result(
                "fail",
                len(problems),
                0,
                "; ".join(problems[:6]) + ". Fix the data, or retrain on data like it.",
                table,
            )
        return self.result(
            "pass",
            0,
            0,
            f"{len(rows)} columns within the training profile; {duplicates:.1%} duplicate rows",
            table,
        )

    def _column(self, name: str, col: pd.Series, entry: dict[str, Any], n: int):
        issues: list[str] = []
        missing = float(col.isna().mean()) if n else 0.0
        row = {
            "column": name,
            "train_missing": entry.get("missing", 0.0),
            "eval_missing": missing,
            "out_of_range": 0.0,
            "unseen": 0.0,
            "constant": False,
        }
        if missing - entry.get("missing", 0.0) > self.max_missing_increase:
            issues.append(
                f"column {name!r} is {missing:.0%} missing (training: {entry.get('missing', 0):.0%})"
            )
        values = col.dropna()
        varied_in_training = entry.get("distinct", 2) > 1
        if n >= 20 and values.nunique() <= 1 and varied_in_training:
            row["constant"] = True
            issues.append(f"column {name!r} is constant in the eval data but varied in training")
        if entry.get("kind") == "numeric" and "min" in entry and len(values):
            numeric = pd.to_numeric(values, errors="coerce")
            outside = float(((numeric < entry["min"]) | (numeric > entry["max"])).mean())
            row["out_of_range"] = outside
            if outside > self.max_out_of_range_share:
                issues.append(
                    f"{outside:.0%} of column {name!r} lies outside the training range "
                    f"[{entry['min']:.4g}, {entry['max']:.4g}]"
                )
        if entry.get("kind") == "categorical" and "categories" in entry and len(values):
            unseen_mask = ~values.astype(str).isin(set(entry["categories"]))
            unseen = float(unseen_mask.mean())
            row["unseen"] = unseen
            if unseen > self.max_unseen_share:
                sample = ", ".join(map(repr, values[unseen_mask].astype(str).unique()[:3]))
                issues.append(
                    f"{unseen:.0%} of column {name!r} are categories never seen in training ({sample})"
                )
        return row, issues


class NoiseStability(Check):
    """Predictions barely move when numeric inputs get a little noise (1% of a column's spread).

    Args:
        scale: Noise as a share of each column's standard deviation.
        max_change: Classification: largest allowed share of changed labels. Regression: largest
            allowed mean change as a share of the predictions' standard deviation.
        seed: Seed of the noise.
    """

    name = "noise_stability"
    protects = "a brittle model whose answer flips on measurement noise"

    def __init__(self, scale: float = 0.01, max_change: float = 0.05, seed: int = 0):
        self.scale = scale
        self.max_change = max_change
        self.seed = seed

    def run(self, context: CheckContext) -> CheckResult:
        x = context.x
        columns = _numeric_columns(context)
        if not columns or not len(x):
            return self.result("pass", 0.0, self.max_change, "no numeric inputs to perturb")
        rng = np.random.default_rng(self.seed)
        noisy = x.copy()
        for col in columns:
            std = float(np.nanstd(x[col].to_numpy(dtype="float64")))
            noisy[col] = x[col] + rng.normal(0.0, self.scale * (std or 1.0), len(x))
        base, moved = context.predict(x), context.predict(noisy)
        if context.task == "classification":
            change = float(np.mean(base != moved))
            what = f"{change:.1%} of the labels changed"
        else:
            spread = float(np.std(base)) or 1.0
            change = float(np.mean(np.abs(moved - base)) / spread)
            what = f"predictions moved by {change:.1%} of their spread on average"
        status = "fail" if change > self.max_change else "pass"
        advice = (
            " Regularise the model or use fewer, smoother features." if status == "fail" else ""
        )
        return self.result(
            status,
            change,
            self.max_change,
            f"{what} under {self.scale:.0%} noise on {len(columns)} numeric columns.{advice}",
        )


class HandlesMissingValues(Check):
    """The model still answers when inputs are missing (each column is blanked in turn).

    Args:
        share: Share of rows to blank per column.
        rows: Eval rows to use.
    """

    name = "handles_missing"
    protects = "a crash (HTTP 500) the first time a form field comes in empty"

    def __init__(self, share: float = 0.2, rows: int = 200):
        self.share = share
        self.rows = rows

    def run(self, context: CheckContext) -> CheckResult:
        x = context.x.head(self.rows)
        types = context.input_types()
        columns = [c for c in x.columns if types.get(c) not in ("long", "integer", "boolean")]
        mask = np.random.default_rng(0).random(len(x)) < self.share
        mask[:1] = True
        blanked = x.copy()
        for col in columns:
            blanked[col] = x[col].where(~mask, None if x[col].dtype == object else np.nan)
        error = _predict_error(context, blanked)
        if error is None:
            return self.result(
                "pass", 0, 0, f"answers with missing values in any of {len(columns)} columns"
            )
        failing = []
        for col in columns:
            one = x.copy()
            one[col] = x[col].where(~mask, None if x[col].dtype == object else np.nan)
            if _predict_error(context, one) is not None:
                failing.append(col)
        broken = pd.DataFrame({"column": failing or ["(several together)"]})
        return self.result(
            "fail",
            len(failing),
            0,
            f"the model fails when {', '.join(failing) or 'several columns'} are missing "
            f"({error}). Add an imputer to the pipeline.",
            broken,
        )


class HandlesUnseenCategories(Check):
    """The model still answers when a text column holds a category training never saw."""

    name = "handles_unseen_categories"
    protects = "a crash the day a new product, region or code appears"

    def __init__(self, rows: int = 200):
        self.rows = rows

    def run(self, context: CheckContext) -> CheckResult:
        x = context.x.head(self.rows)
        columns = _text_columns(context)
        if not columns:
            return self.result("pass", 0, 0, "no categorical inputs")
        failing, last_error = [], None
        for col in columns:
            error = _predict_error(context, x.assign(**{col: _UNSEEN}))
            if error is not None:
                failing.append(col)
                last_error = error
        if failing:
            return self.result(
                "fail",
                len(failing),
                0,
                f"the model fails on a new category in {', '.join(failing)} ({last_error}). "
                "Use OneHotEncoder(handle_unknown='ignore') or similar.",
                pd.DataFrame({"column": failing}),
            )
        return self.result("pass", 0, 0, f"answers with new categories in {len(columns)} columns")


class FairnessGap(Check):
    """The gap of a metric across slices of a protected column stays under a limit.

    Args:
        protected: The column whose groups must be treated alike (``age_band``); it may be a
            column of the eval data that is not a model input.
        metric: ``recall`` (share of true positives found), ``positive_rate`` (share predicted
            positive), ``accuracy`` or, for regression, ``mae``.
        max_gap: Largest allowed difference between the best and the worst slice (absolute; for
            ``mae`` relative to the overall MAE).
        min_rows: Slices with fewer rows are shown but not judged.
    """

    name = "fairness_gap"
    protects = "a model that serves one group of people much worse than another"

    def __init__(
        self, protected: str, metric: str | None = None, max_gap: float = 0.25, min_rows: int = 30
    ):
        self.protected = protected
        self.metric = metric
        self.max_gap = max_gap
        self.min_rows = min_rows

    def run(self, context: CheckContext) -> CheckResult:
        if self.protected not in context.data.columns:
            raise MissingColumnError(
                f"protected column {self.protected!r} is not in the eval data: add it or name "
                "another column (protected=...)."
            )
        metric = self.metric or ("recall" if context.task == "classification" else "mae")
        pred = context.predict(context.x)
        y = None if context.target is None else np.asarray(context.target)
        if y is None and metric != "positive_rate":
            raise CheckError(f"fairness metric {metric!r} needs labels; the eval data has none.")
        groups = context.data[self.protected].fillna("(missing)").astype(str).to_numpy()
        positive = _positive_label(y, pred) if context.task == "classification" else None
        rows = []
        overall = _slice_metric(metric, y, pred, positive)
        for group in sorted(set(groups)):
            mask = groups == group
            rows.append(
                {
                    "slice": group,
                    "rows": int(mask.sum()),
                    metric: _slice_metric(
                        metric, None if y is None else y[mask], pred[mask], positive
                    ),
                    "judged": bool(mask.sum() >= self.min_rows),
                }
            )
        table = pd.DataFrame(rows)
        judged = table[table["judged"] & table[metric].notna()]
        if len(judged) < 2:
            return self.result(
                "warn",
                None,
                self.max_gap,
                f"fewer than two slices of {self.protected!r} have {self.min_rows}+ rows: "
                "use more eval data to judge fairness.",
                table,
            )
        gap = float(judged[metric].max() - judged[metric].min())
        if metric == "mae":
            gap = gap / overall if overall else 0.0
        worst = judged.loc[judged[metric].idxmin() if metric != "mae" else judged[metric].idxmax()]
        text = (
            f"{metric} ranges over {gap:.3f} across {self.protected!r} slices "
            f"(worst: {worst['slice']} at {worst[metric]:.3f}; overall {overall:.3f})"
        )
        if gap > self.max_gap:
            return self.result(
                "fail",
                gap,
                self.max_gap,
                text + f", above the limit {self.max_gap:g}. Look at the slice table, "
                "rebalance the training data or the threshold.",
                table,
            )
        return self.result("pass", gap, self.max_gap, text, table)


class LatencyBudget(Check):
    """Single-row predictions are fast enough (p95, in-process, as served) and batches flow.

    Args:
        p95_ms: Budget for the 95th percentile of one-row predictions, in milliseconds.
        min_rows_per_s: Smallest acceptable batch throughput.
        single_rows: How many one-row predictions to time.
        batch_rows: Size of the timed batch.
        attempts: Timing rounds at most: a round over budget is timed again and the best round
            counts, so a burst of load from other programs does not fail a fast model. A slow
            model is over budget in every round.
    """

    name = "latency"
    protects = "a model too slow for the request budget of the application calling it"

    def __init__(
        self,
        p95_ms: float = 100.0,
        min_rows_per_s: float = 1000.0,
        single_rows: int = 40,
        batch_rows: int = 1000,
        attempts: int = 3,
    ):
        self.p95_ms = p95_ms
        self.min_rows_per_s = min_rows_per_s
        self.single_rows = single_rows
        self.batch_rows = batch_rows
        self.attempts = attempts

    def run(self, context: CheckContext) -> CheckResult:
        x = context.x
        if not len(x):
            raise CheckError("the eval data has no rows to time.")
        for i in range(3):  # warm-up: first calls pay for caches
            context.predict(x.iloc[[i % len(x)]])
        rounds: list[tuple[float, float, float, float, int]] = []
        while len(rounds) < max(1, self.attempts):
            rounds.append(self._time(context, x))
            fastest = min(r[1] for r in rounds)
            if fastest <= self.p95_ms and max(r[3] for r in rounds) >= self.min_rows_per_s:
                break
        p50, p95, p99, _, rows = min(rounds, key=lambda r: r[1])
        throughput = max(r[3] for r in rounds)
        table = pd.DataFrame(
            [
                {"measure": "single-row p50 (ms)", "value": p50},
                {"measure": "single-row p95 (ms)", "value": p95},
                {"measure": "single-row p99 (ms)", "value": p99},
                {"measure": f"batch of {rows} (rows/s)", "value": throughput},
                {"measure": "timing rounds (best counts)", "value": float(len(rounds))},
            ]
        )
        problems = []
        if p95 > self.p95_ms:
            problems.append(f"p95 {p95:.1f} ms is over the {self.p95_ms:g} ms budget")
        if throughput < self.min_rows_per_s:
            problems.append(
                f"batch throughput {throughput:,.0f} rows/s is under {self.min_rows_per_s:,.0f}"
            )
        threshold = f"p95 <= {self.p95_ms:g} ms, >= {self.min_rows_per_s:,.0f} rows/s"
        if problems:
            return self.result(
                "fail",
                p95,
                threshold,
                "; ".join(problems) + ". Use a smaller model (fewer or shallower trees).",
                table,
            )
        return self.result(
            "pass",
            p95,
            threshold,
            f"p95 {p95:.1f} ms per row; {throughput:,.0f} rows/s in a batch",
            table,
        )

    def _time(self, context: CheckContext, x: pd.DataFrame):
        """One timing round: single-row percentiles (ms) and batch throughput (rows/s)."""
        times = []
        for i in range(self.single_rows):
            row = x.iloc[[i % len(x)]]
            started = time.perf_counter()
            context.predict(row)
            times.append((time.perf_counter() - started) * 1000)
        batch = x.head(self.batch_rows)
        started = time.perf_counter()
        context.predict(batch)
        throughput = len(batch) / max(time.perf_counter() - started, 1e-9)
        p50, p95, p99 = np.percentile(times, [50, 95, 99])
        return float(p50), float(p95), float(p99), throughput, len(batch)


class ReloadReproducibility(Check):
    """The version loaded from the registry predicts exactly what the model predicted when it was
    logged (input example and eval rows), and the same input gives the same answer twice."""

    name = "reload_reproducibility"
    protects = "serving something other than what was tested (a broken save, a different library)"

    def run(self, context: CheckContext) -> CheckResult:
        from workbench.checks.profile import reference_frame

        x = context.x
        first, second = context.predict(x), context.predict(x)
        unstable = int(np.sum(~_same(first, second)))
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
            then = np.asarray(context.reference["predictions"])
            differ = int(np.sum(~_same(now.ravel(), then)))
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

    def run(self, context: CheckContext) -> CheckResult:
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


# --------------------------------------------------------------------------- helpers


def _predict_error(context: CheckContext, x: pd.DataFrame) -> str | None:
    try:
        pred = context.predict(x)
    except Exception as err:
        first = (str(err).strip().splitlines() or [""])[0][:200]
        return f"{type(err).__name__}: {first}"
    if pred.dtype.kind == "f" and not np.all(np.isfinite(pred)):
        return "the predictions hold NaN or infinity"
    return None


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return np.zeros(max(len(a), len(b)), dtype=bool)
    if a.dtype.kind == "f" and b.dtype.kind == "f":
        return (a == b) | (np.isnan(a) & np.isnan(b))
    return a.astype(str) == b.astype(str) if a.dtype != b.dtype else a == b


def _positive_label(y: np.ndarray | None, pred: np.ndarray) -> Any:
    labels = np.unique(np.concatenate([y if y is not None else [], pred]))
    return labels.max() if len(labels) else 1


def _slice_metric(metric: str, y: np.ndarray | None, pred: np.ndarray, positive: Any) -> float:
    if len(pred) == 0:
        return float("nan")
    if metric == "positive_rate":
        return float(np.mean(pred == positive))
    if metric == "recall":
        actual = y == positive
        return float(np.mean(pred[actual] == positive)) if actual.any() else float("nan")
    if metric == "precision":
        chosen = pred == positive
        return float(np.mean(y[chosen] == positive)) if chosen.any() else float("nan")
    if metric == "accuracy":
        return float(np.mean(pred == y))
    if metric == "mae":
        return float(np.mean(np.abs(pred.astype(float) - y.astype(float))))
    raise CheckError(
        f"unknown fairness metric {metric!r}: use recall, precision, positive_rate, accuracy or mae."
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
