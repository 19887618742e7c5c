"""Text from event data, made safe for Teams cards: no Markdown links, emphasis, lists or mentions.

Adaptive Card ``TextBlock`` text and ``Fact`` titles/values are rendered as a Markdown subset (bold,
italic, lists, ``[text](url)`` links), and every text field of a legacy MessageCard is Markdown too
(plus limited HTML in Teams). :func:`teams_escape` backslash-escapes the characters that start those
constructs, CommonMark style, so ``[click](http://evil)`` shows as typed instead of becoming a link
whose target is hidden. Even a renderer that ignored the backslashes could not form a link: ``](``
becomes ``\\]\\(``. Mentions need an ``<at>…</at>`` tag *and* a matching ``msteams.entities`` entry;
``<`` is escaped, so event data can never mention anyone.

It also drops what has no business in a card: control characters and ANSI colour codes, bidi
overrides (``U+202E`` turns ``evil.exe`` around), unpaired surrogates.
"""

from __future__ import annotations

import re
from typing import Any

import jinja2

__all__ = ["clean_text", "teams_escape", "teams_plain"]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")
# C0 controls but tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates.
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Inline Markdown anywhere in a line: escapes, code, emphasis, strike-through, links, autolinks/HTML.
_INLINE = re.compile(r"([\\`*_~\[\]()<>&])")
_INLINE_NO_HTML = re.compile(r"([\\`*_~\[\]()])")
# Block Markdown at the start of a line: headings, bullets and rules ("# x", "- x", "+ x", "---"), and
# ordered lists ("1. x"). "-5", "#tag" and "1.5 GiB" are left alone: they start no block.
_BLOCK_START = re.compile(r"^([#+\-])(?=\s|$|\1)")
_ORDERED_START = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
NBSP = "\u00a0"


def clean_text(value: Any) -> str:
    """``value`` as text without control characters, ANSI codes, bidi overrides or lone surrogates.

    ``\\r\\n`` and ``\\r`` become ``\\n``; tabs become four spaces. ``None`` and undefined give ``""``.
    """
    if value is None or isinstance(value, jinja2.Undefined):
        return ""
    text = str(value)
    if text.isprintable():  # no CR, LF, tab, control, bidi override or surrogate: nothing to clean
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    text = _ANSI.sub("", text)
    text = _UNWANTED.sub("", text)
    return _SURROGATE.sub("\ufffd", text)


def _escape_line(line: str, html: bool) -> str:
    if html:
        line = _INLINE_NO_HTML.sub(r"\\\1", line)
        line = "".join(_HTML.get(ch, ch) for ch in line)
    else:
        line = _INLINE.sub(r"\\\1", line)
    line = _BLOCK_START.sub(r"\\\1", line)
    return _ORDERED_START.sub(r"\1\\\2", line)


def teams_escape(value: Any, multiline: bool = False, html: bool = False) -> str:
    """Event text as Markdown that renders exactly as typed (the ``teams_escape`` Jinja filter).

    One line by default: runs of whitespace, newlines included, become one space. With
    ``multiline=True`` each line becomes its own paragraph (Teams needs ``\\n\\n`` for a visible line
    break), blank lines are dropped and leading indentation is kept as no-break spaces, which is what
    a stack trace in a monospace block needs. ``html=True`` writes ``& < >`` as HTML entities instead
    of backslash escapes, for legacy MessageCards, which Teams also reads as HTML.
    """
    text = clean_text(value)
    if not multiline:
        return _escape_line(" ".join(text.split()), html)
    lines = []
    for raw in text.split("\n"):
        body = raw.lstrip(" ")
        if not body.strip():
            continue
        indent = NBSP * (len(raw) - len(body))
        lines.append(indent + _escape_line(body.rstrip(), html))
    return "\n\n".join(lines)


def teams_plain(value: Any) -> str:
    """Event text for fields Teams shows as plain text (``summary``, ``fallbackText``, button titles).

    One line, cleaned like :func:`teams_escape`, but without Markdown escapes (they would show).
    """
    return " ".join(clean_text(value).split())
