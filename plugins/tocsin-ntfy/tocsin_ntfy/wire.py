"""What ntfy accepts on the wire: byte limits, single-line header values, RFC 2047 for non-ASCII.

From ntfy's publishing docs (https://docs.ntfy.sh/publish/, "Limitations" and "Message title"):

* a message body under 4,096 bytes stays a message; one of 4,096 or more is turned into an attachment,
  so we cut it to 4,095;
* the title is at most 1 KB and all tags together 512 bytes; longer ones are rejected with HTTP 400;
* header values may be UTF-8, but HTTP clients (httpx included) only send ASCII reliably, so ntfy also
  decodes RFC 2047 encoded words (``=?UTF-8?B?...?=``) in any header. We use them for every value that
  is not plain printable ASCII.
"""

from __future__ import annotations

import base64
import re
import unicodedata

__all__ = [
    "MESSAGE_LIMIT",
    "TAGS_LIMIT",
    "TITLE_LIMIT",
    "TRUNCATION_MARK",
    "fit_tags",
    "header_value",
    "one_line",
    "truncate_bytes",
]

# ntfy documents 4,096 bytes, but its server turns a body of exactly 4,096 bytes into an attachment
# (its check is "at least the limit"), so the most that arrives as a message is 4,095.
MESSAGE_LIMIT = 4095
TITLE_LIMIT = 1024
TAGS_LIMIT = 512
TRUNCATION_MARK = "…"

# Bidirectional overrides and isolates: they can make a title read differently from what it says.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")
# Longest UTF-8 chunk per encoded word: base64 of 45 bytes is 60 characters, 72 with "=?UTF-8?B?" and "?=",
# within RFC 2047's 75.
_WORD_BYTES = 45


def truncate_bytes(text: str, limit: int, marker: str = TRUNCATION_MARK) -> str:
    """``text`` in at most ``limit`` UTF-8 bytes, ending in ``marker`` when cut (never mid-character).

    Characters UTF-8 cannot encode (unpaired surrogates) become ``?``.
    """
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return data.decode("utf-8")
    room = limit - len(marker.encode("utf-8"))
    if room <= 0:
        return ""
    return data[:room].decode("utf-8", "ignore") + marker


def one_line(text: str) -> str:
    """``text`` on one line: control characters, line and paragraph separators and bidi overrides become
    spaces, runs of whitespace one space. Safe for an HTTP header value."""
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    return " ".join(_BIDI.sub(" ", cleaned).split())


def _plain_ascii(value: str) -> bool:
    return all(" " <= c <= "~" for c in value) and "=?" not in value


def header_value(value: str) -> str:
    """A header value ntfy reads back as ``value``: as is when it is plain printable ASCII, else RFC 2047
    base64 encoded words (also when plain text contains ``=?``, so ntfy does not decode what only looks
    like one)."""
    value = one_line(value)
    if _plain_ascii(value):
        return value
    words: list[str] = []
    chunk = ""
    for char in value:
        if len((chunk + char).encode("utf-8", "replace")) > _WORD_BYTES:
            words.append(chunk)
            chunk = ""
        chunk += char
    if chunk:
        words.append(chunk)
    encoded = (base64.b64encode(w.encode("utf-8", "replace")).decode("ascii") for w in words)
    return " ".join(f"=?UTF-8?B?{b64}?=" for b64 in encoded)


def fit_tags(tags: list[str], limit: int = TAGS_LIMIT) -> list[str]:
    """Distinct tags, in order, as many as fit in ``limit`` bytes joined by commas."""
    kept: list[str] = []
    for tag in dict.fromkeys(t for t in tags if t):
        if len(",".join([*kept, tag]).encode("utf-8")) > limit:
            break
        kept.append(tag)
    return kept
