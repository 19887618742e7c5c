"""The ``email`` channel's options, their validation, and the SMTP server they describe.

The server is given either as one secret URL (``smtp_url``) or as discrete options (``host``, ``port``,
``security``, ``user``, ``password``); :func:`server_of` turns either into a :class:`Server`.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

import attrs

from tocsin import Secret

from .addresses import Mailbox, header_text, parse_mailbox

__all__ = ["DEFAULT_PORTS", "EmailOptions", "Server", "parse_smtp_url", "server_of"]

Security = Literal["none", "ssl", "starttls", "opportunistic"]
#: The port each security mode uses unless told otherwise.
DEFAULT_PORTS = {"starttls": 587, "opportunistic": 587, "ssl": 465, "none": 25}
# lettre's forms (SmtpTransport::from_url): smtp:// plain, ?tls=required STARTTLS, ?tls=opportunistic
# STARTTLS when offered, smtps:// TLS whatever tls= says; plus tocsin's older spellings.
_URL_TLS = {
    "smtp": {
        **{"": "none", "none": "none", "no": "none", "off": "none"},
        **{"required": "starttls", "starttls": "starttls", "opportunistic": "opportunistic"},
    },
    "smtps": {"": "ssl", "ssl": "ssl", "implicit": "ssl", "required": "ssl", "opportunistic": "ssl"},
}
_HOSTNAME = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)$")


def _addresses(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@attrs.frozen
class Server:
    """Where and how to connect: host, port, security mode, credentials, certificate checking."""

    host: str
    port: int
    security: Security
    user: str | None = None
    password: Secret | None = None
    ca_file: str | None = None
    verify: bool = True
    ehlo_name: str | None = None

    @property
    def label(self) -> str:
        """``smtp.example.org:587``: how errors name the server (never with credentials)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def key(self) -> str:
        """A digest naming this server and login, for sharing one connection between targets."""
        password = self.password.reveal() if self.password is not None else ""
        parts = (self.host.lower(), self.port, self.security, self.user, password, self.ca_file, self.verify)
        parts += (self.ehlo_name,)
        return "tocsin-email:" + hashlib.sha256(repr(parts).encode("utf-8", "replace")).hexdigest()


def parse_smtp_url(url: str) -> Server:
    """lettre's ``smtp_url`` syntax (``SmtpTransport::from_url``), whole.

    ``smtp://host`` is plain SMTP (port 25); ``?tls=required`` STARTTLS (587); ``?tls=opportunistic``
    STARTTLS when the server offers it, else plain (587); ``smtps://`` TLS from the first byte (465).
    ``user:password@`` (percent-decoded) logs in; a path names the client in EHLO
    (``smtp://host/client.example.org``). Error messages never repeat the URL.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError("smtp_url: not a valid URL (is the port a number from 1 to 65535?)") from None
    scheme = parts.scheme.lower()
    if scheme not in _URL_TLS:
        raise ValueError("smtp_url: must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("smtp_url: no host name (smtp://host:port)")
    ehlo = unquote(parts.path.strip("/")) or None
    if parts.fragment or (ehlo is not None and not _HOSTNAME.match(ehlo)):
        raise ValueError("smtp_url: after host:port only /<EHLO name> (a host name) and ?tls=... may follow")
    tls = ""
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key != "tls":
            raise ValueError(f"smtp_url: unknown query parameter {header_text(key)[:20]!r} (only tls= is known)")
        tls = value.lower()
    modes = _URL_TLS[scheme]
    if tls not in modes:
        known = ", ".join(repr(k) for k in modes if k)
        raise ValueError(f"smtp_url: {scheme}:// takes tls = {known}")
    security = modes[tls]
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if (user is None) != (password is None):
        raise ValueError("smtp_url: give both user and password (smtp://user:password@host), or neither")
    return Server(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[security],
        security=security,  # type: ignore[arg-type]
        user=user,
        password=Secret(password) if password is not None else None,
        ehlo_name=ehlo,
    )


@attrs.frozen
class EmailOptions:
    """Options of the ``email`` channel."""

    # The config key is "from" (a Python keyword: the core maps the field ``from_`` to it).
    from_: str = attrs.field(
        metadata={"doc": 'The sender: "alerts@example.org" or "Build alerts <alerts@example.org>".'},
    )
    to: str | list[str] = attrs.field(
        default=(), converter=_addresses, metadata={"doc": "Recipients (an address or a list)."}
    )
    cc: str | list[str] = attrs.field(default=(), converter=_addresses, metadata={"doc": "Copy recipients."})
    bcc: str | list[str] = attrs.field(
        default=(), converter=_addresses, metadata={"doc": "Blind-copy recipients (in no header)."}
    )
    reply_to: str | list[str] = attrs.field(
        default=(), converter=_addresses, metadata={"doc": "Where replies go (Reply-To)."}
    )
    subject_prefix: str = attrs.field(default="", metadata={"doc": 'Put before every subject, e.g. "[ci]".'})
    smtp_url: Secret | None = attrs.field(
        default=None,
        metadata={
            "doc": "The server as one URL (lettre's syntax), instead of host/port/security/user/password: "
            "smtp://host:25, smtp://user:pass@host:587?tls=required (STARTTLS) or ?tls=opportunistic, "
            "smtps://user:pass@host:465 (TLS); a path is the EHLO name: smtp://host/client.example.org."
        },
    )
    host: str | None = attrs.field(default=None, metadata={"doc": "SMTP server host name (unless smtp_url)."})
    port: int | None = attrs.field(
        default=None, metadata={"doc": 'Port: default 587, or 465 with security = "ssl", 25 with "none".'}
    )
    security: Literal["none", "ssl", "starttls", "opportunistic"] | None = attrs.field(
        default=None,
        metadata={
            "doc": "starttls (default: plain connection upgraded, port 587), ssl (TLS from the start, "
            "port 465), opportunistic (STARTTLS when offered, else plain) or none (no encryption)."
        },
    )
    ehlo_name: str | None = attrs.field(
        default=None, metadata={"doc": "The name this client gives in EHLO (default: the machine's name)."}
    )
    user: str | None = attrs.field(default=None, metadata={"doc": "Login for SMTP AUTH (needs password)."})
    password: Secret | None = attrs.field(default=None, metadata={"doc": "Password for SMTP AUTH."})
    ca_file: str | None = attrs.field(
        default=None,
        metadata={"doc": "PEM file of the CA to trust for the server's certificate, instead of the system's."},
    )
    verify: bool = attrs.field(
        default=True, metadata={"doc": "Check the server's TLS certificate. false: test servers only."}
    )
    max_attachment_bytes: int = attrs.field(
        default=10 * 1024 * 1024,
        validator=attrs.validators.ge(0),
        metadata={
            "doc": "Largest attachment, per file and for all files of one mail: 10 MiB (base64 makes the mail "
            "a third bigger); match your server's message size limit."
        },
    )

    def __attrs_post_init__(self) -> None:
        try:
            parse_mailbox(self.from_)
        except ValueError as exc:
            raise ValueError(f"from: {exc}") from None
        for key in ("to", "cc", "bcc", "reply_to"):
            for value in getattr(self, key):
                try:
                    parse_mailbox(value)
                except ValueError as exc:
                    raise ValueError(f"{key}: {exc}") from None
        if header_text(self.subject_prefix) != self.subject_prefix.strip():
            raise ValueError("subject_prefix: may not contain line breaks or control characters")
        discrete = {"host": self.host, "port": self.port, "security": self.security, "user": self.user}
        discrete["password"] = self.password
        if self.smtp_url is not None:
            given = [k for k, v in discrete.items() if v is not None]
            if given:
                raise ValueError(f"smtp_url: give the server as smtp_url or as {'/'.join(given)}, not both")
            parse_smtp_url(self.smtp_url.reveal())  # validation only: errors never include the URL
        else:
            if not self.host:
                raise ValueError("host: required (or give smtp_url)")
            if header_text(self.host) != self.host or " " in self.host:
                raise ValueError("host: not a host name")
            if self.user is not None and self.password is None:
                raise ValueError("password: required when user is set")
            if self.password is not None and self.user is None:
                raise ValueError("user: required when password is set")
        if self.ehlo_name is not None and not _HOSTNAME.match(self.ehlo_name):
            raise ValueError("ehlo_name: must be a host name (like client.example.org) or an [address]")
        if self.port is not None and not 1 <= self.port <= 65535:
            raise ValueError("port: must be from 1 to 65535")
        if self.ca_file is not None and not Path(self.ca_file).expanduser().is_file():
            raise ValueError(f"ca_file: no such file: {self.ca_file}")

    # -- derived ---------------------------------------------------------------------------------
    @property
    def sender(self) -> Mailbox:
        return parse_mailbox(self.from_)

    def mailboxes(self, key: str) -> list[Mailbox]:
        """The parsed addresses of ``to``, ``cc``, ``bcc`` or ``reply_to``."""
        return [parse_mailbox(value) for value in getattr(self, key)]


def server_of(options: EmailOptions) -> Server:
    """The server ``options`` describe. Reveals ``smtp_url``: call it only when connecting."""
    ca_file = str(Path(options.ca_file).expanduser()) if options.ca_file else None
    if options.smtp_url is not None:
        server = parse_smtp_url(options.smtp_url.reveal())
        return attrs.evolve(
            server, ca_file=ca_file, verify=options.verify, ehlo_name=server.ehlo_name or options.ehlo_name
        )
    security: Security = options.security or "starttls"
    return Server(
        host=options.host or "",
        port=options.port or DEFAULT_PORTS[security],
        security=security,
        user=options.user,
        password=options.password,
        ca_file=ca_file,
        verify=options.verify,
        ehlo_name=options.ehlo_name,
    )
