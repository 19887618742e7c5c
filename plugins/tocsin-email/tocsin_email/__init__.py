"""tocsin-email: the ``email`` channel. Events as multipart text + HTML mail, sent over SMTP.

``format_message`` renders ``email/<event>.subject.j2``, ``.txt.j2`` and ``.html.j2`` (falling back to
``email/default.*``) into a secret-free :class:`tocsin.Message`; ``deliver`` sends it with aiosmtplib
on the event loop, sharing one SMTP session per server between targets (see :mod:`tocsin_email.smtp`).

Attachments travel as multipart/mixed parts around the text + HTML body, up to ``max_attachment_bytes``
(10 MiB by default) per mail. A server that still refuses the mail as too big (SMTP 552) gets it again
without the files, and the receipt warns: a log that is too large never costs the alert.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from tocsin import (
    Channel,
    Delivered,
    Event,
    Limit,
    LocalServers,
    Message,
    PermanentError,
    Target,
    Templates,
    Transport,
    hookimpl,
)

from . import urls
from .compose import SUBJECT_LIMIT, compose, to_mime
from .options import EmailOptions, server_of

__all__ = ["EmailOptions", "deliver", "format_message", "options_for_tests", "tocsin_channels"]

CHANNEL = "email"
#: The default cap for the files of one mail.
MAX_ATTACHMENTS_BYTES = 10 * 1024 * 1024
_TOO_BIG = re.compile(r"\b552\b")


@hookimpl
def tocsin_channels() -> list[Channel]:
    return [
        Channel(
            CHANNEL,
            EmailOptions,
            templates=Path(__file__).parent / "templates",
            description="Email over SMTP: text + HTML, STARTTLS or TLS, AUTH, per-event recipients.",
            personal=True,
            test_options=options_for_tests,
            max_attachment_bytes=MAX_ATTACHMENTS_BYTES,
            max_attachments_total_bytes=MAX_ATTACHMENTS_BYTES,
            schemes=urls.SCHEMES,
            from_url=urls.from_url,
            # What the bounded parts add up to (title, description, 60 fields of 1,000, a 20,000 error),
            # escaped for HTML and encoded for SMTP: far below any server's message size limit.
            limits=(
                Limit("subject", SUBJECT_LIMIT, one_line=True),
                Limit("text", 150_000),
                Limit("html", 1_000_000),
                Limit("wire", 4_000_000, "bytes"),
            ),
        )
    ]


def options_for_tests(servers: LocalServers) -> list[dict[str, Any]]:
    """Targets sending to ``servers``' SMTP server with AUTH, as a URL and as discrete options."""
    mail = {"from": "Alerts <alerts@example.org>", "to": ["ops@example.org"]}
    host, port, user, secret = servers.smtp_host, servers.smtp_port, servers.smtp_user, servers.secret
    return [
        {"smtp_url": f"smtp://{user}:{secret}@{host}:{port}", **mail},
        {"host": host, "port": port, "security": "none", "user": user, "password": secret, **mail},
    ]


@hookimpl(trylast=True)
def format_message(event: Event, target: Target, templates: Templates) -> Message | None:
    return compose(event, target, templates)


@hookimpl(trylast=True)
def deliver(message: Message, target: Target, transport: Transport) -> Awaitable[None] | None:
    return _deliver(message, target, transport)


async def _deliver(message: Message, target: Target, transport: Transport) -> Delivered | None:
    sender, recipients, data = to_mime(message)
    from .smtp import SmtpConnection  # aiosmtplib loads when mail is first sent, not with every plugin

    server = server_of(target.options)
    connection: Any = transport.shared(server.key(), lambda: SmtpConnection(server))
    timeout = target.timeout if target.timeout is not None else transport.timeout
    files = [ref.name for ref in message.attachments if ref.sent]
    try:
        await connection.send(sender, recipients, data, timeout)
    except PermanentError as exc:
        if not files or not _TOO_BIG.search(str(exc)):
            raise
        sender, recipients, data = to_mime(message, attachments=False)
        await connection.send(sender, recipients, data, timeout)
        return Delivered(
            warnings=[f"attachment {name!r} left out: the server refused the mail ({exc})" for name in files]
        )
    return None
