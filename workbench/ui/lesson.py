"""**Check my work**: the button after each exercise of the lesson notebooks.

A view only: it calls :func:`workbench.lesson.check`, which reads the real state, and shows the
answer (done or not yet, what is right, what is not, a hint). It checks once when shown, so a
notebook run headless says "not yet" for every exercise left undone.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from workbench.ui._common import PanelBase

__all__ = ["CheckMyWork"]


class CheckMyWork(PanelBase):
    """An exercise's title, a **Check my work** button and the answer.

    Args:
        exercise: The exercise's id (``"2.1"``), see ``workbench.lesson.EXERCISES``.
        answer: The learner's one-line answer, for the exercises that ask for one.
        check_now: Check once when shown (a headless run then reads "not yet").

    Example:
        >>> from workbench.ui import CheckMyWork
        >>> CheckMyWork("2.1")  # doctest: +SKIP
    """

    css_class = "wb-check-my-work"

    def __init__(self, exercise: str, answer: Any = None, check_now: bool = True):
        from workbench.lesson import EXERCISES

        super().__init__(f"Exercise {exercise}: {EXERCISES.get(str(exercise), '?')}")
        self.exercise = str(exercise)
        self.answer = answer
        self.last = None
        self.button = w.Button(description="Check my work", button_style="info", icon="check")
        self.button.add_class("wb-check-button")
        self.button.on_click(lambda _: self.run())
        self.result.add_class("wb-answer-area")
        self.root.children = [self.title, self.button, self.status, self.result]
        if check_now:
            self.run()

    def run(self):
        """Check the exercise now; returns the :class:`~workbench.lesson.answer.Answer`."""
        from workbench.lesson import check

        self.set_status("checking ...")
        try:
            self.last = check(self.exercise, self.answer)
        except Exception as err:  # shown in plain words, never a traceback
            self.show_error(err)
            return None
        self.status.value = ""
        self.result.value = self.last._repr_html_()
        return self.last

    def __repr__(self) -> str:
        return str(self.last) if self.last is not None else f"Exercise {self.exercise}"
