"""The instructor's view of a class (``workbench class dashboard``): a grid of learners by exercises,
each cell done (green), tried (amber) or not started (grey), the last hint given on hover, the
learners who are stuck with their last hint, and counts per exercise. It reads
:func:`workbench.lesson.progress.class_progress` only, and reads it again every few seconds while
the page is open.

The live refresh is a hidden ``ipywidgets.Play``: its timer runs in the browser (JupyterLab or
Voila), and each tick reaches the kernel as a change of its ``value``, which the panel observes.
No thread runs in the kernel, and the timer stops when the page closes.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ipywidgets as w

from workbench.ui._common import PanelBase

__all__ = ["ClassroomPanel", "classroom_html", "stuck_html"]

#: state -> (CSS class, background, text colour, what the cell says)
_LOOK = {
    "done": ("wb-class-done", "#dafbe1", "#116329", "done"),
    "tried": ("wb-class-tried", "#fff1c2", "#7d4e00", "tried"),
    "not started": ("wb-class-none", "#eaeef2", "#57606a", "&ndash;"),
}
_CELL = "padding:4px 6px;text-align:center;border:1px solid rgba(128,128,128,0.25);"
_HEAD = _CELL + "font-weight:600;"


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _state(row: dict[str, Any]) -> str:
    state = str(row.get("state") or "not started")
    return state if state in _LOOK else "not started"


def _ordered(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _when(at: str) -> str:
    """``2026-12-07T18:04:05+00:00`` -> ``18:04 UTC`` (as given when it does not parse)."""
    try:
        return datetime.fromisoformat(at).astimezone(UTC).strftime("%H:%M UTC")
    except (TypeError, ValueError):
        return at


def classroom_html(rows: list[dict[str, Any]]) -> str:
    """The grid (learners by exercises) and the counts per exercise, from
    :func:`~workbench.lesson.progress.class_progress`'s rows. Every learner-given string is
    escaped.

    Example:
        >>> rows = [{"learner": "ana", "exercise": "1.1", "title": "Log", "state": "tried",
        ...          "hint": "<b>x</b>", "at": "", "tries": 2}]
        >>> "&lt;b&gt;x&lt;/b&gt;" in classroom_html(rows), "<b>x</b>" in classroom_html(rows)
        (True, False)
    """
    if not rows:
        return "<p class='wb-class-empty'>No learners in this class yet.</p>"
    learners = _ordered(str(r["learner"]) for r in rows)
    exercises = _ordered(str(r["exercise"]) for r in rows)
    titles = {str(r["exercise"]): str(r.get("title") or "") for r in rows}
    cells = {(str(r["learner"]), str(r["exercise"])): r for r in rows}
    head = "".join(
        f"<th class='wb-class-exercise' data-exercise='{_esc(e)}' title='{_esc(titles[e])}' "
        f"style='{_HEAD}'>{_esc(e)}</th>"
        for e in exercises
    )
    body = []
    for learner in learners:
        tds = [f"<th class='wb-class-learner' style='{_HEAD}text-align:left'>{_esc(learner)}</th>"]
        for exercise in exercises:
            row = cells.get((learner, exercise), {})
            state = _state(row)
            css, background, colour, says = _LOOK[state]
            tries = int(row.get("tries") or 0)
            if state == "tried" and tries > 1:
                says += f" &times;{tries}"
            tip = f"{learner} · {exercise} {titles[exercise]}\n{state}"
            if tries:
                tip += f", {tries} {'try' if tries == 1 else 'tries'}"
            if row.get("at"):
                tip += f", last at {_when(str(row['at']))}"
            if row.get("hint"):
                tip += f"\nlast hint: {row['hint']}"
            tds.append(
                f"<td class='wb-class-cell {css}' data-learner='{_esc(learner)}' "
                f"data-exercise='{_esc(exercise)}' data-state='{_esc(state)}' "
                f"title='{_esc(tip)}' style='{_CELL}background:{background};color:{colour}'>"
                f"{says}</td>"
            )
        body.append(f"<tr class='wb-class-row' data-learner='{_esc(learner)}'>{''.join(tds)}</tr>")
    counts = []
    for exercise in exercises:
        states = [_state(cells.get((learner, exercise), {})) for learner in learners]
        done, tried = states.count("done"), states.count("tried")
        counts.append(
            f"<td class='wb-class-count' data-exercise='{_esc(exercise)}' data-done='{done}' "
            f"data-tried='{tried}' style='{_CELL}font-size:90%'>"
            f"<span style='color:#1a7f37'>{done}</span> / "
            f"<span style='color:#9a6700'>{tried}</span></td>"
        )
    foot = (
        f"<tr class='wb-class-counts'><th style='{_HEAD}text-align:left' "
        f"title='done / tried, of {len(learners)}'>done / tried</th>{''.join(counts)}</tr>"
    )
    return (
        "<table class='wb-class-grid' style='border-collapse:collapse;margin:6px 0'>"
        f"<thead><tr><th style='{_HEAD}'>learner</th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody><tfoot>{foot}</tfoot></table>"
    )


def stuck_html(rows: list[dict[str, Any]], limit: int = 20) -> str:
    """The learners with a tried (not done) exercise and their last hint, latest first."""
    stuck = [r for r in rows if _state(r) == "tried"]
    stuck.sort(key=lambda r: str(r.get("at") or ""), reverse=True)
    if not stuck:
        return "<p class='wb-class-stuck wb-class-nobody'>Nobody is stuck.</p>"
    items = []
    for row in stuck[:limit]:
        tries = int(row.get("tries") or 0)
        hint = str(row.get("hint") or "")
        items.append(
            f"<li class='wb-class-stuck-item' data-learner='{_esc(row['learner'])}' "
            f"data-exercise='{_esc(row['exercise'])}'><b>{_esc(row['learner'])}</b> on "
            f"{_esc(row['exercise'])} ({_esc(row.get('title') or '')})"
            + (f", {tries} {'try' if tries == 1 else 'tries'}" if tries else "")
            + (f", {_esc(_when(str(row['at'])))}" if row.get("at") else "")
            + (f": <i>{_esc(hint)}</i>" if hint else "")
            + "</li>"
        )
    more = f"<p>and {len(stuck) - limit} more</p>" if len(stuck) > limit else ""
    return (
        f"<div class='wb-class-stuck'><b>Stuck ({len(stuck)})</b>"
        f"<ul style='margin:4px 0'>{''.join(items)}</ul>{more}</div>"
    )


def _roster_path(roster: str | os.PathLike | None) -> Path:
    """The class file: ``roster``, else ``$WORKBENCH_CLASS_ROSTER``, else ``class/class.json`` or
    ``team/class.json`` in the workspace folder (``$WORKBENCH_WORKSPACE`` or the current one)."""
    from workbench.apps import CLASS_ROSTER_ENV

    given = roster or os.environ.get(CLASS_ROSTER_ENV, "").strip()
    if given:
        return Path(given).expanduser()
    root = Path(os.environ.get("WORKBENCH_WORKSPACE") or ".")
    for candidate in (root / "class" / "class.json", root / "team" / "class.json"):
        if candidate.exists():
            return candidate
    return root / "class" / "class.json"


class ClassroomPanel(PanelBase):
    """Per learner and exercise: done, tried or not started, the last hint given, live.

    Args:
        roster: The class file (``class.json``); default ``$WORKBENCH_CLASS_ROSTER``, else
            ``class/class.json`` in the workspace.
        refresh_seconds: How often the open page reads the class again (0: only on Refresh).

    Example:
        >>> from workbench.ui import ClassroomPanel
        >>> panel = ClassroomPanel("class/class.json")   # doctest: +SKIP
        >>> panel.refresh()                             # doctest: +SKIP
    """

    css_class = "wb-classroom-panel"

    def __init__(self, roster: str | os.PathLike | None = None, refresh_seconds: float = 5):
        super().__init__("Class progress")
        self.roster = _roster_path(roster)
        self.refresh_seconds = refresh_seconds
        self.rows: list[dict[str, Any]] = []
        self.refresh_button = w.Button(
            description="Refresh", icon="refresh", layout=w.Layout(width="auto")
        )
        self.refresh_button.add_class("wb-class-refresh")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.read_at = w.HTML("")
        self.read_at.add_class("wb-class-read-at")
        self.summary = w.HTML("")
        self.grid = w.HTML("")
        self.grid.add_class("wb-class-grid-view")
        self.stuck = w.HTML("")
        self.stuck.add_class("wb-class-stuck-view")
        # the browser's timer: hidden, started once a page shows it (a Play made playing is
        # not started by its view; a change of ``playing`` after it is shown is)
        self.timer = w.Play(
            value=0,
            min=0,
            max=10**9,
            step=1,
            interval=max(1000, int(refresh_seconds * 1000)) if refresh_seconds else 1000,
            repeat=True,
            layout=w.Layout(display="none"),
            _view_count=0 if refresh_seconds else None,  # the browser reports the views it shows
        )
        self.timer.add_class("wb-class-timer")
        if refresh_seconds:
            self.timer.observe(self._on_views, names="_view_count")
            self.timer.observe(lambda _: self.refresh(), names="value")
        self.root.layout = w.Layout(width="100%")
        self.root.children = [
            self.title,
            w.HBox([self.refresh_button, self.read_at, self.timer]),
            self.status,
            self.summary,
            self.grid,
            self.stuck,
        ]
        self.refresh()

    def _on_views(self, change: dict) -> None:
        """Start the browser's timer when a page shows the panel (again: a reopened notebook)."""
        if (change.get("new") or 0) > (change.get("old") or 0):
            self.timer.playing = False
            self.timer.playing = True

    def refresh(self) -> list[dict[str, Any]] | None:
        """Read the class's progress again and redraw what changed. Returns the rows (None when
        they could not be read: the error is shown, and the next tick tries again)."""
        from workbench.lesson.progress import class_progress

        try:
            rows = class_progress(self.roster)
        except Exception as err:  # shown in the panel; a live page keeps trying
            self.show_error(err)
            return None
        self.rows = rows
        learners = len(_ordered(str(r["learner"]) for r in rows))
        states = [_state(r) for r in rows]
        summary = (
            f"<span class='wb-class-summary'>{learners} learner{'s' * (learners != 1)} &middot; "
            f"{states.count('done')} done &middot; {states.count('tried')} tried &middot; "
            f"{states.count('not started')} not started</span>"
        )
        for widget, value in (
            (self.summary, summary),
            (self.grid, classroom_html(rows)),
            (self.stuck, stuck_html(rows)),
        ):
            if widget.value != value:  # an unchanged class sends nothing to the page
                widget.value = value
        live = f"live, every {self.refresh_seconds:g} s" if self.refresh_seconds else "on Refresh"
        where = f"{self.roster.parent.name}/{self.roster.name}"
        self.read_at.value = (
            "<span class='wb-class-read' style='color:var(--jp-ui-font-color2, #57606a)' "
            f"title='{_esc(self.roster)}'>read {datetime.now(UTC):%H:%M:%S} UTC "
            f"({live}) from {_esc(where)}</span>"
        )
        if self.status.value and "wb-error" in self.status.value:
            self.set_status("", "info")
        return rows
