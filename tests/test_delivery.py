"""The delivery engine against a real HTTP server on 127.0.0.1: retries, waits, timeouts, the cap."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from tocsin import Event, Outcome
from tocsin.testing import HttpSink, Reply

SECRET_PATH = "/api/webhooks/123/SuperSecretToken-abcdef"


@pytest.fixture(params=["httpx", "aiohttp"])
def tocsin_make_notifier(request, tocsin_make_notifier):
    """Every delivery test runs over both HTTP backends ([notifications] http_backend)."""
    if request.param == "aiohttp":
        pytest.importorskip("aiohttp")

    def factory(targets, *, notifications=None, **kwargs):
        return tocsin_make_notifier(
            targets, notifications={"http_backend": request.param, **(notifications or {})}, **kwargs
        )

    return factory


def hook_target(sink: HttpSink, name: str = "hook", **extra) -> dict:
    return {"name": name, "channel": "testchan", "url": sink.url + SECRET_PATH, **extra}


def test_fails_n_times_then_succeeds(testchan, tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(Reply(500), Reply(503, "busy"), Reply(408), Reply(204))
    report = tocsin_make_notifier([hook_target(tocsin_http_sink)]).notify(Event("job_failed"))
    receipt = report["hook"]
    assert receipt.outcome is Outcome.DELIVERED
    assert (receipt.attempts, receipt.status_code) == (4, 204)
    assert len(tocsin_http_sink.requests) == 4
    assert len({r.body for r in tocsin_http_sink.requests}) == 1  # the same message each time


def test_gives_up_after_max_retries_with_the_last_error(testchan, tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.default = Reply(502, {"message": "bad gateway upstream"})
    report = tocsin_make_notifier([hook_target(tocsin_http_sink, max_retries=2)]).notify(Event("job_failed"))
    receipt = report["hook"]
    assert receipt.outcome is Outcome.FAILED
    assert receipt.attempts == 3 and receipt.status_code == 502
    assert "HTTP 502" in receipt.error and "gave up after 3 attempts" in receipt.error
    assert not report.ok


def test_other_4xx_is_permanent_and_keeps_the_platform_reason(testchan, tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(Reply(404, {"message": "Unknown Webhook", "code": 10015}))
    receipt = tocsin_make_notifier([hook_target(tocsin_http_sink)]).notify(Event("job_failed"))["hook"]
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 1
    assert "Unknown Webhook" in receipt.error
    assert len(tocsin_http_sink.requests) == 1


def test_429_retry_after_header_is_honoured(testchan, tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(Reply(429, headers={"Retry-After": "1"}), Reply(204))
    notifier = tocsin_make_notifier([hook_target(tocsin_http_sink)], notifications={"retry_backoff_max": 2})
    receipt = notifier.notify(Event("job_failed"))["hook"]
    assert receipt.outcome is Outcome.DELIVERED and receipt.attempts == 2
    first, second = tocsin_http_sink.requests
    assert second.received_at - first.received_at >= 0.95


def test_429_json_retry_after_is_honoured(testchan, tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(Reply(429, {"message": "You are being rate limited.", "retry_after": 0.6, "global": False}))
    notifier = tocsin_make_notifier([hook_target(tocsin_http_sink)], notifications={"retry_backoff_max": 2})
    receipt = notifier.notify(Event("job_failed"))["hook"]
    assert receipt.attempts == 2
    first, second = tocsin_http_sink.requests
    assert second.received_at - first.received_at >= 0.55


def test_retry_after_beyond_the_deadline_fails_at_once(testchan, tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(Reply(429, headers={"Retry-After": "4"}))
    notifier = tocsin_make_notifier(
        [hook_target(tocsin_http_sink)], notifications={"retry_deadline": 3, "retry_backoff_max": 10}
    )
    receipt = notifier.notify(Event("job_failed"))["hook"]
    assert receipt.outcome is Outcome.FAILED and "retry deadline" in receipt.error
    assert len(tocsin_http_sink.requests) == 1


def test_retry_after_beyond_retry_backoff_max_gives_up_in_memory(testchan, tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(Reply(429, headers={"Retry-After": "12"}))
    receipt = tocsin_make_notifier([hook_target(tocsin_http_sink)]).notify(Event("job_failed"))["hook"]
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 1
    assert "asked to wait 12s, more than retry_backoff_max 2s" in receipt.error


def test_a_server_slower_than_the_timeout_is_retried_then_reported(testchan, tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.default = Reply(204, delay=1.5)
    started = time.monotonic()
    receipt = tocsin_make_notifier([hook_target(tocsin_http_sink, timeout=0.3, max_retries=1)]).notify(
        Event("job_failed")
    )["hook"]
    assert time.monotonic() - started < 2.5
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 2
    assert "timed out after 0.3s" in receipt.error


def test_connection_refused_is_retried_and_reported(testchan, tocsin_make_notifier):
    with HttpSink() as closed:
        url = closed.url
    receipt = tocsin_make_notifier(
        [{"name": "hook", "channel": "testchan", "url": url + SECRET_PATH, "max_retries": 1}]
    ).notify(Event("job_failed"))["hook"]
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 2
    assert "could not connect" in receipt.error


def test_concurrency_cap_holds(testchan, tocsin_make_notifier):
    with HttpSink(default=Reply(204, delay=0.2)) as sink:
        targets = [hook_target(sink, name=f"t{i}") for i in range(12)]
        notifier = tocsin_make_notifier(targets, notifications={"max_concurrent_deliveries": 3})
        report = notifier.notify(Event("job_failed"))
        assert len(report.delivered) == 12
        assert sink.max_in_flight == 3


def test_one_failing_target_does_not_delay_another(testchan, tocsin_make_notifier):
    with HttpSink(default=Reply(503, delay=0.3)) as bad, HttpSink(default=Reply(204)) as good:
        notifier = tocsin_make_notifier(
            [hook_target(bad, name="bad", max_retries=3), hook_target(good, name="good")],
            notifications={"retry_backoff": 0.5, "retry_backoff_max": 1},
        )
        report = notifier.notify(Event("job_failed"))
    assert report["good"].outcome is Outcome.DELIVERED
    assert report["good"].latency_ms < 500
    assert report["bad"].outcome is Outcome.FAILED and report["bad"].attempts == 4


def test_secrets_never_reach_errors_reports_or_logs(testchan, tocsin_http_sink, tocsin_make_notifier, caplog):
    secret_url = tocsin_http_sink.url + SECRET_PATH
    tocsin_http_sink.reply(Reply(400, f"bad request for {SECRET_PATH}"))
    caplog.set_level(logging.DEBUG)
    notifier = tocsin_make_notifier([{"name": "hook", "channel": "testchan", "url": secret_url}])
    report = notifier.notify(Event("job_failed"))
    for text in (report["hook"].error, repr(report), str(report.to_dict()), repr(notifier.targets), caplog.text):
        assert "SuperSecretToken" not in text
    assert "***" in report["hook"].error


def test_a_secret_echoed_where_the_reason_is_cut_does_not_leak_in_part(
    testchan, tocsin_http_sink, tocsin_make_notifier
):
    # The reason is cut to 300 characters; put the token across that cut.
    tocsin_http_sink.reply(Reply(400, "x" * 285 + f"no such hook {SECRET_PATH}"))
    receipt = tocsin_make_notifier([hook_target(tocsin_http_sink)]).notify(Event("job_failed"))["hook"]
    assert "Sup" not in receipt.error and "webhooks/1" not in receipt.error
    assert receipt.error.startswith("HTTP 400: xxx") and receipt.error.rstrip("*").endswith("no such hook ")


def test_async_api_on_the_callers_loop(testchan, tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([hook_target(tocsin_http_sink)])

    async def main():
        reports = await asyncio.gather(*(notifier.anotify(Event("job_failed", data={"n": i})) for i in range(5)))
        await notifier.aclose()
        return reports

    reports = asyncio.run(main())
    assert all(r.ok for r in reports)
    assert sorted(r.json()["fields"][0]["value"] for r in tocsin_http_sink.requests) == ["0", "1", "2", "3", "4"]


@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
def test_uploads_reach_the_server_alike_over_both_http_stacks(backend, tocsin_http_sink):
    """post_multipart, put_bytes and post_json send the same parts, bodies and content types whichever
    stack [notifications] http_backend names (plugins see only the Transport)."""
    if backend == "aiohttp":
        pytest.importorskip("aiohttp")
    from tocsin import Transport

    async def send() -> None:
        transport = Transport(timeout=5, backend=backend)
        try:
            files = [("files[0]", "run log é.txt", b"line one\n", "text/plain")]
            await transport.post_multipart(tocsin_http_sink.url + "/m", {"payload_json": '{"a": "é"}'}, files)
            await transport.put_bytes(tocsin_http_sink.url + "/p", b"\x00\x01raw", content_type="application/x-raw")
            await transport.post_json(tocsin_http_sink.url + "/j", {"x": "é"})
        finally:
            await transport.aclose()

    asyncio.run(send())
    multipart, raw, document = tocsin_http_sink.requests
    assert multipart.part("payload_json").text == '{"a": "é"}'
    upload = multipart.part("files[0]")
    assert (upload.filename, upload.content_type, upload.data) == ("run log é.txt", "text/plain", b"line one\n")
    assert (raw.method, raw.body, raw.header("content-type")) == ("PUT", b"\x00\x01raw", "application/x-raw")
    assert document.json() == {"x": "é"} and document.header("content-type") == "application/json"
    assert {r.header("user-agent") for r in tocsin_http_sink.requests} == {"tocsin"}
