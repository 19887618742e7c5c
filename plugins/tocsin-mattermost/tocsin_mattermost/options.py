"""The ``mattermost`` channel's options: what a ``[[targets]]`` table with ``channel = "mattermost"`` may hold.

The destination is the incoming webhook's URL, a secret (whoever has it can post), which already names
the server: a self-hosted Mattermost or a test server is just another URL, so there is no ``api_url``.
The issue's ``channel`` option is called ``channel_name`` here, because ``channel`` is the target key
that names the tocsin channel.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import attrs

from tocsin import Secret

__all__ = ["MattermostOptions"]

# A channel's handle (town-square), or @username for a direct message.
_CHANNEL_NAME = re.compile(r"^@?[a-z0-9][a-z0-9._\-]{0,63}$")


def _check_http_url(option: str, what: str) -> Any:
    """A validator: the value (a str or a Secret) must be an absolute http(s) URL. Never quotes it."""

    def check(_instance: Any, _attribute: Any, value: Secret | str | None) -> None:
        if value is None:
            return
        plain = value.reveal() if isinstance(value, Secret) else value
        try:
            parts = urlsplit(plain)
        except ValueError:
            raise ValueError(f"{option}: not a valid URL") from None
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{option}: must be an http(s) URL: {what}")

    return check


def _check_channel_name(_instance: Any, _attribute: Any, value: str | None) -> None:
    if value is not None and not _CHANNEL_NAME.match(value):
        raise ValueError(
            "channel_name: the channel's handle as in its URL (town-square, not 'Town Square'), or "
            f"@username for a direct message; got {value[:40]!r}"
        )


def _check_username(_instance: Any, _attribute: Any, value: str | None) -> None:
    if value is not None and not 1 <= len(value.strip()) <= 64:
        raise ValueError("username: must be 1 to 64 characters")


@attrs.frozen(kw_only=True)
class MattermostOptions:
    """Options of the ``mattermost`` channel (a Mattermost incoming webhook)."""

    url: Secret = attrs.field(
        validator=_check_http_url("url", "the incoming webhook, https://<server>/hooks/<key>"),
        metadata={
            "doc": "Incoming webhook URL (Integrations → Incoming Webhooks), https://<server>/hooks/<key>. Secret: "
            'use "${MATTERMOST_WEBHOOK_URL}".'
        },
    )
    channel_name: str | None = attrs.field(
        default=None,
        validator=_check_channel_name,
        metadata={
            "doc": "Post to this channel instead of the webhook's own: its handle (town-square) or @username "
            "for a direct message. Called channel_name because `channel` names the tocsin channel; "
            "a webhook locked to its channel refuses it."
        },
    )
    username: str | None = attrs.field(
        default=None,
        validator=_check_username,
        metadata={"doc": "Name shown as the sender (needs 'Enable integrations to override usernames')."},
    )
    icon_url: str | None = attrs.field(
        default=None,
        validator=_check_http_url("icon_url", "an image URL"),
        metadata={
            "doc": "Image URL shown as the sender's picture (needs 'Enable integrations to override "
            "profile picture icons')."
        },
    )
