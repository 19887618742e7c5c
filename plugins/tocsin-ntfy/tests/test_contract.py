"""tocsin's conformance suite, run against both ntfy publishing forms."""

from __future__ import annotations

import json
from collections.abc import Mapping
from email.header import decode_header, make_header
from typing import Any

from tocsin import Message
from tocsin.testing import ChannelContract, Reply

NTFY_OK = Reply(200, {"id": "sPs7tqR5Ww4S", "time": 1700000000, "event": "message", "topic": "tocsin-contract"})


class TestNtfyContract(ChannelContract):
    """The headers form: the body is plain text, the title and tags travel in headers."""

    channel = "ntfy"
    distribution = "tocsin-ntfy"
    sends_json = False
    success_reply = NTFY_OK
    template_part = "title"  # the title is what the override check marks (it travels in X-Title)
    max_payload_bytes = 4095  # ntfy's message limit (4,096 bytes would become an attachment)

    def target_options(self, sink_url: str) -> dict[str, Any]:
        return {"url": sink_url, "topic": "tocsin-contract", "token": "tk_contract0secret0token"}

    def check_message(self, message: Message, event: Any) -> None:
        assert message.headers["X-Priority"] in {"2", "3", "4", "5"}
        assert message.headers["X-Tags"].split(",")[1] == event.type

    def check_hostile(self, message: Message, payload: bytes, headers: Mapping[str, str]) -> None:
        assert payload.decode("utf-8").endswith("…")  # the 1 MB error was cut, visibly
        assert headers["x-title"].isascii()  # RFC 2047 encoded words: the title holds "…"
        title = str(make_header(decode_header(headers["x-title"])))
        assert len(title.encode()) <= 1024 and title.endswith("…")


class TestNtfyJsonContract(ChannelContract):
    """The JSON form: one JSON document POSTed to the server root."""

    channel = "ntfy"
    distribution = "tocsin-ntfy"
    sends_json = True
    success_reply = NTFY_OK
    template_part = "title"
    max_payload_bytes = 4096 + 1024 + 512 + 1024  # message + title + tags + the rest of the document
    cli = False  # the headers-form class runs the CLI checks

    def target_options(self, sink_url: str) -> dict[str, Any]:
        return {"url": sink_url, "topic": "tocsin-contract", "token": "tk_contract0secret0token", "form": "json"}

    def check_hostile(self, message: Message, payload: bytes, headers: Mapping[str, str]) -> None:
        document = json.loads(payload)
        assert document["topic"] == "tocsin-contract"
        assert len(document["message"].encode()) <= 4095 and document["message"].endswith("…")
        assert "\n" not in document["title"] and "\r" not in document["title"]
