"""The model contract: what a version takes, predicts and is measured on, declared once.

A :class:`ModelContract` is made when a version is logged and stored with it (``contract.json``). It
names the target and the task, the class labels in the model's order and the **positive label**, the
feature columns with their kinds, the identifier, date, protected and ignored columns, and the
reference performance measured on held-out data. Every later stage reads it instead of guessing:
checks (extra columns are fine, metrics use the positive label), serving and scoring (probability
columns), monitoring (identifiers and dates skipped, the column kinds given to Evidently).

Declared roles always win. What is not declared is inferred with a few plain rules, each written in
the roles table so a user can see and overrule it:

* a datetime column, or a text column whose values parse as dates, is a **date**;
* a text column unique on (nearly) every row, or an integer column unique on every row whose name
  says id or whose values run like a counter, is an **identifier**;
* free text (mostly distinct values) is **ignored**;
* everything else is a **feature**: numbers and booleans numeric, text categorical.

Binary labels {0, 1} and {False, True} take 1/True as positive, as do the spellings yes/no,
true/false and positive/negative; any other pair must be declared (``positive_label=``).

Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({
    ...     "customer_id": [f"C{i:04d}" for i in range(40)],
    ...     "applied": pd.date_range("2026-01-01", periods=40).strftime("%Y-%m-%d"),
    ...     "income": [float(i % 7) for i in range(40)],
    ...     "region": ["north", "south"] * 20,
    ...     "outcome": ["defaulted", "repaid", "repaid", "repaid"] * 10,
    ... })
    >>> c = infer_contract(frame, "outcome", positive_label="defaulted")
    >>> c.features, c.id_columns, c.date_columns, c.positive_label
    (['income', 'region'], ['customer_id'], ['applied'], 'defaulted')
    >>> infer_contract(frame.assign(outcome=["yes", "no"] * 20), "outcome").positive_label
    'yes'
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

from workbench._core.conform import codes_as_text
from workbench._core.labels import resolve_positive_label, same_label, sorted_labels
from workbench._core.results import Result, jsonable
from workbench._core.tasks import task_of_values
from workbench.errors import MissingColumnError, UsageError

__all__ = ["ColumnRole", "ModelContract", "infer_contract", "infer_roles", "resolve_positive_label"]

ROLES = ("feature", "id", "date", "ignored", "protected", "target")
#: Label pairs whose positive class is obvious (compared case-insensitively, as text).
_ID_NAME = re.compile(r"(^|[_\s-])(id|key|uuid|guid|number|no)$|^id[_\s-]|id$", re.IGNORECASE)
#: A text column is an identifier when at least this share of its values is distinct.
ID_UNIQUE_SHARE = 0.95
#: A text column is a date when at least this share of its values parses as a date.
DATE_SHARE = 0.9


@dataclass
class ColumnRole:
    """The role of one column of the training table, and why it has it.

    Example:
        >>> ColumnRole("customer_id", "id", "text", "unique on 100% of rows").feature
        False
    """

    name: str
    role: str
    kind: str
    reason: str = "declared"
    protected: bool = False

    @property
    def feature(self) -> bool:
        """True when the model takes this column as an input."""
        return self.role == "feature"


@dataclass
class ModelContract(Result):
    """What a model version takes, predicts and was measured on; stored with the version.

    Attributes:
        target: The column the model predicts.
        task: ``classification`` or ``regression``.
        features: The model's input columns, in order.
        kinds: Column -> ``numeric``, ``categorical``, ``boolean``, ``datetime`` or ``text``.
        labels: Class labels in the model's order (classifiers).
        positive_label: The class precision, recall, F1 and fairness are measured on.
        id_columns: Identifiers: passed through by scoring, never features, never drift-tested.
        date_columns: Dates and times: never features, never drift-tested.
        protected: Attributes fairness is measured on (they need not be features).
        ignored: Columns deliberately left out.
        personal: Columns holding personal data (names, emails): kept out of the model server's
            inference log.
        categorical_codes: Numeric codes declared categories (``categorical=[...]``): the model
            takes them as text (``101`` as ``"101"``), and files are read with them as text.
        columns: Every column of the training table with its role and the reason for it.
        reference: Metrics on the held-out evaluation data when the version was logged.
        calibration: The positive class's calibration on the eval data (empty: regressors).
        notes: What was inferred, in plain words.

    Example:
        >>> c = ModelContract("y", "classification", ["a"], {"a": "numeric"}, labels=[0, 1],
        ...                   positive_label=1)
        >>> ModelContract.from_dict(c.to_dict()) == c
        True
    """

    FILE_NAME = "contract.json"

    target: str
    task: str
    features: list[str]
    kinds: dict[str, str] = field(default_factory=dict)
    labels: list[Any] | None = None
    positive_label: Any = None
    id_columns: list[str] = field(default_factory=list)
    date_columns: list[str] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    categorical_codes: list[str] = field(default_factory=list)
    personal: list[str] = field(default_factory=list)
    columns: list[ColumnRole] = field(default_factory=list)
    reference: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    calibration: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ reading it

    @property
    def numeric(self) -> list[str]:
        """Features the model reads as numbers (booleans included)."""
        return [c for c in self.features if self.kinds.get(c) in ("numeric", "boolean")]

    @property
    def categorical(self) -> list[str]:
        """Features the model reads as categories."""
        return [c for c in self.features if c not in self.numeric]

    @property
    def text_columns(self) -> list[str]:
        """Features the model takes as text: a file is read with them as text, so digit codes
        (``"07"``) stay codes."""
        return [c for c in self.features if self.kinds.get(c) in ("categorical", "text")]

    @property
    def skipped(self) -> list[str]:
        """Identifier, date and ignored columns: never features, never drift-tested."""
        return [*self.id_columns, *self.date_columns, *self.ignored]

    @property
    def positive_index(self) -> int | None:
        """Position of the positive label among :attr:`labels` (the probability column)."""
        if self.labels is None or self.positive_label is None:
            return None
        for i, label in enumerate(self.labels):
            if same_label(label, self.positive_label):
                return i
        return None

    def probability_columns(self) -> list[str]:
        """Names of the probability columns scoring and serving add: ``proba_<label>``."""
        if self.task != "classification" or not self.labels:
            return []
        if len(self.labels) == 2 and self.positive_index is not None:
            return [f"proba_{self.labels[self.positive_index]}"]
        return [f"proba_{label}" for label in self.labels]

    def roles_table(self) -> pd.DataFrame:
        """One row per column: its role, kind, whether it is protected, and why."""
        rows = [
            {
                "column": c.name,
                "role": c.role,
                "kind": c.kind,
                "protected": c.protected,
                "why": c.reason,
            }
            for c in self.columns
        ]
        return pd.DataFrame(rows, columns=["column", "role", "kind", "protected", "why"])

    def missing_features(self, frame: pd.DataFrame) -> list[str]:
        """Features the model needs that ``frame`` lacks."""
        return [c for c in self.features if c not in frame.columns]

    def extra_columns(self, frame: pd.DataFrame) -> list[str]:
        """Columns of ``frame`` the model does not take (the target included)."""
        return [c for c in frame.columns if c not in self.features]

    def feature_frame(self, frame: pd.DataFrame, what: str = "the data") -> pd.DataFrame:
        """The model's input columns of ``frame``, in order.

        Raises:
            MissingColumnError: a feature is absent; the message names it.
        """
        missing = self.missing_features(frame)
        if missing:
            raise MissingColumnError(
                f"{what} lacks the feature column(s) {', '.join(map(repr, missing))} that the model "
                f"takes (its contract lists {len(self.features)} features): add them."
            )
        return self.codes_as_text(frame[self.features])

    def codes_as_text(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with the declared :attr:`categorical_codes` given as numbers written as the
        text the model was trained on (``101`` as ``"101"``); the same frame when there are none."""
        codes = [
            c for c in self.categorical_codes if c in frame.columns and frame[c].dtype != object
        ]
        return frame.assign(**{c: codes_as_text(frame[c]) for c in codes}) if codes else frame

    # ------------------------------------------------------------------ the protocol

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["columns"] = [dict(vars(c)) for c in self.columns]
        return jsonable(out)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelContract:
        """A contract from :meth:`to_dict`'s output (``contract.json``)."""
        names = {f.name for f in fields(cls)}
        kept = {k: v for k, v in data.items() if k in names}
        kept["columns"] = [ColumnRole(**c) for c in data.get("columns", [])]
        return cls(**kept)

    @classmethod
    def load(cls, path):
        """Read a contract written by :meth:`save` (a file or the folder holding it)."""
        import json
        from pathlib import Path

        source = Path(path)
        source = source / cls.FILE_NAME if source.is_dir() else source
        return cls.from_dict(json.loads(source.read_text()))

    def _repr_html_(self) -> str:
        pos = self.positive_label
        label = "" if pos is None else f", positive label <code>{html.escape(str(pos))}</code>"
        head = (
            f"<b>Model contract</b>: predicts <code>{html.escape(self.target)}</code> "
            f"({self.task}{label}), {len(self.features)} features"
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        table = self.roles_table().to_html(index=False, classes="wb-column-roles", border=0)
        return f"<div class='wb-contract'>{head}{table}<ul>{notes}</ul></div>"


# --------------------------------------------------------------------------- inference


def infer_contract(
    frame: pd.DataFrame,
    target: str,
    *,
    task: str | None = None,
    positive_label: Any = None,
    labels: list[Any] | None = None,
    id_columns: list[str] | tuple[str, ...] = (),
    date_columns: list[str] | tuple[str, ...] = (),
    ignore: list[str] | tuple[str, ...] = (),
    protected: list[str] | tuple[str, ...] = (),
    features: list[str] | None = None,
    categorical: list[str] | tuple[str, ...] = (),
    personal: list[str] | tuple[str, ...] = (),
) -> ModelContract:
    """The contract of a model trained on ``frame`` to predict ``target``.

    Args:
        frame: The training table, target included.
        target: The column to predict.
        task: ``classification`` or ``regression``; inferred from the target when None.
        positive_label: The class that counts as positive (needed for label pairs other than
            0/1, False/True, yes/no, true/false, positive/negative).
        labels: The model's class order (its ``classes_``); default the sorted labels of ``frame``.
        id_columns: Identifier columns (beside the inferred ones).
        date_columns: Date/time columns (beside the inferred ones).
        ignore: Columns to leave out of the features.
        protected: Attributes fairness is measured on; they stay features unless also ignored.
        features: The model's features when they are fixed already (a fitted model's input
            columns): then nothing is inferred away, suspicious features are only noted.
        categorical: Numeric codes that are categories (store ids, postcodes): features the
            model takes as text (``101`` as ``"101"``), never as numbers.
        personal: Columns holding personal data: the inference log leaves them out.

    Raises:
        MissingColumnError: the target or a declared column is not in ``frame``.
        UsageError: the positive label is not among the labels, or a label pair needs one.
    """
    if target not in frame.columns:
        raise MissingColumnError(
            f"target column {target!r} is not in the data: name the column that holds the labels."
        )
    declared = {
        "id_columns": id_columns, "date_columns": date_columns, "ignore": ignore,
        "categorical": categorical, "personal": personal,
    }  # fmt: skip
    _check_declared(frame, {**declared, "protected": protected}, target)
    y = frame[target]
    task = task or task_of_values(y)
    notes: list[str] = []
    if task == "classification":
        labels = list(labels) if labels is not None else sorted_labels(y)
        positive_label = resolve_positive_label(labels, positive_label, target, notes)
    else:
        labels, positive_label = None, None
    roles = infer_roles(
        frame.drop(columns=[target]),
        id_columns=id_columns,
        date_columns=date_columns,
        ignore=ignore,
        protected=protected,
        features=features,
        categorical=categorical,
    )
    roles.append(ColumnRole(target, "target", _kind(y), "declared"))
    for role in roles:
        if role.role in ("id", "date", "ignored") and role.reason != "declared":
            notes.append(f"{role.name!r} is left out of the features: {role.role}, {role.reason}.")
        if role.role == "feature" and role.reason.startswith("looks like"):
            notes.append(f"{role.name!r} is a feature but {role.reason}: is that intended?")
    missing_protected = [p for p in protected if p not in frame.columns]
    for name in missing_protected:
        roles.append(ColumnRole(name, "protected", "unknown", "declared, not a feature", True))
        notes.append(
            f"{name!r} is protected but not a feature: fairness needs it in the eval data."
        )
    return ModelContract(
        target=target,
        task=task,
        features=[r.name for r in roles if r.feature],
        kinds={r.name: r.kind for r in roles if r.role != "protected"},
        labels=labels,
        positive_label=positive_label,
        id_columns=[r.name for r in roles if r.role == "id"],
        date_columns=[r.name for r in roles if r.role == "date"],
        protected=list(protected),
        ignored=[r.name for r in roles if r.role == "ignored"],
        categorical_codes=[c for c in categorical if c in {r.name for r in roles if r.feature}],
        personal=list(personal),
        columns=roles,
        notes=notes,
    )


def infer_roles(
    frame: pd.DataFrame,
    *,
    id_columns=(),
    date_columns=(),
    ignore=(),
    protected=(),
    features: list[str] | None = None,
    categorical=(),
) -> list[ColumnRole]:
    """The role of every column of ``frame`` (no target), declared roles first, then the rules.

    Monitoring without a model uses this to skip identifiers and dates.
    """
    roles = []
    for name in frame.columns:
        col = frame[name]
        kind = _kind(col)
        is_protected = name in protected
        if name in ignore:
            role = ColumnRole(name, "ignored", kind, "declared", is_protected)
        elif name in id_columns:
            role = ColumnRole(name, "id", kind, "declared", is_protected)
        elif name in date_columns:
            role = ColumnRole(name, "date", "datetime", "declared", is_protected)
        elif name in categorical:
            role = ColumnRole(name, "feature", "categorical", "declared categorical", is_protected)
        elif features is not None and name in features:
            why = _looks_like(name, col)
            reason = f"looks like {why}" if why else "a model input"
            kind = "categorical" if kind == "text" else kind
            role = ColumnRole(name, "feature", kind, reason, is_protected)
        elif features is not None:
            role = ColumnRole(name, "ignored", kind, "not a model input", is_protected)
        else:
            role = _inferred(name, col, kind, is_protected)
        roles.append(role)
    return roles


# --------------------------------------------------------------------------- the rules


def _inferred(name: str, col: pd.Series, kind: str, is_protected: bool) -> ColumnRole:
    if kind == "datetime":
        return ColumnRole(name, "date", kind, "a datetime column", is_protected)
    values = col.dropna()
    n = len(values)
    if kind == "text" and n and _parses_as_dates(values):
        return ColumnRole(name, "date", "datetime", "its values parse as dates", is_protected)
    distinct = values.nunique()
    if kind == "text" and n >= 20 and distinct >= ID_UNIQUE_SHARE * n and _token_like(values):
        share = distinct / n
        return ColumnRole(name, "id", kind, f"unique on {share:.0%} of rows", is_protected)
    if kind == "numeric" and _integral(values) and n >= 20 and distinct == n:
        if _ID_NAME.search(str(name)) or _counter_like(values):
            return ColumnRole(name, "id", kind, "an integer unique on every row", is_protected)
    if kind == "text" and distinct > max(50, 0.5 * n):
        return ColumnRole(
            name, "ignored", kind, f"free text ({distinct:,} distinct values)", is_protected
        )
    final_kind = "categorical" if kind == "text" else kind
    return ColumnRole(name, "feature", final_kind, "inferred", is_protected)


def _looks_like(name: str, col: pd.Series) -> str | None:
    kind = _kind(col)
    role = _inferred(name, col, kind, False)
    return {"id": "an identifier", "date": "a date"}.get(role.role)


def _kind(col: pd.Series) -> str:
    dtype = col.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    return "text"


def _parses_as_dates(values: pd.Series) -> bool:
    sample = values.astype(str).head(200)
    if sample.str.fullmatch(r"[-+]?\d+(\.\d+)?").mean() > 0.5:
        return False  # plain numbers written as text are not dates
    if not sample.str.contains(r"\d").all():
        return False
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= DATE_SHARE)


def _token_like(values: pd.Series) -> bool:
    """Short values without spaces (``C-000123``, a UUID), unlike free text."""
    sample = values.astype(str).head(500)
    return bool(sample.str.contains(r"\s").mean() < 0.1 and sample.str.len().median() <= 40)


def _integral(values: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(values.dtype):
        return True
    if not pd.api.types.is_float_dtype(values.dtype) or not len(values):
        return False
    return bool(((values % 1) == 0).all())


def _counter_like(values: pd.Series) -> bool:
    """Integers that run like a counter: their range is about as wide as their count."""
    span = float(values.max()) - float(values.min()) + 1
    return span <= 1.5 * len(values)


def _check_declared(frame: pd.DataFrame, declared: dict[str, Any], target: str) -> None:
    for what, names in declared.items():
        if isinstance(names, str):
            raise UsageError(f"{what} takes a list of column names, got the text {names!r}.")
        if what == "protected":
            continue  # protected attributes need not be in the training table
        absent = [n for n in names if n not in frame.columns]
        if absent:
            cols = ", ".join(map(str, list(frame.columns)[:12]))
            raise MissingColumnError(
                f"{what} names {', '.join(map(repr, absent))}, not a column of the data "
                f"(columns: {cols}{', ...' if frame.shape[1] > 12 else ''}): check the spelling."
            )
        if target in names:
            raise UsageError(f"{what} names the target {target!r}: the target has its own role.")
