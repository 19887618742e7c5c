"""The ``googlechat`` channel's options: what a ``[[targets]]`` table with ``channel = "googlechat"`` may hold.

The destination is the space's webhook URL, ``https://chat.googleapis.com/v1/spaces/<space>/messages?
key=<key>&token=<token>``: the key and the token in its query make it a secret. It names the server
too, so a proxy or a test server is just another URL and there is no ``api_url``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs

from tocsin import Secret

__all__ = ["THREAD_KEY_LIMIT", "GoogleChatOptions", "thread_key_for"]

GOOGLE_HOST = "chat.googleapis.com"
#: Google Chat keeps thread keys of up to 4,000 characters.
THREAD_KEY_LIMIT = 4_000
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BRACES = re.compile(r"[{}]")


def _check_url(_instance: Any, _attribute: Any, value: Secret) -> None:
    try:
        parts = urlsplit(value.reveal())
    except ValueError:
        raise ValueError("url: not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("url: must be the space's webhook URL, https://chat.googleapis.com/v1/spaces/…")
    if parts.hostname == GOOGLE_HOST:
        query = parse_qs(parts.query)
        if not parts.path.startswith("/v1/spaces/") or not query.get("key") or not query.get("token"):
            raise ValueError(
                "url: a Google Chat webhook URL looks like https://chat.googleapis.com/v1/spaces/<space>/messages"
                "?key=…&token=… (copy the whole URL from Apps & integrations → Webhooks)"
            )


def _check_thread_key(_instance: Any, _attribute: Any, value: str | None) -> None:
    if value is None:
        return
    if not value.strip():
        raise ValueError("thread_key: empty (leave it out to start a thread per message)")
    if _BRACES.search(_PLACEHOLDER.sub("", value)):
        raise ValueError("thread_key: placeholders are written {name}, like {run_name}; a lone { or } is not allowed")


@attrs.frozen(kw_only=True)
class GoogleChatOptions:
    """Options of the ``googlechat`` channel (a Google Chat space webhook)."""

    url: Secret = attrs.field(
        validator=_check_url,
        metadata={
            "doc": "The space's webhook URL (space → Apps & integrations → Webhooks), with key and token in its "
            'query. Secret: use "${GOOGLE_CHAT_WEBHOOK_URL}".'
        },
    )
    thread_key: str | None = attrs.field(
        default=None,
        validator=_check_thread_key,
        metadata={
            "doc": "Messages with the same key reply in one thread (else each starts its own): fixed text, or "
            "{placeholders}: {type}, {severity}, {instance} and any event data key, like {run_name}."
        },
    )


def thread_key_for(template: str, event: Any) -> str:
    """``template`` with ``{name}`` replaced by the event's type, severity, instance or data value (empty
    when absent), on one line and within :data:`THREAD_KEY_LIMIT`."""
    known = {
        "type": event.type,
        "severity": str(event.severity),
        "instance": event.source.instance or event.source.host or "",
    }

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        found = known.get(name, event.data.get(name))
        return "" if found is None else str(found)

    return " ".join(_PLACEHOLDER.sub(value, template).split())[:THREAD_KEY_LIMIT]
