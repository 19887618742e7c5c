"""Mattermost Markdown helpers, registered as the ``mattermost_*`` Jinja filters.

Mattermost renders a post's ``text`` and an attachment's ``pretext``, ``text`` and field values as
Markdown, and the server rewrites Slack-style tokens before that: ``<!channel>`` becomes ``@channel``,
``<http://x|label>`` a link. :func:`escape` makes event data show as written: Markdown is escaped by
:func:`tocsin.escape_markdown` (``<`` and ``>`` too, so no Slack token survives; URLs stay clickable),
and ``@name`` gets a zero-width space after the ``@`` so it mentions nobody. :func:`code` puts text in
a fenced block its content cannot close. :func:`plain` is for the parts shown as plain text (fallback,
footer, field titles, a linked title): one line, mentions and Slack tokens defused, nothing escaped.
"""

from __future__ import annotations

import re
from typing import Any

from tocsin import escape_markdown, markdown_code

__all__ = ["FILTERS", "ZWSP", "code", "escape", "plain"]

#: Zero-width space: breaks ``@channel`` and backtick runs without changing what a reader sees.
ZWSP = "\u200b"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MENTION = re.compile(r"@(?=[\w.\-])")


def _lines(value: Any) -> str:
    text = "" if value is None else str(value)
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _defuse(text: str) -> str:
    """Mentions and Slack tokens (``<!channel>``, ``<url|label>``) broken by a zero-width space."""
    return _MENTION.sub("@" + ZWSP, text.replace("<", "<" + ZWSP))


def escape(value: Any) -> str:
    """``value`` shown literally by Mattermost: Markdown escaped, mentions and Slack tokens defused.

    ``<!channel> @here *bold*`` becomes ``\\<!channel\\> @<ZWSP>here \\*bold\\*``.
    """
    return _MENTION.sub("@" + ZWSP, escape_markdown(value))


def plain(value: Any) -> str:
    """``value`` on one line, for a part Mattermost shows as plain text: nothing escaped, but mentions
    and Slack tokens defused."""
    return _defuse(" ".join(_lines(value).split()))


def code(value: Any, limit: int = 4000) -> str:
    """``value`` in a fenced code block of at most ``limit`` characters that its content cannot close.

    :func:`tocsin.markdown_code` breaks backtick runs and cuts the middle of a long text; Slack tokens
    (``<!channel>``) and mentions, which the server reads even inside code, are defused first.
    """
    text = "" if value is None else str(value)
    window = 2 * limit + 64
    if len(text) > 2 * window:
        # Only the first third and the last two thirds of `limit` can show, and every step here is local
        # (one character of context), so both ends of a megabyte give what all of it gives: work on them.
        head, tail = _defuse(_lines(text[:window])), _defuse(_lines(text[-window:]))
        if min(len(head), len(tail)) > limit + 16:  # not eaten by control characters: the same output
            return markdown_code(head + tail, limit)
    return markdown_code(_defuse(_lines(text)), limit)


#: The filters the mattermost templates use, by name.
FILTERS = {"mattermost_escape": escape, "mattermost_code": code, "mattermost_plain": plain}
