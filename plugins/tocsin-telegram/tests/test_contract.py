"""tocsin's conformance suite, run against the Telegram channel."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tocsin_telegram.markup import visible_text

from tocsin import Message, utf16_len
from tocsin.testing import ChannelContract, Reply

SENT = Reply(200, {"ok": True, "result": {"message_id": 42, "chat": {"id": -1001234567890, "type": "supergroup"}}})


class TestTelegramContract(ChannelContract):
    """Telegram carries files (the channel declares ``max_attachment_bytes``, 50 MiB): the attachment checks
    find the file's bytes in the sendDocument request that follows the sendMessage."""

    channel = "telegram"
    distribution = "tocsin-telegram"
    success_reply = SENT
    template_part = "html"
    max_payload_bytes = 4096 * 12 + 1024  # 4,096 visible characters, each at most an entity like &#128190;

    def target_options(self, sink_url: str) -> dict[str, Any]:
        return {
            "api_url": sink_url,
            "bot_token": "123456789:AAHcontract0secret0token0abcdefghij",
            "chat_id": -1001234567890,
        }

    def bad_options(self) -> dict[str, Any]:
        return {
            **super().bad_options(),
            "bot_token": "not-a-token",
            "chat_id": "general",
            "api_url": "ftp://bots.example.org",
            "disable_notification": ["loud"],
        }

    def check_message(self, message: Message, event: Any) -> None:
        assert message.body["parse_mode"] == "HTML"
        assert event.title.split(":")[0] in visible_text(message.body["text"])

    def check_hostile(self, message: Message, payload: bytes, headers: Mapping[str, str]) -> None:
        text = json.loads(payload)["text"]
        assert utf16_len(visible_text(text)) <= 4096 and visible_text(text).endswith("…")
        assert "<script" not in text and "<img" not in text and '<a href="http://evil' not in text
