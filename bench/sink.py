"""A minimal keep-alive HTTP/1.1 sink for the benchmarks: answers every request ``204 No Content``.

Run by ``bench/run.py`` in its own process, bound to 127.0.0.1 only::

    python bench/sink.py [--port 0] [--max-seconds 600]

It prints ``PORT <n>`` on stdout once it listens, then serves until its stdin closes (the runner died
or closed the pipe), it gets SIGTERM/SIGINT, or ``--max-seconds`` pass, whichever comes first: it can
never outlive the benchmark for long. ``GET /_stats`` answers ``200`` with ``{"requests": n,
"connections": n, "bytes": n}`` (the POSTs counted so far) so the runner can check that every delivery
arrived.

It is an ``asyncio.Protocol`` with a hand-written parser (request line, headers, ``Content-Length``
body, pipelining) rather than ``http.server``, so that one core answers far faster than any client
under test can send: the numbers measure the clients, not the sink.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import threading

NO_CONTENT = b"HTTP/1.1 204 No Content\r\nServer: tocsin-bench-sink\r\n\r\n"
NO_CONTENT_CLOSE = b"HTTP/1.1 204 No Content\r\nServer: tocsin-bench-sink\r\nConnection: close\r\n\r\n"
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
MAX_HEAD = 64 * 1024


class Stats:
    requests = 0
    connections = 0
    bytes = 0


class SinkProtocol(asyncio.Protocol):
    """One connection: parse requests as they arrive (pipelined or not) and answer each at once."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        Stats.connections += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self._fail()
                return
            head = bytes(self.buffer[:end]).decode("latin-1")
            lines = head.split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3:
                self._fail()
                return
            method, target, version = parts
            length = 0
            close = version == "HTTP/1.0"
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    try:
                        length = int(value.strip())
                    except ValueError:
                        self._fail()
                        return
                elif name == "transfer-encoding":
                    self._fail()  # no client under test sends chunked bodies
                    return
                elif name == "connection":
                    token = value.strip().lower()
                    close = token == "close" or (close and token != "keep-alive")
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            del self.buffer[:total]
            if method == "GET" and target.startswith("/_stats"):
                self._stats(close)
            else:
                Stats.requests += 1
                Stats.bytes += length
                self.transport.write(NO_CONTENT_CLOSE if close else NO_CONTENT)
            if close:
                self.transport.close()
                self.transport = None

    def _stats(self, close: bool) -> None:
        body = json.dumps({"requests": Stats.requests, "connections": Stats.connections, "bytes": Stats.bytes})
        data = body.encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        if close:
            head += "Connection: close\r\n"
        assert self.transport is not None
        self.transport.write(head.encode() + b"\r\n" + data)

    def _fail(self) -> None:
        if self.transport is not None:
            self.transport.write(BAD_REQUEST)
            self.transport.close()
            self.transport = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def _watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Stop when stdin reaches EOF: the runner closed it or died."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, ValueError):
        pass
    loop.call_soon_threadsafe(stop.set)


async def serve(port: int, max_seconds: float, watch_stdin: bool) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = await loop.create_server(SinkProtocol, "127.0.0.1", port, backlog=1024, reuse_address=True)
    bound = server.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)
    if watch_stdin:
        threading.Thread(target=_watch_stdin, args=(loop, stop), daemon=True).start()
    try:
        await asyncio.wait_for(stop.wait(), timeout=max_seconds)
    except asyncio.TimeoutError:
        print("sink: --max-seconds reached, exiting", file=sys.stderr, flush=True)
    server.close()
    close_clients = getattr(server, "close_clients", None)  # Python 3.13+
    if close_clients is not None:
        close_clients()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(server.wait_closed(), timeout=1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="exit after this long in any case")
    parser.add_argument("--no-stdin-watch", action="store_true", help="do not exit when stdin closes")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.port, args.max_seconds, not args.no_stdin_watch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
