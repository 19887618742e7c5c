"""Standard Webhooks signatures: how tocsin signs what it sends, and how a Python receiver checks it.

The scheme (Standard Webhooks 1.0.0, "Signature scheme" and "Webhook headers"): three headers,

* ``webhook-id`` — the event's id, the same on every retry (the receiver's idempotency key);
* ``webhook-timestamp`` — when this attempt was made, integer Unix seconds (fresh on each retry);
* ``webhook-signature`` — ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, space-separated
  when there are several (key rotation);

and a shared secret, written ``whsec_<base64 of the key bytes>`` (the spec's serialization) or, for a
secret a receiver already has, as the raw string itself (its UTF-8 bytes are the key).

This module imports nothing from tocsin at run time, so a receiver can use :func:`verify` on its own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any, Protocol

__all__ = [
    "DEFAULT_TOLERANCE",
    "SECRET_PREFIX",
    "WebhookVerificationError",
    "check_message_id",
    "generate_secret",
    "secret_key",
    "sign",
    "verify",
]

#: The prefix of a secret in the spec's serialization: ``whsec_`` + base64 of the key bytes.
SECRET_PREFIX = "whsec_"
#: Seconds a ``webhook-timestamp`` may differ from the receiver's clock (the spec suggests 5 minutes).
DEFAULT_TOLERANCE = 300
_VERSION = "v1"
# The id is signed as "{id}.{timestamp}.{body}", so it must not hold a "." (the spec's warning) and,
# being a header value, nothing but visible ASCII. UUIDs (tocsin's default) and msg_… ids pass.
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_\-:@+=/~]{1,256}$")


class _Revealable(Protocol):
    def reveal(self) -> str: ...


class WebhookVerificationError(ValueError):
    """A webhook request failed verification; the message says which check failed and why."""


def secret_key(secret: str | bytes | _Revealable) -> bytes:
    """The HMAC key a secret stands for.

    ``whsec_<base64>`` → the decoded bytes; any other string → its UTF-8 bytes (a raw secret);
    ``bytes`` → as they are. A :class:`tocsin.Secret` is revealed first. Raises ``ValueError`` for an
    empty key or a ``whsec_`` secret that is not valid base64 (the message never shows the secret).
    """
    if hasattr(secret, "reveal"):
        secret = secret.reveal()
    if isinstance(secret, bytes):
        key = secret
    elif isinstance(secret, str):
        if secret.startswith(SECRET_PREFIX):
            encoded = secret[len(SECRET_PREFIX) :].strip()
            try:
                key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(
                    "a whsec_ secret must be whsec_ followed by base64 (A-Z a-z 0-9 + /); this one is not"
                ) from None
        else:
            key = secret.encode("utf-8")
    else:
        raise TypeError(f"secret must be a string or bytes, not {type(secret).__name__}")
    if not key:
        raise ValueError("the secret is empty")
    return key


def generate_secret(nbytes: int = 32) -> str:
    """A new random secret in the spec's form, ``whsec_<base64>`` (32 bytes; the spec asks 24 to 64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")


def check_message_id(msg_id: str) -> str:
    """``msg_id`` if it can be a ``webhook-id``; ``ValueError`` (naming the rule) otherwise."""
    if not isinstance(msg_id, str) or not _MESSAGE_ID.match(msg_id):
        raise ValueError(
            "the event id cannot be used as webhook-id: it must be 1-256 characters from "
            "A-Z a-z 0-9 _ - : @ + = / ~ (no '.', spaces or control characters)"
        )
    return msg_id


def _signed_content(msg_id: str, timestamp: str, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


def sign(msg_id: str, timestamp: int | str, body: bytes | str, secret: str | bytes | _Revealable) -> str:
    """The ``webhook-signature`` value for one attempt: ``v1,<base64 HMAC-SHA256>``.

    ``body`` must be the exact bytes sent (a ``str`` is taken as UTF-8).
    """
    data = body.encode("utf-8") if isinstance(body, str) else body
    digest = hmac.new(secret_key(secret), _signed_content(msg_id, str(timestamp), data), hashlib.sha256).digest()
    return f"{_VERSION},{base64.b64encode(digest).decode('ascii')}"


def verify(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: str | bytes | _Revealable,
    tolerance: float | None = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> Any:
    """Check a received webhook and return its body parsed as JSON.

    ``payload`` is the raw request body, exactly as received (parse it only after this returns);
    ``headers`` any mapping of the request's headers (names in any case); ``secret`` the target's
    ``secret`` (``whsec_…`` or raw, or bytes); ``tolerance`` the seconds ``webhook-timestamp`` may differ
    from ``now`` (default: the clock), ``None`` to skip that check.

    Raises :class:`WebhookVerificationError` when a header is missing or malformed, the timestamp is
    outside the tolerance (a replayed or long-delayed request), or no ``v1`` signature matches (the
    body or headers were changed, or the secret is not the sender's). Signatures are compared in
    constant time.
    """
    data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
    lowered = {str(k).lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id")
    timestamp = lowered.get("webhook-timestamp")
    signature = lowered.get("webhook-signature")
    missing = [
        name
        for name, value in (("webhook-id", msg_id), ("webhook-timestamp", timestamp), ("webhook-signature", signature))
        if not value
    ]
    if missing:
        raise WebhookVerificationError(f"missing header{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    assert msg_id is not None and timestamp is not None and signature is not None
    timestamp = timestamp.strip()
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise WebhookVerificationError("webhook-timestamp is not a Unix time in whole seconds")
    if tolerance is not None:
        age = (time.time() if now is None else now) - int(timestamp)
        if age > tolerance:
            raise WebhookVerificationError(
                f"stale timestamp: webhook-timestamp is {age:.0f}s old, more than the {tolerance:g}s tolerance "
                "(a replayed or long-delayed request)"
            )
        if -age > tolerance:
            raise WebhookVerificationError(
                f"webhook-timestamp is {-age:.0f}s in the future, more than the {tolerance:g}s tolerance "
                "(check the clocks)"
            )
    try:
        key = secret_key(secret)
    except ValueError as exc:
        raise WebhookVerificationError(f"unusable secret: {exc}") from None
    expected = hmac.new(key, _signed_content(msg_id, timestamp, data), hashlib.sha256).digest()
    found_v1 = False
    matched = False
    for entry in signature.split():
        version, _, encoded = entry.partition(",")
        if version != _VERSION:
            continue  # v1a (asymmetric) or a future scheme: not ours to check
        found_v1 = True
        try:
            candidate = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        matched |= hmac.compare_digest(expected, candidate)
    if not found_v1:
        raise WebhookVerificationError("webhook-signature holds no v1 (HMAC-SHA256) signature")
    if not matched:
        raise WebhookVerificationError(
            "signature mismatch: the body or the webhook-id/webhook-timestamp headers were changed, "
            "or the secret is not the one the sender uses"
        )
    try:
        return json.loads(data) if data else None
    except ValueError:
        raise WebhookVerificationError("the signature is valid but the body is not JSON") from None
