"""Files through the Bot API's ``sendDocument``, one request per file, after the alert went by ``sendMessage``.

Why after, and not the first file carrying the alert as its caption: a caption holds 1,024 characters
(after entities parsing), a message 4,096, so the alert would lose most of its error block; the alert
would also hang on the upload (a slow or refused file would delay or lose it). So the alert goes
first, whole, and each file follows as ``multipart/form-data`` (Bot API "Sending files": ``chat_id``,
the file in ``document``, ``caption`` with ``parse_mode`` HTML, ``message_thread_id``,
``disable_notification``), as a reply to the alert (``reply_parameters``, so a busy chat shows which
alert a file belongs to), captioned with the alert's first line, and silent (the alert itself rang).

The alert is delivered when this runs, so a file that does not go never fails the target and never
makes the core retry (that would post the alert again): it becomes a receipt warning with Telegram's
reason. ``ok: false`` is such a failure; a 429's ``parameters.retry_after`` (or a 5xx) is waited out and
the file sent again, at most :data:`RETRIES` times and only for waits up to :data:`MAX_WAIT` seconds,
since the whole delivery runs within the target's ``timeout``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from tocsin import AttachmentRef, Delivered, DeliveryError, Response, RetryableError, Transport, encode_json

from .answers import call_bot_api
from .markup import fit_html, visible_text
from .options import TelegramOptions

__all__ = ["CAPTION_LIMIT", "MAX_WAIT", "RETRIES", "caption_for", "send_documents"]

#: sendDocument's caption: "0-1024 characters after entities parsing".
CAPTION_LIMIT = 1024
#: The longest wait (seconds) a file is retried after; Telegram asking for more leaves the file out.
MAX_WAIT = 5.0
#: How many times one file is sent again after a 429 or a 5xx.
RETRIES = 2


def caption_for(text: str) -> str:
    """The caption of each file: the alert's first line with visible text (its status mark and title)."""
    for line in text.splitlines():
        if visible_text(line).strip():
            return fit_html(line.strip(), CAPTION_LIMIT)
    return ""


async def send_documents(
    posted: Response, refs: list[AttachmentRef], options: TelegramOptions, text: str, transport: Transport
) -> Delivered:
    """Send ``refs`` to the chat after the alert (``posted`` is sendMessage's answer); warnings for the rest."""
    fields = {"chat_id": str(options.chat_id), "parse_mode": "HTML", "disable_notification": "true"}
    caption = caption_for(text)
    if caption:
        fields["caption"] = caption
    if options.message_thread_id is not None:
        fields["message_thread_id"] = str(options.message_thread_id)
    alert = _message_id(posted)
    if alert is not None:
        reply = {"message_id": alert, "allow_sending_without_reply": True}
        fields["reply_parameters"] = encode_json(reply).decode("utf-8")
    warnings: list[str] = []
    for ref in refs:
        problem = await _send_one(ref, fields, options, transport)
        if problem:
            warnings.append(f"attachment {ref.name!r} not sent: {problem}")
    return Delivered(posted.status_code, warnings)


async def _send_one(ref: AttachmentRef, fields: dict[str, str], options: TelegramOptions, transport: Transport) -> str:
    """Send one file; '' when it went, else why not (in words, without the token)."""
    url = options.method_url("sendDocument")
    attempt = 0
    while True:
        try:
            part = ("document", ref.name, ref.read_bytes(), ref.content_type)
            await call_bot_api(transport.post_multipart, url, fields, [part])
            return ""
        except RetryableError as exc:
            wait = exc.retry_after if exc.retry_after is not None else float(attempt + 1)
            if attempt >= RETRIES:
                return f"{exc} (tried {RETRIES + 1} times)"
            if wait > MAX_WAIT:
                return f"{exc}; Telegram asks to wait {wait:g}s, more than the {MAX_WAIT:g}s a file is waited for"
        except DeliveryError as exc:
            return str(exc)
        attempt += 1
        await asyncio.sleep(wait)


def _message_id(posted: Response) -> int | None:
    body = posted.json()
    result = body.get("result") if isinstance(body, Mapping) else None
    value = result.get("message_id") if isinstance(result, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
