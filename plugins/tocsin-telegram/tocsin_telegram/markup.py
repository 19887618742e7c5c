"""Telegram's HTML parse mode, made safe and kept within the message limit.

From the Bot API's "Formatting options" (HTML style):

* only these tags are understood: ``b strong i em u ins s strike del span tg-spoiler a code pre
  blockquote tg-emoji``; anything else makes Telegram refuse the message ("can't parse entities");
* every ``<``, ``>`` and ``&`` that is not part of a tag or an entity must be escaped; the only named
  entities are ``&lt; &gt; &amp; &quot;``, numeric ones all work;
* a message is 1-4096 characters **after entities parsing**: what counts is the visible text, not the
  tags. Telegram measures text in UTF-16 units (its entity offsets are UTF-16), so we count that way.

:func:`fit_html` takes whatever a template rendered (event text in it is already escaped by the
template's autoescaping) and returns HTML Telegram will accept: unknown tags and stray ``<``/``>``/``&``
escaped, tags balanced, and the visible text cut to the limit with a visible ``…``, closing every tag
still open at the cut.
"""

from __future__ import annotations

import html
import re

from tocsin import utf16_head, utf16_len

__all__ = ["ALLOWED_TAGS", "MESSAGE_LIMIT", "TRUNCATION_MARK", "fit_html", "visible_text"]

MESSAGE_LIMIT = 4096
TRUNCATION_MARK = "…"
ALLOWED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre"}
    | {"blockquote", "tg-emoji"}
)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[^<>]*)?)>")
# The attributes Telegram reads (a href, span/pre/code class, tg-emoji emoji-id, blockquote expandable);
# any other makes it refuse the message, so a tag carrying one is shown as text.
_ATTRIBUTES = re.compile(r'^(\s+(href|class|emoji-id|expandable)(="[^"<>]*")?)*\s*$')
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6}|lt|gt|amp|quot);")
_NUMERIC = re.compile(r"&#(?:([0-9]{1,7})|x([0-9A-Fa-f]{1,6}));")
_STRAY_AMP = re.compile(r"&(?!(?:#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6}|lt|gt|amp|quot);)")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _visible_size(chunk: str) -> int:
    """UTF-16 units Telegram shows for text between tags: an entity is one character (two when a
    numeric one names a character outside the BMP)."""
    wide = sum(1 for dec, hexa in _NUMERIC.findall(chunk) if int(dec or hexa, 10 if dec else 16) > 0xFFFF)
    return utf16_len(_ENTITY.sub("x", chunk)) + wide


def visible_text(markup: str) -> str:
    """The text Telegram shows for ``markup`` (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^<>]*>", "", markup))


class _Fitter:
    """Walks the markup once, writing safe HTML; with a ``budget``, stops after that many visible units."""

    def __init__(self, budget: int | None) -> None:
        self.budget = budget
        self.used = 0
        self.out: list[str] = []
        self.open: list[str] = []
        self.cut = False

    def text(self, chunk: str) -> None:
        """Add text between tags: entities kept, ``<``, ``>`` and stray ``&`` escaped."""
        size = _visible_size(chunk)
        if self.budget is None or self.used + size <= self.budget:
            self.out.append(_STRAY_AMP.sub("&amp;", chunk).replace("<", "&lt;").replace(">", "&gt;"))
            self.used += size
            return
        position = 0
        for match in _ENTITY.finditer(chunk):  # the chunk where the cut falls: piece by piece
            self._plain(chunk[position : match.start()])
            if not self.cut:
                self.entity(match.group(0))
            if self.cut:
                return
            position = match.end()
        self._plain(chunk[position:])

    def _plain(self, part: str) -> None:
        if not part:
            return
        size = utf16_len(part)
        if self.budget is not None and self.used + size > self.budget:
            part = utf16_head(part, self.budget - self.used)
            size = utf16_len(part)
            self.cut = True
        self.out.append(_escape(part))
        self.used += size

    def entity(self, entity: str) -> None:
        """Add one entity (``&lt;``, ``&#128190;``): one visible character, never split."""
        size = utf16_len(html.unescape(entity))
        if self.budget is not None and self.used + size > self.budget:
            self.cut = True
            return
        self.out.append(entity)
        self.used += size

    def tag(self, closing: bool, name: str, attributes: str, raw: str) -> None:
        """Add a tag Telegram knows, or show anything else as text (Telegram would refuse the message)."""
        lower = name.lower()
        if lower not in ALLOWED_TAGS or (attributes and not _ATTRIBUTES.match(attributes)):
            self.text(raw)
        elif not closing:
            self.out.append(f"<{lower}{attributes}>")
            self.open.append(lower)
        elif lower in self.open:
            while self.open:  # close what was left open inside it, then it
                top = self.open.pop()
                self.out.append(f"</{top}>")
                if top == lower:
                    break
        else:
            self.text(raw)  # a closing tag with nothing to close

    def finish(self) -> str:
        if self.cut:
            self.out.append(TRUNCATION_MARK)
        self.out.extend(f"</{name}>" for name in reversed(self.open))
        return "".join(self.out)


def _walk(markup: str, budget: int | None) -> tuple[str, int]:
    fitter = _Fitter(budget)
    position = 0
    for match in _TAG.finditer(markup):
        if match.start() > position:
            fitter.text(markup[position : match.start()])
        if not fitter.cut:
            fitter.tag(bool(match.group(1)), match.group(2), match.group(3) or "", match.group(0))
        if fitter.cut:
            return fitter.finish(), fitter.used
        position = match.end()
    if position < len(markup):
        fitter.text(markup[position:])
    return fitter.finish(), fitter.used


def fit_html(markup: str, limit: int = MESSAGE_LIMIT) -> str:
    """``markup`` as HTML Telegram accepts, with at most ``limit`` visible UTF-16 units (see module doc).

    A cut keeps tags balanced: the text ends in ``…`` inside the tags open there, which are then closed.
    """
    repaired, visible = _walk(markup, None)
    if visible <= limit:
        return repaired
    return _walk(repaired, max(limit - len(TRUNCATION_MARK), 0))[0]
