"""Which class of a classifier's labels is the positive one, and labels compared as people write
them.

:func:`resolve_positive_label` takes a declared positive label (matched as text too: ``"1"`` from
a command line finds ``1``) or the obvious one of a binary pair (:data:`OBVIOUS_PAIRS`);
:func:`sorted_labels` orders a target's labels as a model's ``classes_`` does;
:func:`same_label` compares two labels as values or as text.

Example:
    >>> resolve_positive_label(["no", "yes"], None, "churned")
    'yes'
    >>> resolve_positive_label([0, 1], "1", "default")
    1
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import UsageError

__all__ = [
    "OBVIOUS_PAIRS",
    "POSITIVE_WORDS",
    "resolve_positive_label",
    "same_label",
    "sorted_labels",
]

#: Binary label pairs whose positive class goes without saying (compared as lower-case text).
OBVIOUS_PAIRS = ({"1", "0"}, {"true", "false"}, {"yes", "no"}, {"positive", "negative"}, {"y", "n"})
#: The positive member of each of :data:`OBVIOUS_PAIRS`.
POSITIVE_WORDS = {"1", "true", "yes", "positive", "y"}


def resolve_positive_label(
    labels: list[Any], positive_label: Any, target: str, notes: list[str] | None = None
) -> Any:
    """The positive label among ``labels``: the declared one (matched as text too, so ``"1"`` from
    a command line finds ``1``), else the obvious one of a binary pair.

    Raises:
        UsageError: the declared label is not among ``labels``, or a binary pair needs one.
    """
    notes = notes if notes is not None else []
    shown = ", ".join(repr(v) for v in labels[:10])
    if positive_label is not None:
        for label in labels:
            if same_label(label, positive_label):
                return label
        raise UsageError(
            f"positive label {positive_label!r} is not among the labels of {target!r} ({shown}): "
            "give one of them."
        )
    if len(labels) != 2:
        return None  # multiclass: macro averages, no positive class
    texts = {str(v).strip().lower() for v in labels}
    if not any(texts == pair for pair in OBVIOUS_PAIRS):
        raise UsageError(
            f"target {target!r} has the labels {shown}: say which one is the positive class "
            f"(the one recall and fairness measure), e.g. positive_label={labels[0]!r}."
        )
    chosen = next(v for v in labels if str(v).strip().lower() in POSITIVE_WORDS)
    if not isinstance(chosen, bool | int | np.integer | np.bool_):
        notes.append(f"positive label of {target!r} inferred as {chosen!r}.")
    return chosen


def sorted_labels(y: pd.Series) -> list[Any]:
    values = pd.unique(y.dropna())
    try:
        return sorted(values.tolist())
    except TypeError:
        return sorted(values.tolist(), key=str)


def same_label(label: Any, other: Any) -> bool:
    if label == other:
        return True
    return str(label).strip().lower() == str(other).strip().lower()
