"""Mattermost's limits, enforced on the rendered post before it leaves ``format_message``.

Whatever a template (packaged or a deployment's) renders, the post keeps within them: over-long text is
cut with a visible ``…`` (never inside an open ``` block, which is closed again), surplus fields are
replaced by a "… N more fields" field, so the server never splits or refuses the post.

* ``text``: 16,383 characters, Mattermost's post limit (counted in runes, i.e. code points). A webhook
  post with longer text would be split by the server into several posts.
* attachments: Mattermost documents no per-field limit but refuses a post whose props (where the
  attachments live) exceed 760,000 runes, and its web app cuts a footer at 300 characters. tocsin keeps
  each attachment readable and the props far under that limit: text and pretext 8,000, title 250,
  fallback 500, author name 250, footer 300, 25 fields of 250 (title) / 2,000 (value), 10 attachments.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LIMITS", "MARK", "POST_TEXT", "cut", "enforce", "violations"]

MARK = "…"
FENCE = "```"
#: Mattermost's post limit (runes) since server 5.0.
POST_TEXT = 16_383
#: Per-attachment limits (tocsin's, see the module docstring).
LIMITS = {
    "text": 8_000,
    "pretext": 8_000,
    "title": 250,
    "fallback": 500,
    "author_name": 250,
    "footer": 300,
    "fields": 25,
    "field_title": 250,
    "field_value": 2_000,
    "attachments": 10,
}


def cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, ending in ``…`` when cut; a ``` block left open by the
    cut is closed again, and a cut never leaves a lone escaping backslash before the mark."""
    if len(text) <= limit:
        return text
    if limit <= len(MARK):
        return MARK[:limit]
    head = _clean(text[: limit - len(MARK)])
    if head.count(FENCE) % 2 == 1:
        head = _clean(text[: max(0, limit - len(MARK) - len(FENCE) - 1)].rstrip("`"))
        if head.count(FENCE) % 2 == 1:
            return f"{head}{MARK}\n{FENCE}"
    return head + MARK


def _clean(head: str) -> str:
    stripped = head.rstrip("\\")
    # An odd run of trailing backslashes would escape the mark: drop the unpaired one.
    return head[:-1] if (len(head) - len(stripped)) % 2 else head


def _fit(obj: dict[str, Any], key: str, limit: int) -> None:
    value = obj.get(key)
    if isinstance(value, str):
        obj[key] = cut(value, limit)


def _fit_fields(fields: list[Any]) -> list[Any]:
    limit = LIMITS["fields"]
    if len(fields) > limit:
        left_out = len(fields) - (limit - 1)
        fields = [*fields[: limit - 1], {"title": "", "value": f"{MARK} {left_out} more fields", "short": False}]
    for field in fields:
        if isinstance(field, dict):
            _fit(field, "title", LIMITS["field_title"])
            if field.get("value") is not None and not isinstance(field["value"], str):
                field["value"] = str(field["value"])
            _fit(field, "value", LIMITS["field_value"])
    return fields


def enforce(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` (an incoming-webhook document) within the limits, changed in place and returned."""
    _fit(body, "text", POST_TEXT)
    attachments = body.get("attachments")
    if isinstance(attachments, list):
        body["attachments"] = attachments = attachments[: LIMITS["attachments"]]
        for attachment in attachments:
            if not isinstance(attachment, dict):
                continue
            for key in ("text", "pretext", "title", "fallback", "author_name", "footer"):
                _fit(attachment, key, LIMITS[key])
            if isinstance(attachment.get("fields"), list):
                attachment["fields"] = _fit_fields(attachment["fields"])
    return body


def violations(body: Any) -> list[str]:
    """Every way ``body`` breaks a limit above, as readable lines (a check for tests and template authors)."""
    if not isinstance(body, dict):
        return ["the post is not a JSON object"]
    found = []
    if len(body.get("text") or "") > POST_TEXT:
        found.append(f"text: {len(body['text'])} > {POST_TEXT}")
    attachments = body.get("attachments") or []
    if len(attachments) > LIMITS["attachments"]:
        found.append(f"attachments: {len(attachments)} > {LIMITS['attachments']}")
    for index, attachment in enumerate(attachments):
        for key in ("text", "pretext", "title", "fallback", "author_name", "footer"):
            if len(attachment.get(key) or "") > LIMITS[key]:
                found.append(f"attachments[{index}].{key}: {len(attachment[key])} > {LIMITS[key]}")
        fields = attachment.get("fields") or []
        if len(fields) > LIMITS["fields"]:
            found.append(f"attachments[{index}].fields: {len(fields)} > {LIMITS['fields']}")
        for number, field in enumerate(fields):
            for key in ("title", "value"):
                if len(str(field.get(key) or "")) > LIMITS[f"field_{key}"]:
                    found.append(f"attachments[{index}].fields[{number}].{key}: too long")
    return found
