"""What Slack's answers mean: incoming-webhook error texts and Web API ``{"ok": false}`` errors.

Incoming webhooks answer ``200 ok`` or a non-2xx status with a short plain-text code
(``404 no_team``, ``403 invalid_token``, ``400 invalid_payload``, ``410 channel_is_archived`` …);
the code is kept, with a hint of what to do. The Web API answers HTTP 200 even for failures, with
``{"ok": false, "error": "channel_not_found"}``: :func:`check_api_answer` turns that into a
PermanentError carrying the code, or a RetryableError for ``ratelimited`` (honouring Retry-After).
HTTP 429 and 5xx are the core transport's: retried, Retry-After honoured.

Sources: api.slack.com changelog "Improving error conditions for Incoming Webhooks" (2016-05-17);
docs.slack.dev chat.postMessage (errors) and "Rate limits".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tocsin import PermanentError, Response, RetryableError
from tocsin.transport import parse_retry_after

__all__ = ["API_HINTS", "RETRYABLE_API_ERRORS", "WEBHOOK_HINTS", "api_reason", "check_api_answer", "webhook_reason"]

#: What an incoming webhook's error text means, and what to do about it.
WEBHOOK_HINTS: dict[str, str] = {
    "no_team": "the webhook URL is wrong or its workspace is gone; copy the URL again from the Slack app",
    "no_service": "the webhook was disabled or removed; create a new one",
    "invalid_token": "the webhook's token is invalid (revoked, or the app was uninstalled); create a new webhook",
    "channel_not_found": "the webhook's channel no longer exists; create a webhook for another channel",
    "channel_is_archived": "the webhook's channel is archived",
    "action_prohibited": "a workspace admin restricts what this webhook may post",
    "posting_to_general_channel_denied": "only admins may post to this channel",
    "invalid_payload": "Slack could not read the message (a template override may render the wrong shape)",
    "invalid_blocks": "Slack rejected the blocks (a template override may render an invalid block)",
    "invalid_blocks_format": "Slack rejected the blocks (a template override may render an invalid block)",
    "too_many_attachments": "the message has too many attachments",
    "user_not_found": "the user the message names does not exist",
    "missing_text_or_fallback_or_attachments": "the message has no text (a template override may drop it)",
}

#: What a Web API error code means, and what to do about it.
API_HINTS: dict[str, str] = {
    "channel_not_found": "no channel with this channel_id is visible to the token (check the ID; invite the "
    "app to private channels)",
    "not_in_channel": "the app is not a member of the channel: invite it (/invite @your-app) or grant "
    "chat:write.public",
    "is_archived": "the channel is archived",
    "invalid_auth": "the token is invalid (revoked, mistyped, or from another workspace)",
    "not_authed": "no token was sent",
    "account_inactive": "the token belongs to a deactivated user or a deleted workspace",
    "token_revoked": "the token was revoked; reinstall the app for a new one",
    "token_expired": "the token expired; rotate it",
    "missing_scope": "the token lacks a scope",
    "no_permission": "the token may not post here",
    "restricted_action": "a workspace setting prevents the app from posting in this channel",
    "restricted_action_read_only_channel": "the channel is read-only",
    "msg_too_long": "the message text is too long for Slack",
    "msg_blocks_too_long": "the blocks hold too much text for Slack (a template override may add too much)",
    "invalid_blocks": "Slack rejected the blocks (a template override may render an invalid block)",
    "invalid_blocks_format": "Slack rejected the blocks (a template override may render an invalid block)",
    "no_text": "the message has no text (a template override may drop it)",
    "too_many_attachments": "the message has too many attachments",
    "ratelimited": "Slack rate-limits this app",
    "rate_limited": "Slack rate-limits this app",
}

#: Web API error codes worth another attempt (Slack's own words: transient, or try again later).
RETRYABLE_API_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "service_unavailable", "request_timeout"}
)


def _with_hint(code: str, hint: str | None) -> str:
    return f"{code} — {hint}" if hint else code


def webhook_reason(response: Response) -> str | None:
    """The reason for a webhook's error answer: Slack's own text (kept), plus a hint when known."""
    text = " ".join(response.text.split())[:300]
    if not text:
        return None
    body = response.json()
    if isinstance(body, Mapping) and isinstance(body.get("error"), str):
        code = body["error"]
        return _with_hint(code, WEBHOOK_HINTS.get(code) or API_HINTS.get(code))
    code = text.split(" ", 1)[0]
    hint = WEBHOOK_HINTS.get(code)
    return f"{text} — {hint}" if hint else text


def check_webhook_answer(response: Response) -> None:
    """A 2xx webhook answer is delivered, unless it is a JSON ``{"ok": false}`` (workflow webhooks)."""
    body = response.json()
    if isinstance(body, Mapping) and body.get("ok") is False:
        code = str(body.get("error") or "unknown error")
        raise PermanentError(
            f"Slack webhook error {_with_hint(code, WEBHOOK_HINTS.get(code))}", status_code=response.status_code
        )


def _api_error_text(body: Mapping[str, Any]) -> str:
    code = str(body.get("error") or "unknown_error")
    text = _with_hint(code, API_HINTS.get(code))
    if code == "missing_scope" and isinstance(body.get("needed"), str):
        text += f" (needed: {body['needed']})"
    metadata = body.get("response_metadata")
    messages = metadata.get("messages") if isinstance(metadata, Mapping) else None
    if isinstance(messages, list) and messages:
        details = "; ".join(str(m) for m in messages[:3])
        text += f" [{details[:400]}]"
    return text


def api_reason(response: Response) -> str | None:
    """The reason for a non-2xx Web API answer (429, 5xx, a proxy's 4xx): the ``error`` code if any."""
    body = response.json()
    if isinstance(body, Mapping) and body.get("error"):
        return _api_error_text(body)
    return None


def check_api_answer(response: Response) -> None:
    """Raise for an HTTP 200 that is really a failure: ``{"ok": false, "error": …}`` or not Slack at all."""
    body = response.json()
    if not isinstance(body, Mapping) or "ok" not in body:
        shown = " ".join(response.text.split())[:120] or "an empty body"
        raise PermanentError(
            f"unexpected answer from the Web API (not Slack JSON; check api_url): {shown}",
            status_code=response.status_code,
        )
    if body.get("ok") is True:
        return
    code = str(body.get("error") or "unknown_error")
    message = f"Slack API error {_api_error_text(body)}"
    if code in RETRYABLE_API_ERRORS:
        wait = parse_retry_after(response)
        if wait is not None:
            message += f" (retry after {wait:g}s)"
        raise RetryableError(message, status_code=response.status_code, retry_after=wait)
    raise PermanentError(message, status_code=response.status_code)
