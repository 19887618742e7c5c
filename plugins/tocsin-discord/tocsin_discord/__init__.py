"""The ``discord`` channel for tocsin: events posted to a Discord channel webhook as embeds.

``format_message`` renders ``discord/<event type>.json.j2`` (else ``discord/default.json.j2``), then, in
Python, whatever the template produced: breaks ``@everyone``/``@here``, applies the ``content`` and
``mention`` options, enforces every Discord limit (:mod:`tocsin_discord.limits`) and sets
``allowed_mentions`` so that nobody but the configured ``mention`` can be pinged. ``deliver`` posts it
with ``?wait=true`` (see :func:`deliver`) and turns Discord's error answers into readable reasons.

Attachments go up with the message in one ``multipart/form-data`` request, as Discord's "Uploading Files"
documents: the JSON payload in the ``payload_json`` part (with an ``attachments`` array naming each file by
``id``) and each file in a ``files[n]`` part. Discord takes up to 10 files and, by default, 10 MiB in all
(the ``max_attachment_bytes`` option raises it for boosted servers); files beyond are left out with a note.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import Any

from tocsin import Channel, LocalServers, Message, Response, TemplateError, encode_json, hookimpl

from . import urls
from .limits import CHANNEL_LIMITS, LIMITS, enforce, neutralize
from .options import DiscordOptions, Mention
from .text import clip, code_block, escape_markdown

__all__ = [
    "CHANNEL",
    "DiscordOptions",
    "allowed_mentions",
    "deliver",
    "describe_error",
    "format_message",
    "options_for_tests",
]

CHANNEL = "discord"
NOT_FOUND = "webhook not found or token invalid (was it deleted?)"
_ERROR_TEXT_LIMIT = 1500
#: Discord's upload limit for a server without boosts: 10 MiB for all files of one message.
MAX_UPLOAD = 10 * 1024 * 1024


@hookimpl
def tocsin_channels() -> list[Channel]:
    return [
        Channel(
            CHANNEL,
            DiscordOptions,
            templates=Path(__file__).parent / "templates",
            description="Post to a Discord channel through a webhook, as an embed.",
            filters={"discord_escape": escape_markdown, "discord_code": code_block},
            test_options=options_for_tests,
            max_attachment_bytes=MAX_UPLOAD,
            max_attachments=10,
            max_attachments_total_bytes=MAX_UPLOAD,
            schemes=urls.SCHEMES,
            from_url=urls.from_url,
            limits=CHANNEL_LIMITS,
            rate_limit="30/1m",  # Discord: 30 webhook messages a minute per channel
        )
    ]


def options_for_tests(servers: LocalServers) -> dict[str, Any]:
    """A target posting to ``servers`` (for the core's cross-channel suites): the secret is the token."""
    return {"url": f"{servers.http_url}/api/webhooks/123456789012345678/{servers.secret}"}


def allowed_mentions(mention: Mention | None) -> dict[str, Any]:
    """The ``allowed_mentions`` object: nothing parsed from the text, only ``mention`` (if any) pinged."""
    allowed: dict[str, Any] = {"parse": []}
    if mention is not None:
        allowed[mention.kind] = [mention.id]
    return allowed


@hookimpl(trylast=True)
def format_message(event: Any, target: Any, templates: Any) -> Message | None:
    """The webhook payload for ``event``: the rendered template, made safe and kept within limits."""
    options: DiscordOptions = target.options
    rendered = templates.render_json(event, target)
    if not isinstance(rendered, Mapping):
        raise TemplateError(
            f"discord template for {event.type!r} must render a JSON object, got {type(rendered).__name__} "
            f"(target {target.name!r})"
        )
    body = neutralize(dict(rendered))
    if not options.content:
        body.pop("content", None)
    if options.username:
        body["username"] = options.username.strip()
    if options.avatar_url:
        body["avatar_url"] = options.avatar_url
    try:
        body = enforce(body)
    except ValueError as exc:
        raise TemplateError(f"discord template for {event.type!r}: {exc} (target {target.name!r})") from None
    mention = options.mention if options.mention and str(event.severity) in options.mention_when else None
    if mention is not None:
        text = body.get("content")
        room = LIMITS["content"] - len(mention.tag) - 1
        body["content"] = f"{mention.tag} {clip(text, room)}" if text else mention.tag
    if not body.get("content") and not body.get("embeds"):
        raise TemplateError(
            f"discord template for {event.type!r} rendered neither content nor embeds (target {target.name!r})"
        )
    body["allowed_mentions"] = allowed_mentions(mention)
    return Message.for_event(event, target, body=body)


def describe_error(response: Response) -> str | None:
    """Discord's error answers in words: 401/404 say the webhook is gone, 400 keeps Discord's JSON."""
    detail = _discord_detail(response)
    if response.status_code in (401, 404):
        return f"{NOT_FOUND} [Discord: {detail}]" if detail else NOT_FOUND
    if response.status_code == 400:
        body = response.json()
        if body is not None:
            text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        else:
            text = " ".join(response.text.split()) or "Bad Request"
        return clip(text, _ERROR_TEXT_LIMIT)
    return None


def _discord_detail(response: Response) -> str:
    body = response.json()
    if not isinstance(body, Mapping):
        return ""
    message = body.get("message")
    code = body.get("code")
    parts = [str(message)[:200]] if message else []
    if code is not None:
        parts.append(f"code {code}")
    return ", ".join(parts)


@hookimpl(trylast=True)
def deliver(message: Message, target: Any, transport: Any) -> Awaitable[Response] | None:
    """POST the payload to the webhook URL with ``?wait=true`` (and ``thread_id`` when set).

    ``wait=true`` makes Discord answer only once the message is saved (200 with the message), and
    answer an error when it is not; without it Discord documents that "a message that is not saved
    does not return an error", so a delivery could be reported while nothing was posted.
    429 (``retry_after`` or ``Retry-After``), 5xx and network faults are retried by the core.
    """
    options: DiscordOptions = target.options
    params = {"wait": "true"}
    if options.thread_id:
        params["thread_id"] = options.thread_id
    files = [ref for ref in message.attachments if ref.sent]
    if not files:
        return transport.post_json(options.url, message.body, params=params, describe_error=describe_error)
    payload = {**message.body, "attachments": [{"id": i, "filename": ref.name} for i, ref in enumerate(files)]}
    parts = [(f"files[{i}]", ref.name, ref.read_bytes(), ref.content_type) for i, ref in enumerate(files)]
    fields = {"payload_json": encode_json(payload).decode("utf-8")}
    return transport.post_multipart(options.url, fields, parts, params=params, describe_error=describe_error)
