"""The lesson track: five short notebooks (``notebooks/lesson/``), exercises that check themselves,
a workspace per learner and the instructor's view of the room.

* :mod:`~workbench.lesson.exercises`  ``EXERCISES`` and ``check``: **Check my work**
* :mod:`~workbench.lesson.setup`      ``prepare(lesson)``: each lesson's starting state
* :mod:`~workbench.lesson.state`      what the checks read (registry, audit log, runs, traffic)
* :mod:`~workbench.lesson.progress`   where checks are recorded, and the class's progress
* :mod:`~workbench.lesson.identity`   who the learner is, and their model namespace
* :mod:`~workbench.lesson.roster`     ``class up``: a workspace (or a login) per learner

Example:
    >>> import workbench.lesson as lesson
    >>> lesson.EXERCISES["4.2"]
    'Name the drifted column'
"""

from __future__ import annotations

from workbench.lesson.answer import Answer
from workbench.lesson.catalogue import EXERCISES, LESSONS
from workbench.lesson.exercises import check
from workbench.lesson.identity import learner_name, lesson_model
from workbench.lesson.setup import Prepared, prepare

__all__ = [
    "EXERCISES",
    "LESSONS",
    "Answer",
    "Prepared",
    "check",
    "learner_name",
    "lesson_model",
    "prepare",
]
