"""SMTP delivery with aiosmtplib: one shared connection per server, and every failure classified.

Connection reuse: all targets of one notifier that use the same server and login share one
:class:`SmtpConnection` (``transport.shared``). Its lock sends their messages one after another over a
single SMTP session, so a burst (one event to several mail targets, or many events in a row) costs one
connect, one TLS handshake and one AUTH. The session is closed with QUIT after :data:`IDLE_SECONDS`
without use, or when the notifier closes. A session the server dropped while idle is noticed on the
next send and replaced once, transparently.

Errors: connection refused, DNS failures, timeouts, dropped connections and 4xx answers raise
:class:`tocsin.RetryableError`; bad credentials, TLS mode mismatches, certificate failures, refused
senders and recipients (5xx) raise :class:`tocsin.PermanentError` with what to change. No message ever
holds the password or the URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from typing import Any

import aiosmtplib

from tocsin import DeliveryError, PermanentError, RetryableError

from .addresses import header_text
from .options import Server

__all__ = ["IDLE_SECONDS", "SmtpConnection", "describe_failure"]

#: Seconds an unused connection stays open before QUIT (servers drop idle clients after 1-5 min).
IDLE_SECONDS = 30.0
#: Share of the attempt's timeout allowed for TCP connect, TLS and the greeting.
CONNECT_SHARE = 0.7
#: Share of it for the check, after a greeting timeout, whether the port speaks implicit TLS.
PROBE_SHARE = 0.2

AUTH_HINT = "authentication failed — check user/password; Gmail needs an app password"


class SmtpConnection:
    """One SMTP session to one server, shared by the targets that use it; sends one message at a time."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()
        self._tls: ssl.SSLContext | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._closed: list[Any] = []  # protocols of sessions closed, until their transport is gone
        #: Sessions opened so far (tests and logs read it).
        self.opened = 0

    def __repr__(self) -> str:
        return f"SmtpConnection({self.server.label}, {self.server.security})"

    # -- sending ---------------------------------------------------------------------------------
    async def send(self, sender: str, recipients: list[str], data: bytes, timeout: float) -> None:
        """Send one message; raise RetryableError or PermanentError (with what to do) on failure."""
        async with self._lock:
            self._cancel_idle()
            try:
                refused = await self._send_locked(sender, recipients, data, timeout)
            except asyncio.CancelledError:  # the attempt's timeout: the session state is unknown
                self._drop()
                raise
            except Exception as exc:
                if not isinstance(exc, _KEEP_SESSION) or not self._connected():
                    self._drop()
                raise describe_failure(exc, self.server) from None
            finally:
                self._schedule_idle()
        if refused:
            raise PermanentError(
                f"{_refused_text(refused)}; the message went to the other {len(recipients) - len(refused)} recipient(s)"
            )

    async def _send_locked(self, sender: str, recipients: list[str], data: bytes, timeout: float) -> dict[str, Any]:
        reused = self._connected()
        if not reused:
            await self._open(timeout)
        assert self._client is not None
        try:
            refused, _ = await self._client.sendmail(sender, recipients, data, timeout=timeout)
        except (aiosmtplib.SMTPServerDisconnected, ConnectionError, aiosmtplib.SMTPResponseException) as exc:
            stale = not isinstance(exc, aiosmtplib.SMTPResponseException) or exc.code == 421
            if not (reused and stale):
                raise
            # The server closed the session while it sat idle: open a fresh one and send once more.
            self._drop()
            await self._open(timeout)
            refused, _ = await self._client.sendmail(sender, recipients, data, timeout=timeout)
        return refused

    def _connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    async def _open(self, timeout: float) -> None:
        server = self.server
        if self._tls is None and server.security != "none":
            self._tls = await asyncio.to_thread(_tls_context, server)
        connect_timeout = max(timeout * CONNECT_SHARE, 0.1)
        client = aiosmtplib.SMTP(
            hostname=server.host,
            port=server.port,
            timeout=timeout,
            use_tls=server.security == "ssl",
            start_tls=False,
            local_hostname=server.ehlo_name,
            tls_context=self._tls if server.security == "ssl" else None,
        )
        self._client = client
        try:
            await client.connect(timeout=connect_timeout)
        except aiosmtplib.SMTPConnectTimeoutError:
            if server.security != "ssl" and await _speaks_tls(server, max(timeout * PROBE_SHARE, 0.1)):
                raise _Mismatch(
                    f"{server.label} speaks TLS from the first byte (implicit TLS, as on port 465), not plain "
                    'SMTP: use security = "ssl" (or an smtps:// URL)'
                ) from None
            raise
        self.opened += 1
        if server.security in ("starttls", "opportunistic"):
            await client.ehlo()
            if client.supports_extension("starttls"):
                await client.starttls(tls_context=self._tls)
            elif server.security == "starttls":  # opportunistic (lettre's Tls::Opportunistic) goes on in the clear
                raise _Mismatch(
                    f'{server.label} does not offer STARTTLS: use security = "none" or a server with STARTTLS '
                    '(if this port speaks TLS from the first byte, as 465 does, use security = "ssl")'
                )
        if server.user is not None:
            await client.ehlo()  # (again after STARTTLS: what the server said in the clear is forgotten)
            if not client.supports_extension("auth"):
                if server.security in ("none", "opportunistic") and client.supports_extension("starttls"):
                    raise _Mismatch(f'{server.label} offers AUTH only after STARTTLS: use security = "starttls"')
                raise _Mismatch(f"{server.label} does not offer AUTH: remove user/password, or check host and port")
            password = server.password.reveal() if server.password is not None else ""
            await client.login(server.user, password)

    # -- closing ---------------------------------------------------------------------------------
    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            self._remember_closed(client)
            client.close()

    def _remember_closed(self, client: aiosmtplib.SMTP) -> None:
        self._closed = [p for p in self._closed if getattr(p, "transport", None) is not None]
        if client.protocol is not None:
            self._closed.append(client.protocol)

    def _cancel_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _schedule_idle(self) -> None:
        self._cancel_idle()
        if self._connected():
            self._idle = asyncio.get_running_loop().call_later(IDLE_SECONDS, self._on_idle)

    def _on_idle(self) -> None:
        self._idle = None
        if self._lock.locked() or not self._connected():
            return
        task = asyncio.get_running_loop().create_task(self._idle_quit())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _idle_quit(self) -> None:
        async with self._lock:
            if self._idle is None:  # no message went out since the timer fired
                await self._quit()

    async def _quit(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        self._remember_closed(client)
        try:
            if client.is_connected:
                await asyncio.wait_for(client.quit(), 2.0)
        except Exception:  # QUIT is a courtesy
            pass
        finally:
            client.close()

    async def aclose(self) -> None:
        """QUIT and close (the transport calls this when the notifier closes)."""
        self._cancel_idle()
        for task in list(self._closing):
            with contextlib.suppress(Exception):
                await task
        await self._quit()
        # Let closed sessions finish (a TLS shutdown takes a round trip) before the loop may stop.
        deadline = asyncio.get_running_loop().time() + 1.0
        while any(getattr(p, "transport", None) is not None for p in self._closed):
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.01)
        self._closed.clear()


# Failures after which the SMTP session is still in a clean state (aiosmtplib sent RSET).
_KEEP_SESSION = (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPDataError)


class _Mismatch(Exception):
    """A TLS/AUTH configuration that does not fit the server: permanent, with what to change."""


def _tls_context(server: Server) -> ssl.SSLContext:
    try:
        if not server.verify:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        return ssl.create_default_context(cafile=server.ca_file) if server.ca_file else ssl.create_default_context()
    except (OSError, ssl.SSLError) as exc:
        raise _Mismatch(f"ca_file: cannot load the CA certificates: {getattr(exc, 'strerror', None) or exc}") from None


async def _speaks_tls(server: Server, timeout: float) -> bool:
    """Whether ``server`` completes a TLS handshake on its port (certificate not checked)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(server.host, server.port, ssl=context, ssl_handshake_timeout=timeout), timeout
        )
    except (OSError, asyncio.TimeoutError, ssl.SSLError):
        return False
    writer.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(writer.wait_closed(), 0.5)
    return True


def _said(exc: aiosmtplib.SMTPResponseException, server: Server) -> str:
    """``550 5.1.1 no such user``: the server's own words, one line, bounded, password-free."""
    text = header_text(exc.message)
    password = server.password.reveal() if server.password is not None else ""
    if len(password) >= 4:
        text = text.replace(password, "***")
    return f"{exc.code} {text[:200]}".strip()


def _refused_text(refused: dict[str, Any]) -> str:
    parts = [
        f"{address} ({response.code} {header_text(response.message)[:120]})" for address, response in refused.items()
    ]
    return f"recipient{'s' if len(parts) > 1 else ''} refused: {', '.join(parts)}"


def _cause(exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]) -> Any:
    seen = exc
    for _ in range(5):
        if isinstance(seen, kind):
            return seen
        if seen.__cause__ is None:
            return None
        seen = seen.__cause__
    return None


def describe_failure(exc: BaseException, server: Server) -> DeliveryError:
    """The taxonomy's error for ``exc``, worded for the person who configured the target."""
    label = server.label
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, _Mismatch):
        return PermanentError(str(exc))
    cert = _cause(exc, ssl.SSLCertVerificationError)
    if cert is not None:
        reason = getattr(cert, "verify_message", "") or "not trusted"
        return PermanentError(
            f"the TLS certificate of {label} failed verification ({reason}): set ca_file to the CA that "
            "signed it, or verify = false for a test server"
        )
    tls_error = _cause(exc, ssl.SSLError)
    if tls_error is not None:
        reason = getattr(tls_error, "reason", None) or type(tls_error).__name__
        if server.security == "ssl":
            return PermanentError(
                'the server does not speak TLS on this port: use security = "starttls" or "none" '
                f"({label}: TLS handshake failed, {reason})"
            )
        return PermanentError(f"the TLS handshake with {label} failed after STARTTLS ({reason})")
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        if 400 <= exc.code < 500:
            return RetryableError(f"temporary authentication failure at {label}: {_said(exc, server)}")
        return PermanentError(f"{AUTH_HINT} ({_said(exc, server)})")
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refused = {e.recipient: e for e in exc.recipients}
        text = _refused_text(refused)
        if all(400 <= e.code < 500 for e in exc.recipients):
            return RetryableError(f"{text} (temporary)")
        return PermanentError(text)
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        said = _said(exc, server)
        if exc.code == 530 and "tls" in exc.message.lower():
            return PermanentError(f'{label} requires STARTTLS before sending ({said}): use security = "starttls"')
        if exc.code == 530:
            return PermanentError(f"{label} requires authentication ({said}): set user and password")
        if 400 <= exc.code < 500:
            return RetryableError(f"sender {exc.sender} refused for now: {said}")
        return PermanentError(
            f"sender {exc.sender} refused: {said} (many servers accept only the address you log in as in from)"
        )
    if isinstance(exc, aiosmtplib.SMTPConnectResponseError):
        kind = RetryableError if exc.code < 500 else PermanentError
        return kind(f"{label} refused the connection: {_said(exc, server)}")
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return RetryableError(f"timed out connecting to {label} or waiting for its answer")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        kind = RetryableError if 400 <= exc.code < 500 else PermanentError
        what = "message refused" if isinstance(exc, aiosmtplib.SMTPDataError) else f"{label} answered"
        return kind(f"{what}: {_said(exc, server)}")
    if isinstance(exc, (aiosmtplib.SMTPConnectError, OSError)):
        root = exc.__cause__ if isinstance(exc, aiosmtplib.SMTPConnectError) and exc.__cause__ else exc
        if isinstance(root, socket.gaierror):
            return RetryableError(f"could not resolve the host name {server.host!r} (DNS)")
        if isinstance(root, ConnectionRefusedError):
            return RetryableError(f"connection refused by {label}: is the server running, and the port right?")
        if isinstance(root, (aiosmtplib.SMTPServerDisconnected, ConnectionResetError, BrokenPipeError, EOFError)):
            return RetryableError(f"{label} closed the connection")
        if isinstance(root, TimeoutError):
            return RetryableError(f"timed out connecting to {label}")
        reason = getattr(root, "strerror", None) or header_text(root)[:200] or type(root).__name__
        return RetryableError(f"could not connect to {label}: {reason}")
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return PermanentError(f"{label}: {header_text(exc)[:200]}")
    if isinstance(exc, aiosmtplib.SMTPException):
        return PermanentError(f"SMTP error with {label}: {header_text(exc)[:200]}")
    if isinstance(exc, ValueError):
        return PermanentError(f"cannot send this message: {header_text(exc)[:200]}")
    return PermanentError(f"{type(exc).__name__} while sending to {label}")
