"""The ``pagerduty`` channel for tocsin: events sent to a PagerDuty service through the Events API v2.

A failure **triggers** an alert, and the same run's later success **resolves** it: both carry one
``dedup_key`` per run, rendered from ``pagerduty/default.dedup_key.j2`` (``<instance>:<run id>``), so
PagerDuty applies the resolve to the alert the trigger opened. What each severity sends is the
``actions`` option (defaults: failure and warning trigger, success resolves, info is a *change event*:
context on the service's timeline that pages nobody); an alert's ``payload.severity`` is the
``severities`` option (failure ``error``, warning ``warning``, others ``info``).

A digest (``tocsin.digest_event``, type ``digest``) is one event: a trigger for failures and warnings
(keyed by ``pagerduty/digest.dedup_key.j2``: instance, reason and group), else a change event, never a
resolve (a digest has no alert of its own to resolve).

``format_message`` renders ``pagerduty/<event type>.json.j2`` (else ``default.json.j2``) for triggers and
change events, then enforces PagerDuty's documented limits in Python (:mod:`tocsin_pagerduty.limits`).
The Message holds no secret: ``deliver`` adds ``routing_key`` to the body it POSTs to
``<api_url>/v2/enqueue`` (alerts) or ``<api_url>/v2/change/enqueue`` (change events). PagerDuty answers
202 when it accepts an event; 400 keeps PagerDuty's ``errors`` list as the reason; 429, 5xx and network
faults are retried by the core.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import Any

from tocsin import (
    DIGEST_TYPE,
    Channel,
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
)

from . import urls
from .limits import ALERT_ONLY, DEDUP_KEY_LIMIT, FIELD_LIMIT, MAX_EVENT_BYTES, SUMMARY_LIMIT, dedup_key, fit_event
from .options import DEFAULT_ACTIONS, DEFAULT_SEVERITIES, PagerDutyOptions

__all__ = ["CHANNEL", "DEFAULT_ACTIONS", "DEFAULT_SEVERITIES", "PagerDutyOptions", "describe_error"]

CHANNEL = "pagerduty"
ALERTS_PATH = "/v2/enqueue"
CHANGES_PATH = "/v2/change/enqueue"


@hookimpl
def tocsin_channels() -> list[Channel]:
    return [
        Channel(
            CHANNEL,
            PagerDutyOptions,
            templates=Path(__file__).parent / "templates",
            description="PagerDuty Events API v2: failures trigger alerts, the same run's success resolves them.",
            limits=(
                Limit("body.payload.summary", SUMMARY_LIMIT, one_line=True),
                Limit("body.dedup_key", DEDUP_KEY_LIMIT, one_line=True),
                Limit("body.payload.source", FIELD_LIMIT, one_line=True),
                Limit("wire", MAX_EVENT_BYTES + 1024, "bytes"),  # 512 KB with the routing key
            ),
            test_options=options_for_tests,
            schemes=urls.SCHEMES,
            from_url=urls.from_url,
            rate_limit="120/1m",  # PagerDuty Events API v2: 120 events a minute per integration key
        )
    ]


def options_for_tests(servers: LocalServers) -> dict[str, Any]:
    """A target posting to ``servers`` (the core's cross-channel suites): the secret is the routing key."""
    return {"api_url": servers.http_url, "routing_key": (servers.secret + "0" * 32)[:32]}


@hookimpl(trylast=True)
def format_message(event: Event, target: Target, templates: Templates) -> Message | None:
    """The Events API v2 document for ``event`` (without ``routing_key``, which ``deliver`` adds)."""
    options: PagerDutyOptions = target.options
    severity = str(event.severity)
    action = options.action(severity)
    if event.type == DIGEST_TYPE and action in ("resolve", "acknowledge"):
        action = "change"  # a digest has no alert of its own to resolve: its successes go on the timeline
    key = dedup_key(templates.render_text(event, target, "dedup_key"), event.id)
    if action in ("resolve", "acknowledge"):
        return Message.for_event(event, target, body={"event_action": action, "dedup_key": key})
    rendered = templates.render_json(event, target)
    if not isinstance(rendered, Mapping) or not isinstance(rendered.get("payload"), Mapping):
        raise TemplateError(
            f"pagerduty template for {event.type!r} must render an object with a payload object "
            f"(target {target.name!r})"
        )
    body: dict[str, Any] = dict(rendered)
    payload = dict(body["payload"])
    for name in ("source", "component", "group"):
        if getattr(options, name):
            payload[name] = getattr(options, name)
    if action == "trigger":
        payload = {"summary": payload.get("summary"), "severity": options.pd_severity(severity), **payload}
        body = {"event_action": "trigger", "dedup_key": key, **body, "payload": payload}
    else:  # a change event: no action, key or severity, and only the fields PagerDuty accepts there
        payload = {name: value for name, value in payload.items() if name not in ALERT_ONLY}
        body = {name: value for name, value in body.items() if name in ("payload", "links")}
        body["payload"] = payload
    try:
        body = fit_event(body)
    except ValueError as exc:
        raise TemplateError(f"pagerduty template for {event.type!r}: {exc} (target {target.name!r})") from None
    return Message.for_event(event, target, body=body)


def describe_error(response: Response) -> str | None:
    """PagerDuty's words for a rejected event: ``{"message": "Event object is invalid", "errors": [...]}``."""
    body = response.json()
    if not isinstance(body, Mapping):
        return None
    message = body.get("message") if isinstance(body.get("message"), str) else None
    errors = [str(e) for e in body.get("errors", ()) if e] if isinstance(body.get("errors"), list) else []
    if not message and not errors:
        return None
    reason = "; ".join(errors[:10])
    if message and reason:
        reason = f"{message}: {reason}"
    reason = reason or message or ""
    if response.status_code == 400 and any("routing_key" in e for e in errors):
        reason += " — check the routing_key option (an Events API V2 integration key)"
    return reason[:1000]


@hookimpl(trylast=True)
def deliver(message: Message, target: Target, transport: Transport) -> Awaitable[Response]:
    """POST the event with the target's ``routing_key``; 202 is delivered, 400 fails with PagerDuty's
    errors, 429 waits (Retry-After, else the backoff) and 5xx/network faults are retried."""
    options: PagerDutyOptions = target.options
    path = ALERTS_PATH if "event_action" in message.body else CHANGES_PATH
    body = {"routing_key": options.routing_key.reveal(), **message.body}
    return transport.post_json(options.api_url.rstrip("/") + path, body, describe_error=describe_error)
