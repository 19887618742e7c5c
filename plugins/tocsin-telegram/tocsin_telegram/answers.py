"""Telegram's answers read: ``{"ok": false, "error_code", "description", "parameters"}`` in words.

The description becomes the receipt's reason, with a hint on what to change; a 429's
``parameters.retry_after`` is the wait Telegram asks for; a group upgraded to a supergroup names the new
``chat_id`` (``parameters.migrate_to_chat_id``). Used for ``sendMessage`` and ``sendDocument`` alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from tocsin import PermanentError, Response, RetryableError

__all__ = ["call_bot_api", "check", "describe_error", "retry_after"]

_HINTS = {
    401: "check the bot_token option",
    404: "check the bot_token option (the Bot API answers 404 for an unknown token)",
    403: "the bot cannot post there: add it to the chat (as an admin, for a channel), or unblock it",
    413: "the file is larger than the Bot API server takes (50 MB on api.telegram.org)",
}


def describe_error(response: Response) -> str | None:
    """Telegram's ``description`` with a hint: ``Bad Request: chat not found — check the chat_id option…``."""
    body = response.json()
    if not isinstance(body, Mapping) or not isinstance(body.get("description"), str):
        return None
    reason = body["description"][:500]
    parameters = body.get("parameters") if isinstance(body.get("parameters"), Mapping) else {}
    migrated = parameters.get("migrate_to_chat_id")
    if isinstance(migrated, int) and not isinstance(migrated, bool):
        return f"{reason} — the group is now a supergroup: set chat_id = {migrated}"
    lowered = reason.lower()
    if "chat not found" in lowered:
        hint = "check the chat_id option, and that the bot was added to the chat"
    elif "thread not found" in lowered:
        hint = "check the message_thread_id option (the forum topic)"
    elif "can't parse entities" in lowered:
        hint = "a template produced HTML Telegram does not accept"
    else:
        hint = _HINTS.get(response.status_code)
    return f"{reason} — {hint}" if hint else reason


def retry_after(response: Response) -> float | None:
    """The wait a 429 answer asks for in ``parameters.retry_after`` (seconds)."""
    body = response.json()
    parameters = body.get("parameters") if isinstance(body, Mapping) else None
    value = parameters.get("retry_after") if isinstance(parameters, Mapping) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else None


def check(response: Response) -> None:
    """A 2xx answer with ``"ok": false`` is a failure too (Telegram's own answers never do this, proxies may)."""
    body = response.json()
    if isinstance(body, Mapping) and body.get("ok") is False:
        raise PermanentError(f"Telegram: {describe_error(response) or 'ok: false'}", status_code=response.status_code)


async def call_bot_api(post: Callable[..., Awaitable[Response]], *args: Any, **kwargs: Any) -> Response:
    """``post(*args, **kwargs)`` (a :class:`tocsin.Transport` method) with Telegram's answers read: ``ok:
    false`` fails, the description is the reason, and a RetryableError carries ``parameters.retry_after``."""
    waits: list[float] = []

    def describe(response: Response) -> str | None:
        wait = retry_after(response)
        if wait is not None:
            waits.append(wait)
        return describe_error(response)

    try:
        return await post(*args, describe_error=describe, check=check, **kwargs)
    except RetryableError as exc:
        if exc.retry_after is None and waits:
            raise RetryableError(str(exc), status_code=exc.status_code, retry_after=waits[-1]) from None
        raise
