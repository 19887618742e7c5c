"""SMS text: which encoding a text needs, how many segments it costs, and cutting it to fit.

How carriers (and Twilio, which bills per segment) count, from Twilio's "What is the SMS character
limit?", "GSM-7 character encoding" and "UCS-2" glossary pages:

* a text made only of the **GSM-7** alphabet is sent in 7-bit units: one SMS holds 160 of them; a longer
  text is split into segments of **153** (7 go to the header that reassembles them). The extension
  characters ``^ { } \\ [ ~ ] | €`` (and form feed) take two units each (an escape, then the
  character), and an escape pair is never split across two segments;
* any other character (emoji, accented letters outside GSM-7, CJK, curly quotes) makes the **whole**
  text **UCS-2**: 70 UTF-16 units in one SMS, segments of **67** for longer texts; a character outside
  the BMP (most emoji) takes two units and is never split;
* Twilio accepts a ``Body`` of at most **1,600 characters**.

:func:`fit` cuts a text to 1,600 characters (and to ``max_segments`` when given) with a visible marker
that keeps the encoding: ``...`` for a GSM-7 text (``…`` is not in GSM-7 and would make the whole text
UCS-2, at 67 instead of 153 characters a segment), ``…`` for a UCS-2 one.
"""

from __future__ import annotations

import re
import unicodedata

import attrs

from tocsin import utf16_head, utf16_len

__all__ = ["BODY_LIMIT", "SmsText", "clean", "fit", "gsm7", "segments", "shorten", "sms_text"]

#: Twilio's limit for one message's Body.
BODY_LIMIT = 1600
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
#: Units in one SMS, and in each segment of a longer one.
SINGLE = {"GSM-7": 160, "UCS-2": 70}
PER_SEGMENT = {"GSM-7": 153, "UCS-2": 67}
MARKERS = {"GSM-7": "...", "UCS-2": "…"}
# Bidirectional overrides and isolates: they can make a text read differently from what it says.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@attrs.frozen
class SmsText:
    """A text ready to send, with what it costs: ``encoding`` (``GSM-7`` or ``UCS-2``) and ``segments``."""

    text: str
    encoding: str
    segments: int


# One regex class of every GSM-7 character: the scan runs in C (a Python loop cost ~70 ms for 1 MB).
_NOT_GSM7 = re.compile("[^" + "".join(re.escape(c) for c in sorted(GSM7_BASIC | GSM7_EXTENSION)) + "]")


def gsm7(text: str) -> bool:
    """Whether ``text`` can be sent in GSM-7 (every character in the basic set or its extension)."""
    return _NOT_GSM7.search(text) is None


def _cost(char: str, encoding: str) -> int:
    if encoding == "GSM-7":
        return 2 if char in GSM7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def segments(text: str, encoding: str | None = None) -> int:
    """How many SMS segments ``text`` is sent as (0 for an empty text)."""
    encoding = encoding or ("GSM-7" if gsm7(text) else "UCS-2")
    total = sum(_cost(c, encoding) for c in text)
    if total <= SINGLE[encoding]:
        return 1 if text else 0
    count, used = 1, 0
    for char in text:
        cost = _cost(char, encoding)
        if used + cost > PER_SEGMENT[encoding]:  # an escape pair or a surrogate pair is never split
            count, used = count + 1, 0
        used += cost
    return count


def clean(text: str) -> str:
    """``text`` fit for a phone: line breaks as ``\\n``, other control characters and bidi overrides as
    spaces, runs of spaces as one, at most one blank line in a row, no blank lines around."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(
        c if c == "\n" else " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in _BIDI else c for c in text
    )
    lines = [" ".join(line.split()) for line in text.split("\n")]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip("\n")


def _head(text: str, encoding: str, units: int) -> str:
    used = 0
    for index, char in enumerate(text):
        used += _cost(char, encoding)
        if used > units:
            return text[:index]
    return text


def _fits(text: str, encoding: str, max_segments: int | None) -> bool:
    if utf16_len(text) > BODY_LIMIT:
        return False
    return max_segments is None or segments(text, encoding) <= max_segments


def fit(text: str, max_segments: int | None = None) -> SmsText:
    """``text`` cut to Twilio's 1,600 characters and to at most ``max_segments`` segments, with a marker
    that keeps its encoding; with its encoding and segment count."""
    encoding = "GSM-7" if gsm7(text) else "UCS-2"
    if not _fits(text, encoding, max_segments):
        marker = MARKERS[encoding]
        head = utf16_head(text, BODY_LIMIT - len(marker))
        if max_segments is not None:
            room = SINGLE[encoding] if max_segments == 1 else PER_SEGMENT[encoding] * max_segments
            head = _head(head, encoding, room - sum(_cost(c, encoding) for c in marker))
        while head and not _fits(head.rstrip() + marker, encoding, max_segments):
            head = head[:-1]  # a pair that cannot straddle two segments wastes a unit at each boundary
        head = head.rstrip()
        if encoding == "UCS-2" and head and gsm7(head):
            return fit(head + MARKERS["GSM-7"], max_segments)  # what is left is GSM-7: send it that way
        text = head + marker
    return SmsText(text, encoding, segments(text, encoding))


def shorten(value: object, limit: int) -> str:
    """``value`` as text of at most ``limit`` characters, cut with the marker of its encoding (the
    templates' ``sms_truncate`` filter: a ``…`` would make a GSM-7 text UCS-2)."""
    text = "" if value is None else str(value)
    if len(text) <= limit:
        return text
    head = text[: max(0, limit - len(MARKERS["UCS-2"]))]  # the marker's width is decided by what is sent
    marker = MARKERS["GSM-7" if gsm7(head) else "UCS-2"]
    return text[: max(0, limit - len(marker))].rstrip() + marker


def sms_text(rendered: str, max_segments: int | None = None) -> SmsText:
    """A rendered template as the SMS to send: :func:`clean`, then :func:`fit`."""
    return fit(clean(rendered), max_segments)
