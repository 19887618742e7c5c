"""The delivery engine in memory: background submits, flush, the bounded queue, lanes, caps, close, broken targets.

Real HTTP servers on 127.0.0.1; a "gate" holds a sink's answers until the test opens it, so every
check is about order and counts, never about time.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading

import pytest

from tocsin import ConfigError, Event, Notifier, Outcome, QueueFullError, hookimpl
from tocsin.testing import HttpSink, Reply


def gated(gate: threading.Event, reply: Reply | None = None):
    """A sink answer that waits (at most 20 s) until ``gate`` is set."""
    answer = reply or Reply(204)

    def respond(request):
        gate.wait(20)
        return answer

    return respond


def hook(sink: HttpSink, name: str = "hook", **extra) -> dict:
    return {"name": name, "channel": "testchan", "url": f"{sink.url}/{name}/SECRET-PATH-1234", **extra}


@pytest.fixture
def gate():
    event = threading.Event()
    yield event
    event.set()  # never leave a sink thread waiting


def test_submit_returns_before_the_network_and_result_gives_the_report(testchan, gate, tocsin_make_notifier):
    with HttpSink(default=gated(gate)) as sink:
        notifier = tocsin_make_notifier([hook(sink)])
        submission = notifier.submit(Event("job_failed"))
        sink.wait_for(1)
        assert not submission.done()
        assert submission.report()["hook"].outcome is Outcome.PENDING  # "still being delivered"
        with pytest.raises(TimeoutError):
            submission.result(timeout=0.05)
        gate.set()
        report = submission.result(timeout=10)
    assert report["hook"].outcome is Outcome.DELIVERED and report.ok


def test_await_a_submission_from_several_event_loops(testchan, tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([hook(tocsin_http_sink)])

    async def burst(first: int):
        submissions = [notifier.submit(Event("job_completed", data={"n": first + i})) for i in range(5)]
        return [await s for s in submissions] + [await notifier.anotify(Event("job_completed"))]

    reports = asyncio.run(burst(0)) + asyncio.run(burst(5))
    assert len(reports) == 12 and all(r.ok for r in reports)
    assert len(tocsin_http_sink.requests) == 12


def test_flush_waits_for_fire_and_forget_submissions(testchan, tocsin_make_notifier):
    with HttpSink(default=Reply(204, delay=0.01)) as sink:
        notifier = tocsin_make_notifier([hook(sink, "a"), hook(sink, "b")])
        for i in range(20):
            notifier.submit(Event("job_completed", data={"n": i}))
        assert notifier.flush(timeout=30)
        assert len(sink.requests) == 40


def test_a_full_queue_waits_then_raises_queue_full(testchan, gate, tocsin_make_notifier):
    with HttpSink(default=gated(gate)) as sink:
        notifier = tocsin_make_notifier([hook(sink)], delivery={"max_pending": 3, "queue_full_wait": 0.1})
        submissions = [notifier.submit(Event("job_failed")) for _ in range(3)]
        with pytest.raises(QueueFullError, match=r"3 deliveries are pending \(\[delivery\] max_pending = 3\)"):
            notifier.submit(Event("job_failed"))

        async def asubmit():
            await notifier.asubmit(Event("job_failed"), wait=0.05)

        with pytest.raises(QueueFullError):
            asyncio.run(asubmit())
        gate.set()
        assert all(s.result(timeout=10).ok for s in submissions)
        assert notifier.submit(Event("job_failed")).result(timeout=10).ok  # room again


def test_a_hanging_target_fills_only_its_own_lane(testchan, gate, tocsin_make_notifier):
    with HttpSink(default=gated(gate)) as slow, HttpSink() as fast:
        notifier = tocsin_make_notifier(
            [hook(slow, "slow", max_in_flight=2), hook(fast, "fast1"), hook(fast, "fast2")],
            notifications={"max_concurrent_deliveries": 4},
        )
        submissions = [notifier.submit(Event("job_failed", data={"n": i})) for i in range(10)]
        fast.wait_for(20)  # every fast delivery went out while the slow target still holds all of its
        slow.wait_for(2)
        assert len(slow.requests) == 2 and slow.in_flight == 2
        assert all(s.report()["fast1"].outcome is Outcome.DELIVERED for s in submissions)
        gate.set()
        assert all(s.result(timeout=20).ok for s in submissions)
        assert slow.max_in_flight == 2


def test_the_cap_holds_across_threads_and_event_loops(testchan, tocsin_make_notifier):
    with HttpSink(default=Reply(204, delay=0.05)) as sink:
        targets = [hook(sink, f"t{i}") for i in range(4)]
        notifier = tocsin_make_notifier(targets, notifications={"max_concurrent_deliveries": 3})

        def in_a_loop():
            async def main():
                await asyncio.gather(*(notifier.anotify(Event("job_completed")) for _ in range(3)))

            asyncio.run(main())

        workers = [threading.Thread(target=in_a_loop) for _ in range(3)]
        workers += [threading.Thread(target=lambda: notifier.notify(Event("job_completed"))) for _ in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert len(sink.requests) == 4 * 12
        assert sink.max_in_flight == 3


def test_close_while_eight_threads_are_inside_notify_returns_them_all(testchan, gate, tocsin_make_notifier):
    with HttpSink(default=gated(gate)) as sink:
        notifier = tocsin_make_notifier([hook(sink)], delivery={"max_in_flight": 8})
        reports = []
        threads = [
            threading.Thread(target=lambda: reports.append(notifier.notify(Event("job_failed")))) for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        sink.wait_for(8)
        notifier.close(timeout=0.2)
        for thread in threads:
            thread.join(10)
        assert not any(thread.is_alive() for thread in threads)
        assert len(reports) == 8
        assert {r["hook"].error for r in reports} == {"not delivered: notifier closed"}
        after = notifier.notify(Event("job_failed"))  # a closed notifier answers at once, too
        assert after["hook"].error == "not delivered: notifier closed"


def test_aclose_lets_in_flight_deliveries_finish(testchan, tocsin_make_notifier):
    with HttpSink(default=Reply(204, delay=0.05)) as sink:
        notifier = tocsin_make_notifier([hook(sink)])

        async def main():
            submissions = [await notifier.asubmit(Event("job_completed")) for _ in range(20)]
            await notifier.aclose(timeout=20)
            return [await s for s in submissions]

        reports = asyncio.run(main())
    assert all(r.ok for r in reports) and len(sink.requests) == 20


def test_one_broken_target_never_silences_the_others(testchan, tocsin_http_sink, tmp_path, monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    config = tmp_path / "tocsin.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            [[targets]]
            name = "unset"
            channel = "testchan"
            url = "${{NOT_SET_ANYWHERE}}"

            [[targets]]
            name = "good"
            channel = "testchan"
            url = "{tocsin_http_sink.url}/good"

            [[targets]]
            name = "bad-option"
            channel = "testchan"
            url = "{tocsin_http_sink.url}/x"
            retries_hint = "three"

            [[targets]]
            name = "only-backups"
            channel = "pigeon"
            events = ["backup_*"]
            """
        )
    )
    with Notifier.from_file(config) as notifier:
        report = notifier.notify(Event("job_failed"))
    assert [r.target for r in report.receipts] == ["unset", "good", "bad-option", "only-backups"]  # config order
    assert report["good"].outcome is Outcome.DELIVERED
    assert report["unset"].error == f"{config}: targets[0].url: environment variable NOT_SET_ANYWHERE is not set"
    assert report["bad-option"].outcome is Outcome.FAILED and "targets[2].retries_hint" in report["bad-option"].error
    assert report["only-backups"].outcome is Outcome.SKIPPED  # its routing still reads: it did not want this one
    with pytest.raises(ConfigError) as caught:
        Notifier.from_file(config, strict=True)
    assert len(caught.value.problems) == 3


class CountFinished:
    def __init__(self):
        self.calls = []

    @hookimpl
    def delivery_finished(self, event, message, receipt):
        self.calls.append((event.id, receipt.target, str(receipt.outcome), receipt.attempts))


def test_delivery_finished_fires_once_per_final_outcome(testchan, tocsin_http_sink, tocsin_make_notifier):
    counter = CountFinished()
    tocsin_http_sink.reply(Reply(500), Reply(503), Reply(204))
    notifier = tocsin_make_notifier([hook(tocsin_http_sink)], plugins=[counter])
    event = Event("job_failed")
    assert notifier.notify(event)["hook"].attempts == 3
    assert counter.calls == [(event.id, "hook", "delivered", 3)]


def test_a_replayed_event_id_is_not_sent_again(testchan, tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([hook(tocsin_http_sink)])
    event = Event("job_failed")
    first, again = notifier.notify(event), notifier.notify(event)
    assert first["hook"].outcome is again["hook"].outcome is Outcome.DELIVERED
    assert "already delivered" in again["hook"].reason
    assert len(tocsin_http_sink.requests) == 1


def test_interpreter_exit_drains_what_daemon_threads_submitted(testchan, tmp_path):
    with HttpSink(default=Reply(204, delay=0.01)) as sink:
        config = tmp_path / "tocsin.toml"
        config.write_text(f'[[targets]]\nname = "hook"\nchannel = "testchan"\nurl = "{sink.url}/hook"\n')
        script = textwrap.dedent(
            f"""
            import threading
            from tocsin import Event, Notifier
            notifier = Notifier.from_file({str(config)!r})
            submitted = threading.Semaphore(0)
            def job(i):
                notifier.submit(Event("job_completed", data={{"n": i}}))  # fire and forget
                submitted.release()
                notifier.flush()  # a daemon thread waiting: killed at exit, its delivery must not be
            for i in range(40):
                threading.Thread(target=job, args=(i,), daemon=True).start()
            for _ in range(40):
                submitted.acquire()
            print("submitted")
            """
        )
        env = {"PYTHONPATH": str(testchan)}
        result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and result.stdout == "submitted\n", result.stderr
        assert len(sink.requests) == 40
