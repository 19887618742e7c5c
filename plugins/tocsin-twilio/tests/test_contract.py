"""tocsin's conformance suite, run against the SMS (Twilio) channel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from tocsin import Message, utf16_len
from tocsin.testing import ChannelContract, Reply

CREATED = Reply(201, {"sid": "SM" + "0" * 32, "status": "queued", "num_segments": "1", "error_code": None})


class TestSmsContract(ChannelContract):
    channel = "sms"
    distribution = "tocsin-twilio"
    sends_json = False  # a form-encoded body
    success_reply = CREATED
    max_payload_bytes = 1600 * 12 + 512  # 1,600 characters, each at most 4 UTF-8 bytes percent-encoded

    def target_options(self, sink_url: str) -> dict[str, Any]:
        return {
            "api_url": sink_url,
            "account_sid": "AC0123456789abcdef0123456789abcdef",
            "auth_token": "contract0auth0token0abcdef012345",
            "from": "+14155550100",
            "to": ["+14155550101"],
        }

    def bad_options(self) -> dict[str, Any]:
        return {
            **super().bad_options(),
            "account_sid": "0123456789",
            "to": ["0155 555 0101"],
            "max_segments": 0,
            "api_url": "ftp://api.example.org",
        }

    def check_message(self, message: Message, event: Any) -> None:
        assert message.extra["encoding"] in ("GSM-7", "UCS-2") and message.extra["segments"] >= 1

    def check_hostile(self, message: Message, payload: bytes, headers: Mapping[str, str]) -> None:
        form = parse_qs(payload.decode("ascii"), strict_parsing=True)
        assert set(form) == {"To", "From", "Body"} and form["To"] == ["+14155550101"]
        body = form["Body"][0]
        assert utf16_len(body) <= 1600 and body.endswith("...")  # GSM-7 text: a GSM-7 marker
        assert message.extra == {"encoding": "GSM-7", "segments": 11, "characters": 1600}
        assert "\x1b" not in body and "\x00" not in body and "\r" not in body
