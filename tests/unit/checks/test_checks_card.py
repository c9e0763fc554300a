"""The model card as an HTML page."""

from __future__ import annotations

from workbench.checks.card import card_html


def test_model_card_html_renders_tables_and_lists():
    page = card_html("# Card\n\n## Metrics\n| a | b |\n|---|---|\n| 1 | `x` |\n- one\n- **two**\n")
    assert "<h1>Card</h1>" in page and "<td>1</td>" in page and "<code>x</code>" in page
    assert "<li><b>two</b></li>" in page
