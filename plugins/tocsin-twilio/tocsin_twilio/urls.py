"""Apprise's Twilio URL as a target: ``twilio://account_sid:auth_token@from_phone[/to_phone…]``.

As Apprise reads it: the account SID and auth token are the URL's user and password (``?sid=``,
``?token=`` may give them instead), the host is the sender (a phone number, or a 5-6 digit short code;
``?from=``/``?source=``), each path segment a number to text (``?to=a,b`` adds more; none: the sender's
own number), and ``?apikey=SK…`` authenticates with an API key whose secret is the auth token. Numbers
may be written with or without ``+``, spaces, dashes or brackets: ``15551234567`` is sent as
``+15551234567``. tocsin's addition: ``?api_url=`` names another server (a proxy, a test server).

Not supported: WhatsApp (``w:`` before a number) and ``?method=call`` (the ``sms`` channel only texts).
"""

from __future__ import annotations

import re
from typing import Any

from tocsin import split_url

__all__ = ["SCHEMES", "from_url"]

SCHEMES = ("twilio",)
PARAMS = ("sid", "token", "from", "source", "to", "apikey", "method", "api_url")
_FORM = "twilio://account_sid:auth_token@from_phone/to_phone"
_SEPARATORS = re.compile(r"[\s().+-]")


def from_url(url: str) -> dict[str, Any]:
    """The ``sms`` options a ``twilio://`` URL describes; ValueError (never quoting it) otherwise."""
    parts = split_url(url)
    parts.check_params(PARAMS)
    sid = parts.param("sid") or parts.user
    token = parts.param("token") or parts.password
    sender = parts.param("from", "source") or parts.host
    if not sid or not token or not sender:
        raise ValueError(f"twilio:// URL: expected {_FORM}")
    if (parts.param("method") or "sms").lower() not in ("sms", "s"):
        raise ValueError("twilio:// URL: only method=sms is supported (the sms channel texts; it does not call)")
    source = _digits(sender, "the sender")
    numbers = [*parts.path, *filter(None, (parts.param("to") or "").split(","))]
    options: dict[str, Any] = {
        "account_sid": sid,
        "auth_token": token,
        "from": source if len(source) in (5, 6) else f"+{source}",
        "to": [f"+{_digits(n, 'a number to text')}" for n in numbers] or [f"+{source}"],
    }
    if parts.param("apikey"):
        options["api_key_sid"] = parts.param("apikey")
    if parts.param("api_url"):
        options["api_url"] = parts.param("api_url")
    return options


def _digits(number: str, what: str) -> str:
    if ":" in number:
        raise ValueError(f"twilio:// URL: {what} has a mode prefix (like w: for WhatsApp); only SMS is supported")
    digits = _SEPARATORS.sub("", number)
    if not digits.isdigit():
        raise ValueError(f"twilio:// URL: {what} must be a phone number (digits, like 15551234567)")
    return digits
