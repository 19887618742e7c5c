"""tocsin's delivery benchmark: deliveries/s and memory, as ratios against raw clients run side by side.

    python bench/run.py [--events N] [--concurrency 1,16] [--json out.json] [--only ROW,...]
    python bench/run.py --profile tocsin --concurrency 16      # where the time goes (cProfile)

Every row POSTs a ~250-byte JSON body, N times, to ``bench/sink.py``: a keep-alive HTTP/1.1 server in
another process on 127.0.0.1 that answers 204 at once. The runner starts the sink, always stops it,
and checks that it received every POST.

Speed: all rows of one concurrency run in ONE fresh process, in blocks of ``--block`` events taken in
turn (the order rotated each cycle, a ``gc.collect()`` between blocks), until each row has sent N. So
every row and the raw-httpx baseline share the same moments of a possibly busy machine, and the ratio
of each cycle is a fair pair; the table gives the median of those ratios. Wall time and process CPU
time are summed per row over its blocks.

Memory: the baseline and tocsin each run alone in a fresh process: peak RSS growth over the run (Linux
``clear_refs``), then again under ``tracemalloc`` (peak and retained Python allocations).

Nothing here is a test: numbers are compared with each other, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.metadata
import json
import os
import platform
import re
import resource
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SINK = HERE / "sink.py"
BASELINE = "httpx"  # every row is divided by this row at the same concurrency
REFERENCES = ("aiohttp", "apprise")  # and by these, paired the same way (issue 12's goals are ratios to them)


# -- rows ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    key: str
    label: str
    concurrent: bool  # False: sequential by nature, run at concurrency 1 only
    memory: bool = False  # also measured alone for memory (the brief's comparison: tocsin vs baseline)
    networked: bool = True
    fanout: int = 1  # deliveries per call: each event goes to this many targets (block sizes count deliveries)


ROWS = [
    Row("httpx", "raw httpx.AsyncClient, default pool (the baseline)", True, memory=True),
    Row("httpx-sync", "raw httpx.Client, sequential", False),
    Row("tocsin", "tocsin Notifier.anotify → local generic HTTP channel → transport.post_json", True, memory=True),
    Row("tocsin-transport", "tocsin's Transport.post_json alone (no Notifier): the wrapper's cost", True),
    Row("tocsin-webhook", "tocsin Notifier.anotify → installed tocsin-webhook plugin (template, signing)", True),
    Row("apprise", "Apprise json:// notifier, sequential (Apprise's model)", False),
    Row("httpx-aiohttp", "raw httpx.AsyncClient over httpx-aiohttp's AiohttpTransport", True),
    Row("tocsin-aiohttp", "tocsin as above, http_backend = \"aiohttp\" (aiohttp called directly)", True),
    Row("aiohttp", "raw aiohttp.ClientSession (reference)", True),
    Row("tocsin-nonet", "tocsin, deliver returns at once: the core's own cost, no network", True, networked=False),
    Row("tocsin-4", "tocsin (httpx backend), each event to 4 targets (issue 12's set-up)", True, fanout=4),
    Row("tocsin-aiohttp-4", "tocsin-aiohttp, each event to 4 targets (issue 12's set-up)", True, fanout=4),
]
ROWS_BY_KEY = {row.key: row for row in ROWS}


class Skip(Exception):
    """A row that cannot run here (a library is not installed); the reason goes in the table."""


# -- the body every row sends ----------------------------------------------------------------------
def baseline_body(i: int) -> dict[str, Any]:
    """What a hand-written sender posts: the fields, in the order, of the tocsin channel's document."""
    return {
        "type": "job_completed",
        "id": f"7f9c1d2e-5b1a-4c8e-9a37-{i:012d}",
        "title": "Job completed: nightly-etl",
        "severity": "success",
        "timestamp": "2026-11-24T15:12:03.123456+00:00",
        "data": event_data(i),
    }


def event_data(i: int) -> dict[str, Any]:
    return {"run_id": f"run-{i:06d}", "run_name": "nightly-etl", "status": "completed", "duration": 754}


def body_size() -> int:
    return len(json.dumps(baseline_body(0), separators=(",", ":")).encode())


# -- what each row does per event: an async context manager yielding one(i) -> ok ------------------


@contextlib.asynccontextmanager
async def setup_httpx(url: str) -> AsyncIterator[Callable[[int], Any]]:
    import httpx

    async with httpx.AsyncClient() as client:

        async def one(i: int) -> bool:
            return (await client.post(url, json=baseline_body(i))).status_code == 204

        yield one


@contextlib.asynccontextmanager
async def setup_httpx_sync(url: str) -> AsyncIterator[Callable[[int], Any]]:
    import httpx

    with httpx.Client() as client:

        def one(i: int) -> bool:
            return client.post(url, json=baseline_body(i)).status_code == 204

        yield one


@contextlib.asynccontextmanager
async def setup_httpx_aiohttp(url: str) -> AsyncIterator[Callable[[int], Any]]:
    import httpx

    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError:
        raise Skip("httpx-aiohttp not installed (pip install httpx-aiohttp)") from None
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:

        async def one(i: int) -> bool:
            return (await client.post(url, json=baseline_body(i))).status_code == 204

        yield one


@contextlib.asynccontextmanager
async def setup_aiohttp(url: str) -> AsyncIterator[Callable[[int], Any]]:
    try:
        import aiohttp
    except ImportError:
        raise Skip("aiohttp not installed") from None
    headers = {"content-type": "application/json"}
    async with aiohttp.ClientSession() as session:

        async def one(i: int) -> bool:
            data = json.dumps(baseline_body(i), separators=(",", ":"))  # the same bytes as httpx's
            async with session.post(url, data=data, headers=headers) as response:
                await response.read()
                return response.status == 204

        yield one


@contextlib.asynccontextmanager
async def setup_apprise(url: str) -> AsyncIterator[Callable[[int], Any]]:
    try:
        import apprise
    except ImportError:
        raise Skip("apprise not installed (pip install apprise)") from None
    import logging

    logging.getLogger("apprise").setLevel(logging.CRITICAL)
    notifier = apprise.Apprise()
    if not notifier.add(url.replace("http://", "json://", 1)):
        raise Skip("Apprise refused the json:// URL")

    def one(i: int) -> bool:
        body = json.dumps(event_data(i), separators=(",", ":"))
        return bool(notifier.notify(title="Job completed: nightly-etl", body=body))

    yield one


def tocsin_make_notifier(
    target: dict[str, Any] | list[dict[str, Any]], *, local_plugin: bool = True, backend: str = "httpx"
) -> Any:
    """A notifier with one target, max_concurrent_deliveries 16; our local plugin or the installed ones."""
    from tocsin import Config, DeliverySettings, Notifier, PluginRegistry, Settings

    config = Config(
        settings=Settings(max_concurrent_deliveries=16, max_retries=0, http_backend=backend),
        delivery=DeliverySettings(max_in_flight=16),  # one target: its lane as wide as the cap, as before
        targets=tuple(target) if isinstance(target, list) else (target,),
    )
    if local_plugin:
        from local_plugin import BenchPlugin  # bench/ is on sys.path: it is this script's folder

        return Notifier(config, registry=PluginRegistry(load_entrypoints=False), plugins=[BenchPlugin()])
    return Notifier(config, registry=PluginRegistry())


@contextlib.asynccontextmanager
async def tocsin_row(
    target: dict[str, Any] | list[dict[str, Any]], *, local_plugin: bool = True, swap: bool = False
) -> AsyncIterator[Callable[[int], Any]]:
    from tocsin import Event

    if swap:
        require_aiohttp()
    notifier = tocsin_make_notifier(target, local_plugin=local_plugin, backend="aiohttp" if swap else "httpx")
    try:

        async def one(i: int) -> bool:
            report = await notifier.anotify(Event("job_completed", data=event_data(i)))
            return report.ok

        yield one
    finally:
        await notifier.aclose()


def require_aiohttp() -> None:
    """The ``tocsin-aiohttp`` row needs aiohttp (``[notifications] http_backend = "aiohttp"``)."""
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        raise Skip("aiohttp not installed (pip install 'tocsin[aiohttp]')") from None


@contextlib.asynccontextmanager
async def setup_tocsin_transport(url: str) -> AsyncIterator[Callable[[int], Any]]:
    from tocsin import Secret, Transport

    transport = Transport(timeout=10.0, max_connections=16)  # as Notifier builds it for 16 deliveries
    secret_url = Secret(url)
    try:

        async def one(i: int) -> bool:
            return (await transport.post_json(secret_url, baseline_body(i))).status_code == 204

        yield one
    finally:
        await transport.aclose()


def setup_tocsin(url: str) -> Any:
    return tocsin_row({"name": "sink", "channel": "benchhttp", "url": url})


def setup_tocsin_aiohttp(url: str) -> Any:
    return tocsin_row({"name": "sink", "channel": "benchhttp", "url": url}, swap=True)


def setup_tocsin_nonet(url: str) -> Any:
    return tocsin_row({"name": "null", "channel": "benchnull"})


def setup_tocsin_webhook(url: str) -> Any:
    if not any(ep.name == "webhook" for ep in importlib.metadata.entry_points(group="tocsin")):
        raise Skip("tocsin-webhook not installed (pip install -e plugins/tocsin-webhook)")
    return tocsin_row({"name": "sink", "channel": "webhook", "url": url}, local_plugin=False)


def four_targets(url: str) -> list[dict[str, Any]]:
    return [{"name": f"sink{n}", "channel": "benchhttp", "url": url} for n in range(1, 5)]


def setup_tocsin_4(url: str) -> Any:
    return tocsin_row(four_targets(url))


def setup_tocsin_aiohttp_4(url: str) -> Any:
    return tocsin_row(four_targets(url), swap=True)


SETUPS: dict[str, Callable[[str], Any]] = {
    "httpx": setup_httpx,
    "httpx-sync": setup_httpx_sync,
    "tocsin": setup_tocsin,
    "tocsin-transport": setup_tocsin_transport,
    "tocsin-webhook": setup_tocsin_webhook,
    "apprise": setup_apprise,
    "httpx-aiohttp": setup_httpx_aiohttp,
    "tocsin-aiohttp": setup_tocsin_aiohttp,
    "aiohttp": setup_aiohttp,
    "tocsin-nonet": setup_tocsin_nonet,
    "tocsin-4": setup_tocsin_4,
    "tocsin-aiohttp-4": setup_tocsin_aiohttp_4,
}


# -- driving and measuring -------------------------------------------------------------------------
async def drive(one: Callable[[int], Any], start: int, n: int, concurrency: int) -> int:
    """``one(i)`` for i in start..start+n, ``concurrency`` at a time (sync callables: one by one).

    Returns how many answered not-ok.
    """
    failed = 0
    if not asyncio.iscoroutinefunction(one):
        for i in range(start, start + n):
            failed += not one(i)
        return failed
    todo = iter(range(start, start + n))

    async def worker() -> None:
        nonlocal failed
        for i in todo:
            failed += not await one(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return failed


def cpu_seconds() -> float:
    """User + system CPU time of this process, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def proc_status() -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) in KiB, from /proc (Linux); zeros elsewhere."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return {"VmRSS": 0, "VmHWM": 0}
    return {k: int(m.group(1)) if (m := re.search(rf"{k}:\s+(\d+)", text)) else 0 for k in ("VmRSS", "VmHWM")}


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux ``clear_refs`` 5), so the peak is this run's own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def sink_stats(url: str) -> dict[str, int]:
    """The sink's counters: POSTs received and their body bytes."""
    base = "/".join(url.split("/", 3)[:3])
    with urllib.request.urlopen(base + "/_stats", timeout=5) as answer:
        return json.load(answer)


@contextlib.contextmanager
def maybe_profile(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(30)


@dataclass
class Tally:
    events: int = 0
    failed: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    received: int = 0
    bytes: int = 0
    block_seconds: list[float] = field(default_factory=list)


async def speed_worker(args: argparse.Namespace) -> dict[str, Any]:
    """Every row of ``--rows`` at one concurrency, in turns of ``--block`` events, in this process."""
    keys = args.rows.split(",")
    out: dict[str, Any] = {}
    ones: dict[str, Callable[[int], Any]] = {}
    async with contextlib.AsyncExitStack() as stack:
        for key in keys:
            try:
                ones[key] = await stack.enter_async_context(SETUPS[key](args.url))
            except Skip as exc:
                out[key] = {"skipped": str(exc)}
            except Exception as exc:
                out[key] = {"error": f"{type(exc).__name__}: {exc}"}
        for one in ones.values():  # warm-up: connections opened, code paths imported and cached
            await drive(one, 10_000_000, args.warmup, args.concurrency)
        tallies = {key: Tally() for key in ones}
        live = list(ones)
        deadline = time.perf_counter() + args.row_seconds
        cycle = 0
        with maybe_profile(args.profile_worker):
            while any(tallies[k].events < args.events for k in live) and time.perf_counter() < deadline:
                shift = cycle % len(live)
                for key in live[shift:] + live[:shift]:
                    tally = tallies[key]
                    n = min(args.block, args.events - tally.events)
                    if n <= 0:
                        continue
                    networked = ROWS_BY_KEY[key].networked
                    before = sink_stats(args.url) if networked else None
                    gc.collect()
                    cpu0, started = cpu_seconds(), time.perf_counter()
                    fan = ROWS_BY_KEY[key].fanout  # n deliveries: n / fan events, concurrency / fan callers
                    calls, callers = max(1, n // fan), max(1, args.concurrency // fan)
                    tally.failed += await drive(ones[key], tally.events // fan, calls, callers)
                    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu0
                    if before is not None:
                        after = sink_stats(args.url)
                        tally.received += after["requests"] - before["requests"]
                        tally.bytes += after["bytes"] - before["bytes"]
                    tally.events += n
                    tally.seconds += elapsed
                    tally.cpu += cpu
                    tally.block_seconds.append(elapsed)
                cycle += 1
    for key, tally in tallies.items():
        out[key] = {
            "events": tally.events,
            "failed": tally.failed,
            "seconds": tally.seconds,
            "cpu_seconds": tally.cpu,
            "received": tally.received if ROWS_BY_KEY[key].networked else None,
            "body_bytes": round(tally.bytes / tally.received) if tally.received else None,
            "block_seconds": tally.block_seconds,
        }
    return {"cycles": cycle, "rows": out}


async def memory_worker(args: argparse.Namespace) -> dict[str, Any]:
    """One row alone: peak RSS growth over ``--events``, then tracemalloc over ``--trace-events`` more.

    RSS first (tracemalloc's own bookkeeping would inflate it); the traced run gives the peak of live
    Python allocations above the start, and what is still allocated after it and a ``gc.collect()``.
    """
    async with SETUPS[args.rows](args.url) as one:
        await drive(one, 10_000_000, args.warmup, args.concurrency)
        gc.collect()
        exact = reset_peak_rss()
        rss0 = proc_status()["VmRSS"]
        failed = await drive(one, 0, args.events, args.concurrency)
        growth = max(0, proc_status()["VmHWM"] - rss0) if exact else None
        gc.collect()
        tracemalloc.start()
        traced0 = tracemalloc.get_traced_memory()[0]
        failed += await drive(one, args.events, args.trace_events, args.concurrency)
        peak = tracemalloc.get_traced_memory()[1]
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - traced0
        tracemalloc.stop()
    return {
        "events": args.events,
        "trace_events": args.trace_events,
        "failed": failed,
        "rss_growth_kib": growth,
        "traced_peak_kib": (peak - traced0) / 1024,
        "traced_retained_kib": retained / 1024,
    }


def worker_main(args: argparse.Namespace) -> int:
    """Run one worker in this process; print its result as one JSON line."""
    work = speed_worker(args) if args.worker == "speed" else memory_worker(args)
    try:
        result = asyncio.run(work)
    except Skip as exc:
        result = {"skipped": str(exc)}
    print(json.dumps(result))
    return 0


# -- formatting cost (in the runner: no network) ---------------------------------------------------
DISCORD_LIKE = """\
{
  "username": "tocsin",
  "embeds": [{
    "title": {{ (mark ~ " " ~ title) | truncate_text(256) }},
    "description": {{ (description or "") | truncate_text(4096) }},
    "url": {{ url }},
    "color": {{ color_int }},
    "timestamp": {{ timestamp }},
    "fields": [
{% for field in fields %}
      {"name": {{ field.label }}, "value": {{ field.value | truncate_text(1024) }}, "inline": true}\
{% if not loop.last or error %},{% endif %}

{% endfor %}
{% if error %}
      {"name": "Error", "value": {{ ("```\\n" ~ error ~ "\\n```") | truncate_text(1024) }}, "inline": false}
{% endif %}
    ],
    "footer": {"text": {{ source.instance or "tocsin" }}}
  }]
}
"""


def measure_formatting(n: int) -> dict[str, Any]:
    """Microseconds per event: an Event, its template context, and a Discord-like JSON template."""
    from tocsin import Event, PluginRegistry, Target, Templates, sample_event
    from tocsin.presentation import template_context

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "benchchat").mkdir()
        (Path(folder) / "benchchat" / "default.json.j2").write_text(DISCORD_LIKE)
        templates = Templates(PluginRegistry(load_entrypoints=False), [Path(folder)])
        target = Target(name="chat", channel="benchchat", options={})
        events = [sample_event("job_failed" if i % 2 else "job_completed") for i in range(64)]
        for event in events[:2]:
            templates.render_json(event, target)  # compiles the template, fills the lookup caches
        size = len(json.dumps(templates.render_json(events[1], target), separators=(",", ":")).encode())

        def per_event(fn: Callable[[int], Any]) -> float:
            gc.collect()
            started = time.perf_counter()
            for i in range(n):
                fn(i)
            return (time.perf_counter() - started) / n * 1e6

        return {
            "events": n,
            "event_us": per_event(lambda i: Event("job_completed", data=event_data(i))),
            "context_us": per_event(lambda i: template_context(events[i % 64], target)),
            "render_json_us": per_event(lambda i: templates.render_json(events[i % 64], target)),
            "document_bytes": size,
        }


# -- the runner ------------------------------------------------------------------------------------
@contextlib.contextmanager
def running_sink(max_seconds: float) -> Iterator[str]:
    """The sink in another process; yields its URL. Always terminated, even on errors or ^C."""
    proc = subprocess.Popen(
        [sys.executable, str(SINK), "--port", "0", "--max-seconds", f"{max_seconds:.0f}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=15):
                raise RuntimeError("the sink did not start within 15 s")
        line = proc.stdout.readline().strip()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the sink said {line!r} instead of its port")
        yield f"http://127.0.0.1:{int(line.split()[1])}/hook"
    finally:
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()  # the sink also exits by itself when its stdin closes
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def run_worker(args: argparse.Namespace, url: str, extra: list[str], *, profile: bool = False) -> dict[str, Any]:
    """Run ``bench/run.py --worker ...`` in a fresh process and return its JSON line."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        *extra,
        "--url",
        url,
        "--warmup",
        str(args.warmup),
        "--block",
        str(args.block),
        "--row-seconds",
        str(args.row_seconds),
    ]
    if profile:
        cmd.append("--profile-worker")
    limit = args.row_seconds + 60
    try:
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"error": f"worker timed out after {limit:g} s"}
    if profile:
        sys.stderr.write(done.stderr)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"worker failed (exit {done.returncode}): {tail}"}
    return json.loads(lines[-1])


def versions() -> dict[str, str]:
    found = {}
    for name in ("tocsin", "httpx", "httpcore", "anyio", "h11", "aiohttp", "httpx-aiohttp", "apprise", "requests"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[name] = importlib.metadata.version(name)
    return found


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):

        def git(*words: str) -> str:
            cmd = ["git", "-C", str(HERE.parent), *words]
            return subprocess.run(cmd, capture_output=True, text=True, timeout=5).stdout.strip()

        commit = git("rev-parse", "--short", "HEAD")
        if commit and git("status", "--porcelain", "--", "core"):
            commit += " + uncommitted changes in core/"
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "commit": commit,
    }


def paired_ratios(ref: dict[str, Any] | None, raw: dict[str, Any]) -> list[float]:
    """Per cycle, how much faster ``raw`` was than ``ref`` (same block size, same moment), sorted."""
    if not ref or "block_seconds" not in ref:
        return []
    return sorted(b / r for b, r in zip(ref["block_seconds"], raw["block_seconds"], strict=False) if r > 0)


def summarize(
    key: str, raw: dict[str, Any], base: dict[str, Any] | None, references: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Rate and CPU per event over all blocks; the ratio to the baseline (and to each of ``references``:
    raw aiohttp, Apprise) as the median over cycles."""
    if "events" not in raw or not raw["events"]:
        return raw
    result = {k: v for k, v in raw.items() if k != "block_seconds"}
    result["rate"] = raw["events"] / raw["seconds"]
    result["cpu_us"] = raw["cpu_seconds"] / raw["events"] * 1e6
    if ROWS_BY_KEY[key].networked:
        for name, ref in (("ratio", base), *((f"x_{k}", v) for k, v in (references or {}).items())):
            ratios = paired_ratios(ref, raw)
            if ratios:
                result[name] = statistics.median(ratios)
                result[f"{name}_range"] = [ratios[len(ratios) // 4], ratios[(3 * len(ratios)) // 4]]  # quartiles
    problems = []
    if raw["failed"]:
        problems.append(f"{raw['failed']} answered not-ok")
    if raw.get("received") is not None and raw["received"] != raw["events"]:
        problems.append(f"the sink received {raw['received']} POSTs for {raw['events']} events")
    if problems:
        result["note"] = "; ".join(problems)
    return result


def fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def render_table(results: list[dict[str, Any]]) -> str:
    """The results as a Markdown table (what bench/README.md shows)."""
    lines = [
        "| row | in flight | deliveries/s | × httpx (IQR) | × aiohttp | × Apprise | CPU µs/event | body B "
        "| RSS growth KiB/1k ev | traced peak KiB/1k ev | traced retained KiB/1k ev |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def ratio(r: dict[str, Any], name: str, itself: str) -> str:
        if r["key"] == itself:
            return "1"
        if name not in r:
            return "—"
        low, high = r[f"{name}_range"]
        return f"{r[name]:.2f} ({low:.2f}–{high:.2f})" if name == "ratio" else f"{r[name]:.2f}"

    for r in results:
        flight = r["concurrency"] if ROWS_BY_KEY[r["key"]].concurrent else "1 (sequential)"
        if "rate" not in r:
            why = f"skipped: {r['skipped']}" if "skipped" in r else f"ERROR: {r.get('error', 'no result')}"
            lines.append(f"| {r['key']} ({why}) | {flight} | — | — | — | — | — | — | — | — | — |")
            continue
        lines.append(
            f"| {r['key']} | {flight} | {r['rate']:,.0f} | {ratio(r, 'ratio', BASELINE)} "
            f"| {ratio(r, 'x_aiohttp', 'aiohttp')} | {ratio(r, 'x_apprise', 'apprise')} | {r['cpu_us']:,.0f} "
            f"| {fmt(r.get('body_bytes'), 'd')} | {fmt(r.get('rss_growth_per_k'), ',.0f')} "
            f"| {fmt(r.get('traced_peak_per_k'), ',.0f')} | {fmt(r.get('traced_retained_per_k'), ',.0f')} |"
        )
    return "\n".join(lines)


def main_runner(args: argparse.Namespace) -> int:
    concurrencies = sorted({int(c) for c in args.concurrency.split(",") if c.strip()})
    wanted = [k.strip() for k in args.only.split(",")] if args.only else [r.key for r in ROWS]
    if any(k not in ROWS_BY_KEY for k in wanted) or not concurrencies or min(concurrencies) < 1:
        print(f"rows: {', '.join(ROWS_BY_KEY)}; --concurrency: positive integers", file=sys.stderr)
        return 2
    if BASELINE not in wanted:
        wanted.insert(0, BASELINE)
    rows = [ROWS_BY_KEY[k] for k in wanted]
    # Every row runs in every concurrency's worker (a sequential row one by one, as its library works),
    # so each row can be paired with raw aiohttp and Apprise in the same moments.
    groups = {c: [r.key for r in rows] for c in concurrencies}
    memory = [(r.key, c) for r in rows if r.memory and not args.no_memory for c in concurrencies]
    started = time.perf_counter()
    info = {**machine(), "versions": versions(), "events": args.events, "block": args.block}
    info.update(body_bytes=body_size(), load1_start=os.getloadavg()[0])
    print(
        f"# {info['date']}  python {info['python']}  {info['cores']} cores  {info['cpu']}  commit {info['commit']}\n"
        f"# {' '.join(f'{k}={v}' for k, v in info['versions'].items())}\n"
        f"# {args.events} events per row in blocks of {args.block}, {info['body_bytes']}-byte JSON body, "
        f"warm-up {args.warmup}; load average {info['load1_start']:.2f}",
        flush=True,
    )
    if info["load1_start"] > 0.5:
        print("# note: the machine is busy (load > 0.5): deliveries/s are low and noisy; the paired ratios less so")
    results: list[dict[str, Any]] = []
    worker_runs = len(groups) + len(memory)
    with running_sink(max_seconds=worker_runs * (args.row_seconds + 60) + 60) as url:
        if args.profile:
            extra = ["--worker", "speed", "--rows", args.profile, "--concurrency", str(concurrencies[-1])]
            print(json.dumps(run_worker(args, url, [*extra, "--events", str(args.events)], profile=True)))
            return 0
        for concurrency, keys in sorted(groups.items()):
            extra = ["--worker", "speed", "--rows", ",".join(keys), "--concurrency", str(concurrency)]
            load = os.getloadavg()[0]
            outcome = run_worker(args, url, [*extra, "--events", str(args.events)])
            raw_rows = outcome.get("rows") or {key: outcome for key in keys}
            base = raw_rows.get(BASELINE)
            references = {k: raw_rows[k] for k in REFERENCES if k in raw_rows}
            for key in keys:
                summary = summarize(key, raw_rows.get(key, {"error": "no result"}), base, references)
                summary.update(key=key, label=ROWS_BY_KEY[key].label, concurrency=concurrency, load1=load)
                results.append(summary)
                status = (
                    summary.get("skipped")
                    or summary.get("error")
                    or (
                        f"{summary['rate']:,.0f}/s, {summary['cpu_us']:,.0f} µs CPU/event"
                        + (f", × httpx {summary['ratio']:.2f}" if "ratio" in summary else "")
                    )
                )
                print(f"  {key:<16} {concurrency:>3} in flight: {status}", flush=True)
        by_cell = {(r["key"], r["concurrency"]): r for r in results}
        for key, concurrency in memory:
            row = by_cell.get((key, concurrency))
            if row is None or "rate" not in row:
                continue
            extra = ["--worker", "memory", "--rows", key, "--concurrency", str(concurrency)]
            extra += ["--events", str(args.memory_events), "--trace-events", str(args.trace_events)]
            measured = run_worker(args, url, extra)
            if measured.get("rss_growth_kib") is not None:
                row["rss_growth_per_k"] = measured["rss_growth_kib"] * 1000 / measured["events"]
            if "traced_peak_kib" in measured:
                row["traced_peak_per_k"] = measured["traced_peak_kib"] * 1000 / measured["trace_events"]
                row["traced_retained_per_k"] = measured["traced_retained_kib"] * 1000 / measured["trace_events"]
            if measured.get("failed"):
                row["note"] = (row.get("note", "") + f" {measured['failed']} failed in the memory run").strip()
            status = measured.get("error") or (
                f"RSS +{measured['rss_growth_kib']} KiB over {measured['events']} events; traced peak "
                f"{measured['traced_peak_kib']:,.0f} KiB, retained {measured['traced_retained_kib']:,.0f} KiB "
                f"over {measured['trace_events']}"
            )
            print(f"  memory  {key:<16} {concurrency:>3} in flight: {status}", flush=True)
    formatting = measure_formatting(min(args.events, 2000))
    info["load1_end"] = os.getloadavg()[0]
    info["seconds"] = time.perf_counter() - started
    print()
    print(render_table(results))
    print()
    for r in results:
        if r.get("note"):
            print(f"note: {r['key']} at {r['concurrency']}: {r['note']}")
    for r in results:
        if r["key"] == "tocsin-nonet" and "rate" in r:
            wall = 1e6 / r["rate"]
            print(f"tocsin's core alone (no network), {r['concurrency']} in flight: {wall:.0f} µs/event wall time")
    print(
        f"formatting alone, per event: Event() {formatting['event_us']:.0f} µs, "
        f"template_context {formatting['context_us']:.0f} µs, "
        f"render_json of a Discord-like template {formatting['render_json_us']:.0f} µs "
        f"({formatting['document_bytes']}-byte document)"
    )
    print(
        f"total {info['seconds']:.0f} s; "
        f"load average {info['load1_start']:.2f} at start, {info['load1_end']:.2f} at end"
    )
    if args.json:
        Path(args.json).write_text(json.dumps({**info, "rows": results, "formatting": formatting}, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="tocsin delivery benchmark (see bench/README.md)")
    parser.add_argument("--events", type=int, default=2000, help="POSTs per row (default 2000)")
    parser.add_argument("--concurrency", default="1,16", help="requests in flight for async rows (default 1,16)")
    parser.add_argument("--json", help="also write every number to this file")
    parser.add_argument("--only", help=f"comma-separated rows (httpx is always run): {', '.join(ROWS_BY_KEY)}")
    parser.add_argument("--block", type=int, default=200, help="events per turn in the speed runs (default 200)")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured POSTs per row first (default 100)")
    parser.add_argument("--memory-events", type=int, default=1000, help="events of a memory run (default 1000)")
    parser.add_argument("--trace-events", type=int, default=1000, help="events of a tracemalloc run (default 1000)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory runs")
    parser.add_argument("--row-seconds", type=float, default=90.0, help="a worker stops early after this long")
    parser.add_argument("--profile", choices=list(ROWS_BY_KEY), help="cProfile one row (at the last concurrency)")
    # worker mode (one process of the runner's), not for direct use
    parser.add_argument("--worker", choices=("speed", "memory"), help=argparse.SUPPRESS)
    parser.add_argument("--rows", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--profile-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.events, args.block, args.memory_events, args.trace_events) < 1 or args.warmup < 0:
        parser.error("counts must be at least 1 (--warmup at least 0)")
    if args.worker:
        args.concurrency = int(args.concurrency)
        return worker_main(args)
    return main_runner(args)


if __name__ == "__main__":
    sys.exit(main())
