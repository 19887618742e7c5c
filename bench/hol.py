"""Head-of-line blocking: do three fast targets keep their latency beside one that takes 2 s?

    python bench/hol.py            # ~1 min on 2 cores; --events 200 --rate 20 --rounds 5 --slow 2.0

Two sinks run in their own processes on 127.0.0.1: ``bench/sink.py`` answers at once, a
``tocsin.testing.HttpSink`` after ``--slow`` seconds. Each round submits ``--events`` events at ``--rate``
per second to three notifiers side by side (each event to all three at once, so the shared machine's
background load falls on all alike): three fast targets alone (``3 fast``), the same plus a fourth fast
one (``4 fast``), and the same plus a fourth that takes ``--slow`` seconds (``3 fast + slow``). Every
fast delivery's latency (submission to delivered, ``Receipt.latency_ms``, collected by a
``delivery_finished`` hook) is recorded; the figure is the fast targets' p99 in
``3 fast + slow`` divided by their p99 in each control, per round, and the median over the rounds.
The issue's bar: at most 1.2. Nothing here is a test; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from local_plugin import BenchPlugin

from tocsin import Config, DeliverySettings, Event, Notifier, Settings, Target, hookimpl

SLOW_SINK = """
import sys
from tocsin.testing import HttpSink, Reply
slow = HttpSink(Reply(204, delay=float(sys.argv[1])))  # a thread per connection: every request waits
print(slow.url, flush=True)
sys.stdin.read()  # until the runner closes our stdin (or dies)
"""


class Latencies:
    """Collects (target, latency ms) of every delivered receipt."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float]] = []
        self.lock = threading.Lock()

    @hookimpl
    def delivery_finished(self, event, message, receipt) -> None:
        if receipt.latency_ms is not None and str(receipt.outcome) == "delivered":
            with self.lock:
                self.rows.append((receipt.target, receipt.latency_ms))


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def notifier_for(fast_url: str, fourth: str | None) -> tuple[Notifier, Latencies]:
    """Three fast targets, plus ``fourth`` (a URL) as a fourth target when given."""
    targets = [Target(f"fast{i}", "benchhttp", {"url": f"{fast_url}/fast{i}"}) for i in range(3)]
    if fourth:
        targets.append(Target("fourth", "benchhttp", {"url": f"{fourth}/fourth"}))
    config = Config(
        settings=Settings(max_concurrent_deliveries=16, timeout=10, max_retries=0),
        delivery=DeliverySettings(max_in_flight=4),
        targets=targets,
    )
    latencies = Latencies()
    return Notifier(config, plugins=[BenchPlugin(), latencies]), latencies


def run(fast_url: str, fourths: dict[str, str | None], events: int, rate: float) -> dict[str, float]:
    """Each row's fast targets' p99 latency (ms). The rows' notifiers run side by side in this process,
    each event submitted to all of them at the same moment, so the machine's background load (this is
    a shared machine) falls on every row alike."""
    made = {row: notifier_for(fast_url, fourth) for row, fourth in fourths.items()}
    started = time.monotonic()
    for i in range(events):
        time.sleep(max(0.0, started + i / rate - time.monotonic()))
        for notifier, _ in made.values():
            notifier.submit(Event("job_completed", data={"n": i}))
    result = {}
    deadline = time.monotonic() + 60
    for row, (_, latencies) in made.items():
        while time.monotonic() < deadline:
            with latencies.lock:
                fast = [ms for name, ms in latencies.rows if name.startswith("fast")]
            if len(fast) >= 3 * events:
                break
            time.sleep(0.05)
        result[row] = p99(fast)
    for notifier, _ in made.values():
        notifier.close(timeout=0.1)  # the slow target's backlog is not what we measure
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="events submitted per second (to each row)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--slow", type=float, default=2.0, help="seconds the slow target takes")
    parser.add_argument("--json", dest="json_out", help="write every number here")
    args = parser.parse_args()
    logging.getLogger("tocsin").setLevel(logging.ERROR)  # the slow target's backlog is dropped at each close
    here = Path(__file__).parent
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.DEVNULL, "text": True}
    sinks = [
        subprocess.Popen([sys.executable, str(here / "sink.py")], **pipes),
        subprocess.Popen([sys.executable, "-c", SLOW_SINK, str(args.slow)], **pipes),
    ]
    rows = ("3 fast", "4 fast", "3 fast + slow")
    try:
        fast_url = "http://127.0.0.1:" + sinks[0].stdout.readline().split()[1]
        slow_url = sinks[1].stdout.readline().strip()
        fourth = {"3 fast": None, "4 fast": fast_url, "3 fast + slow": slow_url}
        rounds = []
        for index in range(args.rounds):
            order = rows[index % 3 :] + rows[: index % 3]  # which notifier submits first also rotates
            measured = run(fast_url, {row: fourth[row] for row in order}, args.events, args.rate)
            rounds.append(measured)
            print(f"round {index + 1}: " + ", ".join(f"{row} {measured[row]:.1f} ms" for row in rows), flush=True)
    finally:
        for sink in sinks:
            sink.stdin.close()
            sink.wait(10)
    median = {row: statistics.median(r[row] for r in rounds) for row in rows}
    ratios = {
        control: statistics.median(r["3 fast + slow"] / r[control] for r in rounds) for control in ("3 fast", "4 fast")
    }
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{args.events} events at {args.rate:g}/s, slow {args.slow:g} s, {args.rounds} rounds, load average {load}")
    print("| row | fast targets' p99 (median) | 3 fast + slow ÷ this row (median of the rounds' ratios) |")
    print("|---|---|---|")
    for row in rows:
        ratio = f"**{ratios[row]:.2f}**" if row in ratios else ""
        print(f"| {row} | {median[row]:.1f} ms | {ratio} |")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"args": vars(args), "rounds": rounds, "ratios": ratios}, indent=2))


if __name__ == "__main__":
    main()
