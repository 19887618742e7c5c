"""Start-up cost: ``import tocsin`` and a one-shot ``tocsin send``, as ratios to Apprise run side by side.

    python bench/startup.py            # ~30 s on 2 cores; --rounds 15

Rows (each round runs every row once, in a rotated order, each in a fresh interpreter, so a busy
machine's load falls on all rows alike; the figure is the median over rounds of the per-round ratio):

- ``import tocsin`` / ``import apprise``: the import alone, timed inside the child process
  (``time.perf_counter`` around the statement, interpreter start-up excluded).
- ``from tocsin import Event, Notifier``: what a host application imports to send.
- ``tocsin send`` / ``apprise`` CLI: the wall time of the whole process, from spawn to exit, sending one
  notification to ``bench/sink.py`` (``tocsin send job_failed --to json://…`` against ``apprise -b … json://…``).

Nothing here is a test; nothing is asserted. Rows whose program is not installed are skipped.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from run import machine, running_sink

IMPORTS = {
    "import tocsin": "import tocsin",
    "from tocsin import Event, Notifier": "from tocsin import Event, Notifier",
    "import apprise": "import apprise",
}
TIMED = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"


def timed_import(stmt: str, env: dict[str, str] | None = None) -> float:
    done = subprocess.run(
        [sys.executable, "-c", TIMED.format(stmt=stmt)], capture_output=True, text=True, timeout=60, check=True, env=env
    )
    return float(done.stdout.strip().splitlines()[-1])


def timed_process(cmd: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--before", type=Path, help="another checkout (e.g. main's) whose tocsin rows run beside these, as 'before'"
    )
    args = parser.parse_args()
    before_env = None
    if args.before:
        paths = [args.before / "core", *sorted(str(p) for p in (args.before / "plugins").glob("*/"))]
        before_env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, paths))}
    bindir = Path(sys.executable).parent
    tocsin_cli = shutil.which("tocsin", path=str(bindir)) or shutil.which("tocsin")
    apprise_cli = shutil.which("apprise", path=str(bindir)) or shutil.which("apprise")
    info = machine()
    print(f"# {info['date']}  python {info['python']}  {info['cores']} cores  commit {info['commit']}")
    with running_sink(max_seconds=args.rounds * 20 + 60) as url:
        hook = url.split("://", 1)[1]
        rows: dict[str, object] = {name: (lambda stmt=stmt: timed_import(stmt)) for name, stmt in IMPORTS.items()}
        if tocsin_cli:
            cmd = [tocsin_cli, "send", "job_failed", "-d", "run_name=nightly", "--to", f"json://{hook}"]
            rows["tocsin send (CLI, one webhook)"] = lambda: timed_process(cmd)
        if before_env is not None:
            rows["before: import tocsin"] = lambda: timed_import("import tocsin", before_env)
            stmt = IMPORTS["from tocsin import Event, Notifier"]
            rows["before: from tocsin import Event, Notifier"] = lambda: timed_import(stmt, before_env)
            if tocsin_cli:
                rows["before: tocsin send (CLI, one webhook)"] = lambda: timed_process(cmd, before_env)
        if apprise_cli:
            acmd = [apprise_cli, "-t", "Job failed: nightly", "-b", "run_name=nightly", f"json://{hook}"]
            rows["apprise (CLI, one webhook)"] = lambda: timed_process(acmd)
        times: dict[str, list[float]] = {name: [] for name in rows}
        names = list(rows)
        for name in names:  # warm the file cache (and .pyc files) first
            rows[name]()  # type: ignore[operator]
        for n in range(args.rounds):
            shift = n % len(names)
            for name in names[shift:] + names[:shift]:
                times[name].append(rows[name]())  # type: ignore[operator]
    pairs = {
        "import tocsin": "import apprise",
        "from tocsin import Event, Notifier": "import apprise",
        "tocsin send (CLI, one webhook)": "apprise (CLI, one webhook)",
    }
    pairs.update({f"before: {k}": v for k, v in pairs.items()})
    print("| row | median ms | × Apprise (median of per-round ratios, IQR) |")
    print("|---|---:|---:|")
    for name in names:
        ref = pairs.get(name)
        ratio = "—"
        if ref in times:
            ratios = sorted(a / b for a, b in zip(times[name], times[ref], strict=True))
            q = len(ratios) // 4
            ratio = f"{statistics.median(ratios):.2f} ({ratios[q]:.2f}–{ratios[-q - 1]:.2f})"
        elif name.startswith("apprise") or name == "import apprise":
            ratio = "1"
        print(f"| {name} | {statistics.median(times[name]) * 1000:,.0f} | {ratio} |")


if __name__ == "__main__":
    main()
