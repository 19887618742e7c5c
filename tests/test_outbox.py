"""The durable outbox (``[delivery] store = "sqlite:///…"``) against real servers and a real SQLite file.

Committed before the first attempt, parked on outages and long Retry-After, dead after the schedule,
resumed by the next notifier, never sent twice for one (event id, target), no secret in any column.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import struct
import threading
import time

import pytest

from tocsin import Event, Outcome, hookimpl
from tocsin.testing import HttpSink, Reply

SECRET = "SECRET-PATH-98765"


def hook(sink_url: str, name: str = "hook", **extra) -> dict:
    return {"name": name, "channel": "testchan", "url": f"{sink_url}/{name}/{SECRET}", **extra}


def durable(schedule=(0.01, 3600), **extra) -> dict:
    return {"store": "sqlite:///state/outbox.db", "retry_schedule": list(schedule), "poll_interval": 0.05, **extra}


def table(tmp_path) -> list[dict]:
    db = sqlite3.connect(tmp_path / "state" / "outbox.db")
    db.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in db.execute("SELECT * FROM deliveries ORDER BY id")]
    finally:
        db.close()


def dump(tmp_path) -> str:
    db = sqlite3.connect(tmp_path / "state" / "outbox.db")
    try:
        return "\n".join(db.iterdump())
    finally:
        db.close()


class Finished:
    def __init__(self):
        self.calls = []

    @hookimpl
    def delivery_finished(self, event, message, receipt):
        self.calls.append((event.id, event.type, receipt.target, str(receipt.outcome)))


@pytest.fixture
def gate():
    event = threading.Event()
    yield event
    event.set()


def test_each_delivery_is_committed_before_its_first_attempt(testchan, gate, tmp_path, tocsin_make_notifier):
    def held(request):
        gate.wait(20)
        return Reply(204)

    with HttpSink(default=held) as sink:
        notifier = tocsin_make_notifier([hook(sink.url)], delivery=durable())
        submission = notifier.submit(Event("job_failed", data={"run_name": "nightly"}))
        sink.wait_for(1)
        (row,) = table(tmp_path)  # the request is at the server; the row was there first
        assert (row["state"], row["attempts"], row["target"], row["event_id"]) == (
            "pending",
            0,
            "hook",
            submission.event_id,
        )
        assert '"run_name"' in row["message"] or "nightly" in row["message"]
        gate.set()
        assert submission.result(timeout=10).ok
    (row,) = table(tmp_path)
    assert (row["state"], row["attempts"], row["last_status"]) == ("delivered", 1, 204)
    assert SECRET not in dump(tmp_path)


def test_an_outage_parks_the_delivery_then_the_schedule_ends_it(testchan, tmp_path, tocsin_make_notifier):
    finished = Finished()
    with HttpSink(default=Reply(503, f"upstream {SECRET} down")) as sink:
        notifier = tocsin_make_notifier([hook(sink.url)], delivery=durable(), plugins=[finished])
        report = notifier.notify(Event("job_failed"))
        receipt = report["hook"]
        assert receipt.outcome is Outcome.PENDING and receipt.attempts == 2
        assert "pending in the outbox: next attempt in" in receipt.reason
        assert not report.ok and not report.failed
        (row,) = table(tmp_path)
        assert row["state"] == "pending" and row["next_at"] > time.time() + 3000
        assert "HTTP 503" in row["last_error"] and SECRET not in row["last_error"]
        assert finished.calls == []  # parked is not final
        assert notifier.drain(timeout=20)  # the schedule's last wait skipped: one more attempt, then dead
    (row,) = table(tmp_path)
    assert (row["state"], row["attempts"]) == ("dead", 3)
    assert "the retry schedule is spent" in row["last_error"]
    assert [call[3] for call in finished.calls] == ["failed"]
    assert SECRET not in dump(tmp_path)


def test_a_429_storm_with_long_retry_after_parks_until_then(testchan, tmp_path, tocsin_make_notifier):
    with HttpSink(default=Reply(429, {"message": "slow down", "retry_after": 7200})) as sink:
        notifier = tocsin_make_notifier([hook(sink.url, f"t{i}") for i in range(3)], delivery=durable())
        reports = [notifier.notify(Event("job_failed")) for _ in range(4)]
        assert all(r.receipts[0].outcome is Outcome.PENDING for r in reports)
        assert len(sink.requests) == 12  # one attempt each: nobody hammers a server that asked for two hours
    assert all(row["next_at"] >= time.time() + 7000 for row in table(tmp_path))


def test_a_hang_times_out_and_the_retry_delivers(testchan, tmp_path, tocsin_make_notifier):
    with HttpSink() as sink:
        sink.reply(Reply(204, delay=1.0))
        notifier = tocsin_make_notifier([hook(sink.url, timeout=0.2)], delivery=durable())
        receipt = notifier.notify(Event("job_failed"))["hook"]
    assert receipt.outcome is Outcome.DELIVERED and receipt.attempts == 2


class Resetter:
    """A TCP server on 127.0.0.1 that resets every connection (SO_LINGER 0) once the request arrived."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.count = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.count += 1
            conn.settimeout(2)
            with contextlib.suppress(OSError):
                conn.recv(65536)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


def test_refused_connections_and_resets_are_parked_not_lost(testchan, tmp_path, tocsin_make_notifier):
    with HttpSink() as closed:
        refused_url = closed.url
    resetter = Resetter()
    try:
        notifier = tocsin_make_notifier([hook(refused_url, "refused"), hook(resetter.url, "reset")], delivery=durable())
        report = notifier.notify(Event("job_failed"))
    finally:
        resetter.close()
    assert [r.outcome for r in report.receipts] == [Outcome.PENDING, Outcome.PENDING]
    assert resetter.count == 2
    errors = {row["target"]: row["last_error"] for row in table(tmp_path)}
    assert "could not connect" in errors["refused"]
    assert errors["reset"] and SECRET not in errors["reset"]


def test_a_new_notifier_resumes_what_the_last_one_left(testchan, tmp_path, tocsin_make_notifier):
    finished = Finished()
    with HttpSink(default=Reply(503)) as sink:
        first = tocsin_make_notifier([hook(sink.url)], delivery=durable(schedule=(3600,)))
        event = Event("backup_failed")
        assert first.notify(event)["hook"].outcome is Outcome.PENDING
        first.close()
        sink.default = Reply(204)
        second = tocsin_make_notifier([hook(sink.url)], delivery=durable(schedule=(3600,)), plugins=[finished])
        assert second.drain(timeout=20)
        assert len(sink.requests) == 2
    assert finished.calls == [(event.id, "backup_failed", "hook", "delivered")]  # the event, read back
    assert [row["state"] for row in table(tmp_path)] == ["delivered"]


def test_a_delivered_event_id_is_never_sent_again(testchan, tmp_path, tocsin_http_sink, tocsin_make_notifier):
    event = Event("job_failed")
    first = tocsin_make_notifier([hook(tocsin_http_sink.url)], delivery=durable())
    assert first.notify(event).ok
    first.close()
    again = tocsin_make_notifier([hook(tocsin_http_sink.url)], delivery=durable()).notify(event)
    assert again["hook"].outcome is Outcome.DELIVERED and "already delivered" in again["hook"].reason
    assert len(tocsin_http_sink.requests) == 1


def test_close_leaves_unfinished_deliveries_pending_for_the_next_process(
    testchan, gate, tmp_path, tocsin_make_notifier
):
    def held(request):
        gate.wait(20)
        return Reply(204)

    with HttpSink(default=held) as sink:
        notifier = tocsin_make_notifier([hook(sink.url)], delivery=durable())
        submission = notifier.submit(Event("job_failed"))
        sink.wait_for(1)
        notifier.close(timeout=0.1)
        receipt = submission.result(timeout=5)["hook"]
        assert receipt.outcome is Outcome.PENDING and "notifier closed" in receipt.reason
        (row,) = table(tmp_path)
        assert row["state"] == "pending" and row["lease_owner"] is None  # released: anyone may take it now
