"""The core's channel contract, run against the email channel and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from tocsin import Event, Message
from tocsin.testing.contract import ChannelContract
from tocsin.testing.smtp import SmtpSink

from .conftest import EXPECTED_HEADERS

USER, PASSWORD = "contract-user", "contract-pw-5f3a9c"


class TestEmailContract(ChannelContract):
    channel = "email"
    distribution = "tocsin-email"
    http = False
    sends_json = False
    retryable_statuses = (451, 452)
    permanent_statuses = (550, 554)
    # A 1 MB error is cut to 20,000 characters per part: the hostile mail stays far below 1 MB.
    max_payload_bytes = 250_000

    @pytest.fixture
    def sink(self) -> Iterator[SmtpSink]:
        with SmtpSink(user=USER, password=PASSWORD) as sink:
            yield sink

    def sink_url(self, sink: SmtpSink) -> Any:
        return sink

    def target_options(self, sink: SmtpSink) -> dict[str, Any]:
        return {
            "host": sink.host,
            "port": sink.port,
            "security": "none",
            "user": USER,
            "password": PASSWORD,
            "from": "Contract <contract@example.org>",
            "to": ["ops@example.org"],
        }

    def secret_options(self, sink: SmtpSink) -> dict[str, Any]:
        return self.target_options(sink)  # the password is the secret; smtp_url would replace host/user

    def last_payload(self, sink: SmtpSink) -> bytes:
        return sink.last.raw

    def last_headers(self, sink: SmtpSink) -> dict[str, str]:
        return {name.lower(): str(value) for name, value in sink.last.items()}

    def wire_bytes_since(self, sink: SmtpSink, since: int) -> bytes:
        # Each test has its own sink: every mail it accepted, with its attachments decoded.
        return b"".join(
            m.raw + b"".join(p.get_payload(decode=True) or b"" for p in m.iter_attachments()) for m in sink.messages
        )

    def attempts_seen(self, sink: SmtpSink) -> int:
        return sink.transactions

    def script_answers(self, sink: SmtpSink, *answers: str, echo: Sequence[str] = ()) -> None:
        quoted = " ".join(echo)
        replies = []
        for answer in answers:
            kind, _, arg = answer.partition(":")
            code = arg or {"retryable": "451", "permanent": "550"}[kind]
            replies.append(f"{code} {'4.3.0' if code.startswith('4') else '5.7.1'} rejected {quoted}".strip())
        sink.reply(*replies)

    def check_message(self, message: Message, event: Event) -> None:
        assert message.subject and message.text and message.html
        assert message.recipients == ("ops@example.org",)
        assert "\n" not in message.subject

    def check_hostile(self, message: Message, payload: bytes, headers: Mapping[str, str]) -> None:
        head = payload.split(b"\r\n\r\n", 1)[0]
        assert head.isascii(), "a header went out unencoded"
        assert set(headers) <= EXPECTED_HEADERS, sorted(headers)
        assert b"<script>" not in payload.split(b"text/html", 1)[1]

    def check_cli_test(self, sink: SmtpSink, result: subprocess.CompletedProcess[str], seen_before: Any) -> None:
        assert len(sink.messages) == 1
        assert "tocsin test notification" in sink.last["Subject"]
