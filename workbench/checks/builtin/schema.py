"""The schema check: the eval data honours the model's signature."""

from __future__ import annotations

import pandas as pd

from workbench.checks.base import Check, CheckResult
from workbench.checks.context import CheckContext
from workbench.errors import DataError

__all__ = ["SchemaContract"]


class SchemaContract(Check):
    """The eval data honours the model's signature: every column present, types that fit, no
    unknown columns, and no integer (``long``) inputs that would refuse a missing value."""

    name = "schema_contract"
    protects = "requests the model cannot read, or columns the server would silently ignore"

    @classmethod
    def failing_example(cls) -> tuple[SchemaContract, CheckContext]:
        """Eval data that lacks an input column the model was logged with."""
        from workbench.checks.builtin._examples import example_context, example_table

        return cls(), example_context(evaluation=example_table(seed=1).drop(columns="income"))

    def run(self, context: CheckContext) -> CheckResult:
        """Conform the eval data to the signature and look for integer inputs."""
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
