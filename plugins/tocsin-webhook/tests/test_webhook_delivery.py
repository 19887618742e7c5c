"""How a webhook target sends: method, headers, secrets kept out of sight, and every kind of answer."""

from __future__ import annotations

import logging
import socket

import pytest
import standardwebhooks

from tocsin import ConfigError, Event
from tocsin.testing import Reply

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TOKEN = "tok-5f1c0de7b3a94e21"


def hook(url: str, **options) -> dict:
    return {"name": "hook", "channel": "webhook", "url": url, "secret": SECRET, **options}


def test_put_sends_the_same_signed_document(tocsin_http_sink, tocsin_make_notifier):
    report = tocsin_make_notifier([hook(tocsin_http_sink.url + "/events/1", method="PUT")]).notify(
        Event("job_completed")
    )
    assert report["hook"].outcome == "delivered"
    request = tocsin_http_sink.last
    assert (request.method, request.path) == ("PUT", "/events/1")
    assert standardwebhooks.Webhook(SECRET).verify(request.body, request.headers)["type"] == "job_completed"


def test_any_2xx_is_delivered(tocsin_http_sink, tocsin_make_notifier):
    statuses = [200, 201, 202, 204, 299]
    # (a 204 answer has no body: the sink would otherwise leave stray bytes on the kept-alive connection)
    tocsin_http_sink.reply(*(Reply(status, b"" if status == 204 else b"accepted") for status in statuses))
    notifier = tocsin_make_notifier([hook(tocsin_http_sink.url)])
    for status in statuses:
        receipt = notifier.notify(Event("job_completed"))["hook"]
        assert (receipt.outcome, receipt.attempts, receipt.status_code) == ("delivered", 1, status)


def test_custom_headers_arrive_from_the_environment_and_never_show(
    tocsin_http_sink, tocsin_make_notifier, monkeypatch, caplog
):
    monkeypatch.setenv("HOOK_TOKEN", TOKEN)
    tocsin_http_sink.reply(lambda request: Reply(401, {"error": f"rejected {request.header('authorization')}"}))
    notifier = tocsin_make_notifier(
        [
            hook(
                tocsin_http_sink.url + "/private-path-1234",
                headers={
                    "Authorization": "Bearer ${HOOK_TOKEN}",
                    "X-Team": "data-eng",
                    "Content-Type": "application/vnd.acme+json",
                },
            )
        ]
    )
    with caplog.at_level(logging.INFO):
        receipt = notifier.notify(Event("job_failed"))["hook"]

    request = tocsin_http_sink.last
    assert request.header("authorization") == f"Bearer {TOKEN}"
    assert request.header("x-team") == "data-eng"
    assert request.header("content-type") == "application/vnd.acme+json"  # replaces the default
    standardwebhooks.Webhook(SECRET).verify(request.body, request.headers)  # custom headers are not signed

    assert (receipt.outcome, receipt.attempts, receipt.status_code) == ("failed", 1, 401)
    assert (
        receipt.error
        == "HTTP 401: the receiver refused the request (check the target's headers and secret): rejected ***"
    )
    target = notifier.target("hook")
    shown = [
        receipt.error,
        repr(target),
        str(target.options),
        repr(target.options.headers),
        caplog.text,
        repr(notifier.render("hook", "job_failed")),
    ]
    for text in shown:
        for secret in (TOKEN, "data-eng", SECRET, "private-path-1234"):
            assert secret not in text


ERROR_ANSWERS = [
    # (the receiver's answers, the receipt's error, attempts) with max_retries = 1
    ([Reply(400, {"message": "field 'type' not allowed"})], "HTTP 400: field 'type' not allowed", 1),
    ([Reply(404, b"no such hook")], "HTTP 404: no such hook", 1),
    ([Reply(410)], "HTTP 410: gone: the receiver no longer accepts these webhooks; remove or fix the target (Gone)", 1),
    (
        [Reply(301, headers={"Location": "https://elsewhere.example/x"})],
        "HTTP 301: redirect not followed: point the target's url at the final address",
        1,
    ),
    ([Reply(500, {"message": "boom"})] * 2, "HTTP 500: boom (gave up after 2 attempts)", 2),
    ([Reply(503, b"down"), Reply(502, b"bad gateway")], "HTTP 502: bad gateway (gave up after 2 attempts)", 2),
]


def test_error_answers_are_permanent_or_retried_with_the_receivers_reason(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([hook(tocsin_http_sink.url, max_retries=1)])
    for replies, error, attempts in ERROR_ANSWERS:
        before = len(tocsin_http_sink.requests)
        tocsin_http_sink.reply(*replies)
        receipt = notifier.notify(Event("job_failed"))["hook"]
        assert (receipt.outcome, receipt.error) == ("failed", error)
        assert receipt.attempts == attempts == len(tocsin_http_sink.requests) - before, error


def test_payload_too_large_names_the_size(tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(Reply(413, b"Request Entity Too Large"))
    receipt = tocsin_make_notifier([hook(tocsin_http_sink.url)]).notify(
        Event("job_failed", data={"log": "x" * 50_000})
    )["hook"]
    size = len(tocsin_http_sink.last.body)
    assert size > 50_000
    assert receipt.error == f"HTTP 413: payload too large for the receiver ({size} bytes): Request Entity Too Large"
    assert receipt.attempts == 1


def test_rate_limit_and_timeouts_are_retried(tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(Reply(429, {"retry_after": 0.05}), Reply(204, delay=0.6), Reply(204))
    receipt = tocsin_make_notifier([hook(tocsin_http_sink.url, timeout=0.3)]).notify(Event("job_failed"))["hook"]
    assert (receipt.outcome, receipt.attempts, receipt.status_code) == ("delivered", 3, 204)
    ids = {r.header("webhook-id") for r in tocsin_http_sink.wait_for(3)}
    assert len(ids) == 1


def test_connection_refused_is_retried_then_reported(tocsin_make_notifier):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    receipt = tocsin_make_notifier([hook(f"http://127.0.0.1:{port}/x", max_retries=1)]).notify(Event("job_failed"))[
        "hook"
    ]
    assert receipt.outcome == "failed"
    assert receipt.attempts == 2
    assert receipt.error.startswith("could not connect")
    assert str(port) not in receipt.error


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"url": "ftp://host/secret-path"}, "targets[0].url: must start with https:// (or http://)"),
        ({"url": ""}, "targets[0].url: is empty"),
        ({"method": "PATCH"}, "targets[0].method: must be one of 'POST', 'PUT', not 'PATCH'"),
        ({"secret": "whsec_%%secret-value%%"}, "targets[0].secret: a whsec_ secret must be whsec_ followed by base64"),
        ({"secret": ""}, "targets[0].secret: is empty (leave the key out to send unsigned requests)"),
        (
            {"headers": {"Webhook-Signature": "v1,forged"}},
            "targets[0].headers: 'Webhook-Signature' is set by tocsin itself",
        ),
        (
            {"headers": {"X-Token": "secret-value\r\nX-Injected: 1"}},
            "targets[0].headers: the value of 'X-Token' holds a line break",
        ),
        ({"headers": {"Bad Name": "v"}}, "targets[0].headers: 'Bad Name' is not a valid header name"),
        ({"headers": {"X-A": "1", "x-a": "2"}}, "targets[0].headers: 'x-a' and 'X-A' name the same header"),
        ({"headers": {"X-A": 5}}, "targets[0].headers.X-A: expected a string, got an integer"),
        ({"template": " "}, "targets[0].template: is empty"),
        ({"urll": "https://x"}, "targets[0].urll: unknown key (did you mean 'url'?)"),
    ],
)
def test_config_mistakes_name_the_key_and_hide_the_value(tocsin_make_notifier, options, problem):
    target = {"name": "hook", "channel": "webhook", "url": "https://example.org/hook", **options}
    with pytest.raises(ConfigError) as caught:
        tocsin_make_notifier([target])
    text = str(caught.value)
    assert problem in text
    assert "secret-value" not in text and "secret-path" not in text
