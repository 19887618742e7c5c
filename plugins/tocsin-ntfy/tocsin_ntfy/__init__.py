"""tocsin-ntfy: push notifications to phones and desktops through ntfy (ntfy.sh or a self-hosted server).

Written only against tocsin's public API (``tocsin`` and ``tocsin.testing``), as any third party would.

Two ways to publish (https://docs.ntfy.sh/publish/), picked by the ``form`` option:

* ``headers`` (default): ``POST <url>/<topic>`` with the text as the body and ``X-Title``, ``X-Priority``,
  ``X-Tags``, ``X-Click`` headers (the canonical names of ntfy's ``Title``, ``Priority``, ``Tags`` and
  ``Click``; ``X-Priority`` cannot be mistaken for the RFC 9218 ``Priority`` header proxies add);
* ``json``: ``POST <url>/`` with ``{"topic", "title", "message", "priority", "tags", "click"}``.

Attachments (https://docs.ntfy.sh/publish/#attach-local-file): ntfy carries one file per notification, sent
as the body of ``PUT <url>/<topic>`` with ``X-Filename``; the text then travels in the ``X-Message`` header
(line breaks as ``\n``, which ntfy turns back into new lines), the title, priority, tags and click URL in
theirs, whichever ``form`` is set. ntfy.sh takes files up to 15 MB; a self-hosted server's
``attachment-file-size-limit`` may differ: set ``max_attachment_bytes``. Further files are listed, left out.

The title, text and click URL come from the templates ``ntfy/<event>.title.j2``, ``.txt.j2`` and
``.click.j2`` (then ``ntfy/default.*``), so a deployment can override any of them by file name.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import attrs

from tocsin import (
    Channel,
    Delivered,
    Event,
    Limit,
    LocalServers,
    Message,
    PermanentError,
    Response,
    Secret,
    Target,
    Templates,
    Transport,
    hookimpl,
)

from . import urls, wire

__all__ = ["DEFAULT_PRIORITIES", "SEVERITY_TAGS", "NtfyOptions", "options_for_tests"]

CHANNEL = "ntfy"
#: ntfy priorities by severity: 5 max/urgent, 4 high, 3 default, 2 low, 1 min.
DEFAULT_PRIORITIES = {"failure": 5, "warning": 4, "success": 3, "info": 2}
#: The first tag of each message: an emoji short code ntfy shows before the title.
SEVERITY_TAGS = {"failure": "x", "warning": "warning", "success": "white_check_mark", "info": "information_source"}
#: ntfy.sh's attachment-file-size-limit (15M), and the self-hosted default.
MAX_ATTACHMENT = 15 * 1024 * 1024
_TOPIC = re.compile(r"^[-_A-Za-z0-9]{1,64}$")


@attrs.frozen
class NtfyOptions:
    """Options of the ``ntfy`` channel."""

    topic: Secret = attrs.field(
        metadata={
            "doc": "The topic to publish to: 1-64 letters, digits, - or _. Secret: on a public server the "
            "topic name is the password."
        }
    )
    url: str = attrs.field(
        default="https://ntfy.sh", metadata={"doc": "The ntfy server's base URL (https://ntfy.sh or your own)."}
    )
    token: Secret | None = attrs.field(
        default=None, metadata={"doc": "Access token (tk_...) for protected topics, sent as Authorization: Bearer."}
    )
    form: Literal["headers", "json"] = attrs.field(
        default="headers",
        metadata={"doc": "headers: POST <url>/<topic> with X-Title/X-Priority/X-Tags headers; json: POST <url>/."},
    )
    priorities: dict[str, int] = attrs.field(
        factory=dict,
        metadata={"doc": "Priority (1-5) by severity, over the defaults failure=5 warning=4 success=3 info=2."},
    )
    tags: tuple[str, ...] = attrs.field(
        default=(), converter=tuple, metadata={"doc": "Extra tags on every message (emoji short codes or words)."}
    )
    max_attachment_bytes: int = attrs.field(
        default=MAX_ATTACHMENT,
        validator=attrs.validators.ge(0),
        metadata={"doc": "Largest file attached (one per message): 15 MiB, ntfy.sh's; match your server's limit."},
    )

    def __attrs_post_init__(self) -> None:
        if not self.url.startswith(("https://", "http://")):
            raise ValueError("url: must start with https:// or http:// (the server, like https://ntfy.sh)")
        if not _TOPIC.match(self.topic.reveal()):
            raise ValueError("topic: must be 1-64 letters, digits, '-' or '_' (ntfy's topic names)")
        for severity, priority in self.priorities.items():
            if severity not in DEFAULT_PRIORITIES:
                raise ValueError(f"priorities: unknown severity {severity!r} (use {', '.join(DEFAULT_PRIORITIES)})")
            if not 1 <= priority <= 5:
                raise ValueError(f"priorities: {severity} must be 1 (min) to 5 (max), not {priority}")
        for tag in self.tags:
            if not tag or "," in tag or wire.one_line(tag) != tag:
                raise ValueError(f"tags: {tag!r} is not a tag (no commas, spaces at the ends or control characters)")


@hookimpl
def tocsin_channels() -> list[Channel]:
    return [
        Channel(
            CHANNEL,
            NtfyOptions,
            templates=Path(__file__).parent / "templates",
            description="Push notifications to phones and desktops through ntfy (ntfy.sh or self-hosted).",
            test_options=options_for_tests,
            max_attachment_bytes=MAX_ATTACHMENT,
            max_attachments=1,
            schemes=urls.SCHEMES,
            from_url=urls.from_url,
            limits=(
                Limit("text", wire.MESSAGE_LIMIT, "bytes"),
                Limit("headers.X-Title", wire.TITLE_LIMIT, "bytes", one_line=True),
                Limit("headers.X-Tags", wire.TAGS_LIMIT, "bytes", one_line=True),
                Limit("body.message", wire.MESSAGE_LIMIT, "bytes"),
                Limit("body.title", wire.TITLE_LIMIT, "bytes", one_line=True),
            ),
            rate_limit="60/5m",  # ntfy.sh: a burst of 60 requests, then one every 5 seconds
        )
    ]


def options_for_tests(servers: LocalServers) -> list[dict[str, Any]]:
    """Targets publishing to ``servers`` in both forms (the core's cross-channel suites)."""
    options = {"url": servers.http_url, "topic": servers.secret, "token": f"tk_{servers.secret}"}
    return [options, {**options, "form": "json"}]


@hookimpl(trylast=True)
def format_message(event: Event, target: Target, templates: Templates) -> Message | None:
    """The title, text, priority, tags and click URL of one ntfy notification, within ntfy's limits."""
    options: NtfyOptions = target.options
    severity = str(event.severity)
    title = wire.truncate_bytes(wire.one_line(templates.render_text(event, target, "title")), wire.TITLE_LIMIT)
    text = wire.truncate_bytes(templates.render_text(event, target, "txt").strip(), wire.MESSAGE_LIMIT)
    click = wire.one_line(templates.render_text(event, target, "click"))
    priority = {**DEFAULT_PRIORITIES, **options.priorities}[severity]
    tags = wire.fit_tags([SEVERITY_TAGS[severity], event.type, *options.tags])
    has_click = click.startswith(("https://", "http://"))
    if options.form == "json":
        body: dict[str, Any] = {"title": title, "message": text or title, "priority": priority, "tags": tags}
        if has_click:
            body["click"] = click
        return Message.for_event(event, target, body=body)
    headers = {"X-Title": title, "X-Priority": str(priority), "X-Tags": ",".join(tags)}
    if has_click:
        headers["X-Click"] = click
    return Message.for_event(event, target, text=text or title, headers=headers)


async def _upload(message: Message, ref: Any, target: Target, headers: dict[str, Any], transport: Transport) -> Any:
    """PUT the file as the body, the notification's text and attributes in headers. A server that refuses
    the file as too large (413: its limit is below ``max_attachment_bytes``) gets the message without it."""
    options: NtfyOptions = target.options
    plain_headers = dict(headers)
    if message.body is not None:  # form = "json": the same attributes, as headers
        body = message.body
        fields = {"X-Title": body.get("title"), "X-Priority": body.get("priority"), "X-Click": body.get("click")}
        fields["X-Tags"] = ",".join(body.get("tags") or [])
        text = str(body.get("message") or "")
    else:
        fields = dict(message.headers)
        text = message.text or ""
    headers.update({k: wire.header_value(str(v)) for k, v in fields.items() if v not in (None, "")})
    headers["X-Message"] = wire.header_value(text.replace("\r\n", "\n").replace("\n", "\\n"))
    headers["X-Filename"] = wire.header_value(ref.name)
    url = Secret(f"{options.url.rstrip('/')}/{options.topic.reveal()}")
    try:
        return await transport.put_bytes(
            url, ref.read_bytes(), content_type=ref.content_type, headers=headers, describe_error=describe_error
        )
    except PermanentError as exc:
        if exc.status_code != 413:
            raise
        response = await _publish(message, options, plain_headers, transport)
        warning = f"attachment {ref.name!r} left out: the ntfy server refused it as too large ({exc})"
        return Delivered(response.status_code, [warning])


_HINTS = {
    401: "check the token option",
    403: "the token may not publish to this topic",
    404: "check the url option: the ntfy server's base URL, without the topic",
    413: "the message is larger than the server accepts",
}


def describe_error(response: Response) -> str | None:
    """ntfy's own words for an error answer (``{"code": 40101, "http": 401, "error": "unauthorized"}``)."""
    body = response.json()
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return None
    reason = body["error"]
    if isinstance(body.get("code"), int):
        reason = f"{reason} (ntfy error {body['code']})"
    hint = _HINTS.get(response.status_code)
    return f"{reason} — {hint}" if hint else reason


@hookimpl(trylast=True)
def deliver(message: Message, target: Target, transport: Transport) -> Any:
    """Publish to the topic: JSON to the server root, or the text with headers to ``<url>/<topic>``."""
    options: NtfyOptions = target.options
    headers: dict[str, str | Secret] = {}
    if options.token:
        headers["Authorization"] = Secret(f"Bearer {options.token.reveal()}")
    files = [ref for ref in message.attachments if ref.sent]
    if files:
        return _upload(message, files[0], target, headers, transport)
    return _publish(message, options, headers, transport)


def _publish(message: Message, options: NtfyOptions, headers: dict[str, Any], transport: Transport) -> Any:
    base = options.url.rstrip("/")
    if message.body is not None:
        body = {"topic": options.topic.reveal(), **message.body}
        return transport.post_json(f"{base}/", body, headers=headers, describe_error=describe_error)
    headers.update({name: wire.header_value(value) for name, value in message.headers.items()})
    headers["Content-Type"] = "text/plain; charset=utf-8"
    return transport.post_json(
        Secret(f"{base}/{options.topic.reveal()}"),
        None,
        content=(message.text or "").encode("utf-8", "replace"),
        headers=headers,
        describe_error=describe_error,
    )
