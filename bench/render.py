"""Render cost: microseconds per message for every installed channel's default ``job_failed`` message.

    python bench/render.py             # ~20 s; --n 300 --channels discord,email

For each installed channel (its own ``test_options`` give a target), ``Notifier.format(event, target)``
is timed: the ``format_message`` hooks, the channel's templates (compiled once, before timing), its
escaping and limits, attachments fitted. Three columns: normal data (``sample_event("job_failed")``);
the hostile corpus's ``string:*`` entries (every field one nasty string: mentions, CRLF, HTML, 10,000
characters, …; the mean over them); and its ``everything_at_once`` (``hostile_event``: a 1 MB error, 40
extra fields, every string nasty at once). The goal is at most 100 µs per message. ``--huge`` adds the
corpus's 10 MB and 10,000-key entries (bounded work shows there as a flat figure). Nothing is sent;
nothing is asserted.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from typing import Any

from tocsin import LocalServers, Notifier, Target, sample_event
from tocsin.config import structure_targets
from tocsin.testing import HOSTILE_CORPUS


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


def per_message(fn: Any, n: int, repeats: int = 3) -> float:
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
    parser.add_argument("--n", type=int, default=200, help="messages per timed run (3 runs per cell)")
    parser.add_argument("--huge", action="store_true", help="also the 10 MB and 10,000-key corpus entries")
    parser.add_argument("--channels", help="comma-separated channel names (default: every installed one)")
    args = parser.parse_args()
    only = set(args.channels.split(",")) if args.channels else None
    notifier = Notifier()
    try:
        chosen = targets(notifier, only)
        normal = notifier.prepare(sample_event("job_failed"))
        strings = [notifier.prepare(make()) for name, make in HOSTILE_CORPUS.items() if name.startswith("string:")]
        columns = {"normal": [normal], "hostile strings": strings}
        columns["hostile, all at once"] = [notifier.prepare(HOSTILE_CORPUS["everything_at_once"]())]
        if args.huge:
            columns["10 MB strings"] = [notifier.prepare(HOSTILE_CORPUS["ten_megabyte_strings"]())]
            columns["10,000 keys"] = [notifier.prepare(HOSTILE_CORPUS["ten_thousand_keys"]())]
        print(f"| channel | {' | '.join(f'{c} µs/message' for c in columns)} | ≤ 100 µs |")
        print(f"|---|{'---:|' * len(columns)}---|")
        for raw in chosen:
            (target,) = structure_targets([raw], notifier.registry, "bench")
            cells = []
            for events in columns.values():
                for event in events:
                    notifier.format(event, target)  # compile the templates, fill the caches
                n = args.n if len(events) > 1 or events[0] is normal else max(args.n // 4, 10)
                cells.append(
                    statistics.mean(per_message(lambda e=e, t=target: notifier.format(e, t), n) for e in events)
                )
            verdict = "yes" if max(cells[:3]) <= 100 else "no"
            print(f"| {target.channel} | {' | '.join(f'{c:,.0f}' for c in cells)} | {verdict} |", flush=True)
    finally:
        notifier.close(0)


if __name__ == "__main__":
    main()
