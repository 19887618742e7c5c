"""Slack mrkdwn helpers, registered as Jinja filters for the slack templates.

Slack parses ``&``, ``<`` and ``>`` in mrkdwn (and in a message's ``text``) as control characters:
``<!channel>`` pings everyone, ``<http://evil|click>`` is a link. :func:`escape` turns them into the
entities Slack documents (``&amp;`` ``&lt;`` ``&gt;``), so event data shows as written and can neither
ping nor link. It also drops control characters that have no business in a chat message.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tocsin.presentation import format_time

__all__ = ["FILTERS", "code", "date_token", "escape", "link"]

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BACKTICK_RUN_RE = re.compile(r"`(?=`)")
ZWSP = "\u200b"


def _plain(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_RE.sub("", text)


def escape(value: Any) -> str:
    """``value`` as mrkdwn-safe text: ``&`` ``<`` ``>`` become entities, control characters go.

    >>> escape("<!channel> & <http://evil|click>")
    '&lt;!channel&gt; &amp; &lt;http://evil|click&gt;'
    """
    return _plain(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(value: Any) -> str:
    """``value`` escaped for the inside of a ``` block: also breaks up backtick runs so it cannot close it."""
    return _BACKTICK_RUN_RE.sub("`" + ZWSP, escape(value))


def _link_target(url: str) -> str:
    # Inside <url|label>, "|" and ">" end the URL; percent-encode them (and "<"), entity-encode "&".
    return url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")


def link(url: Any, label: Any = None) -> str:
    """A mrkdwn link ``<url|label>`` with both parts escaped; just the escaped label for a non-http URL."""
    text = escape(label if label not in (None, "") else url)
    if not isinstance(url, str) or not url.startswith(("https://", "http://")) or any(c.isspace() for c in url):
        return text
    return f"<{_link_target(url)}|{text}>"


def date_token(value: Any, fmt: str = "{date_short_pretty} {time_secs}") -> str:
    """A Slack date token: each reader sees the time in their own time zone, with a UTC fallback.

    ``<!date^1700000000^{date_short_pretty} {time_secs}|2023-11-14 22:13:20 UTC>``
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return escape(value)
    if not isinstance(value, datetime) or value.tzinfo is None:
        return escape(value)
    fallback = format_time(value)
    fmt = fmt.replace("|", "").replace(">", "").replace("<", "")
    return f"<!date^{int(value.timestamp())}^{fmt}|{escape(fallback)}>"


#: The filters the slack templates use, by name.
FILTERS = {
    "slack_escape": escape,
    "slack_code": code,
    "slack_link": link,
    "slack_date": date_token,
}
