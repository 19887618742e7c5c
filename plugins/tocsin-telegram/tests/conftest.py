"""What the Telegram tests share: a bot token, the Bot API's answers, a target table for a sink."""

from __future__ import annotations

from typing import Any

from tocsin.testing import Reply

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SENT = Reply(200, {"ok": True, "result": {"message_id": 42, "date": 1700000000, "chat": {"id": -100123}}})


def bot(sink: Any, answer: Any = SENT, **options: Any) -> dict[str, Any]:
    """A [[targets]] table for a bot posting to ``sink``, which answers ``answer`` (a Reply, or a callable)."""
    sink.default = answer
    return {"name": "tg", "channel": "telegram", "api_url": sink.url, "bot_token": TOKEN, "chat_id": -100123, **options}


def refused(status: int, description: str, **parameters: Any) -> Reply:
    """The Bot API's refusal: ``{"ok": false, "error_code", "description", "parameters"?}``."""
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Reply(status, body)
