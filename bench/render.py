"""Render cost: microseconds per message for every installed channel's default ``job_failed`` message.

    python bench/render.py             # ~20 s; --n 300 --channels discord,email

For each installed channel (its own ``test_options`` give a target), ``Notifier.format(event, target)``
is timed: the ``format_message`` hooks, the channel's templates (compiled once, before timing), its
escaping and limits, attachments fitted. Two events: normal data (``sample_event("job_failed")``) and
the hostile corpus (``tocsin.testing.hostile_event``: 1 MB error, 40 extra fields, every string nasty).
The goal is at most 100 µs per message. Nothing is sent; nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from typing import Any

from tocsin import LocalServers, Notifier, Target, sample_event
from tocsin.config import structure_targets
from tocsin.testing import hostile_event


def targets(notifier: Notifier, only: set[str] | None) -> list[Target]:
    servers = LocalServers(http_url="http://127.0.0.1:9")
    found = []
    notifier.registry.load_all(strict=False)
    for name in sorted(notifier.registry.channels):
        spec = notifier.registry.channel(name).spec
        if spec.test_options is None or (only and name not in only):
            continue
        options: Any = spec.test_options(servers)
        if isinstance(options, list):
            options = options[0]
        found.append(Target(name=name, channel=name, options=options))
    return found


def per_message(fn: Any, n: int, repeats: int = 5) -> float:
    """The median over ``repeats`` runs of the mean µs per call over ``n`` calls."""
    runs = []
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - started) / n * 1e6)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="messages per timed run (5 runs per cell)")
    parser.add_argument("--channels", help="comma-separated channel names (default: every installed one)")
    args = parser.parse_args()
    only = set(args.channels.split(",")) if args.channels else None
    notifier = Notifier()
    try:
        chosen = targets(notifier, only)
        normal = notifier.prepare(sample_event("job_failed"))
        hostile = notifier.prepare(hostile_event("job_failed"))
        print("| channel | normal µs/message | hostile µs/message | ≤ 100 µs |")
        print("|---|---:|---:|---|")
        for raw in chosen:
            (target,) = structure_targets([raw], notifier.registry, "bench")
            for event in (normal, hostile):
                notifier.format(event, target)  # compile the templates, fill the caches
            a = per_message(lambda t=target: notifier.format(normal, t), args.n)
            b = per_message(lambda t=target: notifier.format(hostile, t), max(args.n // 4, 10))
            verdict = "yes" if max(a, b) <= 100 else "no"
            print(f"| {target.channel} | {a:,.0f} | {b:,.0f} | {verdict} |", flush=True)
    finally:
        notifier.close(0)


if __name__ == "__main__":
    main()
