"""The progress line of a wait: shown and cleared on a terminal, absent elsewhere or when off."""

from __future__ import annotations

import io
import time

from workbench._core.ticker import ticking


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_the_line_tick_and_then_cleared():
    out = Terminal()
    with ticking("starting the model server", stream=out, every=0.05):
        time.sleep(0.3)
    text = out.getvalue()
    assert text.startswith("\rstarting the model server...")
    assert "starting the model server... 0 s" in text
    assert text.endswith("\r") and text.rstrip("\r").endswith(" ")  # the line is wiped


def test_a_pipe_or_json_sees_nothing():
    for out, enabled in ((io.StringIO(), True), (Terminal(), False)):
        with ticking("monitoring", stream=out, enabled=enabled, every=0.01):
            time.sleep(0.05)
        assert out.getvalue() == ""


def test_an_error_in_the_block_still_clears_the_line():
    out = Terminal()
    try:
        with ticking("work", stream=out, every=0.01):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert out.getvalue().endswith("\r")
