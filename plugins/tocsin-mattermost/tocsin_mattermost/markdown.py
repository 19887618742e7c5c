"""Mattermost Markdown helpers, registered as the ``mattermost_*`` Jinja filters.

Mattermost renders a post's ``text`` and an attachment's ``pretext``, ``text`` and field values as
Markdown, and the server rewrites Slack-style tokens before that: ``<!channel>`` becomes ``@channel``,
``<http://x|label>`` a link. :func:`escape` makes event data show as written: Markdown punctuation is
backslash-escaped (``<`` and ``>`` too, so no Slack token survives), ``@name`` gets a zero-width space
after the ``@`` so it mentions nobody, line-start markers (headings, quotes, lists) are escaped, and
control characters go. URLs are left as they are, so they stay clickable. :func:`code` puts text in a
fenced block its content cannot close. :func:`plain` is for the parts shown as plain text (fallback,
footer, field titles, a linked title): one line, mentions and Slack tokens defused, nothing escaped.
"""

from __future__ import annotations

import re
from typing import Any

from tocsin import truncate_middle

__all__ = ["FILTERS", "ZWSP", "code", "escape", "plain"]

#: Zero-width space: breaks ``@channel`` and backtick runs without changing what a reader sees.
ZWSP = "\u200b"
FENCE = "```"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_URL = re.compile(r"https?://[^\s<>()\[\]|]+")
_INLINE = re.compile(r"([\\`*_~\[\]<>|])")
_LINE_START = re.compile(r"^([ \t]*)([#>+\-=])", re.MULTILINE)
_NUMBERED = re.compile(r"^([ \t]*\d+)([.)])(?=[ \t]|$)", re.MULTILINE)
_MENTION = re.compile(r"@(?=[\w.\-])")
_BACKTICK_RUN = re.compile(r"`(?=`)")


def _plain(value: Any) -> str:
    text = "" if value is None else str(value)
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _escape_words(text: str) -> str:
    text = _INLINE.sub(r"\\\1", text)
    text = _LINE_START.sub(r"\1\\\2", text)
    return _NUMBERED.sub(r"\1\\\2", text)


def escape(value: Any) -> str:
    """``value`` shown literally by Mattermost: Markdown escaped, mentions and Slack tokens defused.

    ``<!channel> @here *bold*`` becomes ``\\<!channel\\> @<ZWSP>here \\*bold\\*``.
    """
    text = _plain(value)
    out: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        out.append(_escape_words(text[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_escape_words(text[last:]))
    return _MENTION.sub("@" + ZWSP, "".join(out))


def _defuse(text: str) -> str:
    """Mentions and Slack tokens (``<!channel>``, ``<url|label>``) broken by a zero-width space."""
    return _MENTION.sub("@" + ZWSP, text.replace("<", "<" + ZWSP))


def plain(value: Any) -> str:
    """``value`` on one line, for a part Mattermost shows as plain text: nothing escaped, but mentions
    and Slack tokens defused."""
    return _defuse(" ".join(_plain(value).split()))


def code(value: Any, limit: int = 4000) -> str:
    """``value`` in a fenced code block of at most ``limit`` characters that its content cannot close.

    Backtick runs are broken with zero-width spaces; Slack tokens (``<!channel>``) and mentions, which
    the server reads even inside code, are defused the same way; an over-long text loses its middle
    (``…``), so the first lines and the last (what failed) stay.
    """
    body = _BACKTICK_RUN.sub("`" + ZWSP, _plain(value)).strip("\n")
    body = _defuse(body)
    budget = max(0, limit - 2 * len(FENCE) - 2)
    return f"{FENCE}\n{truncate_middle(body, budget)}\n{FENCE}"


#: The filters the mattermost templates use, by name.
FILTERS = {"mattermost_escape": escape, "mattermost_code": code, "mattermost_plain": plain}
