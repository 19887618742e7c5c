"""Google Chat's limits, enforced on the rendered message before it leaves ``format_message``.

Google Chat refuses a message larger than **32,000 bytes**, text and cards together (developers.google.com
"Send a message"). Whatever a template renders, tocsin keeps the JSON it sends within that, measured the
way the transport encodes it: first each part within its own cap (tocsin's: header title and subtitle
250, a field's label 250 and value 2,000, a paragraph 8,000, at most 50 widgets per section, button
text 40), then, while the whole is too large, the longest text is cut further. A cut ends in ``…`` and
never splits an HTML entity or tag. The ``text`` fallback is one line of at most 4,096 characters.
Buttons whose link is no usable http(s) URL are left out rather than sent broken.
"""

from __future__ import annotations

import re
from typing import Any

from tocsin import encode_json, safe_url, truncate

__all__ = ["LIMITS", "MESSAGE_BYTES", "TEXT_LIMIT", "enforce", "size", "violations"]

MARK = "…"
#: Google Chat's largest message, in bytes of JSON.
MESSAGE_BYTES = 32_000
#: The text fallback's length.
TEXT_LIMIT = 4_096
LIMITS = {
    "title": 250,
    "subtitle": 250,
    "header": 250,
    "topLabel": 250,
    "bottomLabel": 250,
    "decorated": 2_000,
    "paragraph": 8_000,
    "widgets": 50,
    "button": 40,
    "url": 2_000,
}
_PARTIAL_ENTITY = re.compile(r"&[#\w]{0,8}$")
_PARTIAL_TAG = re.compile(r"<[^<>]{0,16}$")


def size(body: Any) -> int:
    """Bytes of ``body`` as the transport sends it."""
    return len(encode_json(body))


def cut(text: str, limit: int) -> str:
    """``text`` (card HTML) in at most ``limit`` characters, ending in ``…``; no half ``&amp;`` or ``<br>``."""
    if len(text) <= limit:
        return text
    head = text[: max(0, limit - len(MARK))]
    head = _PARTIAL_TAG.sub("", _PARTIAL_ENTITY.sub("", head))
    return head + MARK


def _fit(obj: Any, key: str, limit: int) -> None:
    if isinstance(obj, dict) and isinstance(obj.get(key), str):
        obj[key] = cut(obj[key], limit)


def _fit_button(button: Any) -> bool:
    """Fit a button; False when it must go (its link is no usable http(s) URL)."""
    if not isinstance(button, dict):
        return False
    _fit(button, "text", LIMITS["button"])
    link = (button.get("onClick") or {}).get("openLink")
    if isinstance(link, dict):
        url = safe_url(link.get("url"), LIMITS["url"])
        if url is None:
            return False
        link["url"] = url
    return True


def _fit_widget(widget: Any) -> bool:
    """Fit one widget; False when it is left empty and must go."""
    if not isinstance(widget, dict):
        return True
    decorated = widget.get("decoratedText")
    if isinstance(decorated, dict):
        for key in ("topLabel", "bottomLabel"):
            _fit(decorated, key, LIMITS[key])
        _fit(decorated, "text", LIMITS["decorated"])
    _fit(widget.get("textParagraph"), "text", LIMITS["paragraph"])
    buttons = (widget.get("buttonList") or {}).get("buttons")
    if isinstance(buttons, list):
        kept = [b for b in buttons if _fit_button(b)]
        widget["buttonList"]["buttons"] = kept
        return bool(kept)
    return True


def _fit_section(section: Any) -> bool:
    if not isinstance(section, dict):
        return True
    _fit(section, "header", LIMITS["header"])
    widgets = section.get("widgets")
    if not isinstance(widgets, list):
        return True
    widgets = [w for w in widgets if _fit_widget(w)]
    if len(widgets) > LIMITS["widgets"]:
        left_out = len(widgets) - (LIMITS["widgets"] - 1)
        widgets = [
            *widgets[: LIMITS["widgets"] - 1],
            {"decoratedText": {"text": f"{MARK} {left_out} more"}},
        ]
    section["widgets"] = widgets
    return bool(widgets)


def _cards(body: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for item in body.get("cardsV2") or []:
        if isinstance(item, dict) and isinstance(item.get("card"), dict):
            found.append(item["card"])
    return found


def _slots(body: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """Every text a cut may shorten: (the object holding it, its key)."""
    slots: list[tuple[dict[str, Any], str]] = [(body, "text")] if isinstance(body.get("text"), str) else []
    for card in _cards(body):
        header = card.get("header")
        if isinstance(header, dict):
            slots += [(header, key) for key in ("title", "subtitle") if isinstance(header.get(key), str)]
        for section in card.get("sections") or []:
            for widget in (section.get("widgets") or []) if isinstance(section, dict) else []:
                for inner in (widget.get("decoratedText"), widget.get("textParagraph")):
                    if isinstance(inner, dict) and isinstance(inner.get("text"), str):
                        slots.append((inner, "text"))
    return slots


def enforce(body: dict[str, Any], fallback: str) -> dict[str, Any]:
    """``body`` (a webhook message) within Google Chat's limits, changed in place and returned.

    ``fallback`` (one line, already made safe) becomes the ``text`` when the template left it out.
    """
    text = body.get("text")
    body["text"] = truncate(
        " ".join(text.split()) if isinstance(text, str) and text.strip() else fallback,
        TEXT_LIMIT,
    )
    for card in _cards(body):
        header = card.get("header")
        if isinstance(header, dict):
            _fit(header, "title", LIMITS["title"])
            _fit(header, "subtitle", LIMITS["subtitle"])
        if isinstance(card.get("sections"), list):
            card["sections"] = [s for s in card["sections"] if _fit_section(s)]
    for _ in range(500):
        excess = size(body) - MESSAGE_BYTES
        if excess <= 0:
            break
        holder, key = max(_slots(body), key=lambda slot: len(slot[0][slot[1]]), default=(None, ""))
        longest = len(holder[key]) if holder is not None else 0
        if longest <= 64:
            if not _drop_last_widget(body):
                break
            continue
        # Each character is at least one byte: cutting `excess` characters (or, failing that, half) gets
        # the message under the limit or closer to it.
        target = longest - excess - 8 if excess < longest - 40 else longest // 2
        holder[key] = cut(holder[key], max(32, target))
    return body


def _drop_last_widget(body: dict[str, Any]) -> bool:
    for card in reversed(_cards(body)):
        for section in reversed(card.get("sections") or []):
            widgets = section.get("widgets") if isinstance(section, dict) else None
            if widgets:
                widgets.pop()
                return True
    return False


def violations(body: Any) -> list[str]:
    """Every way ``body`` breaks a limit above, as readable lines (a check for tests and template authors)."""
    if not isinstance(body, dict):
        return ["the message is not a JSON object"]
    found = []
    if size(body) > MESSAGE_BYTES:
        found.append(f"message: {size(body)} bytes > {MESSAGE_BYTES}")
    text = body.get("text")
    if not isinstance(text, str) or not text or len(text) > TEXT_LIMIT or "\n" in text:
        found.append("text: missing, longer than 4,096 characters, or not one line")
    for card in _cards(body):
        for key in ("title", "subtitle"):
            if len((card.get("header") or {}).get(key) or "") > LIMITS[key]:
                found.append(f"header.{key}: too long")
        for index, section in enumerate(card.get("sections") or []):
            widgets = section.get("widgets") or []
            if len(widgets) > LIMITS["widgets"]:
                found.append(f"sections[{index}]: {len(widgets)} widgets > {LIMITS['widgets']}")
            for widget in widgets:
                decorated = widget.get("decoratedText") or {}
                if len(decorated.get("text") or "") > LIMITS["decorated"]:
                    found.append(f"sections[{index}]: a decoratedText is too long")
                if len((widget.get("textParagraph") or {}).get("text") or "") > LIMITS["paragraph"]:
                    found.append(f"sections[{index}]: a textParagraph is too long")
    return found
