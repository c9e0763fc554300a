"""Small, real material for the checks' ``failing_example()``: a tiny table, fitted scikit-learn
pipelines and in-memory contexts (no registry, no mocks), in well under a second."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.checks.context import CheckContext

#: The example table's label column and protected column.
TARGET = "label"
PROTECTED = "group"
NUMERIC = ["income", "age"]
CATEGORICAL = ["region"]


def example_table(rows: int = 240, seed: int = 0) -> pd.DataFrame:
    """Two float inputs, a text input, a protected group and a 0/1 label that depends on them."""
    rng = np.random.default_rng(seed)
    income = rng.normal(50.0, 15.0, rows).round(2)
    age = rng.uniform(18.0, 80.0, rows).round(1)
    region = rng.choice(["north", "south", "east"], rows)
    group = rng.choice(["a", "b"], rows)
    score = (income - 50.0) / 15.0 + 0.8 * (region == "north") + rng.normal(0.0, 0.6, rows)
    return pd.DataFrame(
        {
            "income": income,
            "age": age,
            "region": region,
            PROTECTED: group,
            TARGET: (score > 0.3).astype(int),
        }
    )


def example_model(
    estimator: Any = None,
    *,
    train: pd.DataFrame | None = None,
    numeric: list[str] | None = None,
    categorical: list[str] | None = None,
    impute: bool = True,
    encoder: Any = None,
) -> Any:
    """A pipeline (imputers, one-hot encoder, ``estimator``) fitted on ``train``.

    Args:
        estimator: The final step (default: a logistic regression).
        train: The table to fit on (default: :func:`example_table`).
        numeric: Numeric inputs (default: income and age).
        categorical: Text inputs (default: region).
        impute: Put imputers in front (without them, a missing value breaks the model).
        encoder: The text encoder (default: one-hot, ignoring categories it never saw).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    train = example_table() if train is None else train
    numeric = NUMERIC if numeric is None else numeric
    categorical = CATEGORICAL if categorical is None else categorical
    parts: list[tuple[str, Any, list[str]]] = [
        ("num", SimpleImputer() if impute else "passthrough", numeric)
    ]
    if categorical:
        encode = encoder if encoder is not None else OneHotEncoder(handle_unknown="ignore")
        steps = [SimpleImputer(strategy="most_frequent"), encode] if impute else [encode]
        parts.append(("cat", make_pipeline(*steps), categorical))
    model = make_pipeline(ColumnTransformer(parts), estimator or LogisticRegression(max_iter=500))
    return model.fit(train.drop(columns=TARGET), train[TARGET])


def example_context(
    model: Any = None,
    evaluation: pd.DataFrame | None = None,
    *,
    train: pd.DataFrame | None = None,
    champion: Any = None,
) -> CheckContext:
    """A context for ``model`` (default: a sound :func:`example_model`) on fresh eval rows.

    The signature and the training profile come from ``train`` (default: :func:`example_table`).
    """
    train = example_table() if train is None else train
    model = example_model(train=train) if model is None else model
    evaluation = example_table(seed=1) if evaluation is None else evaluation
    return CheckContext.from_model(
        model, evaluation, TARGET, train=train.drop(columns=TARGET), champion=champion
    )


def example_folder() -> Path:
    """A new temporary folder, removed when the Python process exits."""
    folder = Path(tempfile.mkdtemp(prefix="wb-check-example-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
