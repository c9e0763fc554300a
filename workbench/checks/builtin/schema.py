"""The schema check: the eval data holds every feature of the model's contract, in types its
signature accepts. Columns the model does not take are fine: they are listed, not failed."""

from __future__ import annotations

import difflib

import pandas as pd

from workbench.checks.base import Check, CheckResult
from workbench.checks.context import CheckContext
from workbench.errors import DataError

__all__ = ["SchemaContract"]


class SchemaContract(Check):
    """The eval data honours the model's contract and signature: every feature present, types
    that fit, and no integer (``long``) inputs that would refuse a missing value.

    Extra columns (identifiers, dates, protected attributes, anything the model does not take)
    pass: the detail table lists them with their role, and the model is fed its features only.
    """

    name = "schema_contract"
    protects = "requests the model cannot read: a feature missing, misspelt or of the wrong type"

    @classmethod
    def failing_example(cls) -> tuple[SchemaContract, CheckContext]:
        """Eval data that lacks an input column the model was logged with."""
        from workbench.checks.builtin._examples import example_context, example_table

        return cls(), example_context(evaluation=example_table(seed=1).drop(columns="income"))

    def run(self, context: CheckContext) -> CheckResult:
        """Look for the contract's features in the eval data and conform them to the signature."""
        from workbench.data import conform_to_signature

        if context.signature is None or getattr(context.signature, "inputs", None) is None:
            return self.result(
                "fail",
                detail="the model has no signature: the server cannot refuse bad requests. "
                "Log it with workbench.log_model, which records one.",
            )
        types = context.input_types()
        features = context.contract.features if context.contract is not None else list(types)
        extra = context.extra_columns
        missing = [c for c in features if c not in context.data.columns]
        table = _table(context, features, types, extra)
        if missing:
            hints = [
                f"{m!r} (is {close[0]!r} it?)" if close else repr(m)
                for m in missing
                for close in [difflib.get_close_matches(m, map(str, extra), 1)]
            ]
            return self.result(
                "fail",
                len(missing),
                0,
                f"the eval data lacks the feature(s) {', '.join(hints)} that the model takes "
                f"(its contract lists {len(features)}): add them, leaving a value empty where "
                "it is unknown.",
                table,
            )
        try:
            conform_to_signature(
                context.data[features], context.signature, allow_extra=True,
                what="the eval data", missing="keep",
            )  # fmt: skip
        except DataError as err:
            return self.result("fail", "mismatch", "signature", str(err), table)
        also = (
            f"; {len(extra)} other column(s) not used by the model: {_names(extra)}"
            if extra
            else ""
        )
        longs = [c for c, kind in types.items() if kind in ("long", "integer")]
        if longs:
            return self.result(
                "warn",
                len(longs),
                0,
                f"integer input column(s) {', '.join(longs)}: a missing value in a request will "
                f"be refused. Log the model with them as float (workbench.log_model does){also}.",
                table,
            )
        return self.result(
            "pass",
            len(features),
            None,
            f"all {len(features)} features match the signature{also}",
            table,
        )


def _table(context: CheckContext, features: list[str], types: dict[str, str], extra: list[str]):
    """One row per feature (its signature type and eval dtype), then one per extra column."""
    roles = {}
    if context.contract is not None:
        roles = {c.name: c.role for c in context.contract.columns}
        roles.update({p: "protected" for p in context.contract.protected})
    rows = [
        {
            "column": c,
            "role": "feature",
            "signature_type": types.get(c, ""),
            "eval_dtype": str(context.data[c].dtype) if c in context.data else "(missing)",
        }
        for c in features
    ]
    rows += [
        {
            "column": c,
            "role": f"{roles.get(c) or 'extra'} (not a model input)",
            "signature_type": "",
            "eval_dtype": str(context.data[c].dtype),
        }
        for c in extra
    ]
    return pd.DataFrame(rows, columns=["column", "role", "signature_type", "eval_dtype"])


def _names(columns: list[str], limit: int = 8) -> str:
    shown = ", ".join(map(str, columns[:limit]))
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")
