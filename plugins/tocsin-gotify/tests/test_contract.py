"""tocsin's conformance suite, run against the gotify channel, in both text forms."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tocsin_gotify import MESSAGE_LIMIT, TITLE_LIMIT

from tocsin import Message
from tocsin.testing import ChannelContract, Reply

#: What Gotify answers a good POST /message: the stored message.
GOTIFY_OK = Reply(
    200, {"id": 25, "appid": 5, "message": "…", "title": "…", "priority": 8, "date": "2026-11-24T15:12:03Z"}
)


class TestGotifyContract(ChannelContract):
    channel = "gotify"
    distribution = "tocsin-gotify"
    success_reply = GOTIFY_OK
    permanent_statuses = (400, 401, 403, 404)
    max_payload_bytes = 4 * (MESSAGE_LIMIT + TITLE_LIMIT) + 1000  # the document, escapes included

    def target_options(self, sink_url: str) -> dict[str, Any]:
        return {"url": sink_url, "token": "AcOnTrAcT.secret"}

    def bad_options(self) -> dict[str, Any]:
        return {
            **super().bad_options(),
            "url": "https://push.example.org/message?token=x",
            "token": "CcLiEnTtOkEn.xx",
            "priorities": {"failure": 11},
        }

    def check_message(self, message: Message, event: Any) -> None:
        assert message.body["priority"] in (1, 3, 5, 8)
        assert message.body["extras"]["client::display"] == {"contentType": "text/plain"}

    def check_hostile(self, message: Message, payload: bytes, headers: Mapping[str, str]) -> None:
        body = json.loads(payload)
        assert len(body["title"]) <= TITLE_LIMIT and body["title"].endswith("…") and "\n" not in body["title"]
        assert len(body["message"]) <= MESSAGE_LIMIT


class TestGotifyMarkdownContract(TestGotifyContract):
    """``markdown = true``: the text from gotify/default.md.j2, escaped."""

    cli = False  # the plain-text class runs the CLI checks

    def target_options(self, sink_url: str) -> dict[str, Any]:
        return {**super().target_options(sink_url), "markdown": True}

    def check_message(self, message: Message, event: Any) -> None:
        assert message.body["extras"]["client::display"] == {"contentType": "text/markdown"}

    def check_hostile(self, message: Message, payload: bytes, headers: Mapping[str, str]) -> None:
        super().check_hostile(message, payload, headers)
        text = json.loads(payload)["message"]
        assert text.count("```") % 2 == 0
        outside_code = "".join(text.split("```")[::2])  # in a code block, <script> is shown as written
        assert "[click me](http" not in outside_code and "<script>" not in outside_code
