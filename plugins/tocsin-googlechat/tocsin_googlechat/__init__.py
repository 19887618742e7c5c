"""tocsin-googlechat: tocsin events posted to a Google Chat space through its webhook, as a card.

``format_message`` renders ``googlechat/<event type>.json.j2`` (else ``googlechat/default.json.j2``): a
``cardsV2`` card with a header (status mark, title; severity, type and instance), the description, the
event's fields as ``decoratedText`` widgets, the error, and a button to the run, plus a one-line
``text`` fallback for notifications. Event text goes through the ``googlechat_*`` filters
(:mod:`tocsin_googlechat.markup`), the message is kept within Google Chat's 32,000 bytes
(:mod:`tocsin_googlechat.card`), and ``thread_key`` adds ``thread.threadKey``. ``deliver`` POSTs it to the
webhook URL (with ``messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD`` when it has a thread) and
keeps Google's error message and status (:mod:`tocsin_googlechat.answers`).

Written only against tocsin's public API, as any third party would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tocsin import (
    Channel,
    Limit,
    LocalServers,
    Message,
    Secret,
    TemplateError,
    hookimpl,
)

from . import urls
from .answers import describe_error
from .card import MESSAGE_BYTES, TEXT_LIMIT, enforce
from .markup import FILTERS, text
from .options import GoogleChatOptions, thread_key_for

__all__ = [
    "CHANNEL",
    "REPLY_OPTION",
    "GoogleChatOptions",
    "deliver",
    "describe_error",
    "format_message",
]

CHANNEL = "googlechat"
#: Reply in the thread named by thread.threadKey, or start it when it does not exist yet.
REPLY_OPTION = "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"


@hookimpl
def tocsin_channels() -> list[Channel]:
    """The ``googlechat`` channel, its packaged templates and the googlechat_* filters."""
    return [
        Channel(
            CHANNEL,
            GoogleChatOptions,
            templates=Path(__file__).parent / "templates",
            description="Post to a Google Chat space through its webhook, as a card with a text fallback.",
            filters=dict(FILTERS),
            limits=(
                Limit("wire", MESSAGE_BYTES, unit="bytes"),
                Limit("body.text", TEXT_LIMIT, one_line=True),
            ),
            test_options=options_for_tests,
            schemes=urls.SCHEMES,
            from_url=urls.from_url,
            rate_limit="60/1m",  # Google Chat: 60 writes a minute per space, incoming webhooks included
        )
    ]


def options_for_tests(servers: LocalServers) -> dict[str, Any]:
    """A target posting to ``servers`` (the core's cross-channel suites): the secret is the key and the token."""
    query = f"key={servers.secret}&token={servers.secret}"
    return {
        "url": f"{servers.http_url}/v1/spaces/AAAAtocsin/messages?{query}",
        "thread_key": "{run_name}",
    }


@hookimpl(trylast=True)
def format_message(event: Any, target: Any, templates: Any) -> Message:
    """The webhook message for ``event``: the rendered card, within limits, in its thread."""
    options: GoogleChatOptions = target.options
    body = templates.render_json(event, target)
    if not isinstance(body, dict):
        raise TemplateError(
            f"googlechat template for {event.type!r} must render a JSON object (text, cardsV2), got "
            f"{type(body).__name__} (target {target.name!r})"
        )
    if options.thread_key:
        key = thread_key_for(options.thread_key, event)
        if key:
            body["thread"] = {"threadKey": key}
    enforce(body, text(f"{event.title}") or event.type)
    return Message.for_event(event, target, body=body)


def _reply_url(url: Secret) -> Secret:
    """The webhook URL with ``messageReplyOption`` added to its query (key and token kept)."""
    plain = url.reveal()
    separator = "&" if "?" in plain else "?"
    return Secret(f"{plain}{separator}messageReplyOption={REPLY_OPTION}")


@hookimpl(trylast=True)
def deliver(message: Message, target: Any, transport: Any) -> Any:
    """POST the message to the webhook URL; a message with a thread key asks to reply in that thread."""
    options: GoogleChatOptions = target.options
    url = _reply_url(options.url) if isinstance(message.body, dict) and "thread" in message.body else options.url
    return transport.post_json(url, message.body, describe_error=describe_error)
