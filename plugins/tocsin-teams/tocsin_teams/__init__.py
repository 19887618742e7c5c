"""The ``teams`` channel: Microsoft Teams cards posted to a Workflows (Power Automate) webhook.

The default card is an Adaptive Card 1.4 in the envelope Teams Workflows expects (``{"type": "message",
"attachments": [...]}``): a title coloured by severity, a FactSet of the job's fields, the error in a
monospace block, a button to the run and an instance/time footer. ``format = "messagecard"`` sends a
legacy Office 365 connector MessageCard instead, for old Incoming Webhook URLs.

Templates: ``teams/<event>.json.j2`` then ``teams/default.json.j2`` (Adaptive Card) and
``teams/messagecard/<event>.json.j2`` then ``teams/messagecard/default.json.j2`` (MessageCard).
Event text goes through the ``teams_escape`` filter so it cannot inject Markdown; the plugin keeps every
card under ``max_bytes`` (see :mod:`tocsin_teams.limits`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import attrs

from tocsin import Channel, Limit, LocalServers, Message, Secret, TemplateError, hookimpl

from . import urls
from .answers import check_answer, describe_error
from .escape import teams_escape, teams_plain
from .limits import DEFAULT_MAX_BYTES, card_context, fallback_payload, fit_payload, parse_mention, payload_problem

__all__ = ["TeamsOptions", "options_for_tests", "teams_escape", "teams_plain"]

CHANNEL = "teams"
SEVERITIES = ("success", "failure", "warning", "info")
HEADERS = {"content-type": "application/json; charset=utf-8"}


def _check_mention_when(_instance: Any, _attribute: Any, value: tuple[str, ...]) -> None:
    for severity in value:
        if severity not in SEVERITIES:
            raise ValueError(f"mention_when: {severity!r} is not a severity (use {', '.join(SEVERITIES)})")


@attrs.frozen
class TeamsOptions:
    """Options of the ``teams`` channel."""

    url: Secret = attrs.field(
        metadata={
            "doc": 'The webhook URL: a Teams Workflows URL ("Send webhook alerts to a channel"), or a legacy '
            'Incoming Webhook URL with format = "messagecard".'
        }
    )
    format: Literal["adaptive", "messagecard"] = attrs.field(
        default="adaptive",
        metadata={"doc": "adaptive: an Adaptive Card for Workflows; messagecard: a legacy Office 365 connector card."},
    )
    mentions: tuple[str, ...] = attrs.field(
        default=(),
        converter=tuple,
        metadata={
            "doc": "People to @mention (adaptive only): 'Ann Lee <ann@contoso.com>' or a bare UPN or Entra object id."
        },
    )
    mention_when: tuple[str, ...] = attrs.field(
        default=("failure",),
        converter=tuple,
        validator=_check_mention_when,
        metadata={"doc": "Severities whose messages carry the mentions."},
    )
    full_width: bool = attrs.field(default=True, metadata={"doc": "Use the channel's full width (adaptive only)."})
    max_bytes: int = attrs.field(
        default=DEFAULT_MAX_BYTES,
        metadata={"doc": "Largest request body sent; longer text is cut with '…' (Teams rejects ~28 KB)."},
    )

    def __attrs_post_init__(self) -> None:
        if not self.url.reveal().startswith(("https://", "http://")):
            raise ValueError("url: must be an http:// or https:// URL (paste the webhook URL Teams gave you)")
        for index, spec in enumerate(self.mentions):
            try:
                parse_mention(spec)
            except ValueError as exc:
                raise ValueError(f"mentions: entry {index + 1}: {exc}") from None
        if self.mentions and self.format == "messagecard":
            raise ValueError('mentions: only format = "adaptive" can mention people (MessageCards cannot)')
        if not 4_096 <= self.max_bytes <= 1_000_000:
            raise ValueError("max_bytes: must be between 4096 and 1000000")


@hookimpl
def tocsin_channels() -> list[Channel]:
    return [
        Channel(
            CHANNEL,
            TeamsOptions,
            templates=Path(__file__).parent / "templates",
            description="Microsoft Teams: Adaptive Cards to a Workflows webhook (or legacy MessageCards).",
            filters={"teams_escape": teams_escape, "teams_plain": teams_plain},
            test_options=options_for_tests,
            schemes=urls.SCHEMES,
            from_url=urls.from_url,
            limits=(Limit("wire", DEFAULT_MAX_BYTES, "bytes"),),  # the max_bytes option's default
            rate_limit="4/1s",  # Teams workflows (Power Automate) webhooks: 4 requests a second
        )
    ]


def options_for_tests(servers: LocalServers) -> dict[str, Any]:
    """A Workflows target posting to ``servers`` (the core's cross-channel suites): the secret is the sig."""
    path = "/workflows/0a1b2c3d4e5f/triggers/manual/paths/invoke"
    return {"url": f"{servers.http_url}{path}?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sig={servers.secret}"}


@hookimpl(trylast=True)
def format_message(event: Any, target: Any, templates: Any) -> Message | None:
    options: TeamsOptions = target.options
    mentions = [parse_mention(spec) for spec in options.mentions] if str(event.severity) in options.mention_when else []
    extra = card_context(event, target, mentions)
    prefix = CHANNEL if options.format == "adaptive" else f"{CHANNEL}/messagecard"
    body = templates.render_json(event, target, prefix=prefix, extra=extra)
    problem = payload_problem(body, options.format)
    if problem is not None:
        names = " or ".join(templates.candidates(prefix, event.type, "json"))
        raise TemplateError(f"template {names} made a card Teams would reject: {problem} (target {target.name!r})")
    fitted, size = fit_payload(body, options.max_bytes)
    if fitted is None:
        fitted = fallback_payload(options.format, event, extra["url"], size, options.max_bytes)
    return Message.for_event(event, target, body=fitted)


@hookimpl(trylast=True)
def deliver(message: Message, target: Any, transport: Any) -> Any:
    return transport.post_json(
        target.options.url,
        message.body,
        headers=HEADERS,
        describe_error=describe_error,
        check=check_answer,
    )
