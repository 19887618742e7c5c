"""The HTTP stack, behind one small interface: plugins see :class:`Transport`, never the client library.

``post_json`` sends a JSON document and maps the answer onto the error taxonomy the delivery engine
retries by: connection errors, timeouts, 5xx, 408 and 429 raise :class:`RetryableError` (429 carrying
``Retry-After`` or a JSON ``retry_after``); any other non-2xx raises :class:`PermanentError` with the
platform's own reason; 2xx returns a :class:`Response`. ``post_multipart`` (``multipart/form-data``, encoded
by the HTTP stack) and ``put_bytes`` (a raw body: a file upload) map answers the same way. The stack itself
(httpx, or aiohttp with ``http_backend = "aiohttp"``) lives in :mod:`tocsin.http_backends`. Of any
answer, at most :data:`MAX_RESPONSE_BYTES` of the body are read (streamed, then the connection is
dropped), whatever the status or the ``Content-Length``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from .errors import PermanentError, RetryableError
from .http_backends import HTTP_BACKENDS, FilePart, open_backend
from .secrets import Secret, active_secrets, redact, reveal
from .text import json_safe

__all__ = ["HTTP_BACKENDS", "FilePart", "Response", "Transport", "parse_retry_after", "reason_from_body"]

T = TypeVar("T")
#: The most bytes read of any answer's body; the rest is never read, so a 100 MB error page (or a
#: receiver that never stops talking) costs this much memory at most. Reasons quote a few hundred.
MAX_RESPONSE_BYTES = 64 * 1024


@attrs.frozen
class Response:
    """An HTTP answer, as plugins see it: status, lower-cased headers, text."""

    status_code: int
    headers: dict[str, str] = attrs.field(factory=dict)
    text: str = ""

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.text) if self.text else None
        except ValueError:
            return None

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


def parse_retry_after(response: Response) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or a JSON ``retry_after``."""
    waits: list[float] = []
    header = response.headers.get("retry-after")
    if header:
        try:
            waits.append(max(0.0, float(header)))
        except ValueError:
            import email.utils

            parsed = email.utils.parsedate_to_datetime(header) if header else None
            if parsed is not None:
                waits.append(max(0.0, parsed.timestamp() - time.time()))
    body = response.json()
    if isinstance(body, Mapping):
        value = body.get("retry_after")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            waits.append(max(0.0, float(value)))
    return max(waits) if waits else None


def reason_from_body(response: Response, limit: int = 300) -> str:
    """The platform's own words for an error answer: a JSON message/error field, or the text.

    Redacted (the secrets of the target being delivered to) before it is cut to ``limit``.
    """
    return redact(_reason(response, limit * 4), active_secrets())[:limit]


def _reason(response: Response, limit: int) -> str:
    body = response.json()
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        body = body["error"]  # {"error": {"code": "...", "message": "..."}} (Azure, Power Automate, …)
    if isinstance(body, Mapping):
        for key in ("message", "error_description", "error", "detail", "description", "title"):
            value = body.get(key)
            if isinstance(value, str) and value:
                compact = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
                if len(compact) <= limit and len(body) > 1:
                    return compact
                return value[:limit]
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))[:limit]
    text = " ".join(response.text.split())
    return text[:limit] if text else (_reason_phrase(response.status_code) or "no reason given")


def _reason_phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def encode_json(body: Any) -> bytes:
    """JSON bytes, UTF-8; falls back to ASCII escapes if the data holds unpaired surrogates. Never fails
    on odd values: NaN/±Infinity become ``"NaN"``/``"Infinity"``/``"-Infinity"``, other objects their
    text, nesting deeper than 64 levels a string (:func:`tocsin.text.json_safe`)."""
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        body = json_safe(body)
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(body, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode("ascii")


class Transport:
    """What ``deliver`` hooks use to send: one pooled HTTP client per notifier, and a thread pool.

    ``shared(key, factory)`` keeps one object (an SMTP connection, a token cache) for the notifier's
    lifetime; objects with ``close()``/``aclose()`` are closed with the notifier.
    """

    def __init__(self, *, timeout: float = 10.0, max_connections: int = 100, backend: str = "httpx") -> None:
        self.timeout = timeout
        self._backend = open_backend(backend, timeout=timeout, max_connections=max_connections)
        self._shared: dict[str, Any] = {}

    async def request(
        self,
        method: str,
        url: Secret | str,
        *,
        content: bytes | str | None = None,
        json_body: Any = None,
        headers: Mapping[str, Secret | str] | None = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
        data: Mapping[str, str] | None = None,
        files: Sequence[FilePart] | None = None,
    ) -> Response:
        """Send one request; connection faults and timeouts raise RetryableError, answers are returned.

        ``data`` and ``files`` make a ``multipart/form-data`` body (``data`` alone is form-encoded).
        Secret URLs and header values are revealed here and nowhere else.
        """
        plain_headers = {k: reveal(v) or "" for k, v in headers.items()} if headers else {}
        if json_body is not None:
            content = encode_json(json_body)
            plain_headers.setdefault("content-type", "application/json")
        elif isinstance(content, str):
            content = content.encode("utf-8")
        status, answer_headers, text = await self._backend.send(
            method,
            reveal(url) or "",
            content=content,
            data=data,
            files=files,
            headers=plain_headers,
            params=params,
            timeout=timeout,
            limit=MAX_RESPONSE_BYTES,
        )
        return Response(status, answer_headers, text)

    def post_json(
        self,
        url: Secret | str,
        body: Any,
        *,
        method: str = "POST",
        headers: Mapping[str, Secret | str] | None = None,
        params: Mapping[str, str] | None = None,
        content: bytes | None = None,
        describe_error: Callable[[Response], str | None] | None = None,
        check: Callable[[Response], None] | None = None,
    ) -> Awaitable[Response]:
        """Send ``body`` as JSON (or ``content`` as is) and classify the answer.

        ``describe_error(response)`` may return a better reason for a non-2xx answer (e.g. Discord's
        "webhook not found"); ``check(response)`` may raise for a 2xx answer that is really a failure
        (Slack's ``{"ok": false}``).
        """
        return self._post_json(url, body, method, headers, params, content, describe_error, check)

    async def _post_json(
        self,
        url: Secret | str,
        body: Any,
        method: str,
        headers: Mapping[str, Secret | str] | None,
        params: Mapping[str, str] | None,
        content: bytes | None,
        describe_error: Callable[[Response], str | None] | None,
        check: Callable[[Response], None] | None,
    ) -> Response:
        if content is not None:
            headers = dict(headers or {})
            if not any(name.lower() == "content-type" for name in headers):
                headers["content-type"] = "application/json"
            response = await self.request(method, url, content=content, headers=headers, params=params)
        else:
            response = await self.request(method, url, json_body=body, headers=headers, params=params)
        raise_for_status(response, describe_error)
        if check is not None:
            check(response)
        return response

    def post_multipart(
        self,
        url: Secret | str,
        fields: Mapping[str, str],
        files: Sequence[FilePart] = (),
        *,
        headers: Mapping[str, Secret | str] | None = None,
        params: Mapping[str, str] | None = None,
        describe_error: Callable[[Response], str | None] | None = None,
        check: Callable[[Response], None] | None = None,
    ) -> Awaitable[Response]:
        """POST a ``multipart/form-data`` body: text ``fields`` and ``files`` (``(field, file name, bytes,
        content type)``), classified like :meth:`post_json` (Discord's ``payload_json`` + ``files[n]``)."""
        request = {"data": dict(fields), "files": list(files), "headers": headers, "params": params}
        return self._send("POST", url, request, describe_error, check)

    def put_bytes(
        self,
        url: Secret | str,
        content: bytes,
        *,
        content_type: str = "application/octet-stream",
        method: str = "PUT",
        headers: Mapping[str, Secret | str] | None = None,
        params: Mapping[str, str] | None = None,
        describe_error: Callable[[Response], str | None] | None = None,
        check: Callable[[Response], None] | None = None,
    ) -> Awaitable[Response]:
        """Send ``content`` as the raw body (a file upload: ntfy's PUT, Slack's upload URL), classified
        like :meth:`post_json`. A ``content-type`` in ``headers`` wins over ``content_type``."""
        merged: dict[str, Secret | str] = dict(headers or {})
        if not any(name.lower() == "content-type" for name in merged):
            merged["content-type"] = content_type
        request = {"content": content, "headers": merged, "params": params}
        return self._send(method, url, request, describe_error, check)

    async def _send(
        self,
        method: str,
        url: Secret | str,
        request: dict[str, Any],
        describe_error: Callable[[Response], str | None] | None,
        check: Callable[[Response], None] | None,
    ) -> Response:
        response = await self.request(method, url, **request)
        raise_for_status(response, describe_error)
        if check is not None:
            check(response)
        return response

    def run_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Awaitable[T]:
        """Run blocking ``fn(*args, **kwargs)`` in a worker thread; the event loop stays free."""
        import asyncio

        return asyncio.to_thread(fn, *args, **kwargs)

    def shared(self, key: str, factory: Callable[[], T]) -> T:
        """One object per ``key`` for this transport's lifetime (closed with it)."""
        if key not in self._shared:
            self._shared[key] = factory()
        return self._shared[key]

    async def aclose(self) -> None:
        """Close the HTTP client and every shared object."""
        import asyncio

        for obj in self._shared.values():
            closer = getattr(obj, "aclose", None) or getattr(obj, "close", None)
            if closer is not None:
                try:
                    result = closer()
                    if asyncio.iscoroutine(result):
                        await result
                except Exception:  # closing must not raise
                    pass
        self._shared.clear()
        await self._backend.aclose()


def raise_for_status(response: Response, describe_error: Callable[[Response], str | None] | None = None) -> None:
    """Raise the taxonomy's error for a non-2xx answer; return for 2xx."""
    status = response.status_code
    if 200 <= status < 300:
        return
    reason = (describe_error(response) if describe_error else None) or reason_from_body(response)
    if status == 429:
        wait = parse_retry_after(response)
        hint = f", retry after {wait:g}s" if wait is not None else ""
        raise RetryableError(f"HTTP 429 rate limited{hint}: {reason}", status_code=status, retry_after=wait)
    if status == 408 or status >= 500:
        raise RetryableError(f"HTTP {status}: {reason}", status_code=status, retry_after=parse_retry_after(response))
    raise PermanentError(f"HTTP {status}: {reason}", status_code=status)
