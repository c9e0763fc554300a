"""The HTML report says what the CLI says (issue 24, part 1): on six cases (no drift, a gradual
shift, a new category, a label shift, a regression model, a multiclass model), Evidently's dataset
headline and every column's verdict in the report equal the workbench's decision, and the page
opens with the workbench's verdict. The card notebook 04 and the panel show (one verdict per
column) and the dashboard's run, read back from MLflow, say the same. The CLI's exit code and the
report read in Chromium: ``tests/browser/test_report_read_browser.py``."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.data import credit_risk, production_batch
from workbench.monitoring.dashboard import monitoring_dashboard

SHARE = "Share of Drifted Columns"
PREFIX = "Value Drift for column "


def _shown(result) -> tuple[bool, dict[str, bool]]:
    """The report's dataset verdict and each column's, as Evidently's tests in it say."""
    tests = result.report().dict()["tests"]
    dataset = [t for t in tests if str(t.get("name", "")).startswith(SHARE)]
    assert len(dataset) == 1, [t.get("name") for t in tests][:5]
    columns = {
        t["name"].removeprefix(PREFIX): t["status"] == "FAIL"
        for t in tests
        if str(t.get("name", "")).startswith(PREFIX)
    }
    return dataset[0]["status"] == "FAIL", columns


def _card_verdicts(card: str) -> dict[str, bool]:
    """Each column's decision in the result card (``result._repr_html_()``: notebook 04's view)."""
    table = card[card.index("<table class='wb-drift-columns'>") :]
    table = table[: table.index("</table>")]
    verdicts = {}
    for row in table.split("<tr style=")[1:]:
        cells = re.findall(r"<td>(.*?)</td>", row)
        verdicts[cells[0]] = re.sub("<.*?>", "", cells[-1]).startswith("drift")
    return verdicts


def _logged(name, model, x, y):
    return f"models:/{name}/{wb.log_model(model, name=name, train=(x, y)).version}"


def _regression(ws):
    from sklearn.linear_model import Ridge

    from workbench.data import diabetes

    table = diabetes()
    target = "progression" if "progression" in table else table.columns[-1]
    x, y = table.drop(columns=target), table[target]
    uri = _logged("agree-regression", Ridge().fit(x, y), x, y)
    cur = table.sample(200, random_state=1).copy()
    cur["bmi"] = cur["bmi"] + 2 * table["bmi"].std()
    return table, cur, uri, target


def _multiclass(ws):
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_wine(as_frame=True)
    table = data.frame.rename(columns={"target": "cultivar"})
    table["cultivar"] = table["cultivar"].map({0: "a", 1: "b", 2: "c"})
    x, y = table.drop(columns="cultivar"), table["cultivar"]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)
    uri = _logged("agree-multiclass", model, x, y)
    cur = table.sample(120, random_state=2).copy()
    cur["alcohol"] = cur["alcohol"] + 1.5
    return table, cur, uri, "cultivar"


def _label_shift():
    ref = credit_risk(3000, seed=5)
    cur = production_batch(1, "none", n=1500)
    rng = np.random.default_rng(0)
    flip = (cur["default"] == 0) & (rng.random(len(cur)) < 0.3)
    cur.loc[flip, "default"] = 1
    return ref, cur, None, "default"


CASES = {
    "none": lambda ws: (credit_risk(3000, seed=1), production_batch(1, "none", n=1000), None, None),
    "gradual shift": lambda ws: (
        credit_risk(3000, seed=1),
        production_batch(4, "gradual_shift", n=1000),
        None,
        None,
    ),
    "new category": lambda ws: (
        credit_risk(3000, seed=1),
        production_batch(2, "new_category", n=1000),
        None,
        None,
    ),
    "label shift": lambda ws: _label_shift(),
    "regression": _regression,
    "multiclass": _multiclass,
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_report_agrees_with_the_decision(case, tmp_path):
    ws = wb.open_workspace(tmp_path / "ws")
    ref, cur, model, target = CASES[case](ws)
    result = wb.drift_report(ref, cur, model=model, target=target)
    assert result.valid, result.reasons
    dataset, columns = _shown(result)
    assert columns == {c.column: c.drifted for c in result.columns}, (case, columns)
    assert dataset == bool(result.drift_detected), (case, dataset, result.text())
    out = result.save(tmp_path / "report")
    page = (out / "report.html").read_text()
    summary = json.loads((out / "summary.json").read_text())
    header = page[page.index("<body") : page.index("</table>", page.index("workbench-verdict"))]
    assert "Workbench verdict" in header, case
    drifted = [c["column"] for c in summary["columns"] if c["drifted"]]
    if summary["status"] == "drift":
        assert f"DRIFT in {len(drifted)} of {len(summary['columns'])} columns" in header
        assert all(pd.notna(name) and str(name) in header for name in drifted), drifted
    else:
        assert f"no drift in {len(summary['columns'])} columns" in header
    # the card notebook 04 and the panel show: the same headline, one verdict per column
    card = result._repr_html_()
    assert _card_verdicts(card) == {c.column: c.drifted for c in result.columns}, case
    assert ("DRIFT in" in card) == (summary["status"] == "drift"), case
    # the dashboard's run, read back from the store
    result.log()
    if model is not None:
        run = monitoring_dashboard(model).models[0].latest
    else:
        run = wb.monitoring_history(None).frame.iloc[-1].to_dict()  # the dashboard's source
        run["drifted_columns"] = [c for c in str(run["drifted_columns"] or "").split(",") if c]
    assert run["status"] == summary["status"], (case, run["status"])
    assert sorted(run["drifted_columns"]) == sorted(map(str, drifted)), case
    if case == "multiclass":  # precision, recall and F1 are macro averages, and say so
        assert result.metric_average == "macro" and "f1 (macro)" in card, result.text()
        board = monitoring_dashboard(model).models[0]
        assert board.metric_average == "macro"
        from workbench.monitoring.dashboard_render import runs_table

        assert "perf.f1 (macro)" in runs_table(board)
    elif result.performance:
        assert "(macro)" not in card and not result.metric_average
    if case == "none":
        assert summary["status"] == "ok", result.text()
    if case in ("gradual shift", "new category", "regression", "multiclass"):
        assert summary["status"] == "drift", result.text()
