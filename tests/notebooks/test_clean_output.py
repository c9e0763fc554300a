"""Beginner-clean output: what an executed notebook shows is a card, a table, a plot or a sentence,
never a raw Python repr (``Workspace(root=PosixPath(...))``, ``array([0, 0, 0])``, a quoted
string, ``<... object at 0x...>``), and no table wider than :data:`WIDE` columns unless the
rest of it is folded behind ``show details``.

:func:`assert_beginner_clean` is called by the notebook tests (test_nb0*.py,
test_nb_dashboard.py) on the notebooks they already execute: no notebook runs twice. The tests
here show that it finds each kind of raw output, without a kernel."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

#: Columns a table may show before the rest must go behind ``show details``.
WIDE = 15
#: What a raw repr looks like, when text is an output's only representation.
_RAW = re.compile(
    r"PosixPath\(|WindowsPath\(|\barray\(|<workbench\.| object at 0x|\bWorkspace\("
    r"|^'[^\n]*'$|^\"[^\n]*\"$"  # a string shown as Python writes it, quotes included
)
_FRAME_FOOTER = re.compile(r"\[\d+ rows x (\d+) columns\]")
_DETAILS = re.compile(r"<details\b.*?</details>", re.S | re.I)
_ROW = re.compile(r"<tr\b.*?</tr>", re.S | re.I)
_CELL = re.compile(r"<t[hd]\b", re.I)


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _frame_dump_width(plain: str) -> int:
    """Columns of a DataFrame printed as text: its footer's count, or more than :data:`WIDE`
    when pandas had to wrap it (lines ending in a backslash)."""
    footer = _FRAME_FOOTER.search(plain)
    if footer:
        return int(footer.group(1))
    wrapped = any(line.endswith(" \\") for line in plain.splitlines())
    return WIDE + 1 if wrapped else 0


def _widest_table(page: str) -> int:
    """Cells of the widest row of the HTML tables in ``page`` that are not behind a
    ``<details>`` (what a reader sees without clicking)."""
    visible = _DETAILS.sub("", page)
    return max((len(_CELL.findall(row)) for row in _ROW.findall(visible)), default=0)


def raw_outputs(nb) -> list[str]:
    """What ``nb`` (an executed notebook) shows raw, one line per output."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"cell {index} ({cell.source.strip().splitlines()[-1][:60]!r})"
        for out in cell.get("outputs", []):
            if out.get("output_type") not in ("execute_result", "display_data"):
                continue
            data = out.get("data", {})
            plain = _text(data.get("text/plain", "")).strip()
            if set(data) == {"text/plain"}:
                if _RAW.search(plain):
                    found.append(f"{where} shows a raw repr: {plain[:120]!r}")
                elif _frame_dump_width(plain) > WIDE:
                    found.append(f"{where} shows a wide table as text: {plain[:120]!r}")
            width = _widest_table(_text(data.get("text/html", "")))
            if width > WIDE:
                found.append(f"{where} shows a table {width} columns wide, none behind details")
    return found


def assert_beginner_clean(nb) -> None:
    """Fail, naming the cells, when the executed notebook ``nb`` (or its path) shows anything
    raw."""
    if isinstance(nb, str | Path):
        nb = nbformat.read(str(nb), as_version=4)
    found = raw_outputs(nb)
    assert not found, "raw output for a beginner:\n" + "\n".join(found)


def _executed(*outputs: dict, source: str = "x") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    nb.cells = [nbformat.v4.new_markdown_cell("# title"), cell]
    return nb


def _result(data: dict) -> dict:
    return {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": data}


def _row(n: int) -> str:
    return "<tr>" + "<td>1</td>" * n + "</tr>"


@pytest.mark.parametrize(
    "plain",
    [
        "Workspace(root=PosixPath('/tmp/w'), tracking_uri='sqlite:////tmp/w/mlruns/mlflow.db')",
        "array([0, 0, 1])",
        "<workbench.serving.server.ModelServer object at 0x7f0e2b3c>",
        "<evidently.core.report.Snapshot object at 0x7f178726d9d0>",
        "'drift'",
        "   a  b  \\\n0  1  2  \n\n   c  \n0  3  ",
        "    a  ...  z\n0   1  ...  2\n\n[1 rows x 26 columns]",
    ],
)
def test_a_raw_repr_fails_the_check_and_names_its_cell(plain):
    nb = _executed(_result({"text/plain": plain}), source="ws = open()\nws")
    with pytest.raises(AssertionError, match=r"cell 1 \('ws'\)"):
        assert_beginner_clean(nb)


def test_a_wide_html_table_fails_unless_the_rest_is_behind_details():
    wide = f"<table>{_row(WIDE + 1)}</table>"
    with pytest.raises(AssertionError, match=f"{WIDE + 1} columns wide"):
        assert_beginner_clean(_executed(_result({"text/html": wide, "text/plain": "T"})))
    short = f"<table>{_row(5)}</table><details><summary>show details</summary>{wide}</details>"
    assert_beginner_clean(_executed(_result({"text/html": short, "text/plain": "T"})))


def test_cards_sentences_plots_widgets_and_errors_are_clean():
    nb = _executed(
        _result({"text/html": "<b>card</b>", "text/plain": "Workspace(root=PosixPath('/w'))"}),
        _result({"text/plain": "[0, 1, 0]"}),
        {"output_type": "stream", "name": "stdout", "text": "status: drift\n"},
        _result({"application/vnd.plotly.v1+json": {}, "text/plain": "<plotly figure>"}),
        {"output_type": "error", "ename": "GateError", "evalue": "failed", "traceback": []},
    )
    assert raw_outputs(nb) == []
