"""What **Check my work** says: done or not yet, what is right, what is not, and a hint.

Example:
    >>> a = Answer("2.1", "Promote the better challenger", done=False, attempted=True,
    ...            wrong=["@champion is v1"], hint="compare ROC AUC")
    >>> a.says, a.state
    ('not yet', 'tried')
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import ClassVar

from workbench._core.results import Result, utc_now

__all__ = ["Answer"]


@dataclass
class Answer(Result):
    """One exercise's check, read from the real state (audit log, aliases, runs, files).

    Attributes:
        exercise: Its id (``"2.1"``).
        title: What the exercise asks.
        done: True when everything it asks is there.
        attempted: True when the state shows an attempt (a promotion, an answer, a run).
        right: What is right already.
        wrong: What is not right yet.
        hint: What to try next (empty when done).
        at: When it was checked (UTC).
    """

    FILE_NAME: ClassVar[str] = "answer.json"

    exercise: str
    title: str
    done: bool = False
    attempted: bool = False
    right: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    hint: str = ""
    at: str = field(default_factory=utc_now)

    @property
    def says(self) -> str:
        """``done`` or ``not yet``."""
        return "done" if self.done else "not yet"

    @property
    def state(self) -> str:
        """For the instructor: ``done``, ``tried`` or ``not started``."""
        return "done" if self.done else "tried" if self.attempted else "not started"

    def __str__(self) -> str:
        lines = [f"Exercise {self.exercise} ({self.title}): {self.says}"]
        lines += [f"  right: {r}" for r in self.right]
        lines += [f"  not yet: {w}" for w in self.wrong]
        if self.hint and not self.done:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.done else "#9a6700"
        head = (
            f"<div class='wb-answer wb-answer-{'done' if self.done else 'not-yet'}'>"
            f"<b style='color:{colour}'>Exercise {html.escape(self.exercise)}: "
            f"{html.escape(self.says)}</b> &middot; {html.escape(self.title)}<ul>"
        )
        items = [f"<li>&#10003; {html.escape(r)}</li>" for r in self.right]
        items += [f"<li>&#10007; {html.escape(w)}</li>" for w in self.wrong]
        hint = ""
        if self.hint and not self.done:
            hint = f"<div class='wb-hint'><i>Hint:</i> {html.escape(self.hint)}</div>"
        return head + "".join(items) + "</ul>" + hint + "</div>"
