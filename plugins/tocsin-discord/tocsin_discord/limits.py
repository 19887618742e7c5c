"""Discord's documented message limits, enforced on the rendered payload (whatever the template made).

Sources: Discord developer docs, "Execute Webhook" (content up to 2000 characters, up to 10 embeds)
and "Embed Limits" (title 256, description 4096, up to 25 fields, field name 256 / value 1024,
footer 2048, author name 256, and at most 6000 characters of all of those across a message's embeds;
"Violating any of these constraints will result in a Bad Request response"). Over-long text is cut
with a visible ``…``; dropped fields and embeds are replaced by a line saying how many were left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import tocsin

from .text import MARK, ZWSP, clip, neutralize_mass_mentions, size

__all__ = ["CHANNEL_LIMITS", "LIMITS", "embed_text_size", "enforce", "neutralize", "one_line", "safe_url"]

LIMITS = {
    "content": 2000,
    "embeds": 10,
    "title": 256,
    "description": 4096,
    "fields": 25,
    "field_name": 256,
    "field_value": 1024,
    "footer": 2048,
    "author": 256,
    "total": 6000,
    "username": 80,
}
#: The same limits, declared to the core (``Channel(limits=...)``) so its hostile-input suite checks them.
CHANNEL_LIMITS = (
    tocsin.Limit("body.content", LIMITS["content"], "utf16", one_line=True),
    tocsin.Limit("body.username", LIMITS["username"], "utf16"),
    tocsin.Limit("body.embeds", LIMITS["embeds"], "items"),
    tocsin.Limit("body.embeds[].title", LIMITS["title"], "utf16", one_line=True),
    tocsin.Limit("body.embeds[].description", LIMITS["description"], "utf16"),
    tocsin.Limit("body.embeds[].fields", LIMITS["fields"], "items"),
    tocsin.Limit("body.embeds[].fields[].name", LIMITS["field_name"], "utf16"),
    tocsin.Limit("body.embeds[].fields[].value", LIMITS["field_value"], "utf16"),
    tocsin.Limit("body.embeds[].footer.text", LIMITS["footer"], "utf16"),
    tocsin.Limit("body.embeds[].author.name", LIMITS["author"], "utf16"),
)
# Not a documented embed limit: a longer URL is dropped rather than risk a rejected message.
MAX_URL = 2048
# Floors when shrinking for the 6000 total: keep some of every description and field value.
_DESCRIPTION_FLOOR = 256
_VALUE_FLOOR = 64
_URL_KEYS = {"url", "icon_url", "avatar_url"}
_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


def one_line(value: Any) -> str:
    """``value`` on one line: CR, LF and every other run of whitespace become one space (the message's
    ``content`` and an embed's ``title`` are one line; a newline there would break or forge layout)."""
    return " ".join(("" if value is None else str(value)).split())


def safe_url(value: Any) -> str | None:
    """An http(s) URL Discord will accept: unsafe characters percent-encoded; anything else None."""
    return tocsin.safe_url(value, MAX_URL)


def _vet_urls(obj: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Each of ``keys`` in ``obj`` made a safe http(s) URL, or removed when it cannot be one."""
    for key in keys:
        if key in obj:
            url = safe_url(obj[key])
            if url is None:
                del obj[key]
            else:
                obj[key] = url


def neutralize(value: Any) -> Any:
    """Every string in ``value`` (except URLs) with ``@everyone``/``@here`` broken by a zero-width space."""
    if isinstance(value, str):
        return neutralize_mass_mentions(value)
    if isinstance(value, list):
        return [neutralize(item) for item in value]
    if isinstance(value, dict):
        return {k: (v if k in _URL_KEYS else neutralize(v)) for k, v in value.items()}
    return value


def embed_text_size(embed: dict[str, Any]) -> int:
    """The characters of ``embed`` that count toward the 6000 total."""
    total = size(embed.get("title") or "") + size(embed.get("description") or "")
    for field in embed.get("fields") or []:
        total += size(field["name"]) + size(field["value"])
    total += size((embed.get("footer") or {}).get("text") or "")
    total += size((embed.get("author") or {}).get("name") or "")
    return total


def enforce(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` (a rendered webhook payload) within every limit; the input is not changed.

    Raises ValueError when the payload has the wrong shape (the caller names the template).
    """
    body = dict(body)
    if "content" in body:
        if body["content"] is None or str(body["content"]).strip() == "":
            del body["content"]
        else:
            body["content"] = clip(one_line(body["content"]), LIMITS["content"])
    embeds = body.get("embeds")
    if embeds is None:
        body.pop("embeds", None)
    else:
        if not isinstance(embeds, list) or not all(isinstance(e, dict) for e in embeds):
            raise ValueError("'embeds' must be a list of objects")
        embeds = [_embed(e) for e in embeds]
        if len(embeds) > LIMITS["embeds"]:
            left_out = len(embeds) - LIMITS["embeds"] + 1
            embeds = embeds[: LIMITS["embeds"] - 1]
            embeds.append({"description": f"{MARK} {left_out} more embeds not shown"})
        _fit_total(embeds)
        body["embeds"] = embeds
    _vet_urls(body, ("avatar_url",))
    if "username" in body:
        body["username"] = clip(body["username"], LIMITS["username"]) or None
        if body["username"] is None:
            del body["username"]
    return body


def _embed(raw: dict[str, Any]) -> dict[str, Any]:
    embed = dict(raw)
    for key, limit in (("title", LIMITS["title"]), ("description", LIMITS["description"])):
        if key in embed:
            text = clip(one_line(embed[key]) if key == "title" else embed[key], limit)
            if text:
                embed[key] = text
            else:
                del embed[key]
    if "url" in embed:
        url = safe_url(embed["url"])
        if url is None:
            del embed["url"]
        else:
            embed["url"] = url
    if "color" in embed:
        embed["color"] = _color(embed["color"])
        if embed["color"] is None:
            del embed["color"]
    for key, text_key, limit in (("footer", "text", LIMITS["footer"]), ("author", "name", LIMITS["author"])):
        if key in embed:
            embed[key] = _part(embed[key], text_key, limit)
            if embed[key] is None:
                del embed[key]
    for key in ("image", "thumbnail"):
        if key in embed:
            part = embed[key]
            url = safe_url(part.get("url")) if isinstance(part, dict) else None
            if url is None:
                del embed[key]
            else:
                embed[key] = {**part, "url": url}
    if "fields" in embed:
        embed["fields"] = _fields(embed["fields"])
        if not embed["fields"]:
            del embed["fields"]
    return embed


def _color(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 0xFFFFFF else None
    if isinstance(value, str):
        match = _HEX.match(value.strip())
        return int(match.group(1), 16) if match else None
    return None


def _part(raw: Any, text_key: str, limit: int) -> dict[str, Any] | None:
    """A footer or author object with its text clipped and its URLs checked; None when it has no text."""
    if not isinstance(raw, dict):
        raise ValueError(f"'{'footer' if text_key == 'text' else 'author'}' must be an object")
    part = dict(raw)
    text = clip(part.get(text_key), limit)
    if not text:
        return None
    part[text_key] = text
    _vet_urls(part, ("url", "icon_url"))
    return part


def _fields(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not all(isinstance(f, dict) for f in raw):
        raise ValueError("'fields' must be a list of objects")
    fields = []
    for item in raw:
        field = dict(item)
        # Both are required and may not be blank; a zero-width space is Discord's usual "empty".
        field["name"] = clip(field.get("name"), LIMITS["field_name"]) or ZWSP
        field["value"] = clip(field.get("value"), LIMITS["field_value"]) or ZWSP
        fields.append(field)
    if len(fields) > LIMITS["fields"]:
        fields = [*fields[: LIMITS["fields"] - 1], _more_fields(len(fields) - LIMITS["fields"] + 1)]
    return fields


def _more_fields(count: int) -> dict[str, Any]:
    return {"name": MARK, "value": f"{count} more field{'s' if count != 1 else ''} not shown", "inline": False}


def _fit_total(embeds: list[dict[str, Any]]) -> None:
    """Shrink ``embeds`` in place until their text is within the 6000 total.

    In order: the longest descriptions and field values (down to a floor), then fields from the end
    (replaced by one "N more fields not shown"), then embeds from the end, then every text to a floor.
    """

    def excess() -> int:
        return sum(embed_text_size(e) for e in embeds) - LIMITS["total"]

    # 1. The longest texts first, never below their floor.
    while excess() > 0:
        slots = _shrinkable(embeds)
        if not slots:
            break
        current, floor, setter = max(slots, key=lambda s: s[0] - s[1])
        setter(max(floor, current - excess()))
    # 2. Fields from the end of the last embed that has any.
    while excess() > 0:
        with_fields = [e for e in embeds if e.get("fields") and not _only_marker(e["fields"])]
        if not with_fields:
            break
        fields = with_fields[-1]["fields"]
        dropped = 1
        if fields and fields[-1].get("name") == MARK:
            dropped += _marker_count(fields.pop())
        fields.pop()
        fields.append(_more_fields(dropped))
    # 3. Embeds from the end (the first always stays).
    while excess() > 0 and len(embeds) > 1:
        embeds.pop()
    # 4. Whatever is left: every text down to a small size.
    if excess() > 0:
        for embed in embeds:
            for key in ("title", "description"):
                if key in embed:
                    embed[key] = clip(embed[key], 128)
            for key, text_key in (("footer", "text"), ("author", "name")):
                if key in embed:
                    embed[key][text_key] = clip(embed[key][text_key], 128)
            embed.pop("fields", None)


def _shrinkable(embeds: list[dict[str, Any]]) -> list[tuple[int, int, Callable[[int], None]]]:
    """(current size, floor, clip-to-size function) for every text above its floor."""
    slots: list[tuple[int, int, Callable[[int], None]]] = []
    for embed in embeds:
        description = embed.get("description")
        if description and size(description) > _DESCRIPTION_FLOOR:
            slots.append((size(description), _DESCRIPTION_FLOOR, _setter(embed, "description")))
        for field in embed.get("fields") or []:
            if size(field["value"]) > _VALUE_FLOOR:
                slots.append((size(field["value"]), _VALUE_FLOOR, _setter(field, "value")))
    return slots


def _setter(obj: dict[str, Any], key: str) -> Callable[[int], None]:
    def set_size(units: int) -> None:
        obj[key] = clip(obj[key], units)

    return set_size


def _only_marker(fields: list[dict[str, Any]]) -> bool:
    return len(fields) == 1 and fields[0].get("name") == MARK


def _marker_count(field: dict[str, Any]) -> int:
    match = re.match(r"(\d+) more", str(field.get("value", "")))
    return int(match.group(1)) if match else 0
