"""The ``telegram`` channel for tocsin: events posted by a bot through the Bot API's ``sendMessage``, files
attached to them by ``sendDocument`` (:mod:`tocsin_telegram.documents`).

``format_message`` renders ``telegram/<event type>.html.j2`` (else ``default.html.j2``) with autoescaping,
so event text shows literally, then makes the HTML safe for Telegram's parse mode and cuts its visible
text to 4,096 characters (:mod:`tocsin_telegram.markup`). The Message holds the text and the sending
flags, never the token or the chat: ``deliver`` POSTs ``{chat_id, message_thread_id, text, parse_mode:
"HTML", …}`` to ``<api_url>/bot<token>/sendMessage``; the URL is a Secret, so the token never reaches a
log or an error.

Telegram answers ``{"ok": true, "result": {...}}``, or ``{"ok": false, "error_code", "description",
"parameters"}``: the description becomes the receipt's reason (with a hint on what to change), a 429's
``parameters.retry_after`` is the wait before the retry, and a group upgraded to a supergroup names
the new ``chat_id`` (``parameters.migrate_to_chat_id``) (:mod:`tocsin_telegram.answers`).

Attachments: up to 10 files of up to 50 MiB each (the cloud Bot API's limit for bots; the
``max_attachment_bytes`` option raises it for a local Bot API server), sent after the alert; files
beyond are listed in the message, left out, and named in the receipt's warnings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tocsin import (
    Channel,
    Delivered,
    Event,
    Limit,
    LocalServers,
    Message,
    Response,
    Target,
    TemplateError,
    Templates,
    Transport,
    hookimpl,
    safe_url,
    truncate_middle,
)

from . import urls
from .answers import call_bot_api, describe_error
from .documents import send_documents
from .markup import MESSAGE_LIMIT, fit_html, visible_text
from .options import DOCUMENT_LIMIT, TelegramOptions

__all__ = ["CHANNEL", "TelegramOptions", "describe_error", "fit_html"]

CHANNEL = "telegram"
#: Files one alert carries at most (one sendDocument each; Telegram allows about 20 messages a minute
#: in a group, so a few files per alert keep it clear of flood control).
MAX_FILES = 10
#: The error is shown in a <pre> block of at most this many characters: its start and its end.
ERROR_LIMIT = 1500


@hookimpl
def tocsin_channels() -> list[Channel]:
    return [
        Channel(
            CHANNEL,
            TelegramOptions,
            templates=Path(__file__).parent / "templates",
            description="Telegram messages from a bot (Bot API sendMessage), in HTML; files by sendDocument.",
            filters={"telegram_url": safe_url},
            test_options=options_for_tests,
            # Telegram counts 4,096 characters of visible text after entity parsing (fit_html keeps that);
            # what that text can cost on the wire, escaped and tagged, stays under this bound.
            limits=(Limit("wire", 65_536, "bytes"),),
            max_attachment_bytes=DOCUMENT_LIMIT,
            max_attachments=MAX_FILES,
            schemes=urls.SCHEMES,
            from_url=urls.from_url,
            rate_limit="20/1m",  # Telegram: 20 messages a minute in one group (1 a second in a private chat)
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


@hookimpl(trylast=True)
async def deliver(message: Message, target: Target, transport: Transport) -> Response | Delivered:
    """Send the message to the target's chat (a 429's ``parameters.retry_after`` honoured), then its files."""
    options: TelegramOptions = target.options
    body: dict[str, Any] = {"chat_id": options.chat_id}
    if options.message_thread_id is not None:
        body["message_thread_id"] = options.message_thread_id
    body.update(message.body)
    posted = await call_bot_api(transport.post_json, options.method_url("sendMessage"), body)
    files = [ref for ref in message.attachments if ref.sent]
    if not files:
        return posted
    return await send_documents(posted, files, options, str(message.body.get("text", "")), transport)
