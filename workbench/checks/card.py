"""The model card: one page on what the version is for, which columns it reads and what it
returns (from its contract), how to call it, what it learned from, how it scores, how it treats
slices of people, what the checks found, and where it should not be trusted."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from workbench.checks.base import CheckReport
    from workbench.checks.context import CheckContext

__all__ = ["card_html", "model_card"]

_DEFAULT_USE = (
    "Scores each application from its input columns; the score supports a human decision and is "
    "not meant to be the only basis for it."
)


def model_card(report: CheckReport, context: CheckContext) -> str:
    """The model card of the checked version, in Markdown.

    Sections: intended use, columns and outputs (the contract's column roles, the positive
    label, the probabilities served), calling it with plain MLflow, data, metrics, slices,
    checks, limitations.
    """
    title = f"{report.name} version {report.version}" if report.name else report.model_uri
    profile = context.profile or {}
    columns = profile.get("columns", {})
    target = context.target.name if context.target is not None else "(none)"
    lines = [
        f"# Model card: {title}",
        "",
        f"Checks run {report.created} UTC: **{report.status.upper()}**.",
        "",
        "## Intended use",
        context.description or _DEFAULT_USE,
        f"Task: {context.task}; target column `{target}`.",
        "",
        *_columns_and_outputs(context),
        "",
        *_plain_mlflow(report, context),
        "",
        "## Data",
        f"- Training: {profile.get('rows', 'unknown'):,} rows, {len(columns)} input columns"
        if profile
        else "- Training: no profile was logged with this version.",
        f"- Evaluation: {report.eval_rows:,} rows given to the checks.",
    ]
    if columns:
        lines.append(f"- Inputs: {', '.join(f'`{c}`' for c in columns)}.")
    if context.contract is not None and context.contract.skipped:
        lines.append(
            f"- Not features (identifiers, dates, ignored): {', '.join(context.contract.skipped)}."
        )
    lines += ["", "## Metrics (eval data)"]
    if report.comparison is not None and len(report.comparison):
        lines.append(_markdown_table(report.comparison))
        if report.champion_version:
            lines.append(f"\nThe champion column is version {report.champion_version}.")
        if context.metric_label("f1") != "f1":  # more than two classes
            lines.append(
                f"\nPrecision, recall, F1 and ROC AUC are macro averages: the mean over the "
                f"{len(context.contract.labels)} classes, each class counted alike."
            )
    else:
        lines.append("No metrics (the eval data had no labels).")
    lines += ["", "## Slices"]
    fairness = next((r for r in report.results if r.name == "fairness_gap"), None)
    if fairness is not None and fairness.table is not None:
        lines += [fairness.detail, "", _markdown_table(fairness.table)]
    else:
        lines.append(
            "No protected attribute was named (in the contract or the checks), so no slices "
            "were compared."
        )
    lines += ["", "## Checks", _markdown_table(report.to_frame()[["check", "status", "detail"]])]
    lines += ["", *_artifact(context)]
    lines += ["", "## Limitations"]
    lines += [f"- {r.name} ({r.status}): {r.detail}" for r in report.results if r.status != "pass"]
    lines += [
        "- The scores hold for data like the evaluation data; watch drift once it serves "
        "(stage 4).",
        "- Metrics and fairness were measured on one eval set; small slices are uncertain.",
    ]
    return "\n".join(lines) + "\n"


def card_html(markdown: str) -> str:
    """A small HTML page of a model card written by :func:`model_card` (headings, lists, tables)."""
    body, table, in_list = [], [], False
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not all(set(c) <= set("-: ") for c in cells):
                table.append(cells)
            continue
        if table:
            body.append(_html_table(table))
            table = []
        if in_list and not line.startswith("- "):
            body.append("</ul>")
            in_list = False
        if line.startswith("### "):
            body.append(f"<h3>{_inline(line[4:])}</h3>")
        elif line.startswith("# "):
            body.append(f"<h1>{_inline(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{_inline(line[3:])}</h2>")
        elif line.startswith("- "):
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{_inline(line[2:])}</li>")
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
    if table:
        body.append(_html_table(table))
    if in_list:
        body.append("</ul>")
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "td,th{border:1px solid #ccc;padding:2px 8px}table{border-collapse:collapse}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Model card</title>"
        f"<style>{style}</style></head><body class='wb-model-card'>{''.join(body)}</body></html>"
    )


def _columns_and_outputs(context: CheckContext) -> list[str]:
    """The contract's column roles, the positive label and what a classifier's answer carries."""
    contract = context.contract
    lines = ["## Columns and outputs"]
    if contract is None:
        return [*lines, "No model contract: every eval column was treated as an input."]
    roles = contract.roles_table()
    if roles.empty:  # a contract rebuilt from the signature
        roles = pd.DataFrame(
            {"column": contract.features, "role": "feature", "kind": "", "protected": False}
        )
        roles["kind"] = [contract.kinds.get(c, "") for c in contract.features]
    lines += ["### Column roles", _markdown_table(roles), ""]
    if context.protected:
        lines.append(f"Protected attributes checked: {', '.join(context.protected)}.")
    lines.append("### What the model returns")
    if contract.task != "classification":
        lines.append(f"- The predicted `{contract.target}` (a number).")
        return lines
    labels = contract.labels or []
    shown = ", ".join(f"`{v}`" for v in labels) or "unknown"
    probabilities = contract.probability_columns()
    if contract.positive_label is not None:
        lines.append(
            f"- Positive label: `{contract.positive_label}`. Precision, recall, F1, ROC AUC and "
            "fairness are measured on this class."
        )
    lines.append(f"- Labels in the model's order: {shown}.")
    if len(labels) == 2 and probabilities:
        lines.append(
            f"- The served response (and `wb.score`) carries the predicted label and "
            f"`{probabilities[0]}`, the probability of the positive class "
            f"`{contract.positive_label}`; the other class's is one minus it."
        )
    elif probabilities:
        lines.append(
            "- The served response (and `wb.score`) carries the predicted label and one "
            f"probability per class, in the labels' order: {', '.join(probabilities)}."
        )
    return lines


def _plain_mlflow(report: CheckReport, context: CheckContext) -> list[str]:
    """How to call the model with MLflow alone: integer columns must be cast to float."""
    uri = f"models:/{report.name}/{report.version}" if report.name else report.model_uri
    types = context.input_types()
    doubles = [c for c, kind in types.items() if kind in ("double", "float")]
    ints = [
        c
        for c in doubles
        if c in context.data and pd.api.types.is_integer_dtype(context.data[c].dtype)
    ]
    lines = [
        "## Calling it with plain MLflow",
        f'`wb.score("{uri}", data)` and the served model conform the columns by themselves. '
        "With `mlflow.pyfunc` alone, cast integer columns to float first (the signature declares "
        "them double, so that a missing value can be sent), or MLflow refuses the frame "
        '("Can not safely convert int64 to float64"):',
        "",
        f"- `mlflow.pyfunc.load_model(\"{uri}\").predict(X.astype({{c: 'float64' for c in "
        "int_cols}))`",
    ]
    if ints:
        lines.append(
            f"- with `int_cols = {ints!r}` (the integer columns of the eval data the model takes)."
        )
    elif doubles:
        lines.append(
            "- where `int_cols` are the integer columns of your table among the numeric inputs: "
            f"{', '.join(doubles[:12])}{', ...' if len(doubles) > 12 else ''}."
        )
    if context.contract is not None and context.contract.features:
        lines.append(
            f"- `X` holds the {len(context.contract.features)} feature columns "
            f"({', '.join(context.contract.features[:12])}"
            f"{', ...' if len(context.contract.features) > 12 else ''}); other columns are ignored."
        )
    return lines


def _markdown_table(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = [
        "| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join([head, rule, *rows])


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "/").replace("\n", " ")


def _html_table(rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_inline(c)}</th>" for c in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in rows[1:]
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def _artifact(context: CheckContext) -> list[str]:
    """What exactly was checked: the files' digest and the types skops was told to trust."""
    out = ["## Artifact", f"- Digest (SHA-256 over every file): `{context.digest or 'unknown'}`."]
    if context.declared_types:
        out.append(
            "- Types declared trusted by its logger (approved with its promotion): "
            + ", ".join(f"`{t}`" for t in context.declared_types)
            + "."
        )
    extra = [t for t in context.trusted_types if t not in context.declared_types]
    out.append(
        "- Loaded by skops with its default types"
        + (f" and {', '.join(f'`{t}`' for t in extra)}." if extra else " only.")
    )
    return out
