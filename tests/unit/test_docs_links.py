"""The README and docs/*.md hold together: every local link and anchor resolves, every screenshot is
shown, and the README stays a five-minute read (under 250 lines, a table of contents, the two
commands from a fresh clone at the top).

Links are markdown's ``[text](path#anchor)`` and ``![alt](path)`` (and reference definitions,
``<a href>`` and ``<img src>``) outside code; anchors are GitHub's slugs of the target file's
headings (``## Every model, every night: `--plan` `` is ``#every-model-every-night---plan``).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MAX_README_LINES = 250

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*$")
_CODE_SPAN = re.compile(r"(`+)((?:(?!\n[ \t]*\n).)+?)\1", re.DOTALL)
_INLINE_LINK = re.compile(
    r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^()\s<>]*)>?(?:\s+\"[^\"]*\")?\s*\)"
)
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_HTML_LINK = re.compile(r"<(?:a|img)\s[^>]*?(?:href|src)=\"([^\"]+)\"", re.IGNORECASE)
_HTML_ANCHOR = re.compile(r"<[^>]+\s(?:id|name)=\"([^\"]+)\"", re.IGNORECASE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:|^//")


def _blank_code(text: str) -> str:
    """``text`` with fenced blocks and code spans blanked, newlines kept (so line numbers hold)."""
    lines, fence = [], None
    for line in text.split("\n"):
        opened = _FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)
            lines.append("")
        elif fence is not None:
            closing = _FENCE.match(line)
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence):
                fence = None
            lines.append("")
        else:
            lines.append(line)
    return _CODE_SPAN.sub(lambda m: "\n" * m.group(0).count("\n"), "\n".join(lines))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text (before the -1, -2 of repeated headings)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def headings(path: Path) -> list[tuple[int, str]]:
    """(level, text) of each ATX heading outside fenced code."""
    found, fence = [], None
    for line in path.read_text(encoding="utf-8").split("\n"):
        opened = _FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)
        elif fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
        elif m := _HEADING.match(line):
            found.append((len(m.group(1)), re.sub(r"\s+#+\s*$", "", m.group(2))))
    return found


def anchors(path: Path) -> set[str]:
    """Every anchor a link may name in ``path``: heading slugs (repeats numbered) and HTML ids."""
    seen: dict[str, int] = {}
    out = set(_HTML_ANCHOR.findall(_blank_code(path.read_text(encoding="utf-8"))))
    for _, text in headings(path):
        base = slug(text)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(path: Path) -> list[tuple[int, str]]:
    """(line, target) of every link and image in ``path`` outside code."""
    text = _blank_code(path.read_text(encoding="utf-8"))
    found = [(m.start(2), m.group(2)) for m in _INLINE_LINK.finditer(text)]
    found += [(m.start(1), m.group(1)) for m in _REFERENCE.finditer(text)]
    found += [(m.start(1), m.group(1)) for m in _HTML_LINK.finditer(text)]
    return [(text.count("\n", 0, at) + 1, target) for at, target in sorted(found)]


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """One line per local link in ``path`` whose file or anchor does not exist."""
    broken = []
    for line, target in links(path):
        if not target or _SCHEME.match(target):
            continue
        where, _, anchor = target.partition("#")
        where = unquote(where)
        if not where:
            dest = path
        elif where.startswith("/"):
            dest = root / where.lstrip("/")
        else:
            dest = path.parent / where
        name = f"{path.relative_to(root)}:{line}: {target}"
        if not dest.exists():
            broken.append(f"{name} (no such file)")
        elif anchor and dest.is_file() and dest.suffix == ".md":
            if unquote(anchor).lower() not in anchors(dest):
                broken.append(f"{name} (no heading with that anchor in {dest.name})")
    return broken


def _documents() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def test_every_local_link_and_anchor_resolves():
    broken = [b for doc in _documents() for b in broken_links(doc)]
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_every_screenshot_is_shown_somewhere():
    shown = {
        (doc.parent / unquote(t.partition("#")[0])).resolve()
        for doc in _documents()
        for _, t in links(doc)
        if t and not _SCHEME.match(t)
    }
    unshown = [p.name for p in sorted((ROOT / "docs" / "screenshots").glob("*.png"))]
    unshown = [n for n in unshown if (ROOT / "docs" / "screenshots" / n).resolve() not in shown]
    assert not unshown, f"screenshots no README or docs page shows: {unshown}"


def test_readme_is_a_five_minute_read():
    lines = README.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    assert len(lines) < MAX_README_LINES, f"README.md has {len(lines)} lines"


def test_readme_has_a_table_of_contents_listing_every_section():
    text = README.read_text(encoding="utf-8")
    top = text.split("\n")[:40]
    at = next(
        (
            i
            for i, line in enumerate(top)
            if re.match(r"^##\s+(table of )?contents\s*$", line, re.I)
        ),
        None,
    )
    assert at is not None, "README.md needs a '## Contents' heading in its first 40 lines"
    block = text.split("\n")[at + 1 :]
    end = next((i for i, line in enumerate(block) if line.startswith("#")), len(block))
    listed = {t[1:] for t in re.findall(r"\]\((#[^)]+)\)", "\n".join(block[:end]))}
    sections = [t for level, t in headings(README) if level == 2 and slug(t) != slug(top[at][3:])]
    missing = [t for t in sections if slug(t) not in listed]
    assert not missing, f"sections missing from the table of contents: {missing}"


def test_readme_opens_with_the_two_commands_from_a_fresh_clone():
    text = README.read_text(encoding="utf-8")
    first_block = re.search(r"```[a-z]*\n(.*?)```", text, re.DOTALL)
    assert first_block and text.index("```") < text.index("\n## "), "no command block at the top"
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands[:2] == ["make demo", "make test"]


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("What it is for", "what-it-is-for"),
        ("Working as a team: a shared, authenticated MLflow server",
         "working-as-a-team-a-shared-authenticated-mlflow-server"),
        ("Every model, every night: `--plan`", "every-model-every-night---plan"),
        ("The MLflow UI on the workspace's store", "the-mlflow-ui-on-the-workspaces-store"),
        ("`workbench run`: the notebook itself, any parameter",
         "workbench-run-the-notebook-itself-any-parameter"),
        ("1. Serve both", "1-serve-both"),
        ("See [the docs](docs/x.md) now", "see-the-docs-now"),
        ("snake_case stays", "snake_case-stays"),
    ],
)  # fmt: skip
def test_anchors_are_githubs_slugs(heading, anchor):
    assert slug(heading) == anchor


def test_a_broken_link_or_anchor_is_named_and_code_is_not_read(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.md").write_text("# B\n\n## Twice\n\n## Twice\n")
    page = tmp_path / "docs" / "a.md"
    page.write_text(
        "# A\n\n[ok](b.md#twice-1) [ok](#a) [web](https://example.com/x.md) [dir](../docs/)\n"
        "[gone](missing.md) and [no anchor](b.md#thrice), a link over\ntwo [lines of\ntext](nope.md)\n"
        "`[code](span.md)`\n\n```\n[fenced](fenced.md)\n```\n![pic](shots/p.png)\n"
    )
    assert broken_links(page, root=tmp_path) == [
        "docs/a.md:4: missing.md (no such file)",
        "docs/a.md:4: b.md#thrice (no heading with that anchor in b.md)",
        "docs/a.md:6: nope.md (no such file)",
        "docs/a.md:12: shots/p.png (no such file)",
    ]
