"""tocsin's conformance suite, run against the googlechat channel."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tocsin_googlechat.card import MESSAGE_BYTES, violations

from tocsin import Message
from tocsin.testing import ChannelContract, Reply

#: What Google Chat answers a good webhook POST: the created message.
CREATED = Reply(
    200,
    {
        "name": "spaces/AAAAcontract/messages/x1.x1",
        "text": "…",
        "thread": {"name": "spaces/AAAAcontract/threads/t1"},
    },
)


class TestGoogleChatContract(ChannelContract):
    channel = "googlechat"
    distribution = "tocsin-googlechat"
    success_reply = CREATED
    max_payload_bytes = MESSAGE_BYTES

    def target_options(self, sink_url: str) -> dict[str, Any]:
        return {
            "url": sink_url
            + "/v1/spaces/AAAAcontract/messages?key=AIzaContractKey0123456789&token=contract-token-0123456789",
            "thread_key": "{run_name}",
        }

    def bad_options(self) -> dict[str, Any]:
        return {
            **super().bad_options(),
            "url": "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=AIzaOnlyTheKey0123",
            "thread_key": "{run_name",
        }

    def check_message(self, message: Message, event: Any) -> None:
        assert violations(message.body) == []
        (card,) = message.body["cardsV2"]
        assert card["card"]["header"]["title"].endswith(event.title)

    def check_hostile(self, message: Message, payload: bytes, headers: Mapping[str, str]) -> None:
        body = json.loads(payload)
        assert violations(body) == []
        for section in body["cardsV2"][0]["card"]["sections"]:  # card text is HTML: only our own <br> tags
            for widget in section["widgets"]:
                for part in (widget.get("decoratedText"), widget.get("textParagraph")):
                    if part:
                        assert "<" not in part["text"].replace("<br>", ""), part["text"][:200]
