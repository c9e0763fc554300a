"""Which columns a drift report tests, as what kind, and which it skips and why.

With a model, its :class:`~workbench.contract.ModelContract` decides: the model's features (with
the kinds the contract gives them), the prediction, and the target when the batch has labels are
tested; identifier, date and ignored columns, and columns the model does not take, are skipped.
Without a model, :func:`workbench.contract.infer_roles` finds identifiers, dates and free text in
the reference table and they are skipped; every other column is tested with the kind Evidently
would infer. Columns named in ``ignore`` are always skipped. Every skipped column is listed with
the reason, so a report never leaves a column out silently.

Example:
    >>> import pandas as pd
    >>> ref = pd.DataFrame({"customer_id": [f"C{i}" for i in range(40)],
    ...                     "x": [float(i % 7) for i in range(40)]})
    >>> plan = plan_columns(ref, ref, target=None)
    >>> plan.kinds, plan.skipped
    ({'x': 'numerical'}, {'customer_id': 'identifier: unique on 100% of rows'})
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from workbench.contract import ModelContract, infer_roles
from workbench.monitoring.scoring import PREDICTION
from workbench.monitoring.statistics import column_kind

__all__ = ["ColumnPlan", "plan_columns"]

#: Contract kinds -> drift kinds (datetime columns are never tested).
_CONTRACT_KINDS = {
    "numeric": "numerical",
    "boolean": "categorical",
    "categorical": "categorical",
    "text": "categorical",
}


@dataclass
class ColumnPlan:
    """The columns to test and to skip.

    Attributes:
        ref, cur: The two tables, with columns cast where the kinds need it (text parsed as
            numbers, ``1`` and ``1.0`` made the same category). Not subset: on a large table
            that would copy it.
        kinds: ``{column: numerical | categorical}`` of the tested columns.
        skipped: ``{column: why}`` of the columns not tested.
        id_columns: The skipped identifiers (Evidently's ``id_column`` is the first).
        date_columns: The skipped dates (Evidently's ``timestamp`` is the first).
    """

    ref: pd.DataFrame
    cur: pd.DataFrame
    kinds: dict[str, str]
    skipped: dict[str, str] = field(default_factory=dict)
    id_columns: list[str] = field(default_factory=list)
    date_columns: list[str] = field(default_factory=list)


def plan_columns(
    ref: pd.DataFrame,
    cur: pd.DataFrame,
    target: str | None,
    ignore: Iterable[str] = (),
    contract: ModelContract | None = None,
    task: str | None = None,
) -> ColumnPlan:
    """The :class:`ColumnPlan` of two validated tables.

    Args:
        ref: The reference table (with the :data:`~workbench.monitoring.scoring.PREDICTION`
            column when a model scored it).
        cur: The current table.
        target: The label column (tested when both tables have it).
        ignore: Columns the caller leaves out.
        contract: The model's contract (None: roles inferred from ``ref``).
        task: ``classification`` or ``regression`` (the kind of the target and prediction).
    """
    plan = ColumnPlan(ref, cur, {})
    for col in ignore:
        if col in ref.columns or col in cur.columns:
            plan.skipped[str(col)] = "ignored on request"
    special = {c for c in (target, PREDICTION) if c is not None}
    if contract is not None:
        _from_contract(plan, contract, special)
    else:
        _inferred(plan, special)
    if target is not None and target in ref.columns and target not in plan.skipped:
        if target in cur.columns:
            plan.kinds[target] = _task_kind(task) or column_kind(ref[target]) or "categorical"
        else:
            plan.skipped[target] = (
                "no labels in the current batch (unlabelled): label drift and performance are "
                "not measured"
            )
    if PREDICTION in ref.columns and PREDICTION in cur.columns:
        plan.kinds[PREDICTION] = _task_kind(task) or "categorical"
    order = {c: i for i, c in enumerate(ref.columns)}
    plan.kinds = dict(sorted(plan.kinds.items(), key=lambda kv: order.get(kv[0], len(order))))
    _cast(plan)
    return plan


# --------------------------------------------------------------------------- helpers


def _from_contract(plan: ColumnPlan, contract: ModelContract, special: set[str]) -> None:
    present = set(plan.ref.columns) | set(plan.cur.columns)
    roles = (
        (contract.id_columns, "identifier (model contract)", plan.id_columns),
        (contract.date_columns, "date (model contract): dates always move", plan.date_columns),
        (contract.ignored, "ignored by the model contract", None),
    )
    for names, why, kept in roles:
        for col in names:
            if col in present and col not in plan.skipped:
                plan.skipped[col] = why
                if kept is not None:
                    kept.append(col)
    features = set(contract.features)
    for col in plan.ref.columns:
        if col in plan.skipped or col in special:
            continue
        if col not in features:
            extra = " (a protected attribute)" if col in contract.protected else ""
            plan.skipped[str(col)] = f"not a model input{extra}"
            continue
        kind = _CONTRACT_KINDS.get(contract.kinds.get(col, ""), None) or column_kind(plan.ref[col])
        if kind in ("numerical", "categorical"):
            plan.kinds[str(col)] = kind
        else:
            plan.skipped[str(col)] = f"unsupported type {plan.ref[col].dtype}"


def _inferred(plan: ColumnPlan, special: set[str]) -> None:
    names = [c for c in plan.ref.columns if c not in plan.skipped and c not in special]
    for role in infer_roles(plan.ref[names]):
        col = str(role.name)
        if role.role == "id":
            plan.skipped[col] = f"identifier: {role.reason}"
            plan.id_columns.append(col)
        elif role.role == "date":
            plan.skipped[col] = f"date ({role.reason}): dates always move"
            plan.date_columns.append(col)
        elif role.role == "ignored":
            plan.skipped[col] = role.reason
        else:
            kind = column_kind(plan.ref[col])
            if kind == "datetime":
                plan.skipped[col] = "date: dates always move"
                plan.date_columns.append(col)
            elif kind is None:
                plan.skipped[col] = f"unsupported type {plan.ref[col].dtype}"
            else:
                plan.kinds[col] = kind


def _task_kind(task: str | None) -> str | None:
    if task is None:
        return None
    return "numerical" if task == "regression" else "categorical"


def _cast(plan: ColumnPlan) -> None:
    """Cast columns whose dtype does not fit their kind, on both tables (no copy otherwise)."""
    cast_ref, cast_cur = {}, {}
    for col, kind in plan.kinds.items():
        r, c = plan.ref[col], plan.cur[col]
        if kind == "numerical":
            for frame_cast, values in ((cast_ref, r), (cast_cur, c)):
                if not _is_number(values):
                    frame_cast[col] = pd.to_numeric(values, errors="coerce").astype("float64")
        elif _is_number(r) and r.dtype != c.dtype:  # 1, 1.0 and "1" are the same category
            if not _is_number(c):
                c = pd.to_numeric(c, errors="coerce")
            cast_ref[col] = r.astype("float64")
            cast_cur[col] = c.astype("float64")
    plan.ref = plan.ref.assign(**cast_ref) if cast_ref else plan.ref
    plan.cur = plan.cur.assign(**cast_cur) if cast_cur else plan.cur


def _is_number(values: pd.Series) -> bool:
    dtype = values.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
