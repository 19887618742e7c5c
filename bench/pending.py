"""Memory of a full queue: what 10,000 pending deliveries cost, and that a full queue stops growing.

    python bench/pending.py        # 10 s to 1 min, with the machine's load; --pending 10000
    python bench/pending.py --store sqlite     # the same with a durable outbox (rows on disk)

One notifier (memory store, ``[delivery] max_pending = --pending``) with one target whose server never
answers (a socket that accepts and reads, in this process), so every delivery stays pending. Events are
submitted fire-and-forget until the queue is full; Python's traced memory (``tracemalloc``) is read at
each tenth of the way (from after the first request is out, so importing the HTTP stack is not
counted), then 1,000 more submissions are refused with ``QueueFullError`` (``wait=0``) and
memory is read again. Nothing here is a test; nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import socket
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from local_plugin import BenchPlugin

from tocsin import Config, DeliverySettings, Event, Notifier, QueueFullError, Settings, Target


def silent_server() -> tuple[str, threading.Event, list[socket.socket]]:
    """A server on 127.0.0.1 that accepts connections and never answers (until ``stop`` is set)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue
        for conn in held:
            conn.close()
        server.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}", stop, held


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pending", type=int, default=10_000)
    parser.add_argument("--store", choices=("memory", "sqlite"), default="memory", help="the outbox (default memory)")
    args = parser.parse_args()
    url, stop, held = silent_server()
    folder = tempfile.TemporaryDirectory()
    store = f"sqlite:///{folder.name}/outbox.db" if args.store == "sqlite" else "memory"
    config = Config(
        settings=Settings(timeout=300, max_retries=0),
        delivery=DeliverySettings(max_pending=args.pending, close_timeout=0, store=store),
        targets=[Target("silent", "benchhttp", {"url": f"{url}/in"})],
    )
    notifier = Notifier(config, plugins=[BenchPlugin()])
    notifier.submit(Event("job_completed", data={"n": -1}))  # warm up: thread, pool, templates
    deadline = time.monotonic() + 30
    while not held and time.monotonic() < deadline:  # the first request is out: the HTTP stack is imported
        time.sleep(0.05)
    time.sleep(0.2)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    print("| pending deliveries | traced memory above the start | per pending delivery |")
    print("|---|---|---|")
    step = max(args.pending // 10, 1)
    for n in range(args.pending - 1):
        notifier.submit(Event("job_completed", data={"n": n, "run_name": f"nightly-{n}"}))
        if (n + 2) % step == 0:
            gc.collect()
            used = tracemalloc.get_traced_memory()[0] - base
            print(f"| {n + 2:,} | {mib(used)} | {used / (n + 2) / 1024:.2f} KiB |", flush=True)
    refused = 0
    for n in range(1000):
        try:
            notifier.submit(Event("job_completed", data={"n": n}), wait=0)
        except QueueFullError:
            refused += 1
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - base
    print(f"| {args.pending:,} + 1,000 refused ({refused} QueueFullError) | {mib(used)} | |")
    stop.set()
    notifier.close(timeout=0)
    folder.cleanup()


if __name__ == "__main__":
    main()
