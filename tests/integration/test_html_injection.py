"""Column names and category values that hold HTML or script never reach a page the workbench
writes as markup (issue 22, part 6).

One hostile table goes the whole journey on a real store: trained and logged (the evaluation
plots), checked (``checks.html``, the model card, the fairness plots) and monitored with its model
(Evidently's ``report.html``, the result card). Evidently 0.7 writes names and values into its HTML
unescaped, so it is handed look-alike text; plotly draws ``<a href>`` and ``<span style>`` from
labels, so the plots get escaped text. The verdicts, ``summary.json`` and the result keep the real
names. ``tests/browser/test_report_injection_browser.py`` opens the same pages in Chromium.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import workbench as wb

#: Each payload marks that it ran: ``window.__pwned`` set, the title changed, or a request made.
IMG = "<img src=x onerror=\"window.__pwned=1;document.title='pwned'\">"
SCRIPT = "</script><script>window.__pwned=2;document.title='pwned'</script>"
SVG = '"><svg onload="window.__pwned=3;document.title=\'pwned\'">'
JS_LINK = '<a href="javascript:window.__pwned=4">click</a>'
FETCH = '<img src="http://127.0.0.1:9/leak.png"><span style="fill:url(http://127.0.0.1:9/l.svg#p)">s</span>'
POSITIVE = '<a href="http://127.0.0.1:9/label" onmouseover="window.__pwned=5">yes</a>'
PAYLOADS = {
    "img": IMG,
    "script": SCRIPT,
    "svg": SVG,
    "javascript link": JS_LINK,
    "fetch": FETCH,
    "label": POSITIVE,
}

#: What Evidently is shown instead of the markup characters (full-width look-alikes).
LOOK_ALIKES = str.maketrans({"<": "＜", ">": "＞", "&": "＆", '"': "＂", "'": "＇", "`": "｀"})


def hostile_frame(n: int, shift: float, seed: int) -> pd.DataFrame:
    """A labelled table whose numeric column is named ``IMG``, whose category column is named
    ``SVG`` and holds ``SCRIPT`` and ``JS_LINK``, whose protected attribute holds ``FETCH`` and
    whose positive label is ``POSITIVE``; ``shift`` moves the numbers and the categories."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    shares = [0.5, 0.3, 0.2] if shift == 0 else [0.2, 0.3, 0.5]
    cat = rng.choice([SCRIPT, JS_LINK, "plain"], n, p=shares)
    logit = 1.5 * x + (cat == SCRIPT) - 0.5
    label = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), POSITIVE, "no")
    return pd.DataFrame(
        {
            IMG: x,
            SVG: cat,
            "group": rng.choice([FETCH, "other"], n),
            "income": rng.normal(0, 1, n),
            "label": label,
        }
    )


@dataclass
class Outputs:
    """What the hostile journey wrote: pages by name, plotly figure files, the drift result."""

    drift: wb.DriftResult
    pages: dict[str, Path] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)


def build_outputs(root: Path) -> Outputs:
    """Train, check and monitor the hostile table in a workspace under ``root``; every page the
    workbench writes is saved under ``root`` too."""
    import mlflow

    from workbench.checks.card import card_html

    wb.open_workspace(root / "ws")
    mv = wb.train_and_log(
        hostile_frame(1500, 0, 1), "label", name="hostile-names", family="logistic_regression",
        positive_label=POSITIVE, protected=["group"],
    )  # fmt: skip
    checks = wb.run_checks(
        mv.model_uri, data=hostile_frame(600, 0, 2), target="label", progress=False
    )
    checks_dir = checks.save(root / "checks")
    (checks_dir / "model_card.html").write_text(card_html(checks.model_card or ""))
    training = Path(mlflow.MlflowClient().download_artifacts(mv.run_id, "plots", str(root)))
    drift = wb.drift_report(
        hostile_frame(1500, 0, 3), hostile_frame(800, 1.5, 4), model=mv.model_uri
    )
    drift_dir = drift.save(root / "drift")
    (drift_dir / "card.html").write_text(
        f"<!doctype html><meta charset='utf-8'><title>card</title>{drift._repr_html_()}"
    )
    pages = {
        "evidently report": drift_dir / "report.html",
        "drift result card": drift_dir / "card.html",
        "checks": checks_dir / "checks.html",
        "model card": checks_dir / "model_card.html",
        "fairness plots": checks_dir / "plots" / "plots.html",
        "training plots": training / "plots.html",
    }
    figures = sorted([*(checks_dir / "plots").glob("*.json"), *training.glob("*.json")])
    return Outputs(drift, pages, figures)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> Outputs:
    return build_outputs(tmp_path_factory.mktemp("hostile"))


def test_no_page_holds_a_payload_as_markup(outputs):
    assert all(p.exists() for p in outputs.pages.values()), outputs.pages
    found = {
        (page, what)
        for page, path in outputs.pages.items()
        for what, payload in PAYLOADS.items()
        if payload in path.read_text()
    }
    assert not found, f"raw payloads written into pages: {sorted(found)}"


def test_evidently_is_shown_look_alike_names_and_values(outputs):
    report = json.dumps(
        json.loads((outputs.pages["evidently report"].with_name("report.json")).read_text()),
        ensure_ascii=False,
    )
    for payload in (IMG, SVG, SCRIPT, JS_LINK, POSITIVE):
        assert payload.translate(LOOK_ALIKES) in report
        assert json.dumps(payload)[1:-1] not in report
    assert any("look-alikes" in note for note in outputs.drift.notes)
    # the positive label reached Evidently's performance section in its safe form
    assert not any("performance section left out" in note for note in outputs.drift.notes)


def test_figures_draw_names_as_text(outputs):
    assert len(outputs.figures) >= 3, outputs.figures  # fairness, confusion matrix, importance
    for path in outputs.figures:
        strings = _strings(json.loads(path.read_text()))
        for what, payload in PAYLOADS.items():
            assert not any(payload in s for s in strings), f"{what} drawn as markup in {path.name}"
    importance = next(p for p in outputs.figures if p.stem == "importance")
    assert html.escape(IMG, quote=False) in _strings(json.loads(importance.read_text()))


def test_verdicts_summary_and_card_keep_the_real_names(outputs):
    drift = outputs.drift
    drifted = [c.column for c in drift.drifted_columns]
    assert IMG in drifted and SVG in drifted
    summary = json.loads(outputs.pages["evidently report"].with_name("summary.json").read_text())
    assert IMG in summary["drifted_columns"]
    assert {c["column"] for c in summary["columns"]} >= {IMG, SVG, "group", "income"}
    assert IMG in drift.text()
    assert html.escape(IMG) in outputs.pages["drift result card"].read_text()


def test_names_that_look_alike_stay_apart(workspace, tmp_path):
    """``<a>`` and ``＜a＞`` are two columns (and two categories) in the report too."""
    rng = np.random.default_rng(0)

    def frame(shift: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "<a>": rng.normal(shift, 1, 300),
                "＜a＞": rng.normal(0, 1, 300),
                "kind": rng.choice(["<b>", "＜b＞"], 300, p=[0.5 + shift / 5, 0.5 - shift / 5]),
            }
        )

    result = wb.drift_report(frame(0), frame(2))
    assert [c.column for c in result.drifted_columns][:1] == ["<a>"]
    folder = result.save(tmp_path / "r")
    assert "<a>" not in (folder / "report.html").read_text()
    report = json.dumps(json.loads((folder / "report.json").read_text()), ensure_ascii=False)
    assert "＜a＞ (2)" in report and "＜b＞ (2)" in report


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
