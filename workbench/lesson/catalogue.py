"""The lessons and their exercises, by number: what the notebooks, the checks and the
instructor's view name them.

Example:
    >>> LESSONS[2], EXERCISES["2.1"]
    ('Check and promote', 'Promote the better of two challengers, with a reason')
"""

from __future__ import annotations

__all__ = ["EXERCISES", "LESSONS"]

#: Lesson number -> title (``notebooks/lesson/0N_*.ipynb``).
LESSONS = {
    1: "Train and log",
    2: "Check and promote",
    3: "Serve",
    4: "Monitor",
    5: "When things go wrong",
}

#: Exercise id -> what it asks, in lesson order.
EXERCISES: dict[str, str] = {
    "1.1": "Log your first model",
    "1.2": "Declare the protected attribute",
    "1.3": "Read your model's ROC AUC",
    "2.1": "Promote the better of two challengers, with a reason",
    "2.2": "Find why a check fails, and fix the data, not the threshold",
    "3.1": "Serve your champion and send it requests",
    "3.2": "Find the column the server would refuse",
    "4.1": "Monitor the day-5 batch and log it",
    "4.2": "Name the drifted column",
    "5.1": "Roll back the bad release",
    "5.2": "Name a check the bad release failed",
}
