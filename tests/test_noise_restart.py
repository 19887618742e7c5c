"""Held deliveries and digests survive a crash or a restart of the SQLite outbox: nothing lost, nothing sent twice.

A real process is killed (SIGKILL) in the middle of a held window; a digest that failed is retried by the
next notifier. Real HTTP sinks on 127.0.0.1, real SQLite files; the next notifier's clock is a FakeClock
set past the window, so nothing sleeps through it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tocsin import Event, Notifier
from tocsin.delivery.stores.sqlite import SqliteOutbox
from tocsin.testing import FakeClock, HttpSink, Reply, write_config

SECRET = "restartSecret31"

HOLDER = textwrap.dedent(
    """
    import sys, time
    from tocsin import Event, Notifier
    notifier = Notifier.from_file(sys.argv[1])
    for i in range(4):
        report = notifier.notify(Event("job_failed", data={"run_id": f"run-{i}"}))
        print(report["hook"].outcome, flush=True)
    print("ready", flush=True)
    time.sleep(120)  # killed before this ends
    """
)

pytest.importorskip("tocsin_webhook")  # the targets here are webhooks; the core's own sdist has no plugin


def config(tmp_path, url: str):
    return write_config(
        tmp_path / "tocsin.toml",
        {
            "notifications": {"timeout": 5, "retry_backoff": 0.01, "retry_backoff_max": 1},
            "delivery": {"store": "sqlite:///outbox.db", "retry_schedule": ["1s"]},
            "targets": [{"name": "hook", "channel": "webhook", "url": f"{url}/{SECRET}", "rate_limit": "1/1h"}],
        },
    )


def test_a_process_killed_in_the_middle_of_a_held_window_loses_nothing(tmp_path):
    with HttpSink() as sink:
        path = config(tmp_path, sink.url)
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path)], cwd=tmp_path, stdout=subprocess.PIPE, text=True
        )
        try:
            lines = [holder.stdout.readline().strip() for _ in range(5)]
            assert lines == ["delivered", "held", "held", "held", "ready"], lines
            os.kill(holder.pid, signal.SIGKILL)
        finally:
            holder.wait(30)
        assert len(sink.requests) == 1

        clock = FakeClock(time.time() + 3601)  # the window has opened
        with Notifier.from_file(path, clock=clock) as notifier:
            notifier.start()
            assert notifier.flush(10)
        with Notifier.from_file(path, clock=FakeClock(time.time() + 7200)) as again:
            again.start()
            assert again.flush(5)
        bodies = [r.json() for r in sink.requests]
        assert [b["type"] for b in bodies] == ["job_failed", "digest"]  # the digest once, after the crash
        assert sorted(e["title"] for e in bodies[1]["data"]["events"]) == [f"Job failed: run-{i}" for i in (1, 2, 3)]


def test_a_digest_that_failed_is_retried_by_the_next_notifier_and_delivered_once(tmp_path):
    with HttpSink() as sink:
        path = config(tmp_path, sink.url)
        clock = FakeClock()
        with Notifier.from_file(path, clock=clock) as first:
            for i in range(3):
                first.notify(Event("job_failed", data={"run_id": f"run-{i}"}))
            sink.default = Reply(503)
            clock.advance(3601)
            first.flush(10)  # the digest is made and fails: it waits in the outbox for its next attempt
        assert [r.json()["type"] for r in sink.requests] == ["job_failed", "digest"]
        failed_id = sink.requests[1].json()["id"]

        sink.default = Reply(200)
        with Notifier.from_file(path, clock=FakeClock(clock() + 60)) as second:
            assert second.drain(10)
        bodies = [r.json() for r in sink.requests]
        assert [b["type"] for b in bodies] == ["job_failed", "digest", "digest"]
        assert bodies[2]["id"] == failed_id  # the same digest, retried; the held rows were not digested again
        store = SqliteOutbox(tmp_path / "outbox.db")
        rows = store.rows(limit=10)
        store.close()
        assert sorted((r.message.event_type, r.state) for r in rows) == [
            ("digest", "delivered"),
            ("job_failed", "delivered"),
            ("job_failed", "merged"),
            ("job_failed", "merged"),
        ]
