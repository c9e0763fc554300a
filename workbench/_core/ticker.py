"""A progress line for a wait with no steps to count (a server starting, a notebook running):
``starting the model server... 4 s`` rewritten in place on a terminal, nothing elsewhere.

The commands that wait (``serve``, ``monitor``) show it on stderr when stderr is a terminal and
``--json`` is not given; piped, logged or scheduled, they stay quiet.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

__all__ = ["ticking"]


@contextlib.contextmanager
def ticking(
    label: str, *, enabled: bool = True, stream: TextIO | None = None, every: float = 0.5
) -> Iterator[None]:
    """Show ``label... N s`` on ``stream`` (default stderr) while the block runs, when enabled
    and the stream is a terminal; the line is cleared when the block ends.

    Example:
        >>> import io
        >>> with ticking("waiting", stream=io.StringIO()):  # not a terminal: nothing shown
        ...     pass
    """
    out = stream or sys.stderr
    if not enabled or not _is_terminal(out):
        yield
        return
    started = time.monotonic()
    done = threading.Event()

    def show() -> None:
        while not done.wait(every):
            _write(out, f"\r{label}... {time.monotonic() - started:.0f} s")

    _write(out, f"\r{label}...")
    thread = threading.Thread(target=show, name="workbench-ticker", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=2)
        _write(out, "\r" + " " * (len(label) + 16) + "\r")


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or odd stream: no line
        return False


def _write(stream: TextIO, text: str) -> None:
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError):  # the terminal went away: the work goes on
        pass
