"""Discord's answers: 200/204 delivered, 429 waits then retries, 401/404 and 400 fail for good, readably."""

from __future__ import annotations

import socket

import pytest

from tocsin import Outcome, sample_event
from tocsin.testing.sinks import Reply

TOKEN = "s3cr3t-t0ken-do-not-print"
NOT_FOUND = "webhook not found or token invalid (was it deleted?)"


def notifier_for(tocsin_make_notifier, url, **settings):
    target = {"name": "team-discord", "channel": "discord", "url": url}
    return tocsin_make_notifier([target], notifications=settings or None)


def webhook_url(sink):
    return f"{sink.url}/api/webhooks/42/{TOKEN}"


@pytest.mark.parametrize("reply", [Reply(204), Reply(200, {"id": "1", "channel_id": "2", "content": "x"})])
def test_204_and_200_are_delivered(tocsin_make_notifier, tocsin_http_sink, reply):
    tocsin_http_sink.reply(reply)
    receipt = notifier_for(tocsin_make_notifier, webhook_url(tocsin_http_sink)).notify(sample_event("job_failed"))[
        "team-discord"
    ]
    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.status_code == reply.status
    assert receipt.attempts == 1


def test_429_waits_retry_after_from_the_json_body_then_retries(tocsin_make_notifier, tocsin_http_sink):
    tocsin_http_sink.reply(
        Reply(429, {"message": "You are being rate limited.", "retry_after": 0.4, "global": False}), Reply(204)
    )
    receipt = notifier_for(tocsin_make_notifier, webhook_url(tocsin_http_sink)).notify(sample_event("job_failed"))[
        "team-discord"
    ]
    assert receipt.outcome is Outcome.DELIVERED and receipt.attempts == 2
    first, second = tocsin_http_sink.requests
    assert second.received_at - first.received_at >= 0.4
    assert second.json() == first.json()  # the same message, resent


def test_429_waits_retry_after_header_then_retries(tocsin_make_notifier, tocsin_http_sink):
    tocsin_http_sink.reply(Reply(429, "slow down", headers={"Retry-After": "1"}), Reply(204))
    receipt = notifier_for(tocsin_make_notifier, webhook_url(tocsin_http_sink)).notify(sample_event("job_failed"))[
        "team-discord"
    ]
    assert receipt.outcome is Outcome.DELIVERED and receipt.attempts == 2
    first, second = tocsin_http_sink.requests
    assert second.received_at - first.received_at >= 0.95


def test_429_that_outlasts_the_retry_deadline_fails_saying_so(tocsin_make_notifier, tocsin_http_sink):
    tocsin_http_sink.reply(Reply(429, {"message": "You are being rate limited.", "retry_after": 60, "global": True}))
    notifier = notifier_for(tocsin_make_notifier, webhook_url(tocsin_http_sink), retry_deadline=5.0)
    receipt = notifier.notify(sample_event("job_failed"))["team-discord"]
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 1
    assert "HTTP 429" in receipt.error and "retry deadline" in receipt.error


@pytest.mark.parametrize(
    ("status", "discord_body", "detail"),
    [
        (404, {"message": "Unknown Webhook", "code": 10015}, "Unknown Webhook, code 10015"),
        (401, {"message": "Invalid Webhook Token", "code": 50027}, "Invalid Webhook Token, code 50027"),
        (404, "", None),
    ],
)
def test_401_and_404_are_permanent_and_say_the_webhook_is_gone(
    tocsin_make_notifier, tocsin_http_sink, status, discord_body, detail
):
    tocsin_http_sink.reply(Reply(status, discord_body))
    receipt = notifier_for(tocsin_make_notifier, webhook_url(tocsin_http_sink)).notify(sample_event("job_failed"))[
        "team-discord"
    ]
    assert receipt.outcome is Outcome.FAILED
    assert receipt.attempts == 1 and len(tocsin_http_sink.requests) == 1  # not retried
    assert receipt.status_code == status
    assert receipt.error.startswith(f"HTTP {status}: {NOT_FOUND}")
    if detail:
        assert detail in receipt.error
    assert TOKEN not in receipt.error and "/api/webhooks" not in receipt.error


def test_400_keeps_discords_json_error_text(tocsin_make_notifier, tocsin_http_sink):
    answer = {
        "message": "Invalid Form Body",
        "code": 50035,
        "errors": {
            "embeds": {
                "0": {
                    "title": {
                        "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer in length."}]
                    }
                }
            }
        },
    }
    tocsin_http_sink.reply(Reply(400, answer))
    receipt = notifier_for(tocsin_make_notifier, webhook_url(tocsin_http_sink)).notify(sample_event("job_failed"))[
        "team-discord"
    ]
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 1
    assert receipt.error.startswith("HTTP 400: {")
    for text in ('"message":"Invalid Form Body"', '"code":50035', "BASE_TYPE_MAX_LENGTH", "Must be 256 or fewer"):
        assert text in receipt.error


def test_400_with_an_old_style_field_error_is_kept_too(tocsin_make_notifier, tocsin_http_sink):
    tocsin_http_sink.reply(Reply(400, {"username": ['Username cannot contain "discord"']}))
    receipt = notifier_for(tocsin_make_notifier, webhook_url(tocsin_http_sink)).notify(sample_event("job_failed"))[
        "team-discord"
    ]
    # The field error is kept whole. (The word Discord quotes is not asserted: redaction also scrubs every
    # secret this process has seen, and a test elsewhere in the session may have used "discord" in one.)
    assert receipt.error.startswith('HTTP 400: {"username":["Username cannot contain \\"')
    assert receipt.error.endswith('\\""]}')


def test_5xx_is_retried(tocsin_make_notifier, tocsin_http_sink):
    tocsin_http_sink.reply(Reply(502, "bad gateway"), Reply(503, {"message": "upstream"}), Reply(204))
    receipt = notifier_for(tocsin_make_notifier, webhook_url(tocsin_http_sink)).notify(sample_event("job_failed"))[
        "team-discord"
    ]
    assert receipt.outcome is Outcome.DELIVERED and receipt.attempts == 3


def test_connection_refused_is_retried_then_reported_without_the_token(tocsin_make_notifier):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    notifier = notifier_for(tocsin_make_notifier, f"http://127.0.0.1:{port}/api/webhooks/42/{TOKEN}", max_retries=1)
    receipt = notifier.notify(sample_event("job_failed"))["team-discord"]
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 2
    assert "could not connect" in receipt.error
    assert TOKEN not in receipt.error
