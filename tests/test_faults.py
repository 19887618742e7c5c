"""The fault suite: real processes killed with real signals, one SQLite outbox, real sockets on 127.0.0.1.

* A host SIGKILLed in the middle of 1,000 events × 4 targets against a slow sink, then
  ``tocsin outbox drain`` on the same store: every (event, target) arrives at least once, and the only
  duplicates are attempts that were in flight at the kill (at most the host's ``max_concurrent_deliveries``).
* Two processes draining one store never send a delivered row twice.
* ``tocsin send`` and ``tocsin worker`` under SIGINT/SIGTERM: a report, the documented exit code, no noise.

Every count is printed (``pytest -s`` shows it). Bounded: small delays, timeouts on every wait.
"""

from __future__ import annotations

import collections
import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tocsin import Event, Notifier
from tocsin.cli.send import deliver_and_report
from tocsin.delivery.stores import Delivery
from tocsin.delivery.stores.sqlite import SqliteOutbox
from tocsin.testing import HttpSink, Reply
from tocsin.testing.toml import write_config

from .conftest import run_cli

TARGETS = ("a", "b", "c", "d")


def config(
    tmp_path: Path,
    url: str,
    *,
    targets=TARGETS,
    cap: int = 16,
    name: str = "tocsin.toml",
    timeout: float = 5,
    **delivery,
) -> Path:
    return write_config(
        tmp_path / name,
        {
            "notifications": {"max_concurrent_deliveries": cap, "timeout": timeout, "retry_backoff_max": 2},
            "delivery": {"store": "sqlite:///outbox.db", "poll_interval": 0.1, **delivery},
            "targets": [{"name": name, "channel": "testchan", "url": f"{url}/{name}"} for name in targets],
        },
    )


def env_for(site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH", "")]))
    return env


def arrivals(sink: HttpSink) -> collections.Counter[tuple[str, str]]:
    """How many times each (event title, target path) arrived."""
    return collections.Counter((r.json()["title"], r.path) for r in list(sink.requests))


HOST = textwrap.dedent(
    """
    import sys
    from tocsin import Event, Notifier
    notifier = Notifier.from_file(sys.argv[1])
    for i in range(int(sys.argv[2])):
        notifier.submit(Event("job_completed", title=f"e{i}"), wait=60)
    print("submitted", flush=True)
    notifier.flush()
    print("flushed", flush=True)
    """
)


def test_a_host_killed_mid_batch_loses_nothing_once_drained(plugin_site, tmp_path):
    events = 1000
    with HttpSink(default=Reply(204, delay=0.02)) as sink:
        # The host sends 4 at a time (20 s for the batch), so the kill lands mid-batch however slow the
        # machine is; the drain, another process with its own config on the same store, sends 16 at a time.
        path = config(tmp_path, sink.url, cap=4, max_in_flight=1, name="host.toml")
        drain_config = config(tmp_path, sink.url)
        host = subprocess.Popen(
            [sys.executable, "-c", HOST, str(path), str(events)],
            env=env_for(plugin_site),
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert host.stdout.readline() == "submitted\n"  # every event is in the outbox (committed) ...
            sink.wait_for(200, timeout=60)  # ... and deliveries are under way
            in_flight_at_kill = sink.in_flight
            host.send_signal(signal.SIGKILL)
            host.wait(10)
        finally:
            if host.poll() is None:
                host.kill()
        before = len(sink.requests)
        killed_at = time.monotonic()
        assert before < events * len(TARGETS), "the host finished before the kill: make the sink slower"
        drained = run_cli("outbox", "drain", "--config", str(drain_config), cwd=tmp_path, site=plugin_site)
        assert drained.returncode == 0, drained.stdout + drained.stderr
        counts = arrivals(sink)
        drain_seconds = time.monotonic() - killed_at
    expected = {(f"✅ e{i}", f"/{name}") for i in range(events) for name in TARGETS}
    missing = expected - set(counts)
    duplicates = sum(n - 1 for n in counts.values())
    print(
        f"\nkill after {before} requests ({in_flight_at_kill} in flight at the sink); drain: {drained.stdout.strip()}; "
        f"{len(counts)}/{len(expected)} (event, target) arrived, {len(missing)} missing, {duplicates} duplicates "
        f"(drain took {drain_seconds:.1f}s)"
    )
    assert not missing
    assert duplicates <= 4  # only attempts in flight at the kill (the host's max_concurrent_deliveries) repeat
    stats = run_cli("outbox", "stats", "--json", "--config", str(path), cwd=tmp_path, site=plugin_site)
    assert '"delivered": 4000' in stats.stdout and '"pending": 0' in stats.stdout


def test_two_processes_draining_one_store_never_send_a_row_twice(plugin_site, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(plugin_site))
    with HttpSink(default=Reply(204, delay=0.005)) as sink:
        # A generous attempt timeout: an attempt that timed out on a loaded machine would be parked for the
        # durable schedule's first wait (5 s) and the drain would end with it pending (exit 75), as documented.
        path = config(tmp_path, sink.url, targets=("a", "b"), timeout=60)
        notifier = Notifier.from_file(path)
        rows = []
        for i in range(200):
            event = Event("job_completed", title=f"e{i}")
            rows += [Delivery(event.id, name, notifier.render(name, event)) for name in ("a", "b")]
        store = SqliteOutbox(tmp_path / "outbox.db")
        store.put(rows)
        store.close()
        notifier.close()
        cmd = [sys.executable, "-m", "tocsin", "outbox", "drain", "--config", str(path)]
        drains = [
            subprocess.Popen(cmd, env=env_for(plugin_site), cwd=tmp_path, text=True, stdout=subprocess.PIPE)
            for _ in "12"
        ]
        outputs = [d.communicate(timeout=120)[0] for d in drains]
        counts = arrivals(sink)
    print(f"\ntwo drains: {outputs}; {sum(counts.values())} requests for {len(counts)} deliveries")
    # 75: a drain that ends while the other one still holds a row in flight sees it pending
    assert {d.returncode for d in drains} <= {0, 75}
    assert len(counts) == 400 and set(counts.values()) == {1}
    rows = SqliteOutbox(tmp_path / "outbox.db")
    assert rows.stats() == {
        "a": {"pending": 0, "held": 0, "delivered": 200, "dead": 0, "merged": 0},
        "b": {"pending": 0, "held": 0, "delivered": 200, "dead": 0, "merged": 0},
    }
    rows.close()


def held_sink(gate: threading.Event) -> HttpSink:
    def respond(request):
        gate.wait(20)
        return Reply(204)

    return HttpSink(default=respond)


def test_ctrl_c_and_sigterm_during_send_print_the_report_so_far(plugin_site, tmp_path):
    gate = threading.Event()
    with held_sink(gate) as slow, HttpSink() as fast:
        path = write_config(
            tmp_path / "tocsin.toml",
            {
                "targets": [
                    {"name": "fast", "channel": "testchan", "url": f"{fast.url}/fast"},
                    {"name": "slow", "channel": "testchan", "url": f"{slow.url}/slow"},
                ]
            },
        )
        try:
            for signum, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
                send = subprocess.Popen(
                    [sys.executable, "-m", "tocsin", "send", "job_failed", "--config", str(path)],
                    env=env_for(plugin_site),
                    stderr=subprocess.PIPE,
                    text=True,
                )
                first = send.stderr.readline()  # printed as it finished, while slow still hangs
                assert first.startswith("✓ fast  delivered"), first
                slow.wait_for(1 if signum == signal.SIGINT else 2)
                send.send_signal(signum)
                stderr = first + send.communicate(timeout=30)[1]
                print(f"\n{signal.Signals(signum).name} -> exit {send.returncode}:\n{stderr}")
                assert send.returncode == code
                assert "✓ fast  delivered" in stderr
                assert "✗ slow  failed" in stderr and "not delivered: notifier closed" in stderr
                assert "Traceback" not in stderr and "Task was destroyed" not in stderr and "Exception" not in stderr
                assert "WARNING" not in stderr  # each outcome printed once
        finally:
            gate.set()


def failing_config(tmp_path: Path, **sinks: HttpSink) -> Path:
    """A config with a testchan target per sink, named by its keyword, never retried."""
    targets = [{"name": name, "channel": "testchan", "url": f"{sink.url}/{name}"} for name, sink in sinks.items()]
    return write_config(tmp_path / "tocsin.toml", {"notifications": {"max_retries": 0}, "targets": targets})


def test_an_interrupted_send_prints_each_outcome_once(plugin_site, tmp_path):
    """A failure before the signal, one answered in the close grace, one cut off: one line each, no log line."""
    gate, held = threading.Event(), threading.Event()

    def late(request):
        gate.wait(20)
        return Reply(500, "late failure")

    with held_sink(held) as slow, HttpSink(default=late) as grace, HttpSink(default=Reply(400, "refused")) as bad:
        path = failing_config(tmp_path, early=bad, grace=grace, cut=slow)
        try:
            for signum in (signal.SIGINT, signal.SIGTERM):
                gate.clear()
                seen = len(grace.requests)
                send = subprocess.Popen(
                    [sys.executable, "-m", "tocsin", "send", "job_failed", "--config", str(path)],
                    env=env_for(plugin_site),
                    stderr=subprocess.PIPE,
                    text=True,
                )
                first = send.stderr.readline()
                assert first.startswith("✗ early  failed"), first
                grace.wait_for(seen + 1)
                send.send_signal(signum)
                threading.Timer(0.2, gate.set).start()  # "grace" answers within the close's second, "cut" too late
                stderr = first + send.communicate(timeout=30)[1]
                print(f"\n{signal.Signals(signum).name}:\n{stderr}")
                lines = [line for line in stderr.splitlines() if line[:1] in "✓✗…-"]
                assert sorted(line.split()[1] for line in lines) == ["cut", "early", "grace"], stderr
                assert "WARNING" not in stderr and "Traceback" not in stderr
        finally:
            gate.set()
            held.set()


class CtrlCAsItPrints(io.StringIO):
    """stderr where the user presses Ctrl-C (a real SIGINT to this process) just as ``line`` is printed."""

    def __init__(self, line: str) -> None:
        super().__init__()
        self.line = line

    def write(self, text: str) -> int:
        written = super().write(text)
        if text.startswith(self.line):
            os.kill(os.getpid(), signal.SIGINT)
        return written


def test_ctrl_c_as_a_failure_prints_does_not_print_it_again(testchan, tmp_path, monkeypatch):
    held = threading.Event()
    with held_sink(held) as slow, HttpSink(default=Reply(400, "refused")) as bad:
        path = failing_config(tmp_path, early=bad, cut=slow)
        notifier = Notifier.from_file(path)
        stderr = CtrlCAsItPrints("✗ early")
        monkeypatch.setattr(sys, "stderr", stderr)
        handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            with pytest.raises(SystemExit) as exited:
                deliver_and_report(notifier, lambda: notifier.submit(Event("job_failed")), None)
        finally:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
            held.set()
    printed = stderr.getvalue()
    assert exited.value.code == 130, printed
    assert printed.count("✗ early") == 1, printed
    assert "interrupted (SIGINT): stopping" in printed and "✗ cut  failed  — not delivered: notifier closed" in printed


def test_send_with_a_durable_store_exits_75_when_a_delivery_waits(plugin_site, tmp_path):
    with HttpSink(default=Reply(503)) as sink:
        path = config(tmp_path, sink.url, targets=("a",), retry_schedule=["1h"])
        result = run_cli(
            "send", "job_failed", "--json-report", "-", "--config", str(path), cwd=tmp_path, site=plugin_site
        )
    assert result.returncode == 75, result.stderr
    assert "… a  pending  1 attempt  HTTP 503" in result.stderr and "next attempt in" in result.stderr
    assert '"outcome": "pending"' in result.stdout
    listed = run_cli("outbox", "list", "--state", "pending", "--config", str(path), cwd=tmp_path, site=plugin_site)
    assert "pending    a  job_failed" in listed.stdout and "HTTP 503" in listed.stdout


def test_the_worker_resumes_after_a_restart_and_stops_cleanly(plugin_site, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(plugin_site))
    with HttpSink() as sink:
        path = config(tmp_path, sink.url, targets=("a",))
        notifier = Notifier.from_file(path)
        store = SqliteOutbox(tmp_path / "outbox.db")

        def queue(first: int, count: int) -> None:
            events = [Event("job_completed", title=f"e{i}") for i in range(first, first + count)]
            store.put([Delivery(e.id, "a", notifier.render("a", e)) for e in events])

        queue(0, 5)  # left by a process that died before sending them
        for signum, total in ((signal.SIGTERM, 5), (signal.SIGINT, 10)):
            worker = subprocess.Popen(
                [sys.executable, "-m", "tocsin", "worker", "--config", str(path)],
                env=env_for(plugin_site),
                stderr=subprocess.PIPE,
                text=True,
            )
            sink.wait_for(total, timeout=30)
            worker.send_signal(signum)
            stderr = worker.communicate(timeout=30)[1]
            print(f"\nworker, {signal.Signals(signum).name}: exit {worker.returncode}\n{stderr}")
            assert worker.returncode == 0
            assert f"{signal.Signals(signum).name}: stopping" in stderr and "Traceback" not in stderr
            queue(5, 5)  # queued while no worker runs: the next one picks them up
        store.close()
        notifier.close()
        titles = sorted(r.json()["title"] for r in sink.requests)
    assert titles == sorted(f"✅ e{i}" for i in range(10))
