"""Teams' limits, kept by cutting with a visible mark rather than by a rejected request.

Teams refuses a message over about 28 KB ("Request Entity too large", HTTP 413), counting the whole
card. Two steps keep every card under the target's ``max_bytes`` (20,000 bytes by default):

1. Before rendering, :func:`card_context` cuts what event data can make huge: the title, each fact,
   the number of facts (the rest become one "N more fields not shown" fact), the error (its middle
   goes, so the first lines and the final exception both stay), URLs (dropped past 2,048 characters).
2. After rendering, :func:`fit_payload` measures the encoded body; while it is too large (a custom
   template, or text that grew when escaped) it cuts the longest text in it, ending each cut with
   "…". If nothing is left to cut, :func:`fallback_payload` replaces the card with a short summary.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import tocsin
from tocsin import Field, truncate
from tocsin.presentation import event_fields, template_context
from tocsin.transport import encode_json

from .escape import clean_text, teams_escape, teams_plain

if TYPE_CHECKING:
    from tocsin import Event, Target

__all__ = [
    "ADAPTIVE_CONTENT_TYPE",
    "DEFAULT_MAX_BYTES",
    "card_context",
    "clip_error",
    "fallback_payload",
    "fit_payload",
    "parse_mention",
    "payload_problem",
    "payload_size",
    "safe_url",
]

#: The default ``max_bytes``: well under Teams' ~28 KB, leaving room for what the workflow adds.
DEFAULT_MAX_BYTES = 20_000
ADAPTIVE_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"

MAX_TITLE = 200
MAX_DESCRIPTION = 500
MAX_FACTS = 20  # facts shown; one more slot says how many were left out
MAX_FACT_LABEL = 50
MAX_FACT_VALUE = 300
MAX_ERROR_CHARS = 2_000
MAX_ERROR_LINES = 30
MAX_LABEL = 100  # instance, host, user
MAX_URL = 2_048
MIN_KEEP = 32  # fit_payload never cuts a text shorter than this

# Keys whose string values are structure, not text: fit_payload never cuts them.
_FIXED_KEYS = frozenset(
    {
        "type",
        "@type",
        "@context",
        "$schema",
        "version",
        "contentType",
        "contentUrl",
        "url",
        "uri",
        "targets",
        "msteams",
        "themeColor",
        "style",
        "color",
        "fontType",
        "size",
        "weight",
        "spacing",
        "id",
        "os",
        "width",
        "height",
        "horizontalAlignment",
    }
)
_MENTION = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<(?P<id>[^<>]+)>\s*$")


def parse_mention(spec: str) -> tuple[str, str]:
    """``"Ann Lee <ann@contoso.com>"`` → ``("Ann Lee", "ann@contoso.com")``; a bare id names itself.

    The id is a user principal name (usually the e-mail address) or an Entra object id.
    Raises ValueError for an entry Teams could not use.
    """
    match = _MENTION.match(spec)
    if match:
        name, ident = match.group("name"), match.group("id").strip()
    else:
        name = ident = spec.strip()
    if not ident or any(c in ident for c in "<> \t\n"):
        raise ValueError(f"{spec!r} is not a user principal name or object id (write 'Name <upn>' or 'upn')")
    if any(c in name for c in "<>\n"):
        raise ValueError(f"{spec!r}: the display name may not contain <, > or a newline")
    return (name or ident, ident)


def safe_url(url: Any) -> str | None:
    """An http(s) URL fit for ``Action.OpenUrl``: unsafe characters percent-encoded; None if unusable."""
    return tocsin.safe_url(clean_text(url), MAX_URL) if isinstance(url, str) else None


def clip_error(error: Any, max_chars: int = MAX_ERROR_CHARS) -> str | None:
    """The error text kept to MAX_ERROR_LINES lines and ``max_chars`` characters.

    The middle goes (a traceback's first lines say where, its last line says what), replaced by a
    line saying how much was cut.
    """
    if error is None or error == "":
        return None
    lines = [line.rstrip() for line in clean_text(error).split("\n") if line.strip()]
    if len(lines) > MAX_ERROR_LINES:
        head, tail = lines[:8], lines[-(MAX_ERROR_LINES - 9) :]
        lines = [*head, f"… {len(lines) - len(head) - len(tail):,} lines cut …", *tail]
    text = "\n".join(lines)
    if len(text) > max_chars:
        cut = len(text) - max_chars
        marker = f"\n… {cut:,} characters cut …\n"
        head_len = max_chars * 3 // 10
        tail_len = max_chars - head_len - len(marker)
        text = text[:head_len] + marker + text[-tail_len:]
    return text


def _fields(event: Event, max_value: int) -> list[Field]:
    """The facts to show: the event's fields plus its user, each cut, at most MAX_FACTS of them."""
    fields = event_fields(event)
    if event.user is not None and event.user.label:
        fields.insert(1 if fields else 0, Field("user", "User", event.user.label))
    fields = [
        Field(f.key, truncate(teams_plain(f.label), MAX_FACT_LABEL), truncate(clean_text(f.value), max_value))
        for f in fields
    ]
    if len(fields) > MAX_FACTS:
        hidden = len(fields) - (MAX_FACTS - 1)
        fields = [*fields[: MAX_FACTS - 1], Field("more_fields", "More", f"{hidden} more fields not shown")]
    return fields


def card_context(event: Event, target: Target, mentions: list[tuple[str, str]]) -> dict[str, Any]:
    """What the teams templates see on top of the core's context, already cut to Teams' limits.

    Replaces ``title``, ``description``, ``fields``, ``error``, ``url`` and ``source`` with bounded
    versions (so an overriding template is safe too) and adds ``mentions`` (``text``/``id``/``name``
    of each person to @mention) and ``msteams`` (the card's Teams-only properties).
    """
    core = template_context(event, target)
    options = target.options
    # A smaller max_bytes shrinks the long parts before rendering, so the error keeps its middle cut.
    scale = min(1.0, options.max_bytes / DEFAULT_MAX_BYTES)
    source = event.source
    description = core.get("description")
    mention_rows = [{"text": f"<at>{name}</at>", "id": ident, "name": name} for name, ident in mentions]
    msteams: dict[str, Any] = {}
    if options.full_width:
        msteams["width"] = "Full"
    if mention_rows:
        msteams["entities"] = [
            {"type": "mention", "text": m["text"], "mentioned": {"id": m["id"], "name": m["name"]}}
            for m in mention_rows
        ]
    return {
        "title": truncate(teams_plain(event.title), MAX_TITLE),
        "description": truncate(clean_text(description), max(100, int(MAX_DESCRIPTION * scale)))
        if description
        else None,
        "fields": _fields(event, max(60, int(MAX_FACT_VALUE * scale))),
        "error": clip_error(core.get("error"), max(300, int(MAX_ERROR_CHARS * scale))),
        "url": safe_url(core.get("url")),
        "source": {
            "instance": truncate(teams_plain(source.instance), MAX_LABEL) or None,
            "url": safe_url(source.url),
            "host": truncate(teams_plain(source.host), MAX_LABEL) or None,
            "app_version": truncate(teams_plain(source.app_version), MAX_LABEL) or None,
        },
        "mentions": mention_rows,
        "msteams": msteams,
    }


def payload_size(body: Any) -> int:
    """Bytes on the wire: the body encoded exactly as the transport sends it."""
    return len(encode_json(body))


def payload_problem(body: Any, fmt: str) -> str | None:
    """Why Teams would reject ``body`` outright (a missing required field), or None."""
    if not isinstance(body, dict):
        return f"expected a JSON object, got {type(body).__name__}"
    if fmt == "messagecard":
        if body.get("@type") != "MessageCard":
            return '"@type" must be "MessageCard"'
        if not (body.get("summary") or body.get("text")):
            return 'a MessageCard needs "summary" or "text" (Teams answers "Summary or Text is required.")'
        return None
    if body.get("type") != "message":
        return 'the top-level "type" must be "message"'
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return '"attachments" must be a non-empty list'
    for index, attachment in enumerate(attachments):
        if not isinstance(attachment, dict) or not isinstance(attachment.get("content"), dict):
            return f"attachments[{index}].content must be an object"
        if attachment.get("contentType") != ADAPTIVE_CONTENT_TYPE:
            continue
        card = attachment["content"]
        if card.get("type") != "AdaptiveCard":
            return f'attachments[{index}].content.type must be "AdaptiveCard"'
        if not isinstance(card.get("version"), str):
            return f'attachments[{index}].content.version must be a string such as "1.4"'
        if not isinstance(card.get("body"), list):
            return f"attachments[{index}].content.body must be a list"
    return None


def _string_slots(node: Any) -> Iterator[tuple[Any, Any]]:
    """``(container, key)`` of every text ``fit_payload`` may cut."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        if isinstance(node, dict) and key in _FIXED_KEYS:
            continue
        if isinstance(value, str):
            if len(value) > MIN_KEEP and "<at>" not in value:
                yield node, key
        else:
            yield from _string_slots(value)


def _cut(text: str, keep: int) -> str:
    """``text`` in at most ``keep`` characters, ending in "…", never in half a backslash escape."""
    if len(text) <= keep:
        return text
    head = text[: keep - 1]
    if (len(head) - len(head.rstrip("\\"))) % 2:
        head = head[:-1]
    return head + "…"


def _level(lengths: list[int], excess: int) -> int:
    """The length to cut every longer text to so that, together, they lose ``excess`` characters."""
    low, high = MIN_KEEP, max(lengths)
    while low < high:  # the highest level that still removes enough
        mid = (low + high + 1) // 2
        removed = sum(n - mid - 2 for n in lengths if n > mid)  # each cut ends in a 3-byte "…"
        if removed >= excess:
            low = mid
        else:
            high = mid - 1
    return low


def fit_payload(body: Any, max_bytes: int) -> tuple[Any, int]:
    """Cut the longest texts of ``body`` (in place) until it encodes to ``max_bytes`` or fewer.

    All the longest texts share the cut (each is cut to the same length, ending in "…"), so one long
    field does not lose everything while a dozen others stay whole. Returns ``(body, size)``; ``body``
    is None when even every text cut short is too large.
    """
    size = payload_size(body)
    for _ in range(20):
        if size <= max_bytes:
            return body, size
        slots = list(_string_slots(body))
        if not slots:
            break
        level = _level([len(parent[key]) for parent, key in slots], size - max_bytes)
        for parent, key in slots:
            parent[key] = _cut(parent[key], level)
        size = payload_size(body)
    return (body, size) if size <= max_bytes else (None, size)


def fallback_payload(fmt: str, event: Event, url: str | None, size: int, max_bytes: int) -> dict[str, Any]:
    """A short card that replaces one too large to send: the title, what happened, the link."""
    title = truncate(teams_plain(event.title), MAX_TITLE)
    note = f"This notification was {size:,} bytes, over this target's limit of {max_bytes:,}; it was shortened."
    if fmt == "messagecard":
        card: dict[str, Any] = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": title,
            "title": teams_escape(title, html=True),
            "text": note,
        }
        if url:
            card["potentialAction"] = [
                {"@type": "OpenUri", "name": "View details", "targets": [{"os": "default", "uri": url}]}
            ]
        return card
    content: dict[str, Any] = {
        "$schema": SCHEMA,
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": teams_escape(title), "weight": "Bolder", "size": "Large", "wrap": True},
            {"type": "TextBlock", "text": note, "isSubtle": True, "wrap": True},
        ],
    }
    if url:
        content["actions"] = [{"type": "Action.OpenUrl", "title": "View details", "url": url}]
    return {
        "type": "message",
        "attachments": [{"contentType": ADAPTIVE_CONTENT_TYPE, "contentUrl": None, "content": content}],
    }
