"""The ``telegram`` channel for tocsin: events posted by a bot through the Bot API's ``sendMessage``.

``format_message`` renders ``telegram/<event type>.html.j2`` (else ``default.html.j2``) with autoescaping,
so event text shows literally, then makes the HTML safe for Telegram's parse mode and cuts its visible
text to 4,096 characters (:mod:`tocsin_telegram.markup`). The Message holds the text and the sending
flags, never the token or the chat: ``deliver`` POSTs ``{chat_id, message_thread_id, text, parse_mode:
"HTML", …}`` to ``<api_url>/bot<token>/sendMessage``; the URL is a Secret, so the token never reaches a
log or an error.

Telegram answers ``{"ok": true, "result": {...}}``, or ``{"ok": false, "error_code", "description",
"parameters"}``: the description becomes the receipt's reason (with a hint on what to change), a 429's
``parameters.retry_after`` is the wait before the retry, and a group upgraded to a supergroup names
the new ``chat_id`` (``parameters.migrate_to_chat_id``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tocsin import (
    Channel,
    Event,
    Limit,
    LocalServers,
    Message,
    PermanentError,
    Response,
    RetryableError,
    Secret,
    Target,
    TemplateError,
    Templates,
    Transport,
    hookimpl,
    safe_url,
    truncate_middle,
)

from .markup import MESSAGE_LIMIT, fit_html, visible_text
from .options import TelegramOptions

__all__ = ["CHANNEL", "TelegramOptions", "describe_error", "fit_html"]

CHANNEL = "telegram"
#: The error is shown in a <pre> block of at most this many characters: its start and its end.
ERROR_LIMIT = 1500
_HINTS = {
    401: "check the bot_token option",
    404: "check the bot_token option (the Bot API answers 404 for an unknown token)",
    403: "the bot cannot post there: add it to the chat (as an admin, for a channel), or unblock it",
}


@hookimpl
def tocsin_channels() -> list[Channel]:
    return [
        Channel(
            CHANNEL,
            TelegramOptions,
            templates=Path(__file__).parent / "templates",
            description="Telegram messages from a bot (Bot API sendMessage), in HTML.",
            filters={"telegram_url": safe_url},
            test_options=options_for_tests,
            # Telegram counts 4,096 characters of visible text after entity parsing (fit_html keeps that);
            # what that text can cost on the wire, escaped and tagged, stays under this bound.
            limits=(Limit("wire", 65_536, "bytes"),),
        )
    ]


def options_for_tests(servers: LocalServers) -> dict[str, Any]:
    """A target posting to ``servers`` (the core's cross-channel suites): the secret is the bot token."""
    return {"api_url": servers.http_url, "bot_token": f"123456789:{servers.secret}{'A' * 20}", "chat_id": -100123}


@hookimpl(trylast=True)
def format_message(event: Event, target: Target, templates: Templates) -> Message | None:
    """The sendMessage parameters for ``event``, without the chat and the token (``deliver`` adds them)."""
    options: TelegramOptions = target.options
    error = event.data.get("error")
    extra = {"error": truncate_middle(error, ERROR_LIMIT, utf16=True) if error not in (None, "") else None}
    text = fit_html(str(templates.render_html(event, target, extra=extra)).strip(), MESSAGE_LIMIT)
    if not visible_text(text).strip():
        raise TemplateError(f"telegram template for {event.type!r} rendered no text (target {target.name!r})")
    body: dict[str, Any] = {
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": not options.link_preview},
        "disable_notification": options.silent(str(event.severity)),
    }
    return Message.for_event(event, target, body=body)


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


@hookimpl(trylast=True)
async def deliver(message: Message, target: Target, transport: Transport) -> Response:
    """Send the message to the target's chat; honour a 429's ``parameters.retry_after``."""
    options: TelegramOptions = target.options
    url = Secret(f"{options.api_url.rstrip('/')}/bot{options.bot_token.reveal()}/sendMessage")
    body: dict[str, Any] = {"chat_id": options.chat_id}
    if options.message_thread_id is not None:
        body["message_thread_id"] = options.message_thread_id
    body.update(message.body)
    waits: list[float] = []

    def describe(response: Response) -> str | None:
        wait = retry_after(response)
        if wait is not None:
            waits.append(wait)
        return describe_error(response)

    try:
        return await transport.post_json(url, body, describe_error=describe, check=check)
    except RetryableError as exc:
        if exc.retry_after is None and waits:
            raise RetryableError(str(exc), status_code=exc.status_code, retry_after=waits[-1]) from None
        raise
