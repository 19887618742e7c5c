"""tocsin's ``webhook`` channel: a signed JSON document (``tocsin.event/v1``) POSTed or PUT to a URL.

The body is rendered from ``webhook/default.json.j2`` (overridable by file name, or replaced with the
``template`` option), serialized once per attempt to compact UTF-8 JSON, and signed over exactly those
bytes following Standard Webhooks: ``webhook-id`` is the event id (the same on every retry),
``webhook-timestamp`` is fresh on each attempt, ``webhook-signature`` is ``v1,<base64 HMAC-SHA256>``.
Receivers written in Python check a request with :func:`verify`.

Attachments: the body gets an ``attachments`` list (name, content type, size, sha256, and why a file was
left out) when the event has files; with ``attachments = "inline"`` each file's bytes are added as
``content_base64`` at delivery (never stored in the Message), inside the signed bytes.
"""

from __future__ import annotations

import base64
import json
import time
from functools import partial
from pathlib import Path
from typing import Any

import tocsin
from tocsin import Channel, Limit, LocalServers, Message, PermanentError, TemplateError, encode_json, fit_json, hookimpl
from tocsin.transport import Response, reason_from_body

from . import urls
from .options import INLINE_MAX_BYTES, RESERVED_HEADERS, WebhookOptions
from .signing import (
    DEFAULT_TOLERANCE,
    SECRET_PREFIX,
    WebhookVerificationError,
    check_message_id,
    generate_secret,
    secret_key,
    sign,
    verify,
)

__all__ = [
    "CHANNEL",
    "DEFAULT_TOLERANCE",
    "RESERVED_HEADERS",
    "SCHEMA",
    "SECRET_PREFIX",
    "WebhookOptions",
    "WebhookVerificationError",
    "encode_body",
    "generate_secret",
    "json_schema",
    "options_for_tests",
    "secret_key",
    "sign",
    "verify",
]

CHANNEL = "webhook"
#: The name and version of the default body's schema, in its ``"schema"`` field.
SCHEMA = "tocsin.event/v1"
_HERE = Path(__file__).parent
_SCHEMA_FILE = _HERE / "schema" / "tocsin.event.v1.json"


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the default body, ``tocsin.event/v1``."""
    return json.loads(_SCHEMA_FILE.read_text(encoding="utf-8"))


def encode_body(body: Any) -> bytes:
    """The bytes sent and signed: compact JSON, UTF-8 (ASCII escapes if the data holds lone surrogates)."""
    return encode_json(body)


@hookimpl
def tocsin_channels() -> list[Channel]:
    """The ``webhook`` channel."""
    return [
        Channel(
            CHANNEL,
            WebhookOptions,
            templates=_HERE / "templates",
            description="Signed JSON webhooks (Standard Webhooks): the tocsin.event/v1 document, POST or PUT.",
            test_options=options_for_tests,
            max_attachment_bytes=INLINE_MAX_BYTES,  # inline only: the target's options decide (see WebhookOptions)
            max_attachments_total_bytes=4 * INLINE_MAX_BYTES,
            schemes=urls.SCHEMES,
            from_url=urls.from_url,
            limits=(Limit("wire", 262_144, unit="bytes"),),  # max_bytes' default
        )
    ]


def options_for_tests(servers: LocalServers) -> dict[str, Any]:
    """A target posting to ``servers`` (the core's cross-channel suites), the secret in every secret option."""
    secret = servers.secret
    basic = base64.b64encode(f"tocsin:{secret}".encode()).decode("ascii")
    return {
        "url": f"{servers.http_url}/hooks/{secret}?token={secret}",
        "secret": secret,
        "headers": {"Authorization": f"Bearer {secret}", "Proxy-Authorization": f"Basic {basic}", "X-Api-Key": secret},
    }


def _template_name(templates: Any, target: Any, name: str) -> str:
    """The template the ``template`` option names: as given, else under ``webhook/``."""
    candidates = [name] if "/" in name else [name, f"{CHANNEL}/{name}"]
    for candidate in candidates:
        if templates.exists(target, candidate, "json"):
            return candidate
    raise TemplateError(
        f"template {name!r} (option template of target {target.name!r}) not found: looked for "
        f"{' and '.join(candidates)} in notifications.template_dirs, the target's template_dir "
        "and the packaged templates"
    )


@hookimpl(trylast=True)
def format_message(event: Any, target: Any, templates: Any) -> Message | None:
    """Render the body (``tocsin.event/v1`` unless overridden) for a ``webhook`` target."""
    try:
        check_message_id(event.id)
    except ValueError as exc:
        raise TemplateError(f"{exc} (target {target.name!r})") from None
    extra = {"schema": SCHEMA, "tocsin_version": tocsin.__version__}
    name = target.options.template
    if name:
        body = templates.render_json(event, target, name=_template_name(templates, target, name), extra=extra)
    else:
        body = templates.render_json(event, target, extra=extra)
    body = bounded(body, target.options.max_bytes)
    return Message.for_event(
        event, target, body=body, headers={"content-type": "application/json", "webhook-id": event.id}
    )


def bounded(body: Any, max_bytes: int) -> Any:
    """``body`` within ``max_bytes`` of compact JSON: cut by :func:`tocsin.fit_json`; an object that was cut
    gets ``"truncated": true``, so a receiver can tell."""
    room = max_bytes - len(',"truncated":true') if isinstance(body, dict) else max_bytes
    fitted, cut = fit_json(body, room)
    if cut and isinstance(fitted, dict):
        fitted["truncated"] = True
    return fitted


def _describe_error(size: int, response: Response) -> str | None:
    """Plainer words for the answers a webhook receiver gives that need the user to act."""
    status = response.status_code
    if 300 <= status < 400:
        return "redirect not followed: point the target's url at the final address"
    if status == 410:
        reason = reason_from_body(response)
        return f"gone: the receiver no longer accepts these webhooks; remove or fix the target ({reason})"
    if status == 413:
        return f"payload too large for the receiver ({size} bytes): {reason_from_body(response)}"
    if status in (401, 403):
        reason = reason_from_body(response)
        return f"the receiver refused the request (check the target's headers and secret): {reason}"
    return None


def _with_attachments(message: Message, options: WebhookOptions) -> Any:
    """The body plus its ``attachments`` list (bytes as base64 when inline); a non-object body as it is."""
    if not message.attachments or not isinstance(message.body, dict):
        return message.body
    files = []
    for ref in message.attachments:
        entry: dict[str, Any] = {"name": ref.name, "content_type": ref.content_type, "size": ref.size}
        entry["sha256"] = ref.sha256
        if ref.omitted:
            entry["omitted"] = ref.omitted
        elif options.attachments == "inline":
            entry["content_base64"] = base64.b64encode(ref.read_bytes()).decode("ascii")
        files.append(entry)
    return {**message.body, "attachments": files}


@hookimpl(trylast=True)
def deliver(message: Message, target: Any, transport: Any) -> Any:
    """Send one attempt: serialize, sign those exact bytes with a fresh timestamp, POST or PUT."""
    options: WebhookOptions = target.options
    try:
        msg_id = check_message_id(message.event_id)
    except ValueError as exc:
        raise PermanentError(str(exc)) from None
    content = encode_body(_with_attachments(message, options))
    replaced = {name.lower() for name in options.headers} | set(RESERVED_HEADERS)
    headers: dict[str, Any] = {k: v for k, v in message.headers.items() if k.lower() not in replaced}
    headers.update(options.headers)  # Secret values: the transport reveals them on the wire only
    timestamp = str(int(time.time()))
    headers["webhook-id"] = msg_id
    headers["webhook-timestamp"] = timestamp
    if options.secret is not None:
        headers["webhook-signature"] = sign(msg_id, timestamp, content, options.secret.reveal())
    return transport.post_json(
        options.url,
        None,
        method=options.method,
        headers=headers,
        content=content,
        describe_error=partial(_describe_error, len(content)),
    )
