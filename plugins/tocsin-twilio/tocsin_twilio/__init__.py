"""The ``sms`` channel for tocsin: a short text per event, to each phone number, through Twilio.

``format_message`` renders ``sms/<event type>.txt.j2`` (else ``sms/default.txt.j2``), cleans it for a
phone and cuts it to Twilio's 1,600 characters (and the target's ``max_segments``) with a marker that
keeps its encoding; the Message records the encoding (GSM-7 or UCS-2) and the billed segment count
(:mod:`tocsin_twilio.segments`). It holds no number and no credential.

``deliver`` creates one Message resource per number in ``to``: ``POST <api_url>/2010-04-01/Accounts/
<account_sid>/Messages.json``, form-encoded ``To``, ``From`` (or ``MessagingServiceSid``) and ``Body``,
HTTP basic auth with the account SID (or ``api_key_sid``) and the auth token. Twilio answers 201 with
the message; an error answer ``{"code", "message", "more_info", "status"}`` becomes the reason
``<message> (Twilio error <code>, <more_info>)``.

**Partial failure.** The numbers are texted concurrently. When some fail, the receipt fails and its error
names each number that did not get the text and why, after how many did (``sent to 2 of 3 numbers;
+14155550100: HTTP 400: …``). A retry (when any failure may pass: 429, 5xx, network) texts only the
numbers still missing: the ones already texted for this event and target are remembered by the
notifier, so nobody gets the same alert twice.
"""

from __future__ import annotations

import asyncio
import base64
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tocsin import (
    Channel,
    DeliveryError,
    Event,
    Limit,
    LocalServers,
    Message,
    PermanentError,
    Response,
    RetryableError,
    Secret,
    Target,
    TemplateError,
    Templates,
    Transport,
    hookimpl,
)

from . import urls
from .options import SmsOptions
from .segments import BODY_LIMIT, SmsText, segments, shorten, sms_text

__all__ = ["BODY_LIMIT", "CHANNEL", "SmsOptions", "SmsText", "describe_error", "segments", "sms_text"]

CHANNEL = "sms"
#: How many (event, target) deliveries remember which numbers they already texted.
REMEMBERED = 10_000
_HINTS = {
    20003: "check account_sid and auth_token (or api_key_sid)",
    20404: "check account_sid (and api_url)",
    21211: "check the numbers in to",
    21606: "check from: it must be a number of this account that can send SMS",
    21659: "check from: it must be a number of this account that can send SMS",
    21408: "enable this country in the Console's messaging geo permissions",
    21610: "the recipient replied STOP: Twilio will not text this number until it replies START",
}


@hookimpl
def tocsin_channels() -> list[Channel]:
    return [
        Channel(
            CHANNEL,
            SmsOptions,
            templates=Path(__file__).parent / "templates",
            description="SMS through Twilio's Messages API: a short text per event to each number.",
            filters={"sms_truncate": shorten},
            limits=(Limit("text", BODY_LIMIT, "utf16"),),
            test_options=options_for_tests,
            schemes=urls.SCHEMES,
            from_url=urls.from_url,
            rate_limit="1/1s",  # Twilio: 1 message segment a second per long-code number
        )
    ]


def options_for_tests(servers: LocalServers) -> dict[str, Any]:
    """A target texting through ``servers`` (the core's cross-channel suites): the secret is the auth token."""
    return {
        "api_url": servers.http_url,
        "account_sid": "AC" + "0" * 32,
        "auth_token": servers.secret,
        "from": "+14155550100",
        "to": ["+14155550101"],
    }


@hookimpl(trylast=True)
def format_message(event: Event, target: Target, templates: Templates) -> Message | None:
    """The SMS text for ``event``, with its encoding and segment count in ``extra``."""
    options: SmsOptions = target.options
    sms = sms_text(templates.render_text(event, target), options.max_segments)
    if not sms.text.strip():
        raise TemplateError(f"sms template for {event.type!r} rendered an empty text (target {target.name!r})")
    extra = {"encoding": sms.encoding, "segments": sms.segments, "characters": len(sms.text)}
    return Message.for_event(event, target, text=sms.text, extra=extra)


def describe_error(response: Response) -> str | None:
    """Twilio's words: ``The 'To' number +1555 is not a valid phone number. (Twilio error 21211, https://…)``."""
    body = response.json()
    if not isinstance(body, Mapping) or not isinstance(body.get("message"), str):
        return None
    code = body.get("code")
    details = [f"Twilio error {code}"] if isinstance(code, int) else []
    if isinstance(body.get("more_info"), str):
        details.append(body["more_info"][:200])
    reason = body["message"][:500] + (f" ({', '.join(details)})" if details else "")
    hint = _HINTS.get(code) if isinstance(code, int) else None
    if hint is None and response.status_code == 401:
        hint = _HINTS[20003]
    return f"{reason} — {hint}" if hint else reason


def check(response: Response) -> None:
    """A created message that Twilio already marks failed is a failure (its ``error_code``/``error_message``)."""
    body = response.json()
    if isinstance(body, Mapping) and body.get("status") in ("failed", "undelivered"):
        code, text = body.get("error_code"), body.get("error_message") or "no reason given"
        raise PermanentError(
            f"Twilio: message {body['status']}: {text} (error {code})", status_code=response.status_code
        )


def _request(options: SmsOptions, message: Message, number: str) -> tuple[str, bytes, dict[str, str | Secret]]:
    url = f"{options.api_url.rstrip('/')}/2010-04-01/Accounts/{options.account_sid}/Messages.json"
    form = {"To": number, "Body": message.text or ""}
    if options.messaging_service_sid:
        form["MessagingServiceSid"] = options.messaging_service_sid
    else:
        form["From"] = options.from_ or ""
    user = options.api_key_sid or options.account_sid
    credentials = base64.b64encode(f"{user}:{options.auth_token.reveal()}".encode()).decode("ascii")
    headers: dict[str, str | Secret] = {
        "Authorization": Secret(f"Basic {credentials}"),
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }
    return url, urlencode(form, errors="replace").encode("ascii"), headers


def _texted(transport: Transport, key: str) -> set[str]:
    """The numbers already texted for this (event, target), remembered across attempts."""
    memory: OrderedDict[str, set[str]] = transport.shared("tocsin-twilio.texted", OrderedDict)
    if key not in memory:
        memory[key] = set()
        while len(memory) > REMEMBERED:
            memory.popitem(last=False)
    return memory[key]


@hookimpl(trylast=True)
async def deliver(message: Message, target: Target, transport: Transport) -> Any:
    """Text every number in ``to`` not texted yet for this event; fail naming the numbers that were not."""
    options: SmsOptions = target.options
    key = f"{message.event_id}:{message.target}"
    texted = _texted(transport, key)
    pending = [number for number in options.to if number not in texted]

    async def text(number: str) -> Response:
        url, content, headers = _request(options, message, number)
        return await transport.post_json(
            url, None, content=content, headers=headers, describe_error=describe_error, check=check
        )

    results = await asyncio.gather(*(text(number) for number in pending), return_exceptions=True)
    failures: list[tuple[str, DeliveryError]] = []
    answer: Any = None
    for number, result in zip(pending, results, strict=True):
        if isinstance(result, DeliveryError):
            failures.append((number, result))
        elif isinstance(result, BaseException):
            raise result
        else:
            texted.add(number)
            answer = result
    if not failures:
        transport.shared("tocsin-twilio.texted", OrderedDict).pop(key, None)
        return answer
    if len(options.to) == 1:
        raise failures[0][1]
    raise _partial_failure(len(texted), len(options.to), failures)


def _partial_failure(sent: int, total: int, failures: list[tuple[str, DeliveryError]]) -> DeliveryError:
    """One error naming every number that was not texted, retryable when any of those may pass."""
    reasons = "; ".join(f"{number}: {error}" for number, error in failures)
    text = f"sent to {sent} of {total} numbers; not to {reasons}"
    status = failures[0][1].status_code
    retryable = [error for _, error in failures if isinstance(error, RetryableError)]
    if retryable:
        waits = [error.retry_after for error in retryable if error.retry_after is not None]
        return RetryableError(text, status_code=status, retry_after=max(waits) if waits else None)
    return PermanentError(text, status_code=status)
