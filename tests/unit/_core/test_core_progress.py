"""One progress adapter: callbacks pass through, True draws a bar, anything else is silent."""

from __future__ import annotations

from workbench._core.progress import as_progress


def test_a_callback_is_used_as_it_is():
    seen = []
    report = as_progress(lambda step, done: seen.append((step, done)))
    report("a", 0.5)
    report("done", 1.0)
    assert seen == [("a", 0.5), ("done", 1.0)]


def test_true_draws_a_bar_that_closes(capsys):
    report = as_progress(True, desc="work")
    report("half", 0.5)
    report("done", 1.0)
    assert report.__name__ == "step"


def test_false_and_none_are_silent():
    assert as_progress(False)("x", 1.0) is None
    assert as_progress(None)("x", 1.0) is None
