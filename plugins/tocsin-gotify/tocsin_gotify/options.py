"""The ``gotify`` channel's options: what a ``[[targets]]`` table with ``channel = "gotify"`` may hold.

``url`` is the server's base URL: it plays the part of the ``api_url`` other channels take, so a
self-hosted server (Gotify is always self-hosted) or a test server is just another value; it is not a
secret. The application token is, and travels in the ``X-Gotify-Key`` header.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import attrs

from tocsin import Secret

__all__ = ["DEFAULT_PRIORITIES", "GotifyOptions"]

#: Gotify priorities by severity. Gotify's Android app: 0 no notification, 1-3 silent, 4-7 sound,
#: 8-10 sound and a pop-up.
DEFAULT_PRIORITIES = {"failure": 8, "warning": 5, "success": 3, "info": 1}
# Gotify tokens are 15 characters: A… for applications (which may send), C… for clients (which may not).
_CLIENT_TOKEN = re.compile(r"^C[A-Za-z0-9._\-]{14}$")


def _check_url(_instance: Any, _attribute: Any, value: str) -> None:
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ValueError("url: not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("url: must be the Gotify server's http(s) base URL, like https://push.example.org")
    if parts.query or parts.fragment:
        raise ValueError("url: the server's base URL only, without ?token=… (give the token as token)")
    if parts.path.rstrip("/").endswith("/message"):
        raise ValueError("url: the server's base URL, without /message (tocsin adds it)")


def _check_token(_instance: Any, _attribute: Any, value: Secret) -> None:
    token = value.reveal()
    if not token.strip():
        raise ValueError("token: empty")
    if _CLIENT_TOKEN.match(token):
        raise ValueError("token: this looks like a client token (C…); sending needs an application token (A…)")


def _check_priorities(_instance: Any, _attribute: Any, value: dict[str, int]) -> None:
    for severity, priority in value.items():
        if severity not in DEFAULT_PRIORITIES:
            raise ValueError(f"priorities: unknown severity {severity!r} (use {', '.join(DEFAULT_PRIORITIES)})")
        if not 0 <= priority <= 10:
            raise ValueError(f"priorities: {severity} must be 0 to 10, not {priority}")


@attrs.frozen(kw_only=True)
class GotifyOptions:
    """Options of the ``gotify`` channel."""

    url: str = attrs.field(
        validator=_check_url,
        metadata={
            "doc": "The Gotify server's base URL, like https://push.example.org (a path is fine: "
            "https://example.org/gotify). tocsin POSTs to <url>/message."
        },
    )
    token: Secret = attrs.field(
        validator=_check_token,
        metadata={
            "doc": "The application's token (Apps → Create Application; A…), sent as X-Gotify-Key. Secret: use "
            '"${GOTIFY_TOKEN}".'
        },
    )
    priorities: dict[str, int] = attrs.field(
        factory=dict,
        validator=_check_priorities,
        metadata={
            "doc": "Priority (0-10) by severity, over the defaults failure=8 warning=5 success=3 info=1 "
            "(Android: 8+ pops up, 4-7 rings, 1-3 silent, 0 no notification)."
        },
    )
    markdown: bool = attrs.field(
        default=False,
        metadata={
            "doc": "Send Markdown (extras client::display text/markdown): bold labels and the error in a code "
            "block, event text escaped. Off by default: plain text, shown as written everywhere."
        },
    )
    click: bool = attrs.field(
        default=True,
        metadata={"doc": "Opening the notification opens the run's URL (extras client::notification click.url)."},
    )
