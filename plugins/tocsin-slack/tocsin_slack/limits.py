"""Slack's Block Kit limits, enforced on the rendered message before it leaves ``format_message``.

Whatever a template (packaged or a deployment's override) renders, the message sent keeps within the
limits Slack documents: over-long text is cut with a visible ``…``, surplus fields, context elements
and blocks are replaced by a "… N more" note, so Slack never rejects a message for its size.

Lengths are counted in UTF-16 code units (an emoji outside the BMP counts twice), which is never less
than the character count Slack may use. A cut never splits an ``&amp;`` entity or a ``<…>`` token
and never leaves a ````` block open.

Sources: docs.slack.dev Block Kit reference (header block: text 150; section block: text 3000, at most
10 fields of 2000; context block: at most 10 elements; actions block: at most 25 elements; button
element: text 75, url 3000, value 2000, action_id 255; block_id 255; text object: 1 to 3000
characters; at most 50 blocks per message) and chat.postMessage (keep ``text`` within 4,000
characters; Slack truncates it at 40,000). ``BLOCKS_TEXT_BUDGET`` covers Slack's undocumented
``msg_blocks_too_long`` answer (messages of about 11,000+ characters of block text are refused;
slackapi/bolt-js#2509 and #2867).
"""

from __future__ import annotations

from typing import Any

from tocsin import utf16_head, utf16_len

__all__ = [
    "ACTIONS_ELEMENTS",
    "BLOCKS_TEXT_BUDGET",
    "BUTTON_TEXT",
    "BUTTON_URL",
    "CONTEXT_ELEMENTS",
    "FALLBACK_TEXT",
    "FIELD_TEXT",
    "HEADER_TEXT",
    "MARK",
    "MAX_BLOCKS",
    "SECTION_FIELDS",
    "SECTION_TEXT",
    "cut",
    "enforce_limits",
    "units",
    "violations",
]

MARK = "…"
MAX_BLOCKS = 50
HEADER_TEXT = 150
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
TEXT_OBJECT = 3000
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_URL = 3000
BUTTON_VALUE = 2000
ACTION_ID = 255
BLOCK_ID = 255
ALT_TEXT = 2000
IMAGE_URL = 3000
FALLBACK_TEXT = 4000
BLOCKS_TEXT_BUDGET = 9000
EMPTY_TEXT = "—"  # a text object needs at least one character
FENCE = "```"


units = utf16_len
_prefix = utf16_head


def _clean_tail(text: str) -> str:
    """Drop a half entity (``&am``) or an unclosed ``<…`` token from the end of a cut."""
    amp = text.rfind("&")
    if amp != -1 and ";" not in text[amp:] and len(text) - amp <= 5:
        text = text[:amp]
    lt = text.rfind("<")
    if lt != -1 and ">" not in text[lt:]:
        text = text[:lt]
    return text


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` UTF-16 units, ending in ``…`` when it was cut (mrkdwn-aware)."""
    if units(text) <= limit:
        return text
    if limit <= len(MARK):
        return MARK[:limit]
    keep = _clean_tail(_prefix(text, limit - len(MARK)))
    if keep.count(FENCE) % 2 == 0:
        return keep + MARK
    # The cut falls inside a ``` block: close it again, so the rest of the message keeps its formatting.
    keep = _clean_tail(_prefix(text, limit - len(MARK) - len(FENCE))).rstrip("`")
    if keep.count(FENCE) % 2 == 0:
        return keep + MARK
    return keep + MARK + FENCE


def _fit_text(obj: Any, limit: int) -> None:
    """Cut a text object's ``text`` to ``limit``; give an empty one a placeholder."""
    if not isinstance(obj, dict):
        return
    text = obj.get("text")
    if not isinstance(text, str):
        return
    obj["text"] = cut(text, limit) if text else EMPTY_TEXT


def _fit_str(obj: dict[str, Any], key: str, limit: int, mark: bool = True) -> None:
    value = obj.get(key)
    if isinstance(value, str) and units(value) > limit:
        obj[key] = cut(value, limit) if mark else _prefix(value, limit)


def _more(count: int, what: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": f"{MARK} {count} more {what}"}


def _cap(items: list[Any], limit: int, what: str) -> list[Any]:
    """``items`` as they are, or the first ``limit - 1`` and a visible "N more …" in the last place."""
    if len(items) <= limit:
        return items
    kept = limit - 1
    return [*items[:kept], _more(len(items) - kept, what)]


def _fit_element(element: Any) -> bool:
    """Fit an interactive element (a button, mostly); False when it must be dropped."""
    if not isinstance(element, dict):
        return True
    if element.get("type") == "button":
        _fit_text(element.get("text"), BUTTON_TEXT)
        url = element.get("url")
        if isinstance(url, str) and units(url) > BUTTON_URL:
            return False  # a cut URL leads somewhere else: better no button than a wrong one
        _fit_str(element, "value", BUTTON_VALUE)
        _fit_str(element, "accessibility_label", BUTTON_TEXT)
    else:
        _fit_nested(element)
    _fit_str(element, "action_id", ACTION_ID, mark=False)
    return True


def _fit_nested(obj: Any) -> None:
    """Every text object anywhere inside ``obj`` within the general 3000 limit."""
    if isinstance(obj, dict):
        if obj.get("type") in ("plain_text", "mrkdwn"):
            _fit_text(obj, TEXT_OBJECT)
            return
        for value in obj.values():
            _fit_nested(value)
    elif isinstance(obj, list):
        for value in obj:
            _fit_nested(value)


def _fit_block(block: Any) -> Any:
    """One block within its limits; None when it has to go (an actions block left empty)."""
    if not isinstance(block, dict):
        return block
    _fit_str(block, "block_id", BLOCK_ID, mark=False)
    kind = block.get("type")
    if kind == "header":
        _fit_text(block.get("text"), HEADER_TEXT)
    elif kind == "section":
        _fit_text(block.get("text"), SECTION_TEXT)
        fields = block.get("fields")
        if isinstance(fields, list):
            block["fields"] = fields = _cap(fields, SECTION_FIELDS, "fields")
            for field in fields:
                _fit_text(field, FIELD_TEXT)
        accessory = block.get("accessory")
        if accessory is not None and not _fit_element(accessory):
            del block["accessory"]
    elif kind == "context":
        elements = block.get("elements")
        if isinstance(elements, list):
            block["elements"] = elements = _cap(elements, CONTEXT_ELEMENTS, "items")
            for element in elements:
                if isinstance(element, dict) and element.get("type") == "image":
                    _fit_str(element, "alt_text", ALT_TEXT)
                else:
                    _fit_text(element, TEXT_OBJECT)
    elif kind == "actions":
        elements = block.get("elements")
        if isinstance(elements, list):
            kept_elements = [e for e in elements if _fit_element(e)][:ACTIONS_ELEMENTS]
            if not kept_elements:
                return None
            block["elements"] = kept_elements
    elif kind == "image":
        url = block.get("image_url")
        if isinstance(url, str) and units(url) > IMAGE_URL:
            return None
        _fit_str(block, "alt_text", ALT_TEXT)
        _fit_text(block.get("title"), ALT_TEXT)
    else:
        _fit_nested(block)
    return block


def _fit_blocks(blocks: list[Any]) -> list[Any]:
    fitted = [b for b in (_fit_block(b) for b in blocks) if b is not None]
    if len(fitted) > MAX_BLOCKS:
        tail = fitted[-2:]  # the default layout ends with the context line and the link to the run
        head = fitted[: MAX_BLOCKS - 3]
        left_out = len(fitted) - len(head) - len(tail)
        note = {"type": "context", "elements": [_more(left_out, "blocks left out (Slack shows at most 50)")]}
        fitted = [*head, note, *tail]
    return fitted


def _text_slots(obj: Any, slots: list[dict[str, Any]]) -> None:
    if isinstance(obj, dict):
        if obj.get("type") in ("plain_text", "mrkdwn") and isinstance(obj.get("text"), str):
            slots.append(obj)
            return
        for value in obj.values():
            _text_slots(value, slots)
    elif isinstance(obj, list):
        for value in obj:
            _text_slots(value, slots)


def _apply_budget(block_lists: list[list[Any]], budget: int) -> None:
    """Keep the text of all blocks together within ``budget``, cutting the longest texts first."""
    slots: list[dict[str, Any]] = []
    for blocks in block_lists:
        _text_slots(blocks, slots)
    sizes = [units(slot["text"]) for slot in slots]
    if sum(sizes) <= budget:
        return
    low, high = 1, max(sizes)  # the largest per-text cap that keeps the total within budget
    while low < high:
        middle = (low + high + 1) // 2
        if sum(min(size, middle) for size in sizes) <= budget:
            low = middle
        else:
            high = middle - 1
    for slot, size in zip(slots, sizes, strict=True):
        if size > low:
            slot["text"] = cut(slot["text"], low)


def enforce_limits(body: dict[str, Any], fallback: str) -> dict[str, Any]:
    """``body`` (a chat.postMessage / webhook document) within Slack's limits, changed in place.

    ``fallback`` (already escaped) becomes the ``text`` when the template left it out: Slack needs it
    for notifications and screen readers whenever blocks are sent.
    """
    block_lists: list[list[Any]] = []
    if isinstance(body.get("blocks"), list):
        body["blocks"] = _fit_blocks(body["blocks"])
        block_lists.append(body["blocks"])
    attachments = body.get("attachments")
    if isinstance(attachments, list):
        for attachment in attachments:
            if not isinstance(attachment, dict):
                continue
            if isinstance(attachment.get("blocks"), list):
                attachment["blocks"] = _fit_blocks(attachment["blocks"])
                block_lists.append(attachment["blocks"])
            _fit_str(attachment, "fallback", FALLBACK_TEXT)
    _apply_budget(block_lists, BLOCKS_TEXT_BUDGET)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        body["text"] = fallback or EMPTY_TEXT
    body["text"] = cut(body["text"], FALLBACK_TEXT)
    return body


def violations(body: Any) -> list[str]:
    """Every way ``body`` breaks a Slack limit, as readable lines (empty when it keeps them all).

    A check for tests and for template authors; :func:`enforce_limits` is what makes them hold.
    """
    found: list[str] = []
    if not isinstance(body, dict):
        return ["the message is not a JSON object"]
    text = body.get("text")
    if not isinstance(text, str) or not text:
        found.append("text: missing (Slack needs it as the notification fallback)")
    elif units(text) > FALLBACK_TEXT:
        found.append(f"text: {units(text)} > {FALLBACK_TEXT}")
    block_lists = [("blocks", body.get("blocks"))]
    for index, attachment in enumerate(body.get("attachments") or []):
        if isinstance(attachment, dict):
            block_lists.append((f"attachments[{index}].blocks", attachment.get("blocks")))
    slots: list[dict[str, Any]] = []
    for where, blocks in block_lists:
        if blocks is None:
            continue
        if not isinstance(blocks, list):
            found.append(f"{where}: not a list")
            continue
        if len(blocks) > MAX_BLOCKS:
            found.append(f"{where}: {len(blocks)} blocks > {MAX_BLOCKS}")
        for index, block in enumerate(blocks):
            found.extend(_block_violations(f"{where}[{index}]", block))
        _text_slots(blocks, slots)
    total = sum(units(slot["text"]) for slot in slots)
    if total > BLOCKS_TEXT_BUDGET:
        found.append(f"blocks: {total} characters of text > {BLOCKS_TEXT_BUDGET}")
    return found


def _too_long(where: str, value: Any, limit: int) -> list[str]:
    if isinstance(value, str) and units(value) > limit:
        return [f"{where}: {units(value)} > {limit}"]
    return []


def _text_violations(where: str, obj: Any, limit: int) -> list[str]:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return [f"{where}: not a text object"]
    if not obj["text"]:
        return [f"{where}.text: empty (Slack needs at least 1 character)"]
    return _too_long(f"{where}.text", obj["text"], limit)


def _block_violations(where: str, block: Any) -> list[str]:
    if not isinstance(block, dict):
        return [f"{where}: not an object"]
    found = _too_long(f"{where}.block_id", block.get("block_id"), BLOCK_ID)
    kind = block.get("type")
    if kind == "header":
        found += _text_violations(f"{where}.text", block.get("text"), HEADER_TEXT)
    elif kind == "section":
        if "text" in block:
            found += _text_violations(f"{where}.text", block.get("text"), SECTION_TEXT)
        fields = block.get("fields") or []
        if len(fields) > SECTION_FIELDS:
            found.append(f"{where}.fields: {len(fields)} > {SECTION_FIELDS}")
        for index, field in enumerate(fields):
            found += _text_violations(f"{where}.fields[{index}]", field, FIELD_TEXT)
        if isinstance(block.get("accessory"), dict):
            found += _element_violations(f"{where}.accessory", block["accessory"])
    elif kind == "context":
        elements = block.get("elements") or []
        if len(elements) > CONTEXT_ELEMENTS:
            found.append(f"{where}.elements: {len(elements)} > {CONTEXT_ELEMENTS}")
        for index, element in enumerate(elements):
            if isinstance(element, dict) and element.get("type") == "image":
                found += _too_long(f"{where}.elements[{index}].alt_text", element.get("alt_text"), ALT_TEXT)
            else:
                found += _text_violations(f"{where}.elements[{index}]", element, TEXT_OBJECT)
    elif kind == "actions":
        elements = block.get("elements") or []
        if not elements or len(elements) > ACTIONS_ELEMENTS:
            found.append(f"{where}.elements: {len(elements)} (must be 1 to {ACTIONS_ELEMENTS})")
        for index, element in enumerate(elements):
            found += _element_violations(f"{where}.elements[{index}]", element)
    return found


def _element_violations(where: str, element: Any) -> list[str]:
    if not isinstance(element, dict):
        return [f"{where}: not an object"]
    found = _too_long(f"{where}.action_id", element.get("action_id"), ACTION_ID)
    if element.get("type") == "button":
        found += _text_violations(f"{where}.text", element.get("text"), BUTTON_TEXT)
        found += _too_long(f"{where}.url", element.get("url"), BUTTON_URL)
        found += _too_long(f"{where}.value", element.get("value"), BUTTON_VALUE)
    return found
