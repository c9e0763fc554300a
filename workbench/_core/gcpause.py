"""The cyclic garbage collector paused for a burst of long-lived objects: imports, a model's load.

Importing MLflow, skops and scikit-learn and loading a model make about a million objects that
live as long as the process, and little garbage; the collector traverses them again and again as
they pile up: about 0.4 s of a 3.5 s ``workbench score`` of 100 rows. :func:`gc_paused` turns it
off for the burst, then moves what was made into its oldest generation untraversed
(:func:`gc.freeze`, then :func:`gc.unfreeze`). Nothing is kept from the collector: its next full
collection looks at every object, as it would have; reference counting frees the rest meanwhile.
In a process that froze objects itself (:func:`gc.freeze`, as the model server's workers do), the
collector is only paused: unfreezing would undo that.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic collection inside; afterwards, every object in the oldest generation.

    Example:
        >>> with gc_paused():
        ...     gc.isenabled()
        False
    """
    was_on, frozen = gc.isenabled(), gc.get_freeze_count()
    gc.disable()
    try:
        yield
    finally:
        if not frozen:  # a process that froze objects itself (a model server) keeps them frozen
            gc.freeze()  # every tracked object into the permanent generation...
            gc.unfreeze()  # ...and from there into the oldest one
        if was_on:
            gc.enable()
