"""Text primitives channels need to keep within platform limits: measure, cut, and vet URLs.

Chat platforms (Discord, Slack, Teams clients) measure strings in UTF-16 code units, like JavaScript's
``length``: an emoji outside the BMP counts 2. Counting that way is never less than counting code
points, so a text cut to fit by ``utf16=True`` fits by either measure.

:func:`escape_markdown` makes event data show as written where a platform renders CommonMark
(Mattermost, Gotify's markdown mode); each channel adds what its own dialect needs (mentions, tokens).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

__all__ = [
    "TRUNCATION_MARK",
    "escape_markdown",
    "markdown_code",
    "safe_url",
    "truncate",
    "truncate_middle",
    "utf16_head",
    "utf16_len",
    "utf16_tail",
]

#: The visible mark a cut text ends with.
TRUNCATION_MARK = "…"
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~-._"


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (what JavaScript's ``length`` says)."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def utf16_head(text: str, units: int) -> str:
    """The longest prefix of ``text`` of at most ``units`` UTF-16 units (never half a character)."""
    if units <= 0:
        return ""
    head = text[:units]  # `units` code points are at least `units` UTF-16 units
    if head.isascii():
        return head
    used = 0
    for index, char in enumerate(head):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return head[:index]
    return head


def utf16_tail(text: str, units: int) -> str:
    """The longest suffix of ``text`` of at most ``units`` UTF-16 units."""
    return utf16_head(text[::-1], units)[::-1]


def truncate(text: Any, limit: int, marker: str = TRUNCATION_MARK, *, utf16: bool = False) -> str:
    """``text`` cut to at most ``limit`` characters (UTF-16 units with ``utf16``), ending in ``marker``
    when it was cut. Channels call this to keep within platform limits: a visible mark, never a
    rejected request.
    """
    text = "" if text is None else str(text)
    measure = utf16_len if utf16 else len
    if measure(text) <= limit:
        return text
    if limit <= measure(marker):
        return marker[:limit]
    room = limit - measure(marker)
    return (utf16_head(text, room) if utf16 else text[:room]) + marker


def truncate_middle(
    text: Any, limit: int, marker: str = f"\n{TRUNCATION_MARK}\n", *, utf16: bool = False, head_share: float = 1 / 3
) -> str:
    """``text`` in at most ``limit`` units, losing its middle: the first ``head_share`` and the end stay.

    Right for errors and tracebacks, whose first lines say where and whose last line says what.
    """
    text = "" if text is None else str(text)
    measure = utf16_len if utf16 else len
    if measure(text) <= limit:
        return text
    room = max(0, limit - measure(marker))
    if room == 0:
        return marker[:limit]
    head = utf16_head(text, int(room * head_share)) if utf16 else text[: int(room * head_share)]
    rest = room - measure(head)
    tail = (utf16_tail(text, rest) if utf16 else text[len(text) - rest :]) if rest else ""
    return head + marker + tail


def safe_url(value: Any, max_length: int = 2048) -> str | None:
    """An http(s) URL fit for a link or button: unsafe characters percent-encoded; None if unusable.

    Anything but a string holding an absolute http/https URL no longer than ``max_length`` gives None,
    so ``javascript:`` links or garbage from event data never reach a message.
    """
    if not isinstance(value, str):
        return None
    url = quote(value.strip(), safe=_URL_SAFE)
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > max_length:
        return None
    return url


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BARE_URL = re.compile(r"https?://[^\s<>()\[\]|`*]+")
_MD_INLINE = re.compile(r"([\\`*_~\[\]<>|])")
_MD_LINE_START = re.compile(r"^([ \t]*)([#>+\-=])", re.MULTILINE)
_BACKTICK_RUN = re.compile(r"`(?=`)")
_FENCE = "```"
_ZWSP = "\u200b"
_MD_NUMBERED = re.compile(r"^([ \t]*\d+)([.)])(?=[ \t]|$)", re.MULTILINE)


def _escape_md_words(text: str) -> str:
    text = _MD_INLINE.sub(r"\\\1", text)
    text = _MD_LINE_START.sub(r"\1\\\2", text)
    return _MD_NUMBERED.sub(r"\1\\\2", text)


def escape_markdown(value: Any) -> str:
    """``value`` shown literally by a CommonMark renderer: ``\\ ` * _ ~ [ ] < > |`` backslash-escaped, and
    heading, quote, list and setext markers at the start of a line; bare http(s) URLs are left as they
    are, so they stay clickable. Line ends become ``\\n`` and control characters (but tab) go.

    ``**bold** [x](http://e.example)`` becomes ``\\*\\*bold\\*\\* \\[x\\](http://e.example)``.
    """
    text = "" if value is None else str(value)
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    out: list[str] = []
    last = 0
    for match in _BARE_URL.finditer(text):
        out.append(_escape_md_words(text[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_escape_md_words(text[last:]))
    return "".join(out)


def markdown_code(value: Any, limit: int = 4000) -> str:
    """``value`` in a fenced Markdown code block of at most ``limit`` characters that its content cannot
    close: backtick runs are broken with zero-width spaces, and an over-long text loses its middle
    (``…``), so the first lines (where) and the last (what failed) of a traceback stay.
    """
    text = "" if value is None else str(value)
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    body = _BACKTICK_RUN.sub("`" + _ZWSP, text).strip("\n")
    budget = max(0, limit - 2 * len(_FENCE) - 2)
    return f"{_FENCE}\n{truncate_middle(body, budget)}\n{_FENCE}"
