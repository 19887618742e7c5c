"""The ``webhook`` channel's options: where to send, how, with which headers, signed with which secret.

Every check here runs when the config is loaded, so a mistake is reported as
``tocsin.toml: targets[0].<option>: …`` before anything is sent. Messages never show a secret's value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from tocsin import Secret

from .signing import secret_key

__all__ = ["RESERVED_HEADERS", "WebhookOptions"]

#: Headers tocsin sets itself on every request; a target's ``headers`` cannot replace them.
RESERVED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", "content-length", "host")
# RFC 9110 token characters: what a header name may be made of.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
#: The largest file sent inline by default (base64 makes it a third bigger in the body).
INLINE_MAX_BYTES = 5 * 1024 * 1024
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _to_secret(value: Any) -> Any:
    return Secret(value) if isinstance(value, str) else value


def _to_secret_headers(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(name): _to_secret(v) for name, v in value.items()}
    return value


def _check_url(_instance: Any, _attribute: Any, value: Secret) -> None:
    plain = value.reveal()  # checked, never shown
    if not plain.strip():
        raise ValueError("url: is empty")
    if not plain.startswith(("https://", "http://")):
        raise ValueError("url: must start with https:// (or http://)")


def _check_headers(_instance: Any, _attribute: Any, value: dict[str, Secret]) -> None:
    seen: dict[str, str] = {}
    for name, secret in value.items():
        if not _HEADER_NAME.match(name):
            raise ValueError(f"headers: {name!r} is not a valid header name")
        lowered = name.lower()
        if lowered in RESERVED_HEADERS:
            raise ValueError(f"headers: {name!r} is set by tocsin itself and cannot be configured")
        if lowered in seen:
            raise ValueError(f"headers: {name!r} and {seen[lowered]!r} name the same header (names ignore case)")
        seen[lowered] = name
        if not isinstance(secret, Secret):
            raise ValueError(f"headers: the value of {name!r} must be a string")
        if _BAD_VALUE.search(secret.reveal()):  # checked, never shown
            raise ValueError(f"headers: the value of {name!r} holds a line break or control character")


def _check_secret(_instance: Any, _attribute: Any, value: Secret | None) -> None:
    if value is None:
        return
    if not value.reveal():
        raise ValueError("secret: is empty (leave the key out to send unsigned requests)")
    try:
        secret_key(value)
    except ValueError as exc:
        raise ValueError(f"secret: {exc}") from None


#: The bounds ``max_bytes`` may be set within.
MAX_BYTES_RANGE = (4_096, 10_485_760)


def _check_max_bytes(value: int) -> None:
    low, high = MAX_BYTES_RANGE
    if not low <= value <= high:
        raise ValueError(f"max_bytes: must be from {low} to {high}, not {value}")


def _check_template(_instance: Any, _attribute: Any, value: str | None) -> None:
    if value is not None and not value.strip():
        raise ValueError("template: is empty (leave the key out to use webhook/default.json.j2)")


@attrs.frozen
class WebhookOptions:
    """Options of the ``webhook`` channel (``timeout`` and ``max_retries`` are the core's target keys)."""

    url: Secret = attrs.field(
        converter=_to_secret,
        validator=_check_url,
        metadata={"doc": "Where to send the event (https://…); secret: it often carries a token."},
    )
    method: Literal["POST", "PUT"] = attrs.field(default="POST", metadata={"doc": "HTTP method: POST or PUT."})
    headers: dict[str, Secret] = attrs.field(
        factory=dict,
        converter=_to_secret_headers,
        validator=_check_headers,
        metadata={
            "doc": 'Extra request headers, e.g. Authorization = "Bearer ${TOKEN}"; values are secrets '
            "(never shown in errors or output)."
        },
    )
    secret: Secret | None = attrs.field(
        default=None,
        converter=attrs.converters.optional(_to_secret),
        validator=_check_secret,
        metadata={
            "doc": "Signing key (Standard Webhooks): whsec_<base64> or a raw string. Unset: requests are not signed."
        },
    )
    max_bytes: int = attrs.field(
        default=262_144,
        validator=lambda _i, _a, v: _check_max_bytes(v),
        metadata={
            "doc": "Largest body sent, in bytes (default 256 KiB): a bigger one has its longest strings cut "
            '(ending in "…"), then its largest lists/tables replaced, and "truncated": true added.'
        },
    )
    template: str | None = attrs.field(
        default=None,
        validator=_check_template,
        metadata={
            "doc": "Template file for the body instead of webhook/<event>.json.j2 then webhook/default.json.j2 "
            "(searched as given, then under webhook/)."
        },
    )
    attachments: Literal["list", "inline"] = attrs.field(
        default="list",
        metadata={
            "doc": 'list: the body\'s "attachments" names each file (name, content_type, size, sha256); inline: '
            "each file's bytes too, base64 in content_base64, inside the signature."
        },
    )
    inline_max_bytes: int = attrs.field(
        default=INLINE_MAX_BYTES,
        metadata={"doc": "With attachments = inline: the largest file sent (bigger ones are listed, left out)."},
    )

    def __attrs_post_init__(self) -> None:
        if self.inline_max_bytes < 0:
            raise ValueError("inline_max_bytes: must not be negative")

    @property
    def max_attachment_bytes(self) -> int:
        """The per-file cap the core applies: ``inline_max_bytes`` when inline, else 0 (names only)."""
        return self.inline_max_bytes if self.attachments == "inline" else 0
