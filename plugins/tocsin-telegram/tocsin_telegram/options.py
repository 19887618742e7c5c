"""The ``telegram`` channel's options: what a ``[[targets]]`` table with ``channel = "telegram"`` may hold."""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from tocsin import Secret

__all__ = ["DOCUMENT_LIMIT", "SEVERITIES", "TelegramOptions"]

SEVERITIES = ("success", "failure", "warning", "info")
#: sendDocument: "Bots can currently send files of any type of up to 50 MB in size" (the cloud Bot API).
DOCUMENT_LIMIT = 50 * 1024 * 1024
_TOKEN = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{20,}$")
_CHAT_ID = re.compile(r"^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$")


def _to_chat_id(value: str | int) -> str | int:
    text = str(value).strip()
    if not _CHAT_ID.match(text):
        raise ValueError(
            "chat_id: expected a chat's numeric id (like -1001234567890 for a group or channel) or a public "
            f"channel's @username, got {text[:40]!r}"
        )
    return text if text.startswith("@") else int(text)


def _to_silent(value: bool | Sequence[str]) -> bool | tuple[str, ...]:
    if isinstance(value, bool):
        return value
    severities = tuple(str(v).lower() for v in value)
    for severity in severities:
        if severity not in SEVERITIES:
            raise ValueError(
                f"disable_notification: true, false, or a list of {', '.join(SEVERITIES)}; got {severity!r}"
            )
    return severities


@attrs.frozen
class TelegramOptions:
    """Options of the ``telegram`` channel (a bot posting with the Bot API's sendMessage)."""

    bot_token: Secret = attrs.field(
        metadata={"doc": "The bot's token from @BotFather, like 123456789:AAH…. Secret: use ${ENV}."}
    )
    chat_id: str | int = attrs.field(
        converter=_to_chat_id,
        metadata={
            "doc": "Where to post: a chat's numeric id (groups and channels are negative, like -1001234567890) "
            "or a public channel's @username. The bot must be a member (an admin to post in a channel)."
        },
    )
    message_thread_id: int | None = attrs.field(
        default=None, metadata={"doc": "Post into this topic of a forum supergroup (its message_thread_id)."}
    )
    disable_notification: bool | list[str] = attrs.field(
        default=False,
        converter=_to_silent,
        metadata={
            "doc": "Send silently (no sound): true for every message, or a list of severities, like "
            '["success", "info"] to ring only for failures and warnings.'
        },
    )
    link_preview: bool = attrs.field(
        default=False, metadata={"doc": "Show a preview of the run's link under the message (off by default)."}
    )
    api_url: str = attrs.field(
        default="https://api.telegram.org",
        metadata={"doc": "The Bot API server: https://api.telegram.org, or your own telegram-bot-api server."},
    )
    max_attachment_bytes: int = attrs.field(
        default=DOCUMENT_LIMIT,
        validator=attrs.validators.ge(0),
        metadata={
            "doc": "Largest file sent (sendDocument): 50 MiB, the cloud Bot API's limit for bots; a local "
            "telegram-bot-api server (--local) takes up to 2000 MiB. Larger files are listed, left out."
        },
    )

    def __attrs_post_init__(self) -> None:
        if not _TOKEN.match(self.bot_token.reveal()):
            raise ValueError("bot_token: expected the token @BotFather gave, like 123456789:AAH… (digits, colon, key)")
        if not self.api_url.startswith(("https://", "http://")):
            raise ValueError("api_url: must start with https:// or http:// (like https://api.telegram.org)")
        if self.message_thread_id is not None and self.message_thread_id <= 0:
            raise ValueError("message_thread_id: must be a topic's positive id")

    def method_url(self, method: str) -> Secret:
        """The URL of a Bot API method (``<api_url>/bot<token>/sendMessage``), a Secret: the token is in it."""
        return Secret(f"{self.api_url.rstrip('/')}/bot{self.bot_token.reveal()}/{method}")

    def silent(self, severity: str) -> bool:
        """Whether a message of ``severity`` is sent with disable_notification."""
        chosen = self.disable_notification
        return chosen if isinstance(chosen, bool) else severity in chosen
