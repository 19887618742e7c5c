"""What Mattermost's answers mean, in words a person can act on.

An incoming webhook answers ``200 ok``, or an error as the server's JSON AppError
``{"id": "web.incoming_webhook.invalid.app_error", "message": "Invalid webhook.", "detailed_error": "",
"request_id": "…", "status_code": 400}``. The reason kept is Mattermost's ``message``, its ``id``, and a
hint for the ids that have one. HTTP 429 (the server's rate limit) and 5xx are the core transport's:
retried, ``Retry-After`` honoured; except 501, which Mattermost answers when the admin has disabled
incoming webhooks: retrying cannot help, so it fails at once.
"""

from __future__ import annotations

from collections.abc import Mapping

from tocsin import Response

__all__ = ["DISABLED_STATUS", "HINTS", "describe_error"]

#: Mattermost's answer when incoming webhooks are disabled on the server (not a passing fault).
DISABLED_STATUS = 501

#: What an AppError id means, and what to do about it.
HINTS: dict[str, str] = {
    "web.incoming_webhook.invalid.app_error": "the webhook URL is wrong or the webhook was deleted; copy it again",
    "web.incoming_webhook.disabled.app_error": "a system admin disabled incoming webhooks on this server",
    "web.incoming_webhook.channel.app_error": "no channel with this channel_name (use its handle, as in its URL)",
    "web.incoming_webhook.channel_locked.app_error": "the webhook is locked to its channel: remove channel_name",
    "web.incoming_webhook.permissions.app_error": "the webhook's owner may not post to this channel",
    "web.incoming_webhook.user.app_error": "no user with this @username (channel_name)",
    "web.incoming_webhook.text.app_error": "the post has no text (a template override may drop it)",
    "web.incoming_webhook.parse.app_error": "Mattermost could not read the post (a template override may render "
    "the wrong shape)",
    "api.post.create_post.can_not_post_to_deleted.error": "the channel was archived or deleted",
    "api.post.create_post.town_square_read_only": "the channel is read-only",
}


def describe_error(response: Response) -> str | None:
    """Mattermost's own words for an error answer (``message`` and ``id``), with a hint when known."""
    body = response.json()
    if not isinstance(body, Mapping):
        text = " ".join(response.text.split())[:300]
        return text or None
    message = body.get("message")
    error_id = body.get("id")
    if not isinstance(message, str) or not message:
        return None
    reason = message.strip()[:300]
    if isinstance(error_id, str) and error_id:
        reason += f" ({error_id})"
        hint = HINTS.get(error_id)
        if hint:
            reason += f" — {hint}"
    return reason
