"""Demo data (offline, deterministic), production batches with drift scenarios, and table loading.

* :func:`credit_risk` is a synthetic loan book: numeric and categorical columns, missing values, a
  protected attribute (``age_band``), an application date and a binary ``default`` target with signal.
* :func:`production_batch` makes later batches of the same table, with a controlled drift scenario.
* :func:`breast_cancer` and :func:`diabetes` wrap scikit-learn's bundled data sets.
* :func:`load_table` reads CSV or Parquet and says clearly what is wrong with a bad file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench._core.conform import Misfit, conform_frame
from workbench.errors import DataFileError, MissingColumnError, SchemaMismatchError, UsageError

__all__ = [
    "DEMO_DATASETS",
    "SCENARIOS",
    "DemoDataset",
    "breast_cancer",
    "credit_risk",
    "demo_dataset",
    "diabetes",
    "conform_to_signature",
    "load_table",
    "production_batch",
    "split_xy",
]

#: Drift scenarios understood by :func:`production_batch`.
SCENARIOS = ("none", "gradual_shift", "new_category", "null_surge", "label_shift")

_REFERENCE_START = pd.Timestamp("2026-01-01")
_PURPOSES = ["car", "home", "education", "business", "other"]
_EMPLOYMENT = ["salaried", "self-employed", "unemployed", "retired"]
_REGIONS = ["north", "south", "east", "west"]
_AGE_BANDS = ["18-25", "26-40", "41-60", "60+"]


@dataclass(frozen=True)
class DemoDataset:
    """A bundled data set: the table, its target column and its task."""

    name: str
    frame: pd.DataFrame
    target: str
    task: str  # "classification" or "regression"


def credit_risk(n: int = 5000, seed: int = 0) -> pd.DataFrame:
    """A synthetic credit-risk table, the same for the same ``n`` and ``seed``.

    Columns: ``age`` (int), ``age_band`` (protected attribute), ``income`` (float, about 5% missing),
    ``loan_amount``, ``loan_term_months`` (int), ``credit_history_years``, ``num_late_payments``
    (integer counts with about 3% missing, so float), ``employment``, ``purpose``, ``region``,
    ``application_date`` and the binary target ``default``.

    Example:
        >>> df = credit_risk(200)
        >>> df.shape, sorted(df["default"].unique().tolist())
        ((200, 12), [0, 1])
    """
    return _credit_frame(np.random.default_rng(seed), n, start=_REFERENCE_START, days=90)


def production_batch(
    day: int, scenario: str = "none", n: int = 1000, seed: int = 0, with_target: bool = True
) -> pd.DataFrame:
    """A batch of "production" credit-risk rows for ``day`` (1, 2, ...) after the reference period.

    Args:
        day: Day number after the reference data; drift of ``gradual_shift`` grows with it.
        scenario: One of :data:`SCENARIOS`: ``none`` (same distribution), ``gradual_shift`` (incomes
            fall and loan amounts grow, more each day), ``new_category`` (a purpose never seen in
            training), ``null_surge`` (most incomes missing), ``label_shift`` (defaults much more common
            with the same inputs).
        n: Number of rows.
        seed: Base seed; each day draws its own stream from it.
        with_target: Keep the ``default`` column (labels arrive late in real life).

    Raises:
        ValueError: ``scenario`` is unknown or ``day`` is below 1.
    """
    if scenario not in SCENARIOS:
        raise UsageError(f"unknown scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}")
    if day < 1:
        raise UsageError(f"day must be 1 or more, got {day}")
    rng = np.random.default_rng([seed, day, SCENARIOS.index(scenario)])
    start = _REFERENCE_START + pd.Timedelta(days=90 + day - 1)
    shift = min(1.0, 0.25 + 0.15 * day) if scenario == "gradual_shift" else 0.0
    frame = _credit_frame(
        rng,
        n,
        start=start,
        days=1,
        income_scale=1.0 - 0.45 * shift,
        loan_scale=1.0 + 0.8 * shift,
        default_boost=2.2 if scenario == "label_shift" else 0.0,
    )
    if scenario == "new_category":
        mask = rng.random(n) < 0.35
        frame.loc[mask, "purpose"] = "crypto"
    elif scenario == "null_surge":
        mask = rng.random(n) < 0.65
        frame.loc[mask, "income"] = np.nan
    if not with_target:
        frame = frame.drop(columns="default")
    return frame


def _credit_frame(
    rng: np.random.Generator,
    n: int,
    *,
    start: pd.Timestamp,
    days: int,
    income_scale: float = 1.0,
    loan_scale: float = 1.0,
    default_boost: float = 0.0,
) -> pd.DataFrame:
    age = rng.integers(18, 80, n)
    age_band = pd.cut(age, [17, 25, 40, 60, 120], labels=_AGE_BANDS).astype(str)
    employment = rng.choice(_EMPLOYMENT, n, p=[0.6, 0.2, 0.08, 0.12])
    income = rng.lognormal(10.6, 0.45, n) * np.where(employment == "unemployed", 0.35, 1.0)
    income = income * income_scale
    loan_amount = rng.gamma(2.0, 6000.0, n) * loan_scale
    loan_term = rng.choice([12, 24, 36, 48, 60], n)
    history = np.clip(rng.normal((age - 18) * 0.35, 2.5), 0, None).round(1)
    late = rng.poisson(0.6 + 0.8 * (employment == "unemployed"), n).astype(float)
    purpose = rng.choice(_PURPOSES, n, p=[0.3, 0.25, 0.15, 0.15, 0.15])
    region = rng.choice(_REGIONS, n)
    date = start + pd.to_timedelta(rng.integers(0, days, n), unit="D")

    burden = loan_amount / income
    logit = (
        -3.6
        + 2.4 * np.log1p(burden)
        + 0.8 * late
        - 0.08 * history
        + 0.02 * loan_term
        + 1.0 * (employment == "unemployed")
        + 0.5 * (purpose == "business")
        # interactions a linear model cannot see: young borrowers with late payments, and long
        # loans that are large for the income
        + 2.4 * ((age < 30) & (late >= 2))
        + 2.4 * ((loan_term >= 48) & (burden > 0.6))
        + 1.2 * (age > 65)
        + default_boost
    )
    default = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)

    income = income.round(2)
    income[rng.random(n) < 0.05] = np.nan
    late[rng.random(n) < 0.03] = np.nan
    return pd.DataFrame(
        {
            "age": age.astype("int64"),
            "age_band": age_band,
            "income": income,
            "loan_amount": loan_amount.round(2),
            "loan_term_months": loan_term.astype("int64"),
            "credit_history_years": history,
            "num_late_payments": late,
            "employment": employment,
            "purpose": purpose,
            "region": region,
            "application_date": date.normalize(),
            "default": default,
        }
    )


def breast_cancer() -> pd.DataFrame:
    """scikit-learn's bundled breast-cancer table (binary classification, target ``target``)."""
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame


def diabetes() -> pd.DataFrame:
    """scikit-learn's bundled diabetes table (regression, target ``target``)."""
    from sklearn.datasets import load_diabetes

    return load_diabetes(as_frame=True).frame


#: Names accepted by :func:`demo_dataset`.
DEMO_DATASETS = ("credit_risk", "breast_cancer", "diabetes")


def demo_dataset(name: str = "credit_risk", n: int = 5000, seed: int = 0) -> DemoDataset:
    """One of the bundled data sets by name, with its target and task.

    Raises:
        ValueError: ``name`` is not one of :data:`DEMO_DATASETS`.
    """
    if name == "credit_risk":
        return DemoDataset(name, credit_risk(n, seed), "default", "classification")
    if name == "breast_cancer":
        return DemoDataset(name, breast_cancer(), "target", "classification")
    if name == "diabetes":
        return DemoDataset(name, diabetes(), "target", "regression")
    raise UsageError(f"unknown demo data set {name!r}: choose one of {', '.join(DEMO_DATASETS)}")


def load_table(path: str | os.PathLike, *, text: list[str] | tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame.

    A CSV has no types: pandas reads ``07`` as the number 7. ``text`` names the columns read as
    text as written (a model's text columns: ``contract.text_columns``); the others are read as
    pandas infers them. A Parquet file keeps the types it was written with.

    Raises:
        DataFileError: The file does not exist, is empty, has another format or does not parse.
    """
    file = Path(path)
    if not file.exists():
        raise DataFileError(f"data file {file} does not exist: check the path (CSV or Parquet).")
    if file.is_dir():
        raise DataFileError(f"{file} is a folder, not a data file: give a .csv or .parquet file.")
    suffix = file.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".gz"):
            frame = pd.read_csv(file, dtype=dict.fromkeys(text, str) if text else None)
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(file)
        else:
            raise DataFileError(
                f"{file} has an unsupported format {suffix or '(no extension)'!r}: "
                "save it as .csv or .parquet."
            )
    except DataFileError:
        raise
    except pd.errors.EmptyDataError as err:
        raise DataFileError(f"{file} is empty: it needs a header row and data rows.") from err
    except Exception as err:  # parser errors differ by engine; all mean "does not parse"
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataFileError(f"{file} does not parse as {suffix[1:]}: {first}") from err
    if frame.empty:
        raise DataFileError(f"{file} has no data rows: it needs at least one row under the header.")
    return frame


def split_xy(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    """Split ``frame`` into features and the ``target`` column.

    Raises:
        MissingColumnError: ``target`` is not a column of ``frame``.
    """
    if target not in frame.columns:
        cols = ", ".join(map(str, frame.columns[:12]))
        raise MissingColumnError(
            f"target column {target!r} is not in the data (columns: {cols}"
            f"{', ...' if len(frame.columns) > 12 else ''}): name the column that holds the labels."
        )
    return frame.drop(columns=target), frame[target]


def conform_to_signature(
    frame: pd.DataFrame, schema: Any, *, allow_extra: bool = False, what: str = "the data",
    missing: str = "signature",
) -> pd.DataFrame:  # fmt: skip
    """Check ``frame`` against a model's input schema and return it cast to the schema's types.

    The rule is the model server's own (:func:`workbench._core.conform.conform_frame`): MLflow's
    server silently ignores extra columns and coerces 30.9 or "30" into an integer column; this
    refuses those instead, naming the column, the row and the offending value.

    Args:
        frame: The rows to send to the model.
        schema: The model's input schema (``signature.inputs``) or a signature.
        allow_extra: Drop columns the model does not know instead of refusing them.
        what: How to call ``frame`` in messages ("the eval data", "the request").
        missing: ``"signature"`` for a request to a model server (a value may be missing only
            where the signature allows it, as the server's edge says), ``"keep"`` for a table
            scored in batch, checked or monitored (gaps go to the model, as MLflow's predict
            passes them, and are counted by the missing-value rules).

    Raises:
        MissingColumnError: a required column is absent.
        SchemaMismatchError: an unknown column, or a value that does not fit its column's type.
    """
    try:
        return conform_frame(frame, schema, allow_extra=allow_extra, missing=missing)
    except Misfit as misfit:
        raise _misfit_error(misfit, what) from None


def _misfit_error(misfit: Misfit, what: str) -> Exception:
    names = ", ".join(map(str, misfit.columns))
    if misfit.reason == "missing":
        return MissingColumnError(
            f"{what} lacks column(s) the model takes: {names}. Add them (leave a value empty "
            "where it is unknown); the model's signature lists every input."
        )
    if misfit.reason == "unknown":
        return SchemaMismatchError(
            f"{what} has column(s) the model does not know: {names}. Drop them, or check for a "
            "typo in the name (MLflow's server would silently ignore them)."
        )
    row = f" (row {misfit.row}" + (f": {misfit.value!r})" if misfit.value is not None else ")")
    return SchemaMismatchError(
        f"column {misfit.column!r} in {what} {misfit.problem}{row if misfit.row is not None else ''}"
        f": {misfit.advice}."
    )
