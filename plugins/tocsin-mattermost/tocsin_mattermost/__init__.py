"""tocsin-mattermost: tocsin events posted to Mattermost through an incoming webhook.

``format_message`` renders ``mattermost/<event type>.json.j2`` (else ``mattermost/default.json.j2``): a
one-line ``text`` with the status mark and the title, and one attachment with the severity colour, a
link to the run, the description and the error, the event's fields, and a footer. Event text goes
through the ``mattermost_escape`` / ``mattermost_code`` filters (:mod:`tocsin_mattermost.markdown`); the
post is then kept within Mattermost's limits (:mod:`tocsin_mattermost.limits`) and the ``channel_name``,
``username`` and ``icon_url`` options are added. ``deliver`` POSTs it to the webhook URL and turns
Mattermost's AppError answers into readable reasons (:mod:`tocsin_mattermost.answers`).

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
    PermanentError,
    Response,
    RetryableError,
    TemplateError,
    hookimpl,
)

from . import urls
from .answers import DISABLED_STATUS, describe_error
from .limits import LIMITS, POST_TEXT, enforce
from .markdown import FILTERS
from .options import MattermostOptions

__all__ = ["CHANNEL", "MattermostOptions", "deliver", "describe_error", "format_message", "tocsin_channels"]

CHANNEL = "mattermost"


@hookimpl
def tocsin_channels() -> list[Channel]:
    """The ``mattermost`` channel, its packaged templates and the mattermost_* filters."""
    return [
        Channel(
            CHANNEL,
            MattermostOptions,
            templates=Path(__file__).parent / "templates",
            description="Post to a Mattermost channel through an incoming webhook, with a coloured attachment.",
            filters=dict(FILTERS),
            test_options=options_for_tests,
            limits=(
                Limit("body.text", POST_TEXT),
                Limit("body.attachments", LIMITS["attachments"], "items"),
                *(
                    Limit(f"body.attachments[].{key}", LIMITS[key])
                    for key in ("text", "pretext", "title", "fallback", "footer")
                ),
                Limit("body.attachments[].fields", LIMITS["fields"], "items"),
                Limit("body.attachments[].fields[].title", LIMITS["field_title"]),
                Limit("body.attachments[].fields[].value", LIMITS["field_value"]),
            ),
            schemes=urls.SCHEMES,
            from_url=urls.from_url,
            rate_limit="10/1s",  # Mattermost's default server rate limit: 10 requests a second
        )
    ]


def options_for_tests(servers: LocalServers) -> dict[str, Any]:
    """A target posting to ``servers`` (the core's cross-channel suites): the secret is the hook key."""
    return {"url": f"{servers.http_url}/hooks/{servers.secret}"}


@hookimpl(trylast=True)
def format_message(event: Any, target: Any, templates: Any) -> Message:
    """The webhook document for ``event``: the rendered template, within limits, with the sender options."""
    options: MattermostOptions = target.options
    body = templates.render_json(event, target)
    if not isinstance(body, dict):
        raise TemplateError(
            f"mattermost template for {event.type!r} must render a JSON object (text, attachments), got "
            f"{type(body).__name__} (target {target.name!r})"
        )
    enforce(body)
    if not body.get("text") and not body.get("attachments"):
        raise TemplateError(
            f"mattermost template for {event.type!r} rendered neither text nor attachments (target {target.name!r})"
        )
    if options.channel_name:
        body["channel"] = options.channel_name
    if options.username:
        body["username"] = options.username.strip()
    if options.icon_url:
        body["icon_url"] = options.icon_url
    return Message.for_event(event, target, body=body)


@hookimpl(trylast=True)
async def deliver(message: Message, target: Any, transport: Any) -> Response:
    """POST the document to the webhook URL. 429, 5xx and network faults are retried by the core; 501
    (incoming webhooks disabled on the server) fails at once."""
    options: MattermostOptions = target.options
    try:
        return await transport.post_json(options.url, message.body, describe_error=describe_error)
    except RetryableError as exc:
        if exc.status_code == DISABLED_STATUS:
            raise PermanentError(str(exc), status_code=exc.status_code) from None
        raise
