"""Two writers that insert the same row of MLflow's store at the same moment.

Some of MLflow's store methods look a row up and insert it when it is missing, in one
transaction that does not lock: two data scientists who log a model on the same table at the same
time both find no dataset row, both insert it, and the second gets the database's unique-key
error (``psycopg2.errors.UniqueViolation ... duplicate key``, SQLite's ``UNIQUE constraint
failed``) as a ``BAD_REQUEST``. A new version's number is the same race: MLflow tries three
times, then says ``Model Version creation error ... Giving up``. The transaction was rolled back, so the call can simply be made
again: the row is there now and is linked instead of inserted. :func:`conflict` recognises the
error; :func:`retry_on_conflict` makes the call again a few times.

Example:
    >>> from mlflow.exceptions import MlflowException
    >>> conflict(MlflowException("(psycopg2.errors.UniqueViolation) duplicate key value "
    ...     'violates unique constraint "dataset_pk"'))
    True
    >>> conflict(ValueError("column 'age' is missing"))
    False
    >>> calls = []
    >>> def insert():
    ...     calls.append(1)
    ...     if len(calls) < 3:
    ...         raise MlflowException("UNIQUE constraint failed: datasets.name")
    ...     return "linked"
    >>> retry_on_conflict(insert, pause=0.0), len(calls)
    ('linked', 3)
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["conflict", "retry_on_conflict"]

T = TypeVar("T")

_UNIQUE = re.compile(
    r"UniqueViolation|duplicate key value|UNIQUE constraint failed|IntegrityError|"
    r"Model Version creation error",  # MLflow's own retries of a version number ran out
    re.IGNORECASE,
)


def conflict(err: BaseException) -> bool:
    """Whether ``err`` (or anything it was raised from) is a unique-key clash in the store."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _UNIQUE.search(str(current)):
            return True
        current = current.__cause__ or current.__context__
    return False


def retry_on_conflict(call: Callable[[], T], tries: int = 4, pause: float = 0.2) -> T:
    """``call()``, made again (after a short random pause) while it fails on a unique-key clash.

    Only for calls whose failed attempt left nothing behind (one rolled-back transaction). The
    last clash, or any other error, is raised as it came.
    """
    for attempt in range(tries):
        try:
            return call()
        except Exception as err:
            if attempt == tries - 1 or not conflict(err):
                raise
            time.sleep(pause * (1 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover (the loop returns or raises)
