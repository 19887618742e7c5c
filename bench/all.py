"""Every benchmark row in one command: throughput, start-up, render, memory, head-of-line.

    python bench/all.py                 # ~6 min on 2 cores; --quick for a shorter pass

Runs, one after another, in fresh processes: ``run.py`` (deliveries/s against raw httpx, raw aiohttp and
Apprise, 1 and 16 in flight), ``startup.py`` (import and one-shot CLI against Apprise), ``render.py``
(µs per message per channel), ``pending.py`` (memory per pending delivery, memory and sqlite outboxes)
and ``hol.py`` (a slow target beside fast ones), and prints each one's table under a heading with the
machine's core count and Python version. Nothing is asserted; see bench/README.md for what each row is.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def steps(quick: bool) -> list[tuple[str, list[str]]]:
    events = ["--events", "1000"] if quick else []
    return [
        ("Throughput (run.py)", ["run.py", "--no-memory", *events]),
        ("Start-up (startup.py)", ["startup.py", "--rounds", "7" if quick else "15"]),
        ("Render (render.py)", ["render.py", "--n", "50" if quick else "200"]),
        ("Memory, memory outbox (pending.py)", ["pending.py", *(["--pending", "5000"] if quick else [])]),
        ("Memory, sqlite outbox (pending.py --store sqlite)", ["pending.py", "--store", "sqlite"]),
        ("Head-of-line (hol.py)", ["hol.py", *(["--rounds", "2"] if quick else [])]),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer events and rounds (noisier)")
    parser.add_argument("--only", help="comma-separated script names to run (run,startup,render,pending,hol)")
    args = parser.parse_args()
    only = {f"{name.strip()}.py" for name in args.only.split(",")} if args.only else None
    print(f"# {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}")
    failed = 0
    for title, cmd in steps(args.quick):
        if only and cmd[0] not in only:
            continue
        print(f"\n## {title}\n", flush=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(HERE / cmd[0]), *cmd[1:]], stdin=subprocess.DEVNULL)
        failed += done.returncode != 0
        print(f"\n({time.perf_counter() - started:.0f} s, exit {done.returncode})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
