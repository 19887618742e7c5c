"""tocsin.text: the primitives channels share to escape and cut event text."""

from __future__ import annotations

import pytest

from tocsin import escape_markdown, markdown_code
from tocsin.testing.hostile import HOSTILE_STRINGS


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("**bold** _it_ ~~gone~~ `code`", "\\*\\*bold\\*\\* \\_it\\_ \\~\\~gone\\~\\~ \\`code\\`"),
        ("[click me](http://evil.example)", "\\[click me\\](http://evil.example)"),
        ("<b>x</b> a|b \\n", "\\<b\\>x\\</b\\> a\\|b \\\\n"),
        (
            "# heading\n> quote\n- item\n+ item\n1. first\n2) second\n===",
            "\\# heading\n\\> quote\n\\- item\n\\+ item\n1\\. first\n2\\) second\n\\===",
        ),
        ("1.5 GiB, 2026-11-24 - a-b #7", "1.5 GiB, 2026-11-24 - a-b #7"),  # only line starts are markers
        ("see https://example.org/runs/a_b?x=1 now", "see https://example.org/runs/a_b?x=1 now"),  # URLs work
        ("nul\x00bell\x07 tab\tend\r\nnext\rlast", "nulbell tab\tend\nnext\nlast"),
        (None, ""),
    ],
)
def test_escape_markdown_shows_text_as_written(raw, escaped):
    assert escape_markdown(raw) == escaped


def test_escape_markdown_leaves_no_unescaped_markup_in_hostile_text():
    for name, raw in HOSTILE_STRINGS.items():
        escaped = escape_markdown(raw)
        unescaped = (
            escaped.replace("\\\\", "").replace("\\[", "").replace("\\]", "").replace("\\<", "").replace("\\>", "")
        )
        assert "[" not in unescaped and "<" not in unescaped, name


def test_markdown_code_cannot_be_closed_by_its_content_and_keeps_both_ends():
    block = markdown_code("start ``` end")
    assert block.count("```") == 2 and block.startswith("```\n") and block.endswith("\n```")
    long = markdown_code("Traceback\n" + "x" * 10_000 + "\nIOError: disk full", limit=200)
    assert len(long) <= 200 and "\n…\n" in long
    assert long.startswith("```\nTraceback") and long.endswith("IOError: disk full\n```")
