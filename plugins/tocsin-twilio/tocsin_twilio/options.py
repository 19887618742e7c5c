"""The ``sms`` channel's options: what a ``[[targets]]`` table with ``channel = "sms"`` may hold."""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from tocsin import Secret

__all__ = ["SmsOptions"]

_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_API_KEY_SID = re.compile(r"^SK[0-9a-fA-F]{32}$")
_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def _to_numbers(value: Sequence[str]) -> tuple[str, ...]:
    numbers = tuple(dict.fromkeys(str(v).strip() for v in value))
    if not numbers:
        raise ValueError("to: name at least one phone number")
    for number in numbers:
        if not _E164.match(number):
            raise ValueError(f"to: {number[:30]!r} is not a phone number in E.164 form, like +14155552671")
    return numbers


@attrs.frozen
class SmsOptions:
    """Options of the ``sms`` channel (Twilio's Programmable Messaging, the Messages API)."""

    account_sid: str = attrs.field(
        metadata={"doc": "The Twilio account's SID, AC followed by 32 hex digits (Twilio Console → Account Info)."}
    )
    auth_token: Secret = attrs.field(
        metadata={"doc": "The account's Auth Token (or the secret of api_key_sid). Secret: use ${ENV}."}
    )
    to: list[str] = attrs.field(
        converter=_to_numbers,
        metadata={"doc": "The phone numbers to text, in E.164 form (+14155552671): one message each."},
    )
    from_: str | None = attrs.field(
        default=None,
        metadata={"doc": "The sender: a Twilio number in E.164 form, a short code, or an alphanumeric sender ID."},
    )
    messaging_service_sid: str | None = attrs.field(
        default=None,
        metadata={"doc": "Send through this Messaging Service (MG…) instead of from (which then must be left out)."},
    )
    api_key_sid: str | None = attrs.field(
        default=None,
        metadata={"doc": "Authenticate with this API key (SK…) and its secret as auth_token, not the account's token."},
    )
    max_segments: int | None = attrs.field(
        default=None,
        metadata={
            "doc": "Cut each text to this many billed segments (153 GSM-7 or 67 UCS-2 characters each; 160/70 "
            "for one). Default: only Twilio's 1,600-character limit."
        },
    )
    api_url: str = attrs.field(
        default="https://api.twilio.com",
        metadata={
            "doc": "Twilio's REST API base URL (messages go to <api_url>/2010-04-01/Accounts/<sid>/Messages.json)."
        },
    )

    def __attrs_post_init__(self) -> None:
        if not _ACCOUNT_SID.match(self.account_sid):
            raise ValueError("account_sid: expected AC followed by 32 hex digits (Twilio Console → Account Info)")
        if not self.auth_token.reveal().strip():
            raise ValueError("auth_token: must not be empty")
        if (self.from_ is None) == (self.messaging_service_sid is None):
            raise ValueError("from: give either from (the sending number) or messaging_service_sid, not both or none")
        if self.from_ is not None and (not self.from_.strip() or len(self.from_) > 32 or "\n" in self.from_):
            raise ValueError("from: expected a number like +14155552671, a short code, or a sender ID")
        if self.messaging_service_sid is not None and not _SERVICE_SID.match(self.messaging_service_sid):
            raise ValueError("messaging_service_sid: expected MG followed by 32 hex digits")
        if self.api_key_sid is not None and not _API_KEY_SID.match(self.api_key_sid):
            raise ValueError("api_key_sid: expected SK followed by 32 hex digits")
        if self.max_segments is not None and not 1 <= self.max_segments <= 24:
            raise ValueError("max_segments: must be 1 to 24 (1,600 characters are at most 24 UCS-2 segments)")
        if not self.api_url.startswith(("https://", "http://")):
            raise ValueError("api_url: must start with https:// or http:// (like https://api.twilio.com)")
