"""The text helpers on their own: cutting with a marker, code blocks, escaping, URL and shape checks."""

from __future__ import annotations

import pytest
from tocsin_discord.limits import enforce, safe_url
from tocsin_discord.text import clip, code_block, escape_markdown, size

ZWSP = "\u200b"


def test_clip_marks_a_cut_and_leaves_short_text_alone():
    assert clip("  short  ", 10) == "short"  # Discord trims too
    assert clip("x" * 300, 256) == "x" * 255 + "…"
    assert clip(None, 5) == ""


def test_clip_counts_utf16_units_and_never_splits_a_character():
    cut = clip("🎉" * 10, 6)
    assert cut == "🎉🎉…" and size(cut) == 5  # a third emoji would need 2 more units than are left


def test_clip_keeps_a_code_block_closed_and_its_end_visible():
    block = "```\n" + "\n".join(f"line {i}" for i in range(500)) + "\n```"
    cut = clip(block, 200)
    assert size(cut) <= 200
    assert cut.startswith("```\nline 0\n") and cut.endswith("line 499\n```")
    assert "\n…\n" in cut and cut.count("```") == 2


def test_clip_keeps_the_code_block_after_a_line_of_text():
    text = "It failed:\n```\n" + "x" * 5000 + "\nValueError: the end\n```"
    cut = clip(text, 300)
    assert size(cut) <= 300
    assert cut.startswith("It failed:\n```\nxxx") and cut.endswith("ValueError: the end\n```")


def test_clip_closes_a_code_block_it_would_leave_open():
    text = "see ```" + "y" * 100 + "``` and more"
    cut = clip(text, 40)
    assert size(cut) <= 40 and cut.count("```") == 2 and cut.endswith("…\n```")


def test_code_block_content_cannot_close_the_block():
    block = code_block("a ``` b ```` c `` d")
    assert block.startswith("```\n") and block.endswith("\n```")
    inner = block[4:-4]
    assert "``" not in inner  # every backtick run is broken by a zero-width space
    assert inner.replace(ZWSP, "") == "a ``` b ```` c `` d"


def test_code_block_starts_on_a_new_line_so_text_is_never_taken_for_a_language():
    assert code_block("python is here") == "```\npython is here\n```"


def test_code_block_fits_its_limit():
    block = code_block("E" * 1_000_000, 1024)
    assert size(block) <= 1024 and "\n…\n" in block


def test_escape_markdown_makes_markup_literal_but_keeps_urls():
    text = "[click](http://evil.example) **b** __u__ ~~s~~ `c` ||spoiler|| <@&1> @here\n# big\n> quote\n-# small"
    escaped = escape_markdown(text)
    assert escaped == (
        "\\[click\\](http://evil.example) \\*\\*b\\*\\* \\_\\_u\\_\\_ \\~\\~s\\~\\~ \\`c\\` \\|\\|spoiler\\|\\| "
        "\\<@&1> @\u200bhere\n\\# big\n\\> quote\n\\-# small"
    )
    assert escape_markdown("see https://example.org/a_b*c") == "see https://example.org/a_b*c"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/runs/1?a=1&b=<2>", "https://example.org/runs/1?a=1&b=%3C2%3E"),
        ("https://example.org/a b", "https://example.org/a%20b"),
        ("javascript:alert(1)", None),
        ("ftp://example.org/x", None),
        ("https://", None),
        ("https://example.org/" + "x" * 3000, None),
        (42, None),
    ],
)
def test_safe_url(url, expected):
    assert safe_url(url) == expected


def test_enforce_drops_bad_urls_and_colours_and_fills_blank_fields():
    body = enforce(
        {
            "avatar_url": "not a url",
            "embeds": [
                {
                    "title": "t",
                    "url": "javascript:x",
                    "color": 2**30,
                    "image": {"url": "ftp://x"},
                    "footer": {"text": "  ", "icon_url": "https://example.org/i.png"},
                    "fields": [{"name": "", "value": 12, "inline": True}],
                }
            ],
        }
    )
    assert "avatar_url" not in body
    assert body["embeds"] == [{"title": "t", "fields": [{"name": ZWSP, "value": "12", "inline": True}]}]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"embeds": {"title": "x"}}, "'embeds' must be a list of objects"),
        ({"embeds": [{"fields": {"a": 1}}]}, "'fields' must be a list of objects"),
        ({"embeds": [{"footer": "text"}]}, "'footer' must be an object"),
    ],
)
def test_enforce_names_a_wrong_shape(body, message):
    with pytest.raises(ValueError, match=message):
        enforce(body)
