"""Text primitives channels need to keep within platform limits: measure, cut, vet URLs, and make any
value safe for JSON and for a terminal.

Chat platforms (Discord, Slack, Teams clients) measure strings in UTF-16 code units, like JavaScript's
``length``: an emoji outside the BMP counts 2. Counting that way is never less than counting code
points, so a text cut to fit by ``utf16=True`` fits by either measure.

:func:`escape_markdown` makes event data show as written where a platform renders CommonMark
(Mattermost, Gotify's markdown mode); each channel adds what its own dialect needs (mentions, tokens).

Odd values are decided here, once: a non-finite float (NaN, ±Infinity, which JSON cannot hold) is the
string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` in JSON (:func:`json_safe`) and the same word in text
(:func:`number_text`); nesting deeper than :data:`MAX_JSON_DEPTH` becomes a string saying so. Text for a
terminal (:func:`terminal_safe`) has every control character but newline and tab, every bidi override
and every lone surrogate shown as a visible escape, so event data can never move the cursor, recolour
the terminal, set its title (ANSI/OSC) or reorder what is shown.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

__all__ = [
    "MAX_JSON_DEPTH",
    "TRUNCATION_MARK",
    "escape_markdown",
    "fit_json",
    "json_safe",
    "markdown_code",
    "number_text",
    "safe_url",
    "terminal_safe",
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
    # The codec counts in C (a lone surrogate is one unit, as for JavaScript); a Python loop over
    # each character cost ~100 µs per Discord message.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _fits(text: str, limit: int, utf16: bool) -> bool:
    """Whether ``text`` is at most ``limit`` units long, without measuring all of a long text: each code
    point is one or two UTF-16 units, so more code points than ``limit`` never fit."""
    if len(text) > limit:
        return False
    return not utf16 or len(text) * 2 <= limit or utf16_len(text) <= limit


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
    if _fits(text, limit, utf16):
        return text
    measure = utf16_len if utf16 else len
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
    if _fits(text, limit, utf16):
        return text
    measure = utf16_len if utf16 else len
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


#: Nesting deeper than this (lists and tables in event data) is shown as a string, not followed.
MAX_JSON_DEPTH = 64


def number_text(value: float) -> str:
    """``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` for a non-finite float; ``str(value)`` otherwise."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return str(value)


def json_safe(value: Any, default: Callable[[Any], Any] | None = None, _depth: int = 0) -> Any:
    """``value`` as data ``json.dumps(..., allow_nan=False)`` accepts, whatever it holds.

    Non-finite floats become ``"NaN"``/``"Infinity"``/``"-Infinity"``; tuples and sets lists; keys
    strings; other objects go through ``default`` (else datetimes and dates their ISO text, enums their
    value, anything else its ``str``); nesting deeper than :data:`MAX_JSON_DEPTH` becomes
    ``"… (nested deeper than 64 levels)"``.
    """
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else number_text(value)
    if _depth >= MAX_JSON_DEPTH:
        return f"{TRUNCATION_MARK} (nested deeper than {MAX_JSON_DEPTH} levels)"
    if isinstance(value, Mapping):
        return {_key(k): json_safe(v, default, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v, default, _depth + 1) for v in value]
    converted = (default or _plain)(value)
    if converted is value:
        return str(value)
    return json_safe(converted, default, _depth + 1)


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(getattr(value, "value", None), (str, int)):
        return value.value  # enums
    return str(value)


def _key(key: Any) -> str:
    if isinstance(key, float):
        return number_text(key)
    return key if isinstance(key, str) else str(key)


# C0 controls but \t and \n, DEL, C1 controls, bidi embeddings/overrides/isolates/marks, lone surrogates.
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group(0)):04x}"  # the JSON spelling, so JSON text stays valid JSON


def terminal_safe(text: Any) -> str:
    """``text`` fit to print on a terminal: control characters (but newline and tab), bidi controls
    and lone surrogates shown as ``\\u001b``/``\\u202e`` escapes (valid in JSON text too), so data cannot
    drive the terminal."""
    text = "" if text is None else str(text)
    return _TERMINAL_UNSAFE.sub(_escape, text.replace("\r\n", "\n"))


def json_size(document: Any) -> int:
    """The UTF-8 bytes of ``document`` as compact JSON."""
    return len(json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace"))


def fit_json(document: Any, max_bytes: int, *, floor: int = 64) -> tuple[Any, bool]:
    """``(document, cut)``: ``document`` within ``max_bytes`` of compact UTF-8 JSON, and whether it was cut.

    The longest strings are cut first (each ending in ``…``, never below ``floor`` characters); if that is
    not enough, the largest lists and tables (not the top level) are replaced, largest first, by a string
    ``"… (N items not shown)"``. The input is not changed. A document that cannot be made to fit (its
    top level alone is too big) is returned as small as it got.
    """
    size = json_size(document)
    if size <= max_bytes:
        return document, False
    doc = json.loads(json.dumps(document, ensure_ascii=False))  # a deep copy of plain JSON data
    for _ in range(10_000):
        excess = size - max_bytes
        if excess <= 0:
            return doc, True
        leaf = _longest_string(doc)
        if leaf is None or len(leaf[0][leaf[1]]) <= floor:
            break
        parent, key = leaf
        text = parent[key]
        parent[key] = truncate(text, max(floor, min(len(text) // 2, len(text) - excess)))
        size = json_size(doc)
    while size > max_bytes:
        box = _largest_container(doc)
        if box is None:
            break
        parent, key = box
        count = len(parent[key])
        parent[key] = f"{TRUNCATION_MARK} ({count} item{'s' if count != 1 else ''} not shown)"
        size = json_size(doc)
    return doc, True


def _slots(node: Any) -> Any:
    if isinstance(node, dict):
        return node.items()
    if isinstance(node, list):
        return enumerate(node)
    return ()


def _longest_string(doc: Any) -> tuple[Any, Any] | None:
    best: tuple[Any, Any] | None = None
    best_len = -1
    stack = [doc]
    while stack:
        node = stack.pop()
        for key, value in _slots(node):
            if isinstance(value, str):
                if len(value) > best_len:
                    best, best_len = (node, key), len(value)
            elif isinstance(value, (dict, list)):
                stack.append(value)
    return best


def _largest_container(doc: Any) -> tuple[Any, Any] | None:
    best: tuple[Any, Any] | None = None
    best_size = -1
    stack = [doc]
    while stack:
        node = stack.pop()
        for key, value in _slots(node):
            if isinstance(value, (dict, list)) and value:
                size = json_size(value)
                if size > best_size:
                    best, best_size = (node, key), size
                stack.append(value)
    return best
