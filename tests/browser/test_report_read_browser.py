"""The drift report says what the CLI decided, read from the page Chromium draws (issue 24).

``tests/integration/test_report_agrees.py`` checks report.html's text; this opens the report the
real ``workbench monitor --fail-on-drift`` wrote, from disk (``file://``, every other request
refused), waits for Evidently's widgets to be drawn from the embedded data, and reads what a
reader sees: the workbench header (verdict, exit code, drifted columns), Evidently's dataset
headline and every row of its per-column table (all pages of it), "Detected" or "Not Detected".
Each must equal ``summary.json`` and the command's exit code, on a clean batch (exit 0) and a
drifted one (exit 3).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_report_agrees import CASES

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
_LOCAL = ("file:", "data:", "blob:", "about:")
#: case of test_report_agrees -> (status summary.json must hold, exit code with --fail-on-drift)
EXPECTED = {"none": ("ok", 0), "gradual shift": ("drift", 3)}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Run ``workbench monitor --fail-on-drift --json`` on each case, the two commands at once."""
    base = tmp_path_factory.mktemp("report-read")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.pop("WORKBENCH_WORKSPACE", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    runs = {}
    for case in EXPECTED:
        folder = base / case.replace(" ", "_")
        folder.mkdir()
        ref, cur, model, target = CASES[case](None)
        assert model is None  # these cases are data drift only
        ref.to_csv(folder / "ref.csv", index=False)
        cur.to_csv(folder / "cur.csv", index=False)
        cmd = [
            sys.executable, "-m", "workbench.cli", "--workspace", str(folder / "ws"), "monitor",
            "--reference", str(folder / "ref.csv"), "--current", str(folder / "cur.csv"),
            "--fail-on-drift", "--json", "--out", str(folder / "out"),
            *(["--target", target] if target else []),
        ]  # fmt: skip
        (folder / "ws").mkdir()
        runs[case] = (
            folder,
            subprocess.Popen(
                cmd, env=env, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            ),
        )
    done = {}
    try:
        for case, (folder, proc) in runs.items():
            stdout, stderr = proc.communicate(timeout=300)
            assert proc.returncode in (0, 3), (case, proc.returncode, stderr[-3000:])
            printed = json.loads(stdout)
            summary = json.loads((folder / "out" / "summary.json").read_text())
            done[case] = (proc.returncode, printed, summary, folder / "out" / "report.html")
    finally:
        for _, proc in runs.values():  # the other command, when one failed
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return done


def _local_only(route) -> None:
    if route.request.url.startswith(_LOCAL):
        route.continue_()
    else:
        route.abort()


def _header(page) -> tuple[str, dict[str, str]]:
    """The workbench header as drawn: its title and its rows (label -> value)."""
    box = page.locator("#workbench-verdict")
    title = box.locator("h2").inner_text().strip()
    rows = {}
    for row in box.locator("tr").all():
        rows[row.locator("th").inner_text().strip()] = row.locator("td").inner_text().strip()
    return title, rows


def _column_table(page) -> dict[str, str]:
    """Every row of Evidently's per-column drift table (column -> its Data Drift cell), paging
    through the table until its Next Page button is disabled."""
    table = page.locator("table").filter(
        has=page.get_by_role("columnheader", name="Data Drift", exact=True)
    )
    assert table.count() == 1, table.count()
    heads = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    name_at, drift_at = heads.index("Column"), heads.index("Data Drift")
    pager = page.locator(".MuiTablePagination-displayedRows").first
    seen: dict[str, str] = {}
    for _ in range(20):  # pages
        shown = pager.inner_text() if pager.count() else ""
        for row in table.locator("tbody > tr").all():
            cells = [c.strip() for c in row.locator(":scope > td").all_inner_texts()]
            if len(cells) != len(heads):  # a detail panel or an empty-table row
                continue
            assert cells[name_at] not in seen, f"{cells[name_at]} shown twice"
            seen[cells[name_at]] = cells[drift_at]
        nxt = page.get_by_role("button", name="Next Page")
        if not nxt.count() or nxt.first.is_disabled():
            break
        nxt.first.click()
        page.wait_for_function(
            "([el, before]) => el.innerText !== before", arg=[pager.element_handle(), shown]
        )
    else:
        pytest.fail("the column table never reached its last page")
    return seen


@pytest.mark.parametrize("case", list(EXPECTED))
def test_the_rendered_report_says_what_the_cli_decided(page, outputs, case):
    code, printed, summary, report = outputs[case]
    status, exit_code = EXPECTED[case]
    # the command's own decision, before anything is read from the page
    assert summary["status"] == printed["status"] == status, (case, summary["status"])
    assert code == printed["exit_code"] == exit_code, (case, code)
    monitored = [c["column"] for c in summary["columns"]]
    drifted = [c["column"] for c in summary["columns"] if c["drifted"]]
    assert monitored and set(drifted) == set(summary["drifted_columns"])
    assert bool(drifted) == (status == "drift")

    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    page.route("**/*", _local_only)
    page.set_default_timeout(30_000)
    page.goto(report.as_uri(), wait_until="load")
    page.get_by_text("Data Drift Summary", exact=True).first.wait_for()
    page.get_by_role("columnheader", name="Data Drift", exact=True).first.wait_for()

    # the workbench header, as drawn
    title, rows = _header(page)
    n = len(monitored)
    verdict = f"DRIFT in {len(drifted)} of {n} columns" if drifted else f"no drift in {n} columns"
    assert title == f"Workbench verdict: {verdict}", title
    assert rows["Verdict"] == verdict, rows
    shown_code = re.match(r"\d+", rows["Exit code of workbench monitor"])
    assert shown_code and int(shown_code.group()) == code, rows["Exit code of workbench monitor"]
    shown_drifted = [] if rows["Drifted columns"] == "none" else rows["Drifted columns"].split(", ")
    assert shown_drifted == summary["drifted_columns"], rows["Drifted columns"]

    # Evidently's dataset headline and its count of drifted columns
    body = page.locator("body").inner_text()
    headline = re.findall(r"Dataset Drift is (NOT detected|detected)", body)
    assert headline == ["detected" if drifted else "NOT detected"], headline
    counted = re.search(r"Drift is detected for [\d.]+% of columns \((\d+) out of (\d+)\)", body)
    assert counted, body[:2000]
    assert (int(counted.group(1)), int(counted.group(2))) == (len(drifted), n), counted.group()

    # every column of Evidently's table, every page of it
    table = _column_table(page)
    assert table, "no column read from the rendered drift table"
    assert set(table) == set(monitored), (sorted(table), sorted(monitored))
    assert set(table.values()) <= {"Detected", "Not Detected"}, table
    assert {c: s == "Detected" for c, s in table.items()} == {
        c["column"]: c["drifted"] for c in summary["columns"]
    }, table
    assert {c for c, s in table.items() if s == "Detected"} == set(shown_drifted)

    left = [url for url in sent if not url.startswith(_LOCAL)]
    assert not left, f"the report asked for {left}"
