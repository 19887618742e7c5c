"""The two HTTP stacks behind :class:`tocsin.transport.Transport`: httpx (the default) and aiohttp.

Each backend's ``send`` takes one request in plain values (the URL and header values already revealed),
and returns ``(status, lower-cased headers, text)`` with at most ``limit`` bytes of the body read; it
raises :class:`RetryableError` for connection faults and timeouts and :class:`PermanentError` for a URL
it cannot send to, with the same words whichever stack runs. Both are built lazily: nothing of httpx
or aiohttp is imported, and no connection pool made, before the first request; and the httpx backend
loads its certificate authorities (tens of milliseconds) only for the first ``https://`` URL (or proxy).

``aiohttp`` (``pip install 'tocsin[aiohttp]'``, ``[notifications] http_backend = "aiohttp"``) calls
aiohttp directly: bench/ measured it several times faster than httpx's pool with many deliveries in
flight (encode/httpx#3215), and faster than httpx over aiohttp's pool.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import PermanentError, RetryableError
from .secrets import active_secrets, redact

__all__ = ["HTTP_BACKENDS", "AiohttpBackend", "HttpxBackend", "open_backend"]

#: ``[notifications] http_backend`` choices.
HTTP_BACKENDS = ("httpx", "aiohttp")
#: Headers every request carries (a request's own headers win).
DEFAULT_HEADERS = {"user-agent": "tocsin", "accept-encoding": "identity"}
#: One file of a multipart request: ``(field name, file name, bytes, content type)``.
FilePart = tuple[str, str, bytes, str]
Answer = tuple[int, dict[str, str], str]


def open_backend(name: str, *, timeout: float, max_connections: int) -> HttpxBackend | AiohttpBackend:
    """The backend ``[notifications] http_backend`` names (nothing is imported or connected yet)."""
    if name == "aiohttp":
        return AiohttpBackend(timeout=timeout, max_connections=max_connections)
    return HttpxBackend(timeout=timeout, max_connections=max_connections)


class HttpxBackend:
    """httpx's ``AsyncClient`` with its own connection pool."""

    def __init__(self, *, timeout: float, max_connections: int) -> None:
        self.timeout = timeout
        self.max_connections = max_connections
        self._client: Any = None
        self._ssl: Any = None  # an SSLContext whose CAs are loaded on the first https:// request
        self._cas_loaded = False

    def _open(self) -> Any:
        import httpx

        # The context httpx would build (create_ssl_context), minus loading the CAs: _trust() does that
        # before the first request that can use TLS, so plain-http deliveries never pay for it.
        self._ssl = _client_context()
        limits = httpx.Limits(max_connections=self.max_connections, max_keepalive_connections=self.max_connections)
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout),
            limits=limits,
            headers=DEFAULT_HEADERS,
            follow_redirects=False,
            verify=self._ssl,
        )
        if getattr(self._client, "_mounts", True):  # an environment proxy (HTTP_PROXY, …) may speak TLS itself
            self._trust()
        return self._client

    def _trust(self) -> None:
        if self._cas_loaded:
            return
        self._cas_loaded = True
        if os.environ.get("SSL_CERT_FILE"):
            self._ssl.load_verify_locations(cafile=os.environ["SSL_CERT_FILE"])
        elif os.environ.get("SSL_CERT_DIR"):
            self._ssl.load_verify_locations(capath=os.environ["SSL_CERT_DIR"])
        else:
            import certifi

            self._ssl.load_verify_locations(cafile=certifi.where())

    async def send(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None,
        data: Mapping[str, str] | None,
        files: Sequence[FilePart] | None,
        headers: dict[str, str],
        params: Mapping[str, str] | None,
        timeout: float | None,
        limit: int,
    ) -> Answer:
        import httpx

        client = self._client or self._open()
        if not self._cas_loaded and url[:5].lower() != "http:":
            self._trust()
        seconds = timeout or self.timeout
        try:
            async with client.stream(
                method,
                url,
                content=content,
                data=data,
                files=[(field, (name, body, ctype)) for field, name, body, ctype in files] if files else None,
                headers=headers,
                params=params,
                timeout=httpx.Timeout(seconds),
            ) as answer:
                chunks: list[bytes] = []
                size = 0
                async for chunk in answer.aiter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size >= limit:
                        break
                text = _decode(b"".join(chunks)[:limit], answer.charset_encoding)
        except httpx.TimeoutException as exc:
            cause = exc.__cause__
            if isinstance(exc, httpx.ConnectTimeout) and cause is not None and not isinstance(cause, TimeoutError):
                raise RetryableError(f"could not connect: {_short(cause)}") from None
            raise RetryableError(f"timed out after {seconds:g}s waiting for the server") from None
        except httpx.ConnectError as exc:
            raise RetryableError(f"could not connect: {_short(exc)}") from None
        except httpx.InvalidURL:
            raise PermanentError("invalid URL (check the target's url option)") from None
        except httpx.UnsupportedProtocol:
            raise PermanentError("unsupported URL scheme (use http:// or https://)") from None
        except httpx.TransportError as exc:
            raise RetryableError(f"connection failed: {type(exc).__name__}: {_short(exc)}") from None
        return answer.status_code, {k.lower(): v for k, v in answer.headers.items()}, text

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


class AiohttpBackend:
    """aiohttp's ``ClientSession`` called directly (its pool, its parser; no httpx layer)."""

    def __init__(self, *, timeout: float, max_connections: int) -> None:
        self.timeout = timeout
        self.max_connections = max_connections
        self._session: Any = None
        self._timeouts: dict[float, Any] = {}

    def _open(self) -> Any:
        import urllib.request

        import aiohttp

        connector = aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=0)
        # HTTP(S)_PROXY and NO_PROXY count as they do for httpx. aiohttp's trust_env looks them up (and
        # reads ~/.netrc) in a worker thread on every request, so it is on only when a proxy is set.
        proxied = bool(urllib.request.getproxies())
        self._session = aiohttp.ClientSession(
            connector=connector, headers=DEFAULT_HEADERS, trust_env=proxied, auto_decompress=False
        )
        return self._session

    def _timeout(self, seconds: float) -> Any:
        found = self._timeouts.get(seconds)
        if found is None:
            import aiohttp

            found = self._timeouts[seconds] = aiohttp.ClientTimeout(
                total=None, connect=seconds, sock_connect=seconds, sock_read=seconds
            )
        return found

    async def send(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None,
        data: Mapping[str, str] | None,
        files: Sequence[FilePart] | None,
        headers: dict[str, str],
        params: Mapping[str, str] | None,
        timeout: float | None,
        limit: int,
    ) -> Answer:
        import aiohttp

        session = self._session or self._open()
        seconds = timeout or self.timeout
        body: Any = content
        skip: tuple[str, ...] = ("content-type",)  # like httpx: raw bytes get no content type unless given
        if files:
            body = aiohttp.FormData(quote_fields=False)
            for key, value in (data or {}).items():
                body.add_field(key, value)
            for field, name, blob, ctype in files:
                body.add_field(field, blob, filename=name, content_type=ctype)
            skip = ()
        elif data is not None:
            body, skip = dict(data), ()
        try:
            async with session.request(
                method,
                url,
                data=body,
                headers=headers,
                params=params,
                timeout=self._timeout(seconds),
                allow_redirects=False,
                skip_auto_headers=skip,
            ) as answer:
                raw = await answer.content.read(limit)
                while len(raw) < limit and not answer.content.at_eof():
                    more = await answer.content.read(limit - len(raw))
                    if not more:
                        break
                    raw += more
                merged: dict[str, str] = {}
                for key, value in answer.headers.items():
                    key = key.lower()
                    merged[key] = f"{merged[key]}, {value}" if key in merged else value
                return answer.status, merged, _decode(raw, answer.charset)
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise RetryableError(f"timed out after {seconds:g}s waiting for the server") from None
        except aiohttp.ClientConnectorError as exc:
            raise RetryableError(f"could not connect: {_os_reason(exc.os_error)}") from None
        except aiohttp.InvalidURL as exc:
            if isinstance(exc, aiohttp.NonHttpUrlClientError):
                raise PermanentError("unsupported URL scheme (use http:// or https://)") from None
            raise PermanentError("invalid URL (check the target's url option)") from None
        except (aiohttp.ClientError, ValueError) as exc:
            raise RetryableError(f"connection failed: {type(exc).__name__}: {_short(exc)}") from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def _client_context() -> Any:
    """What ``ssl.create_default_context()`` returns, without loading any CA (the caller loads them): the
    same protocol, hostname check, verify flags (3.13+) and ``SSLKEYLOGFILE``."""
    import ssl
    import sys

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname by default
    if sys.version_info >= (3, 13):
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and hasattr(context, "keylog_filename") and not sys.flags.ignore_environment:
        context.keylog_filename = keylog
    return context


def _decode(raw: bytes, charset: str | None) -> str:
    try:
        return raw.decode(charset or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return raw.decode("utf-8", "replace")


def _os_reason(error: OSError) -> str:
    """A socket error's reason without the address asyncio puts in it ("Connect call failed ('host', port)")."""
    if error.errno and (isinstance(error, ConnectionError) or type(error) is OSError):
        return f"[Errno {error.errno}] {os.strerror(error.errno)}"
    return _short(error)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return redact(text, active_secrets())[:200]
