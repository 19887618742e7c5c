"""The options of the ``slack`` and ``slack-api`` channels.

``slack`` posts to an incoming webhook (``url``), or to the Web API when it is given a ``token``;
``slack-api`` always uses the Web API (``token`` and ``channel_id``). The destination is called
``channel_id``, not ``channel``, because ``channel`` is the target key that names the tocsin channel.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from tocsin import Secret

__all__ = ["DEFAULT_API_URL", "SlackApiOptions", "SlackOptions", "uses_web_api"]

#: Where the Web API's chat.postMessage lives; tests point ``api_url`` at a local server instead.
DEFAULT_API_URL = "https://slack.com/api/chat.postMessage"

#: Slack's limit for one uploaded file (1 GB); the notifier's max_attachment_bytes (50 MiB) usually bites first.
FILE_LIMIT = 1_000_000_000
_EMOJI_RE = re.compile(r"^:[a-z0-9_+'\-]+:$")
_CHANNEL_ID_RE = re.compile(r"^[#@]?[A-Za-z0-9._\-]+$")


def _http_url(option: str) -> Any:
    """A validator: the value (a str or a Secret) must be an http(s) URL. Never quotes the value."""

    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if value is None:
            return
        plain = value.reveal() if isinstance(value, Secret) else value
        if not plain.startswith(("https://", "http://")):
            raise ValueError(f"{option}: must be an https:// URL")

    return check


def _check_channel_id(_instance: Any, _attribute: Any, value: str | None) -> None:
    if value is None:
        return
    if not _CHANNEL_ID_RE.match(value):
        raise ValueError(
            f"channel_id: expected a channel ID like C0123456789 (or a member ID like U0123456789 for a "
            f"direct message), got {value[:40]!r}"
        )


def _check_emoji(_instance: Any, _attribute: Any, value: str | None) -> None:
    if value is not None and not _EMOJI_RE.match(value):
        raise ValueError(f"icon_emoji: write it with colons, like ':rotating_light:', got {value[:40]!r}")


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


@attrs.frozen(kw_only=True)
class _Appearance:
    """How a message looks: the options both Slack channels share."""

    username: str | None = attrs.field(
        default=None,
        metadata=_doc("Display name for the message (ignored by app webhooks; Web API needs chat:write.customize)."),
    )
    icon_emoji: str | None = attrs.field(
        default=None, validator=_check_emoji, metadata=_doc("Icon as an emoji, like ':rotating_light:'.")
    )
    icon_url: str | None = attrs.field(
        default=None, validator=_http_url("icon_url"), metadata=_doc("Icon as an image URL.")
    )
    color_bar: bool = attrs.field(
        default=False,
        metadata=_doc("Put the blocks in an attachment with a severity-coloured bar (green/red/amber/blue)."),
    )
    button: bool = attrs.field(
        default=True, metadata=_doc("Link to the run with a button (true) or a plain mrkdwn link (false).")
    )
    files_in_thread: bool = attrs.field(
        default=True,
        metadata=_doc(
            "Web API: attached files go up as a reply in the alert's thread (true) or into the channel after it "
            "(false). Needs the files:write scope. Webhooks cannot upload: they list the files."
        ),
    )


@attrs.frozen(kw_only=True)
class SlackApiOptions(_Appearance):
    """Options of the ``slack-api`` channel: Web API ``chat.postMessage`` with a bot token."""

    token: Secret = attrs.field(
        metadata=_doc('Bot token (xoxb-…) with the chat:write scope. Secret: use "${SLACK_BOT_TOKEN}".')
    )
    channel_id: str = attrs.field(
        validator=_check_channel_id,
        metadata=_doc(
            "Where to post: a channel ID (C0123456789) or a member ID (U0123456789) for a direct message. "
            "Called channel_id because `channel` names the tocsin channel."
        ),
    )
    api_url: str = attrs.field(
        default=DEFAULT_API_URL,
        validator=_http_url("api_url"),
        metadata=_doc("The chat.postMessage endpoint (change it only for a proxy or a test server)."),
    )

    @property
    def web_api(self) -> bool:
        """Always true: this channel only speaks the Web API."""
        return True


@attrs.frozen(kw_only=True)
class SlackOptions(_Appearance):
    """Options of the ``slack`` channel: an incoming webhook ``url``, or ``token`` + ``channel_id``."""

    url: Secret | None = attrs.field(
        default=None,
        validator=_http_url("url"),
        metadata=_doc(
            'Incoming webhook URL (https://hooks.slack.com/services/…). Secret: use "${SLACK_WEBHOOK_URL}". '
            "Give either url or token."
        ),
    )
    token: Secret | None = attrs.field(
        default=None,
        metadata=_doc("Bot token (xoxb-…): post through the Web API instead of a webhook (needs channel_id)."),
    )
    channel_id: str | None = attrs.field(
        default=None,
        validator=_check_channel_id,
        metadata=_doc("With token: a channel ID (C0123456789) or a member ID (U0123456789)."),
    )
    api_url: str = attrs.field(
        default=DEFAULT_API_URL,
        validator=_http_url("api_url"),
        metadata=_doc("With token: the chat.postMessage endpoint."),
    )

    def __attrs_post_init__(self) -> None:
        if self.url is not None and self.token is not None:
            raise ValueError("url: give either url (an incoming webhook) or token (the Web API), not both")
        if self.url is None and self.token is None:
            raise ValueError("url: required (an incoming webhook URL); or give token and channel_id to use the Web API")
        if self.token is not None and not self.channel_id:
            raise ValueError(
                "channel_id: required with token: a channel ID like C0123456789 or a member ID like U0123456789"
            )
        if self.url is not None and self.channel_id is not None:
            raise ValueError(
                "channel_id: only used with token; an incoming webhook posts to the channel it was created for"
            )

    @property
    def web_api(self) -> bool:
        """Whether this target posts through the Web API (it has a token) rather than a webhook."""
        return self.token is not None

    @property
    def max_attachment_bytes(self) -> int:
        """The core's per-file cap for this target: the Web API uploads files, a webhook only lists them."""
        return FILE_LIMIT if self.web_api else 0


def uses_web_api(options: Any) -> bool:
    """Whether a slack/slack-api target's options send through chat.postMessage."""
    return bool(getattr(options, "web_api", False))
