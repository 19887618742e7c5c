"""tocsin-email: the ``email`` channel. Events as multipart text + HTML mail, sent over SMTP.

``format_message`` renders ``email/<event>.subject.j2``, ``.txt.j2`` and ``.html.j2`` (falling back to
``email/default.*``) into a secret-free :class:`tocsin.Message`; ``deliver`` sends it with aiosmtplib
on the event loop, sharing one SMTP session per server between targets (see :mod:`tocsin_email.smtp`).
"""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from tocsin import Channel, Event, LocalServers, Message, Target, Templates, Transport, hookimpl

from .compose import compose, to_mime
from .options import EmailOptions, server_of
from .smtp import SmtpConnection

__all__ = ["EmailOptions", "deliver", "format_message", "options_for_tests", "tocsin_channels"]

CHANNEL = "email"


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


async def _deliver(message: Message, target: Target, transport: Transport) -> None:
    sender, recipients, data = to_mime(message)
    server = server_of(target.options)
    connection: Any = transport.shared(server.key(), lambda: SmtpConnection(server))
    timeout = target.timeout if target.timeout is not None else transport.timeout
    await connection.send(sender, recipients, data, timeout)
