"""Signed deliveries, checked the way a receiver would: with the standardwebhooks package and verify()."""

from __future__ import annotations

import base64
import time
from datetime import datetime, timezone

import pytest
import standardwebhooks
import tocsin_webhook
from tocsin_webhook import WebhookVerificationError, generate_secret, verify

from tocsin import Event
from tocsin.testing import Reply

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def hook(url: str, **options) -> dict:
    return {"name": "hook", "channel": "webhook", "url": url, "secret": SECRET, **options}


def received_headers(request) -> dict[str, str]:
    return {k: v for k, v in request.headers.items() if k.startswith("webhook-")}


def test_received_request_verifies_with_standardwebhooks_and_verify(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([hook(tocsin_http_sink.url + "/in")])
    event = Event("job_failed", data={"run_name": "nightly", "error": "disk full"})
    report = notifier.notify(event)

    assert report["hook"].outcome == "delivered"
    request = tocsin_http_sink.last
    assert request.method == "POST"
    assert request.path == "/in"
    assert request.header("content-type") == "application/json"
    assert request.header("webhook-id") == event.id
    assert request.header("webhook-signature").startswith("v1,")
    parsed = standardwebhooks.Webhook(SECRET).verify(request.body, request.headers)
    assert parsed == request.json()
    assert verify(request.body, request.headers, SECRET) == request.json()
    assert request.json()["data"] == {"run_name": "nightly", "error": "disk full"}

    # The signature is the reference library's, computed over the exact bytes sent (compact JSON).
    sent_at = datetime.fromtimestamp(int(request.header("webhook-timestamp")), tz=timezone.utc)
    assert request.header("webhook-signature") == standardwebhooks.Webhook(SECRET).sign(event.id, sent_at, request.text)
    assert request.body == tocsin_webhook.encode_body(request.json())


def test_tampered_body_or_headers_fail_both_verifiers(tocsin_http_sink, tocsin_make_notifier):
    tocsin_make_notifier([hook(tocsin_http_sink.url)]).notify(Event("job_failed", data={"run_name": "nightly"}))
    request = tocsin_http_sink.last
    tampered = request.body.replace(b'"failure"', b'"success"')
    assert tampered != request.body

    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(SECRET).verify(tampered, request.headers)
    with pytest.raises(WebhookVerificationError, match="signature mismatch"):
        verify(tampered, request.headers, SECRET)

    # The id and the timestamp are signed too.
    sent = int(request.header("webhook-timestamp"))
    for name, value in (("webhook-id", "another-id"), ("webhook-timestamp", str(sent - 1))):
        headers = {**request.headers, name: value}
        with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
            standardwebhooks.Webhook(SECRET).verify(request.body, headers)
        with pytest.raises(WebhookVerificationError, match="signature mismatch"):
            verify(request.body, headers, SECRET)


def test_stale_timestamp_fails_both_verifiers(tocsin_http_sink, tocsin_make_notifier):
    tocsin_make_notifier([hook(tocsin_http_sink.url)]).notify(Event("job_failed"))
    request = tocsin_http_sink.last
    sent = int(request.header("webhook-timestamp"))

    # The real request, checked six minutes later (a replay): verify() refuses it.
    with pytest.raises(WebhookVerificationError, match=r"stale timestamp: .*360s old"):
        verify(request.body, request.headers, SECRET, now=sent + 360)
    assert verify(request.body, request.headers, SECRET, now=sent + 299)  # within the 300 s tolerance

    # A correctly signed copy with a timestamp ten minutes old: both verifiers refuse it.
    old = sent - 600
    lib = standardwebhooks.Webhook(SECRET)
    replay = {
        **received_headers(request),
        "webhook-timestamp": str(old),
        "webhook-signature": lib.sign(
            request.header("webhook-id"), datetime.fromtimestamp(old, tz=timezone.utc), request.text
        ),
    }
    assert verify(request.body, replay, SECRET, tolerance=None) == request.json()  # the signature itself is fine
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError, match="too old"):
        lib.verify(request.body, replay)
    with pytest.raises(WebhookVerificationError, match="stale timestamp"):
        verify(request.body, replay, SECRET)


def test_webhook_id_is_the_same_on_every_retry_and_the_timestamp_is_fresh(tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(Reply(500, {"message": "try later"}, headers={"Retry-After": "1"}), Reply(204))
    event = Event("job_failed", data={"run_name": "nightly"})
    report = tocsin_make_notifier([hook(tocsin_http_sink.url)]).notify(event)

    receipt = report["hook"]
    assert (receipt.outcome, receipt.attempts, receipt.status_code) == ("delivered", 2, 204)
    first, second = tocsin_http_sink.requests
    assert first.header("webhook-id") == second.header("webhook-id") == event.id
    assert first.body == second.body
    assert int(second.header("webhook-timestamp")) >= int(first.header("webhook-timestamp")) + 1
    assert first.header("webhook-signature") != second.header("webhook-signature")
    for request in (first, second):
        standardwebhooks.Webhook(SECRET).verify(request.body, request.headers)
        verify(request.body, request.headers, SECRET)


def test_raw_secret_signs_with_its_utf8_bytes(tocsin_http_sink, tocsin_make_notifier):
    raw = "a shared secret the receiver already has: ünïcode too"
    tocsin_make_notifier([hook(tocsin_http_sink.url, secret=raw)]).notify(Event("job_completed"))
    request = tocsin_http_sink.last
    standardwebhooks.Webhook(raw.encode()).verify(request.body, request.headers)
    assert verify(request.body, request.headers, raw)
    assert verify(request.body, request.headers, raw.encode())
    with pytest.raises(WebhookVerificationError, match="signature mismatch"):
        verify(request.body, request.headers, SECRET)


def test_without_a_secret_requests_carry_id_and_timestamp_but_no_signature(tocsin_http_sink, tocsin_make_notifier):
    event = Event("job_completed")
    tocsin_make_notifier([{"name": "hook", "channel": "webhook", "url": tocsin_http_sink.url}]).notify(event)
    request = tocsin_http_sink.last
    assert request.header("webhook-id") == event.id
    assert request.header("webhook-timestamp").isdigit()
    assert request.header("webhook-signature") is None
    with pytest.raises(WebhookVerificationError, match="missing header: webhook-signature"):
        verify(request.body, request.headers, SECRET)


def test_generated_secret_works_with_the_reference_library():
    secret = generate_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert generate_secret() != secret
    body = b'{"type":"job_completed"}'
    headers = signed(body, secret=secret, timestamp=int(time.time()))
    assert standardwebhooks.Webhook(secret).verify(body, headers) == verify(body, headers, secret)


def test_an_event_id_with_a_dot_is_refused_before_anything_is_sent(tocsin_http_sink, tocsin_make_notifier):
    report = tocsin_make_notifier([hook(tocsin_http_sink.url)]).notify(Event("job_failed", id="evt.1.2"))
    receipt = report["hook"]
    assert receipt.outcome == "failed"
    assert "cannot be used as webhook-id" in receipt.error
    assert tocsin_http_sink.requests == []


# -- verify() on its own: what a receiver sees for each kind of bad request ---------------------------------


def signed(body: bytes, secret: str = SECRET, msg_id: str = "msg_1", timestamp: int = 1_700_000_000) -> dict:
    return {
        "Webhook-Id": msg_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": tocsin_webhook.sign(msg_id, timestamp, body, secret),
    }


def test_verify_reports_each_failure_clearly():
    body = b'{"type":"job_failed"}'
    now = 1_700_000_000
    headers = signed(body)
    assert verify(body, headers, SECRET, now=now) == {"type": "job_failed"}
    assert verify(body.decode(), headers, SECRET, now=now) == {"type": "job_failed"}

    cases = [
        ({}, "missing headers: webhook-id, webhook-timestamp, webhook-signature"),
        ({**headers, "Webhook-Timestamp": "soon"}, "not a Unix time"),
        ({**headers, "Webhook-Signature": "v1a,AAAA"}, "no v1"),
        ({**headers, "Webhook-Signature": "v1,not-base64!"}, "signature mismatch"),
        (signed(body, secret="whsec_" + base64.b64encode(b"another key").decode()), "signature mismatch"),
    ]
    for bad, message in cases:
        with pytest.raises(WebhookVerificationError, match=message):
            verify(body, bad, SECRET, now=now)
    with pytest.raises(WebhookVerificationError, match="in the future"):
        verify(body, headers, SECRET, now=now - 301)
    with pytest.raises(WebhookVerificationError, match="unusable secret"):
        verify(body, headers, "whsec_***", now=now)


def test_verify_accepts_any_matching_signature_of_several():
    """Key rotation: the header may list several signatures; one match is enough (for both verifiers)."""
    body = b"{}"
    now = int(time.time())
    good = signed(body, timestamp=now)
    other = signed(body, secret="whsec_" + base64.b64encode(b"old key").decode(), timestamp=now)["Webhook-Signature"]
    headers = {**good, "Webhook-Signature": f"{other} {good['Webhook-Signature']}"}
    assert verify(body, headers, SECRET) == {}
    assert standardwebhooks.Webhook(SECRET).verify(body, headers) == {}
    with pytest.raises(WebhookVerificationError, match="signature mismatch"):
        verify(body, {**headers, "Webhook-Signature": other}, SECRET)
