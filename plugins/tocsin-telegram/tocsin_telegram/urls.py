"""Apprise's Telegram URL as a target: ``tgram://bot_token/chat_id[:topic][?silent=yes&preview=yes&topic=N]``.

The bot token holds a colon (``123456789:AAH…``), which no URL parser takes as a host (it reads a port),
so, as Apprise does, the token is found first and the URL read after it: ``tgram://123456789:AAH…/-100123``
(a leading ``bot``, ``tgram://bot123456789:AAH…/…``, and ``%3A`` for the colon work too). The chat is a
numeric id or a public channel's ``@username``; a forum topic follows as ``:topic`` or ``?topic=``
(``?thread=``). ``?to=`` may name the chat instead of the path. ``silent`` and ``preview`` become
``disable_notification`` and ``link_preview``. tocsin's addition: ``?api_url=`` names another Bot API
server (your own telegram-bot-api, a test server).

One chat per target: Apprise's ``tgram://token/chat1/chat2`` is refused (write one URL per chat), and so
is a URL without a chat (Apprise then asks Telegram for the bot's owner).
"""

from __future__ import annotations

import re
from typing import Any

from tocsin import split_url

__all__ = ["SCHEMES", "from_url"]

SCHEMES = ("tgram",)
PARAMS = ("to", "topic", "thread", "silent", "preview", "api_url")
_FORM = "tgram://bot_token/chat_id"
# Apprise's own pattern: scheme, an optional "bot" and user@, the bot's numeric id, the colon (or %3A).
_TOKEN = re.compile(
    r"^tgram://(bot)?(?:[A-Za-z0-9_-]+(?::[A-Za-z0-9_-]+)?@)?(?P<id>[0-9]+)(?::|%3A)+(?P<rest>.*)$", re.IGNORECASE
)
_CHAT = re.compile(r"^(?P<chat>-?[0-9]{1,20}|@?[A-Za-z_][A-Za-z0-9_]*)(?:(?::|%3A)(?P<topic>[0-9]+))?$")
_YES = ("yes", "y", "true", "1", "on", "enable", "enabled")
_NO = ("no", "n", "false", "0", "off", "disable", "disabled")


def from_url(url: str) -> dict[str, Any]:
    """The ``telegram`` options a ``tgram://`` URL describes; ValueError (never quoting it) otherwise."""
    found = _TOKEN.match(url.strip())
    if not found:
        raise ValueError(f"tgram:// URL: expected {_FORM} (the token as @BotFather gave it, 123456789:AAH…)")
    rest = found.group("rest")
    key = re.match(r"[^/?#]*", rest).group(0)  # type: ignore[union-attr]  # always matches
    parts = split_url(f"tgram://{found.group('id')}{rest[len(key) :]}")
    parts.check_params(PARAMS)
    chats = [*parts.path, *filter(None, (parts.param("to") or "").split(","))]
    if not chats:
        raise ValueError(f"tgram:// URL: name the chat: {_FORM} (tocsin does not guess the bot's owner)")
    if len(chats) > 1:
        raise ValueError(f"tgram:// URL: one chat per URL ({_FORM}); write a URL for each chat")
    chat = _CHAT.match(chats[0].strip())
    if not chat:
        raise ValueError("tgram:// URL: the chat is a numeric id (-1001234567890) or a channel's @username")
    name = chat.group("chat")
    options: dict[str, Any] = {
        "bot_token": f"{found.group('id')}:{key}",
        "chat_id": int(name) if name.lstrip("-").isdigit() else f"@{name.lstrip('@')}",
    }
    topic = parts.param("topic", "thread") or chat.group("topic")
    if topic:
        if not topic.isdigit():
            raise ValueError("tgram:// URL: topic must be a forum topic's number")
        options["message_thread_id"] = int(topic)
    for param, option in (("silent", "disable_notification"), ("preview", "link_preview")):
        value = parts.param(param)
        if value is not None:
            options[option] = _flag(param, value)
    if parts.param("api_url"):
        options["api_url"] = parts.param("api_url")
    return options


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _YES or lowered == "":
        return True
    if lowered in _NO:
        return False
    raise ValueError(f"tgram:// URL: {name} must be yes or no")
