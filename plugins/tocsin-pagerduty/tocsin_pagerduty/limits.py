"""PagerDuty's documented limits, enforced on whatever a template rendered.

From the Events API v2 reference (Send an Alert Event, Send a Change Event, Overview):

* ``dedup_key`` at most 255 characters; ``payload.summary`` at most 1,024 characters (both events);
* ``payload.severity`` one of critical, error, warning, info; ``payload.source`` required for alerts;
* a whole event at most 512 KB;
* change events take only ``payload.summary``, ``source``, ``timestamp``, ``custom_details`` and ``links``.

Text is cut with a visible ``…`` (:func:`tocsin.truncate`); one-line fields lose control characters and
line breaks; links that are not http(s) are dropped (:func:`tocsin.safe_url`).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping
from typing import Any

from tocsin import encode_json, safe_url, truncate

__all__ = ["ALERT_ONLY", "DEDUP_KEY_LIMIT", "MAX_EVENT_BYTES", "SUMMARY_LIMIT", "dedup_key", "fit_event", "one_line"]

DEDUP_KEY_LIMIT = 255
SUMMARY_LIMIT = 1024
#: Other one-line payload fields: PagerDuty documents no limit; we keep them as short as a summary.
FIELD_LIMIT = 1024
#: PagerDuty's 512 KB, less room for the routing key and what JSON escaping may add.
MAX_EVENT_BYTES = 512 * 1024 - 2048
#: Payload fields an alert has and a change event does not.
ALERT_ONLY = ("severity", "component", "group", "class")
_DETAIL_LIMITS = (8192, 2048, 512, 128)
_KEY_LIMIT = 256


def one_line(value: Any) -> str:
    """``value`` as text on one line: control characters and line breaks become spaces, runs of spaces one."""
    text = "" if value is None else str(value)
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    return " ".join(cleaned.split())


def dedup_key(rendered: str, fallback: str) -> str:
    """The rendered key on one line, within 255 characters: a longer key keeps its start and ends with a
    hash of the whole, so two long keys that share a start stay apart. ``fallback`` when it is empty."""
    key = one_line(rendered) or fallback
    if len(key) <= DEDUP_KEY_LIMIT:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:16]
    return f"{key[: DEDUP_KEY_LIMIT - 17]}~{digest}"


def _cut_details(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return truncate(value, limit)
    if isinstance(value, Mapping):
        return {truncate(str(k), _KEY_LIMIT): _cut_details(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut_details(v, limit) for v in value]
    return value


def _links(value: Any) -> list[dict[str, str]]:
    links = []
    for link in value if isinstance(value, list) else ():
        href = safe_url(link.get("href")) if isinstance(link, Mapping) else None
        if href:
            text = one_line(link.get("text"))
            links.append({"href": href, **({"text": truncate(text, FIELD_LIMIT)} if text else {})})
    return links


def _images(value: Any) -> list[dict[str, str]]:
    images = []
    for image in value if isinstance(value, list) else ():
        src = safe_url(image.get("src")) if isinstance(image, Mapping) else None
        if src and src.startswith("https://"):  # PagerDuty: "This image must be served via HTTPS"
            kept = {"src": src}
            href = safe_url(image.get("href"))
            if href:
                kept["href"] = href
            if image.get("alt"):
                kept["alt"] = truncate(one_line(image["alt"]), FIELD_LIMIT)
            images.append(kept)
    return images


def fit_event(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` (an alert or change event, without routing_key) within PagerDuty's limits.

    Raises ValueError when it cannot be sent at all (an empty summary).
    """
    body = dict(body)
    payload = dict(body.get("payload") or {})
    summary = one_line(payload.get("summary"))
    if not summary:
        raise ValueError("payload.summary is empty (PagerDuty requires a summary)")
    payload["summary"] = truncate(summary, SUMMARY_LIMIT)
    for name in ("source", "component", "group", "class"):
        if name in payload:
            text = truncate(one_line(payload[name]), FIELD_LIMIT)
            if text:
                payload[name] = text
            else:
                del payload[name]
    if "event_action" in body and not payload.get("source"):
        payload["source"] = "tocsin"  # required for alerts
    details = payload.get("custom_details")
    if details is not None and not isinstance(details, Mapping):
        details = {"details": details}
    if "links" in body:
        body["links"] = _links(body["links"])
    if "images" in body:
        body["images"] = _images(body["images"])
    if "client" in body:
        body["client"] = truncate(one_line(body["client"]), FIELD_LIMIT)
    if "client_url" in body:
        client_url = safe_url(body["client_url"])
        if client_url:
            body["client_url"] = client_url
        else:
            del body["client_url"]
    if "dedup_key" in body:
        body["dedup_key"] = dedup_key(str(body["dedup_key"]), "tocsin")
    for limit in _DETAIL_LIMITS:
        if details is not None:
            payload["custom_details"] = _cut_details(details, limit)
        body["payload"] = payload
        if len(encode_json(body)) <= MAX_EVENT_BYTES:
            return body
    payload["custom_details"] = {"note": "details left out: they exceed PagerDuty's 512 KB event limit"}
    body["payload"] = payload
    if len(encode_json(body)) > MAX_EVENT_BYTES:
        raise ValueError("the event exceeds PagerDuty's 512 KB limit even without its custom_details")
    return body
