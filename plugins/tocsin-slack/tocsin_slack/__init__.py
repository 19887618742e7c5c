"""tocsin-slack: the ``slack`` (incoming webhook) and ``slack-api`` (Web API chat.postMessage) channels.

Both render the same Block Kit message from ``slack/<event type>.json.j2`` or ``slack/default.json.j2``
(header with a status mark, a section of fields, the error in a ``` block, a context line with the
instance and time, a button to the run, and a plain ``text`` fallback), then keep it within Slack's
limits (:mod:`tocsin_slack.limits`). A ``slack`` target with a ``token`` posts through the Web API too.

Attachments: through the Web API, after the alert, by Slack's external upload flow
(:mod:`tocsin_slack.files`), as a reply in the alert's thread unless ``files_in_thread = false``; an
incoming webhook cannot upload, so its message lists the files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tocsin import Channel, Limit, LocalServers, Message, Secret, TemplateError, hookimpl
from tocsin.presentation import STATUS_MARKS

from . import urls
from .answers import api_reason, check_api_answer, check_webhook_answer, webhook_reason
from .files import upload_files
from .limits import FALLBACK_TEXT, MAX_BLOCKS, SECTION_TEXT, enforce_limits
from .mrkdwn import FILTERS, escape
from .options import FILE_LIMIT, SlackApiOptions, SlackOptions, uses_web_api

__all__ = [
    "SlackApiOptions",
    "SlackOptions",
    "api_options_for_tests",
    "deliver",
    "format_message",
    "tocsin_channels",
    "webhook_options_for_tests",
]

CHANNELS = ("slack", "slack-api")
TEMPLATES = Path(__file__).parent / "templates"
#: Slack's limits the channels keep every message within (declared to the core, whose suite checks them).
CHANNEL_LIMITS = (
    Limit("body.text", FALLBACK_TEXT),
    Limit("body.blocks", MAX_BLOCKS, "items"),
    Limit("body.blocks[].text.text", SECTION_TEXT),
)
#: Both channels render the templates in the ``slack/`` folder.
TEMPLATE_PREFIX = "slack"
#: Files shared with one alert.
MAX_FILES = 10


@hookimpl
def tocsin_channels() -> list[Channel]:
    """The two Slack channels, sharing one template folder and the slack_* Jinja filters."""
    return [
        Channel(
            "slack",
            SlackOptions,
            templates=TEMPLATES,
            description="Slack incoming webhook (url), or the Web API with token + channel_id; Block Kit messages.",
            filters=dict(FILTERS),
            test_options=lambda servers: [webhook_options_for_tests(servers), api_options_for_tests(servers)],
            max_attachment_bytes=FILE_LIMIT,  # with a token; a webhook target lists files (SlackOptions)
            max_attachments=MAX_FILES,
            schemes=urls.SCHEMES,
            from_url=urls.from_url,
            limits=CHANNEL_LIMITS,
            rate_limit="1/1s",  # Slack: about 1 message a second per webhook/channel
        ),
        Channel(
            "slack-api",
            SlackApiOptions,
            templates=TEMPLATES,
            description="Slack Web API chat.postMessage (token + channel_id); Block Kit messages.",
            filters=dict(FILTERS),
            test_options=api_options_for_tests,
            max_attachment_bytes=FILE_LIMIT,
            max_attachments=MAX_FILES,
            limits=CHANNEL_LIMITS,
            rate_limit="1/1s",  # Slack: about 1 message a second per webhook/channel
        ),
    ]


def webhook_options_for_tests(servers: LocalServers) -> dict[str, Any]:
    """An incoming-webhook target posting to ``servers`` (the core's cross-channel suites)."""
    return {"url": f"{servers.http_url}/services/T0000000/B0000000/{servers.secret}"}


def api_options_for_tests(servers: LocalServers) -> dict[str, Any]:
    """A Web API target posting to ``servers`` (the core's cross-channel suites)."""
    return {
        "token": f"xoxb-{servers.secret}",
        "channel_id": "C0123456789",
        "api_url": f"{servers.http_url}/api/chat.postMessage",
    }


@hookimpl(trylast=True)
def format_message(event: Any, target: Any, templates: Any) -> Message | None:
    """Render the Block Kit document, keep it within Slack's limits, add the destination fields."""
    body = templates.render_json(event, target, prefix=TEMPLATE_PREFIX)
    if not isinstance(body, dict):
        raise TemplateError(
            f"the slack template for {event.type} must render a JSON object (with text and blocks), "
            f"got {type(body).__name__} (target {target.name!r})"
        )
    fallback = escape(f"{STATUS_MARKS[event.severity]} {' '.join(str(event.title).split())}")
    enforce_limits(body, fallback)
    options = target.options
    if uses_web_api(options):
        body.setdefault("channel", options.channel_id)
    for key in ("username", "icon_emoji", "icon_url"):
        value = getattr(options, key, None)
        if value:
            body.setdefault(key, value)
    return Message.for_event(event, target, body=body)


async def _then_upload(posted: Any, files: list[Any], options: Any, transport: Any) -> Any:
    return await upload_files(await posted, files, options, transport)


@hookimpl(trylast=True)
def deliver(message: Message, target: Any, transport: Any) -> Any:
    """POST the message to the webhook URL, or to chat.postMessage with the bot token."""
    options = target.options
    if uses_web_api(options):
        posted = transport.post_json(
            options.api_url,
            message.body,
            headers={
                "authorization": Secret("Bearer " + options.token.reveal()),
                "content-type": "application/json; charset=utf-8",
            },
            describe_error=api_reason,
            check=check_api_answer,
        )
        files = [ref for ref in message.attachments if ref.sent]
        return _then_upload(posted, files, options, transport) if files else posted
    return transport.post_json(options.url, message.body, describe_error=webhook_reason, check=check_webhook_answer)
