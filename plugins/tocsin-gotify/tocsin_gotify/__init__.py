"""tocsin-gotify: tocsin events as Gotify push messages (https://gotify.net).

``format_message`` renders the message text from ``gotify/<event type>.txt.j2`` (or ``.md.j2`` with
``markdown = true``), then the document from ``gotify/<event type>.json.j2`` (``title``, ``message``,
``extras``; each falling back to ``gotify/default.*``), keeps it within the limits
(:data:`TITLE_LIMIT`, :data:`MESSAGE_LIMIT`) and sets the priority by severity. ``deliver`` POSTs it to
``<url>/message`` with the token in ``X-Gotify-Key`` and turns Gotify's error answers into readable
reasons (:mod:`tocsin_gotify.answers`).

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
    TemplateError,
    escape_markdown,
    hookimpl,
    markdown_code,
    safe_url,
    truncate,
    truncate_middle,
)

from . import urls
from .answers import check_answer, describe_error
from .options import DEFAULT_PRIORITIES, GotifyOptions

__all__ = ["MESSAGE_LIMIT", "TITLE_LIMIT", "GotifyOptions", "deliver", "describe_error", "format_message"]

CHANNEL = "gotify"
#: Gotify stores any length, but Android notifications keep at most 5,120 characters (NotificationCompat's
#: MAX_CHARSEQUENCE_LENGTH): the message stays within 5,000 so a phone shows all of it.
MESSAGE_LIMIT = 5_000
#: A title is one line on a phone; 250 characters is already more than it shows.
TITLE_LIMIT = 250
FENCE = "```"


@hookimpl
def tocsin_channels() -> list[Channel]:
    """The ``gotify`` channel, its packaged templates and the gotify_* filters (for the Markdown text)."""
    return [
        Channel(
            CHANNEL,
            GotifyOptions,
            templates=Path(__file__).parent / "templates",
            description="Push messages to a (self-hosted) Gotify server, priority by severity.",
            filters={"gotify_escape": escape_markdown, "gotify_code": markdown_code, "gotify_middle": truncate_middle},
            limits=(Limit("body.title", TITLE_LIMIT, one_line=True), Limit("body.message", MESSAGE_LIMIT)),
            test_options=options_for_tests,
            schemes=urls.SCHEMES,
            from_url=urls.from_url,
        )
    ]


def options_for_tests(servers: LocalServers) -> list[dict[str, Any]]:
    """Targets sending to ``servers`` (the core's cross-channel suites), in plain text and in Markdown."""
    options = {"url": servers.http_url, "token": servers.secret}
    return [options, {**options, "markdown": True}]


def _fit_message(text: str) -> str:
    """The message within :data:`MESSAGE_LIMIT`, ending in ``…`` when cut; a code block the cut left open
    is closed again."""
    cut = truncate(text, MESSAGE_LIMIT)
    if cut != text and cut.count(FENCE) % 2 == 1:
        cut = truncate(text, MESSAGE_LIMIT - len(FENCE) - 1) + "\n" + FENCE
    return cut


def _fit_click(body: dict[str, Any]) -> None:
    """The click URL percent-encoded where it must be (``<``, spaces), or dropped when it is no http(s) URL:
    a phone opens whatever it is given."""
    extras = body.get("extras")
    notification = extras.get("client::notification") if isinstance(extras, dict) else None
    click = notification.get("click") if isinstance(notification, dict) else None
    if isinstance(click, dict) and "url" in click:
        url = safe_url(click["url"])
        if url is None:
            del click["url"]
        else:
            click["url"] = url


@hookimpl(trylast=True)
def format_message(event: Any, target: Any, templates: Any) -> Message:
    """The Gotify message for ``event``: title, text, extras and priority, within the limits."""
    options: GotifyOptions = target.options
    text = templates.render_text(event, target, "md" if options.markdown else "txt").strip()
    body = templates.render_json(event, target, extra={"text": text, "markdown": options.markdown})
    if not isinstance(body, dict):
        raise TemplateError(
            f"gotify template for {event.type!r} must render a JSON object (title, message, extras), got "
            f"{type(body).__name__} (target {target.name!r})"
        )
    title = " ".join(str(body.get("title") or "").split())
    body["title"] = truncate(title, TITLE_LIMIT)
    body["message"] = _fit_message(str(body.get("message") or "").strip()) or body["title"] or event.type
    body["priority"] = {**DEFAULT_PRIORITIES, **options.priorities}[str(event.severity)]
    _fit_click(body)
    return Message.for_event(event, target, body=body)


@hookimpl(trylast=True)
def deliver(message: Message, target: Any, transport: Any) -> Any:
    """POST the message to ``<url>/message`` with the application token in ``X-Gotify-Key``."""
    options: GotifyOptions = target.options
    return transport.post_json(
        options.url.rstrip("/") + "/message",
        message.body,
        headers={"X-Gotify-Key": options.token},
        describe_error=describe_error,
        check=check_answer,
    )
