"""Real servers on 127.0.0.1 that stand in for Discord, Slack, Teams, webhooks and SMTP in tests.

:class:`HttpSink` is a threaded HTTP/1.1 server (keep-alive) that records every request and answers
from a script: ``sink.reply(Reply(500), Reply(429, headers={"Retry-After": "1"}), Reply(204))`` answers
the next three requests in that order, then the default. It also counts requests in flight, so a test
can check a concurrency cap. ``Recorded.form()`` reads a ``multipart/form-data`` body back into its parts
(parsed by the ``email`` package, not by the code under test). :class:`SmtpSink` is an aiosmtpd server
(optionally STARTTLS, implicit TLS, AUTH) that records every message.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs

__all__ = ["FormPart", "HttpSink", "Recorded", "Reply"]


@attrs.frozen
class Reply:
    """One scripted answer: status, body (bytes, str, or JSON-able), headers, and a delay before it."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = attrs.field(factory=dict)
    delay: float = 0.0

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            data = self.body
        elif isinstance(self.body, str):
            data = self.body.encode()
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            data = json.dumps(self.body).encode()
            headers.setdefault("Content-Type", "application/json")
        return data, headers


@attrs.frozen
class FormPart:
    """One part of a ``multipart/form-data`` request: field name, file name (for files), type, bytes."""

    name: str | None
    filename: str | None
    content_type: str
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")


@attrs.frozen
class Recorded:
    """A request the sink received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        """The body parsed as JSON (raises if it is not valid JSON: that is a test failure)."""
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def form(self) -> list[FormPart]:
        """The parts of a ``multipart/form-data`` body, in order (AssertionError for any other body)."""
        content_type = self.header("content-type") or ""
        assert content_type.startswith("multipart/form-data"), f"not a multipart body: {content_type!r}"
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + self.body)
        assert parsed.is_multipart(), "the multipart body could not be parsed"
        return [
            FormPart(
                part.get_param("name", header="content-disposition"),  # type: ignore[arg-type]
                part.get_filename(),
                part.get_content_type(),
                part.get_payload(decode=True) or b"",  # type: ignore[arg-type]
            )
            for part in parsed.iter_parts()  # type: ignore[attr-defined]
        ]

    def part(self, name: str) -> FormPart:
        """The multipart part called ``name`` (AssertionError when there is none)."""
        for part in self.form():
            if part.name == name:
                return part
        raise AssertionError(f"no part {name!r} in the multipart body")


class _Server(ThreadingHTTPServer):
    """socketserver's listen backlog is 5: a burst of connections beyond it (two drains, 16 in flight) on a
    busy machine has the kernel drop one, and the client sees a connection error the sink caused. A real
    server's backlog is in the hundreds."""

    request_queue_size = 128


class HttpSink:
    """An HTTP server on 127.0.0.1 that records requests and answers from a script.

    Use as a context manager (or the ``tocsin_http_sink`` fixture). ``url`` is its base URL; any path and method
    are accepted. ``max_in_flight`` is the highest number of requests handled at once.
    """

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply(200, b"ok")
        self.requests: list[Recorded] = []
        self._script: deque[Reply | Callable[[Recorded], Reply]] = deque()
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self.in_flight = 0
        self.max_in_flight = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    body = self._read_chunked()
                else:
                    length = int(self.headers.get("Content-Length") or 0)
                    body = self.rfile.read(length) if length else b""
                record = Recorded(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()
                )
                with sink._cond:
                    sink.in_flight += 1
                    sink.max_in_flight = max(sink.max_in_flight, sink.in_flight)
                    sink.requests.append(record)
                    scripted = sink._script.popleft() if sink._script else sink.default
                    sink._cond.notify_all()
                try:
                    reply = scripted(record) if callable(scripted) else scripted
                    if reply.delay:
                        time.sleep(reply.delay)
                    data, headers = reply.encoded()
                    if reply.status in (204, 304) or reply.status < 200:
                        data = b""  # these answers carry no body (RFC 9110); writing one corrupts keep-alive
                    self.send_response(reply.status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with sink._cond:
                        sink.in_flight -= 1

            def _read_chunked(self) -> bytes:
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()

            do_POST = do_PUT = do_GET = do_PATCH = do_DELETE = _handle

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # A short poll interval: shutdown() waits for the next poll, and every test closes a sink.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="tocsin-http-sink", daemon=True
        )
        self._thread.start()

    def reply(self, *replies: Reply | Callable[[Recorded], Reply]) -> HttpSink:
        """Answer the next requests with these, in order (a callable gets the request); then the default."""
        with self._lock:
            self._script.extend(replies)
        return self

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Recorded]:
        """Block until ``count`` requests arrived (AssertionError after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} requests, got {len(self.requests)}")
                self._cond.wait(left)
            return list(self.requests)

    @property
    def last(self) -> Recorded:
        """The most recent request (AssertionError when there is none)."""
        if not self.requests:
            raise AssertionError("the sink received no request")
        return self.requests[-1]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HttpSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def replies(*statuses: int) -> Iterable[Reply]:
    """``replies(500, 500, 204)``: plain replies with these statuses."""
    return [Reply(s) for s in statuses]
