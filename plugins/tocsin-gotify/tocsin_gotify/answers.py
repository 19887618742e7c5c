"""What Gotify's answers mean, in words a person can act on.

Gotify answers ``POST /message`` with 200 and the stored message (``{"id": 25, "appid": 5, …}``), or an
error as ``{"error": "Unauthorized", "errorCode": 401, "errorDescription": "you need to provide a valid
access token or user credentials to access this api"}``. The reason kept is ``errorDescription``, with
a hint for the statuses that have one. A 200 that is not Gotify's answer (a login page of a proxy in
front of the server, say) is a failure, not a delivery. 429 and 5xx are the core transport's: retried.
"""

from __future__ import annotations

from collections.abc import Mapping

from tocsin import PermanentError, Response

__all__ = ["HINTS", "check_answer", "describe_error"]

HINTS = {
    400: "Gotify could not read the message (a template override may render the wrong shape)",
    401: "check the token option: an application token (Apps → Create Application)",
    403: "the token may not send messages: use an application token (A…), not a client token (C…)",
    404: "check the url option: the Gotify server's base URL, without /message",
    413: "the message is larger than the server (or a proxy in front of it) accepts",
}


def describe_error(response: Response) -> str | None:
    """Gotify's ``errorDescription`` (or its ``error``), with a hint for the status when there is one."""
    body = response.json()
    reason = None
    if isinstance(body, Mapping):
        for key in ("errorDescription", "error"):
            if isinstance(body.get(key), str) and body[key].strip():
                reason = " ".join(body[key].split())[:300]
                break
    hint = HINTS.get(response.status_code)
    if reason is None:
        text = " ".join(response.text.split())[:120]
        if not hint:
            return None
        reason = text or "no reason given"
    return f"{reason} — {hint}" if hint else reason


def check_answer(response: Response) -> None:
    """Raise for a 2xx answer that is not Gotify's: the stored message, a JSON object with an ``id``."""
    body = response.json()
    if isinstance(body, Mapping) and "id" in body:
        return
    shown = " ".join(response.text.split())[:120] or "an empty body"
    raise PermanentError(
        f"HTTP {response.status_code}, but not Gotify's answer (check the url option): {shown}",
        status_code=response.status_code,
    )
