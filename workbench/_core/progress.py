"""One progress type for every long step, and one adapter from ``True``/a callback to it.

A progress callback is called as ``progress(step_description, fraction_done)`` with ``fraction_done``
between 0 and 1; 1.0 means finished. Functions take ``progress=True`` (a tqdm bar), ``False``/None
(silent) or a callback (a panel's progress bar, a test's recorder).
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "as_progress"]

#: ``progress(step, fraction_done)``: what a long-running function reports to.
Progress = Callable[[str, float], None]


def _silent(step: str, done: float) -> None:
    return None


def as_progress(progress: bool | Progress | None, desc: str = "working") -> Progress:
    """A callback from what a caller passed: a callback as it is, ``True`` a tqdm bar, else silent.

    Example:
        >>> seen = []
        >>> report = as_progress(lambda step, done: seen.append((step, done)))
        >>> report("half", 0.5); seen
        [('half', 0.5)]
        >>> as_progress(None)("ignored", 1.0) is None
        True
    """
    if callable(progress):
        return progress
    if not progress:
        return _silent
    from tqdm.auto import tqdm

    bar = tqdm(total=100, desc=desc, unit="%", disable=None, leave=False)

    def step(name: str, done: float) -> None:
        bar.set_description(str(name)[:30])
        bar.update(max(0, int(done * 100) - bar.n))
        if done >= 1.0:
            bar.close()

    return step
