"""What Google Chat's answers mean, in words a person can act on.

Google APIs answer errors as ``{"error": {"code": 400, "message": "Invalid JSON payload received. …",
"status": "INVALID_ARGUMENT", "details": […]}}``. The reason kept is the ``message`` and the ``status``,
with a hint for the statuses that have one. HTTP 429 (``RESOURCE_EXHAUSTED``: a space takes about one
message per second from a webhook) and 5xx are the core transport's: retried, ``Retry-After``
honoured. The webhook URL's key and token are secrets: the core redacts them from any reason, even when
Google quotes them back.
"""

from __future__ import annotations

from collections.abc import Mapping

from tocsin import Response

__all__ = ["HINTS", "describe_error"]

HINTS = {
    "INVALID_ARGUMENT": "Google Chat rejected the message (a template override may render an invalid card)",
    "UNAUTHENTICATED": "the webhook URL's token is wrong or revoked; copy the URL again",
    "PERMISSION_DENIED": "the webhook was deleted, or apps may no longer post in this space",
    "NOT_FOUND": "no such space (or the webhook URL is wrong); copy the URL again",
    "RESOURCE_EXHAUSTED": "Google Chat rate-limits this space",
}
_KEY_HINT = "the webhook URL's key is wrong; copy the URL again"


def describe_error(response: Response) -> str | None:
    """Google's ``error.message`` and ``error.status``, with a hint; None when the answer is not Google's."""
    body = response.json()
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping) or not isinstance(error.get("message"), str):
        return None
    message = " ".join(error["message"].split())[:400]
    status = error.get("status") if isinstance(error.get("status"), str) else None
    reason = f"{message} ({status})" if status else message
    hint = _KEY_HINT if "API key" in message else HINTS.get(status or "")
    return f"{reason} — {hint}" if hint else reason
