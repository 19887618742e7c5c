"""A real SMTP server on 127.0.0.1 for tests: :class:`SmtpSink` (aiosmtpd in a thread).

Plain by default (the ``tocsin_smtp_sink`` fixture); ``starttls=True`` or ``implicit_tls=True`` serve a
certificate for 127.0.0.1/localhost signed by a throwaway CA (``trustme``), whose PEM file is
``sink.ca_file`` and whose client context is ``sink.client_ssl_context()``. ``user``/``password`` turn
on AUTH LOGIN and PLAIN (required before MAIL); ``refuse(address)`` makes RCPT TO fail for an address;
``reply("451 4.3.0 try later", ...)`` answers the next messages' DATA with those replies instead of 250.
Every accepted message is parsed with ``email.policy.default`` into ``sink.messages``, each carrying its
envelope (``mail_from``, ``rcpt_tos``) and how it arrived (``tls``, ``login``). ``connections`` counts
TCP connections and ``transactions`` the messages sent (accepted or not).

>>> with SmtpSink() as sink:                                           # doctest: +SKIP
...     smtplib.SMTP("127.0.0.1", sink.port).sendmail("a@x.org", ["b@x.org"], b"Subject: hi\\r\\n\\r\\nbody")
...     sink.wait_for(1)[0]["Subject"]
'hi'
"""

from __future__ import annotations

import contextlib
import email.policy
import logging
import ssl
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import attrs

__all__ = ["AuthAttempt", "ReceivedMessage", "SmtpSink"]

MECHANISMS = ("LOGIN", "PLAIN")


class ReceivedMessage(EmailMessage):
    """A message the sink accepted, parsed with ``email.policy.default``, plus its SMTP envelope.

    ``mail_from`` and ``rcpt_tos`` are the envelope (MAIL FROM / RCPT TO, which is where Bcc
    recipients show); ``raw`` the bytes as received; ``tls`` whether the session was encrypted;
    ``login`` the user that authenticated, if any; ``ehlo`` the name the client gave in EHLO/HELO.
    """

    mail_from: str = ""
    ehlo: str = ""
    rcpt_tos: list[str]
    raw: bytes = b""
    tls: bool = False
    login: str | None = None

    def part(self, subtype: str) -> EmailMessage | None:
        """The ``text/<subtype>`` part (``"plain"`` or ``"html"``), or None."""
        for sub in self.walk():
            if sub.get_content_type() == f"text/{subtype}":
                return sub  # type: ignore[return-value]
        return None


@attrs.frozen
class AuthAttempt:
    """One AUTH exchange: the mechanism, the login given, and whether the password matched."""

    mechanism: str
    login: str
    success: bool


class SmtpSink:
    """An SMTP server on 127.0.0.1 that records what it receives. Use it as a context manager.

    ``starttls`` offers STARTTLS (``require_starttls`` refuses other commands before it);
    ``implicit_tls`` speaks TLS from the first byte (like port 465). ``user`` and ``password`` require
    AUTH (LOGIN or PLAIN; ``mechanisms`` limits which are offered). With STARTTLS, AUTH is only offered
    after the upgrade, as real submission servers do. ``quiet`` keeps aiosmtpd's own per-line debug
    logging (which echoes every reply) out of the test's logs.
    """

    def __init__(
        self,
        *,
        starttls: bool = False,
        implicit_tls: bool = False,
        require_starttls: bool = False,
        user: str | None = None,
        password: str | None = None,
        mechanisms: Sequence[str] = MECHANISMS,
        refuse: Iterable[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        quiet: bool = True,
    ) -> None:
        from aiosmtpd.controller import Controller

        if starttls and implicit_tls:
            raise ValueError("choose starttls or implicit_tls, not both")
        if (user is None) != (password is None):
            raise ValueError("give both user and password, or neither")
        self.host = host
        self.user = user
        self.password = password
        self.messages: list[ReceivedMessage] = []
        self.auth_attempts: list[AuthAttempt] = []
        #: TCP connections accepted (the start-up probe excluded).
        self.connections = 0
        #: Messages sent to the sink (DATA commands), accepted or answered from the script.
        self.transactions = 0
        self._script: deque[str] = deque()
        if quiet:
            logging.getLogger("mail.log").setLevel(logging.WARNING)
        self._cond = threading.Condition()
        self._refused: dict[str, tuple[int, str]] = {}
        for address in refuse:
            self.refuse(address)
        self._protocols: list[Any] = []
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.ca_file: Path | None = None
        self._ca: Any = None
        server_context = self._make_tls() if (starttls or implicit_tls) else None
        sink = self

        class _Controller(Controller):
            def factory(self) -> Any:
                protocol = super().factory()
                with sink._cond:
                    sink.connections += 1
                    sink._protocols.append(protocol)
                return protocol

            def _trigger_server(self) -> None:
                # Bound to port 0: learn the real port before the start-up probe connects to it.
                self.port = self.server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
                super()._trigger_server()

        kwargs: dict[str, Any] = {
            "server_hostname": "localhost",  # no getfqdn() lookup
            "ready_timeout": 10.0,
        }
        if starttls:
            kwargs.update(tls_context=server_context, require_starttls=require_starttls)
        if user is not None:
            excluded = [m for m in MECHANISMS if m not in {x.upper() for x in mechanisms}]
            kwargs.update(
                authenticator=self._authenticate,
                # aiosmtpd cannot tell that an implicit-TLS session is encrypted (aio-libs/aiosmtpd#281),
                # so TLS is required for AUTH only where STARTTLS is the way to get it. MAIL without
                # AUTH is refused by the handler: aiosmtpd's own auth_required warns on every
                # connection when AUTH may go without STARTTLS, as it does on the other two sinks.
                auth_require_tls=starttls,
                auth_exclude_mechanism=excluded,
            )
        self._controller = _Controller(
            _Handler(self),
            hostname=host,
            port=port,
            ssl_context=server_context if implicit_tls else None,
            **kwargs,
        )
        try:
            self._controller.start()
        except BaseException:
            if self._tmp is not None:
                self._tmp.cleanup()
            raise
        with self._cond:
            self.connections = 0  # the controller's own start-up probe is not a client
            self._protocols.clear()
        self.port: int = self._controller.port

    # -- TLS -------------------------------------------------------------------------------------
    def _make_tls(self) -> ssl.SSLContext:
        import trustme

        self._ca = trustme.CA()
        cert = self._ca.issue_cert("127.0.0.1", "localhost")
        self._tmp = tempfile.TemporaryDirectory(prefix="tocsin-smtp-sink-")
        self.ca_file = Path(self._tmp.name) / "ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        return context

    def client_ssl_context(self) -> ssl.SSLContext:
        """An SSL context for clients that trusts this sink's certificate (TLS sinks only)."""
        if self.ca_file is None:
            raise RuntimeError("this sink does not speak TLS (use starttls=True or implicit_tls=True)")
        return ssl.create_default_context(cafile=str(self.ca_file))

    # -- behaviour -------------------------------------------------------------------------------
    def refuse(self, address: str, code: int = 550, reason: str = "5.1.1 mailbox unavailable") -> None:
        """Answer ``RCPT TO:<address>`` with ``code reason`` (case-insensitive match)."""
        self._refused[address.casefold()] = (code, reason)

    def reply(self, *replies: str) -> SmtpSink:
        """Answer the next messages' DATA with these SMTP replies (``"451 4.3.0 busy"``), then accept again.

        A 4xx or 5xx reply rejects that message: it is counted in ``transactions`` but not recorded.
        """
        for reply in replies:
            code = reply.split(" ", 1)[0]
            if not (len(code) == 3 and code.isdigit()):
                raise ValueError(f"an SMTP reply starts with a 3-digit code: {reply!r}")
        with self._cond:
            self._script.extend(replies)
        return self

    def disconnect_all(self) -> None:
        """Drop every open client connection from the server side (as an idle timeout would)."""
        self._controller.loop.call_soon_threadsafe(self._close_transports)
        self.wait_closed()

    def _close_transports(self) -> None:
        with self._cond:
            protocols = list(self._protocols)
        for protocol in protocols:
            transport = getattr(protocol, "transport", None)
            if transport is not None:
                transport.close()

    def wait_closed(self, timeout: float = 5.0) -> None:
        """Block until no client connection is open (AssertionError after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while self.open_connections:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.open_connections} connection(s) still open after {timeout:g}s")
            time.sleep(0.01)

    @property
    def open_connections(self) -> int:
        """Client connections open right now (a client that sent QUIT, or was dropped, is gone)."""
        with self._cond:
            protocols = list(self._protocols)
        return sum(1 for protocol in protocols if getattr(protocol, "transport", None) is not None)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        ok = login == self.user and auth_data.password.decode("utf-8", "replace") == self.password
        with self._cond:
            self.auth_attempts.append(AuthAttempt(mechanism, login, ok))
        return AuthResult(success=ok, handled=False, auth_data=login if ok else None)

    # -- reading ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``smtp://127.0.0.1:<port>`` (``smtps://`` for an implicit-TLS sink)."""
        scheme = "smtps" if self._controller.ssl_context is not None else "smtp"
        return f"{scheme}://{self.host}:{self.port}"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMessage]:
        """Block until ``count`` messages arrived (AssertionError after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} messages, got {len(self.messages)}")
                self._cond.wait(left)
            return list(self.messages)

    @property
    def last(self) -> ReceivedMessage:
        """The most recent message (AssertionError when there is none)."""
        if not self.messages:
            raise AssertionError("the sink received no message")
        return self.messages[-1]

    def close(self) -> None:
        """Drop the clients still connected, stop the server, delete the certificate files."""
        if self.open_connections:
            self._controller.loop.call_soon_threadsafe(self._close_transports)
            with contextlib.suppress(AssertionError):  # stopping the server closes them anyway
                self.wait_closed(timeout=2.0)
        self._controller.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> SmtpSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Handler:
    """aiosmtpd handler: refuses scripted recipients, records every message."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.sink.user is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        refused = self.sink._refused.get(address.casefold())
        if refused is not None:
            return f"{refused[0]} {refused[1]}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.sink._cond:
            self.sink.transactions += 1
            scripted = self.sink._script.popleft() if self.sink._script else None
            self.sink._cond.notify_all()
        if scripted is not None and not scripted.startswith("2"):
            return scripted
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        message = BytesParser(ReceivedMessage, policy=email.policy.default).parsebytes(raw)
        assert isinstance(message, ReceivedMessage)
        message.mail_from = envelope.mail_from
        message.rcpt_tos = list(envelope.rcpt_tos)
        message.raw = raw
        message.tls = session.ssl is not None or server.transport.get_extra_info("sslcontext") is not None
        message.login = session.auth_data if isinstance(session.auth_data, str) else None
        message.ehlo = session.host_name or ""
        with self.sink._cond:
            self.sink.messages.append(message)
            self.sink._cond.notify_all()
        return scripted or "250 Message accepted for delivery"
