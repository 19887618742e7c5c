"""What the email tests share: the sender, the headers every mail carries, a target table for a sink."""

from __future__ import annotations

from typing import Any

SENDER = "Build alerts <alerts@example.org>"
EXPECTED_HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "auto-submitted",
    "x-tocsin-event",
    "x-tocsin-severity",
    "mime-version",
    "content-type",
}


def target(sink: Any, name: str = "mail", **options: Any) -> dict[str, Any]:
    """A [[targets]] table for ``sink`` (plain SMTP unless the options say otherwise)."""
    table = {
        "name": name,
        "channel": "email",
        "host": sink.host,
        "port": sink.port,
        "security": "none",
        "from": SENDER,
        "to": ["ops@example.org"],
    }
    table.update(options)
    return table
