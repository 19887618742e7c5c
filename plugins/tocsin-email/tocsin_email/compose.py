"""From an event to a :class:`tocsin.Message` (``format_message``), and from a Message to mail bytes.

The Message holds everything a person would read and nothing secret: ``subject``, ``text``, ``html``,
``recipients`` (the SMTP envelope, Bcc included), ``headers`` (From, Cc, Reply-To, Date, Message-ID, …)
and ``extra["to"]`` (the To header). :func:`to_mime` turns it into a multipart/alternative
:class:`email.message.EmailMessage` at delivery time; with attachments, a multipart/mixed whose first part
is that multipart/alternative body and whose next parts are the files (base64, ``Content-Disposition:
attachment; filename=…``), read from the attachment store.
"""

from __future__ import annotations

import logging
import re
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from tocsin import Event, Message, PermanentError, Target, Templates, truncate
from tocsin.presentation import event_fields

from .addresses import ADDR_SPEC, Mailbox, body_text, dedupe, header_text, parse_mailbox
from .options import EmailOptions

__all__ = [
    "ERROR_LIMIT",
    "FIELD_LIMIT",
    "SUBJECT_LIMIT",
    "compose",
    "message_id",
    "recipients_for",
    "to_mime",
]

log = logging.getLogger("tocsin.email")

#: Characters of a subject, prefix included (RFC 2822 recommends short lines; clients cut ~80-130).
SUBJECT_LIMIT = 200
#: Characters of the error shown in each part; a 1 MB traceback is cut, with a note saying so.
ERROR_LIMIT = 20_000
#: Characters of one field's value, and how many fields at most.
FIELD_LIMIT = 1_000
MAX_FIELDS = 60
TITLE_LIMIT = 500
SMTP_POLICY = policy.SMTP
_HEADER_NAME = re.compile(r"[!-9;-~]+")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def recipients_for(event: Event, options: EmailOptions, target: Target) -> tuple[list[Mailbox], ...]:
    """``(to, cc, bcc)`` for ``event`` to ``target``: the configured lists, or for a separate message to
    people (``target.direct_to``, set by routing for ``notify_user`` and the event's own recipients)
    those addresses alone, never the configured ones.

    An address that is not a plain ``local@domain`` is dropped with a warning, never sent to. An
    address of one of the event's users carries that user's name.
    """
    if not target.direct_to:
        to, cc, bcc = options.mailboxes("to"), options.mailboxes("cc"), options.mailboxes("bcc")
        if not (to or cc or bcc):
            raise PermanentError(
                f"target {target.name!r} has no recipients: set to (or cc/bcc), or event_recipients = "
                '"only" so it mails only the addresses events name'
            )
    else:
        names = {u.email.casefold(): u.name or "" for u in event.all_users if u.email}
        to, cc, bcc = [], [], []
        for value in target.direct_to:
            try:
                box = parse_mailbox(value)
                name = names.get(box.addr.casefold())
                to.append(box if name is None else parse_mailbox(value, name=name))
            except ValueError as exc:
                log.warning("target %s: event %s: ignoring recipient: %s", target.name, event.id, exc)
    seen: set[str] = set()
    return dedupe(to, seen), dedupe(cc, seen), dedupe(bcc, seen)


def message_id(event: Event, target: Target, domain: str) -> str:
    """``<event-id.target@domain>``: the same for every attempt at one event and target."""
    left = ".".join(part for part in (_ID_UNSAFE.sub("-", event.id), _ID_UNSAFE.sub("-", target.name)) if part)
    return f"<{left.strip('.-') or 'tocsin'}@{domain}>"


def _context(event: Event) -> dict[str, Any]:
    """What the email templates see on top of the standard context: bounded error, fields, title and
    last step (the standard ``description`` is bounded by the core)."""
    error = event.data.get("error")
    error_text = None if error is None or error == "" else str(error)
    fields = event_fields(event)[:MAX_FIELDS]
    return {
        "title": truncate(event.title, TITLE_LIMIT),
        "error": truncate(error_text, ERROR_LIMIT) if error_text is not None else None,
        "error_truncated": error_text is not None and len(error_text) > ERROR_LIMIT,
        "error_length": len(error_text) if error_text is not None else 0,
        "error_limit": ERROR_LIMIT,
        "fields": [type(f)(f.key, f.label, truncate(f.value, FIELD_LIMIT)) for f in fields],
        "last_step": truncate(event.data.get("last_step"), FIELD_LIMIT) or None,
    }


def compose(event: Event, target: Target, templates: Templates) -> Message:
    """The message ``target`` sends for ``event``: rendered parts, clean headers, the envelope."""
    options: EmailOptions = target.options
    extra = _context(event)
    subject = header_text(templates.render_text(event, target, part="subject", extra=extra))
    if options.subject_prefix.strip():
        subject = f"{header_text(options.subject_prefix)} {subject}"
    text = body_text(templates.render_text(event, target, extra=extra)).rstrip("\n") + "\n"
    html = body_text(templates.render_html(event, target, extra=extra))
    to, cc, bcc = recipients_for(event, options, target)
    sender = options.sender
    headers = {"From": sender.header()}
    if cc:
        headers["Cc"] = ", ".join(box.header() for box in cc)
    reply_to = options.mailboxes("reply_to")
    if reply_to:
        headers["Reply-To"] = ", ".join(box.header() for box in reply_to)
    headers.update(
        {
            "Date": format_datetime(event.occurred_at),
            "Message-ID": message_id(event, target, sender.domain),
            "Auto-Submitted": "auto-generated",  # RFC 3834: no vacation auto-replies to alerts
            "X-Tocsin-Event": event.type,
            "X-Tocsin-Severity": str(event.severity),
        }
    )
    return Message.for_event(
        event,
        target,
        subject=truncate(subject, SUBJECT_LIMIT),
        text=text,
        html=html,
        recipients=[box.addr for box in (*to, *cc, *bcc)],
        headers=headers,
        extra={"to": [box.header() for box in to]},
    )


def to_mime(message: Message, *, attachments: bool = True) -> tuple[str, list[str], bytes]:
    """``(envelope sender, envelope recipients, bytes)`` for ``message``, ready for SMTP (without its
    files when ``attachments`` is false).

    Every header value is collapsed to one line again here, so even a hook that edited the Message
    cannot inject a header. Both parts are UTF-8, quoted-printable (7-bit clean for any server).
    """
    mime = EmailMessage(policy=SMTP_POLICY)
    for name, value in message.headers.items():
        if not _HEADER_NAME.fullmatch(name) or name.lower() in ("to", "subject", "bcc"):
            raise PermanentError(f"message header name {header_text(name)[:40]!r} is not allowed")
        mime[name] = header_text(value)
    to = [header_text(v) for v in message.extra.get("to") or ()]
    if to:
        mime["To"] = ", ".join(to)
    mime["Subject"] = header_text(message.subject or "")
    mime.set_content(body_text(message.text or ""), subtype="plain", charset="utf-8", cte="quoted-printable")
    if message.html is not None:
        mime.add_alternative(body_text(message.html), subtype="html", charset="utf-8", cte="quoted-printable")
    for ref in message.attachments if attachments else ():
        if ref.sent:  # add_attachment wraps the body in multipart/mixed, the alternative part first
            maintype, _, subtype = ref.content_type.partition(";")[0].strip().partition("/")
            mime.add_attachment(ref.read_bytes(), maintype=maintype, subtype=subtype, filename=ref.name)
    senders = getattr(mime["From"], "addresses", ()) if mime["From"] is not None else ()
    if len(senders) != 1 or not senders[0].addr_spec:
        raise PermanentError("the message has no single From address")
    recipients = list(dict.fromkeys(message.recipients))
    for address in recipients:
        if not isinstance(address, str) or not ADDR_SPEC.fullmatch(address):
            raise PermanentError(f"recipient {header_text(address)[:80]!r} is not a plain email address")
    if not recipients:
        raise PermanentError("no recipients: every address was dropped as invalid (see the warnings)")
    return senders[0].addr_spec, recipients, mime.as_bytes(policy=SMTP_POLICY)
