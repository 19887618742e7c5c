"""Text helpers for Discord: measuring, cutting, escaping markdown, code blocks, mass mentions.

Discord counts limits in characters; clients measure strings in UTF-16 code units, which is never less
than the number of code points, so every size here is in UTF-16 units (an emoji counts 2): a text that
fits by this measure fits by any.
"""

from __future__ import annotations

import re
from typing import Any

from tocsin import truncate_middle, utf16_head, utf16_len

__all__ = [
    "MARK",
    "ZWSP",
    "clip",
    "code_block",
    "escape_markdown",
    "neutralize_mass_mentions",
    "size",
]

#: The visible truncation marker (one character, as in the core's ``tocsin.truncate``).
MARK = "…"
#: Zero-width space: breaks ``@everyone`` and backtick runs without changing what a reader sees.
ZWSP = "\u200b"
FENCE = "```"

_URL = re.compile(r"https?://[^\s<>]+")
# Markdown that works anywhere in a line, and masked links / mention syntax (``[x](url)``, ``<@id>``).
_INLINE = re.compile(r"([\\*_~`|\[\]<])")
# Markdown that works only at the start of a line: quotes, headings, subtext, lists.
_LINE_START = re.compile(r"^([ \t]*)([>#\-+])", re.MULTILINE)
_MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)
_BACKTICK_RUN = re.compile(r"`(?=`)")


def size(text: str) -> int:
    """Length in UTF-16 code units (what Discord's limits are checked against, conservatively)."""
    return utf16_len(text)


def _is_code_block(text: str) -> bool:
    return len(text) >= 2 * len(FENCE) and text.startswith(FENCE) and text.endswith(FENCE)


def clip(text: Any, limit: int) -> str:
    """``text`` trimmed (Discord trims too) and cut to ``limit`` UTF-16 units, ending in ``…`` if cut.

    A fenced code block (``` at both ends) keeps its fences and loses its middle instead, so the
    block stays closed and the end of a traceback stays visible. A cut that would leave a code block
    open (an odd number of fences where there was an even one) closes it.
    """
    text = "" if text is None else str(text).strip()
    if size(text) <= limit:
        return text
    if limit <= len(MARK):
        return MARK[:limit]
    if _is_code_block(text) and limit >= 2 * len(FENCE) + 8:
        first, newline, rest = text.partition("\n")
        if newline and " " not in first and len(first) <= len(FENCE) + 16:  # ```lang on its own line
            opening, inner = first, rest[: -len(FENCE)]
        else:
            opening, inner = FENCE, text[len(FENCE) : -len(FENCE)]
        return _fence(opening, _cut_middle(inner.strip("\n"), limit - size(opening) - len(FENCE) - 2))
    if text.endswith(FENCE) and text.count(FENCE) == 2 and not _is_code_block(text):
        # Text, then one code block (a description holding an error): the block loses its middle.
        start = text.index(FENCE)
        prefix = text[:start]
        if size(prefix) + 2 * len(FENCE) + 16 <= limit:
            return prefix + clip(text[start:], limit - size(prefix))
    cut = utf16_head(text, limit - len(MARK)).rstrip()
    if text.count(FENCE) % 2 == 0 and cut.count(FENCE) % 2 == 1:
        cut = utf16_head(cut, limit - len(MARK) - len(FENCE) - 1).rstrip()
        if cut.count(FENCE) % 2 == 1:
            return cut + MARK + "\n" + FENCE
    return cut + MARK


def _fence(opening: str, inner: str) -> str:
    return f"{opening}\n{inner}\n{FENCE}"


def _cut_middle(text: str, budget: int) -> str:
    """``text`` in at most ``budget`` units: its first third and last two thirds around ``\\n…\\n``."""
    return truncate_middle(text, budget, f"\n{MARK}\n", utf16=True)


def code_block(text: Any, limit: int = 1024) -> str:
    """``text`` in a fenced code block of at most ``limit`` units, which its content cannot close.

    Every run of backticks inside is broken with zero-width spaces, so a ``` in an error message is
    shown as it is instead of ending the block; an over-long text loses its middle (marked ``…``).
    """
    body = "" if text is None else str(text)
    if len(body) > 4 * limit:
        # Only the first and last `limit` units can show: work on 2*limit code points from each end (at
        # least `limit` units each once CRLFs fold), not on a megabyte. The result is the same.
        body = body[: 2 * limit] + body[-2 * limit :]
    body = _BACKTICK_RUN.sub("`" + ZWSP, body.replace("\r\n", "\n").replace("\r", "\n")).strip("\n")
    budget = max(0, limit - 2 * len(FENCE) - 2)
    return _fence(FENCE, _cut_middle(body, budget))


def escape_markdown(text: Any) -> str:
    """``text`` shown literally by Discord: markdown, masked links and mention syntax backslash-escaped.

    URLs are left as they are so they stay clickable. ``@everyone``/``@here`` get a zero-width space.
    """
    if text is None:
        return ""
    text = str(text)
    out: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        out.append(_escape_plain(text[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_escape_plain(text[last:]))
    return neutralize_mass_mentions("".join(out))


def _escape_plain(text: str) -> str:
    text = _INLINE.sub(r"\\\1", text)
    return _LINE_START.sub(r"\1\\\2", text)


def neutralize_mass_mentions(text: str) -> str:
    """``@everyone``/``@here`` (any case) with a zero-width space after the ``@``: they ping nobody."""
    return _MASS_MENTION.sub(lambda m: "@" + ZWSP + m.group(1), text)
