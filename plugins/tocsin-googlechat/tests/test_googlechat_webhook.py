"""The ``googlechat`` channel against a real HTTP server standing in for a Google Chat space webhook.

Request shape from developers.google.com "Send a message" and "Cards v2": ``POST
/v1/spaces/<space>/messages?key=…&token=…`` with ``{"text", "cardsV2": [{"cardId", "card": {"header":
{"title", "subtitle"}, "sections": [{"header", "widgets": [{"decoratedText": {"topLabel", "text"}},
{"textParagraph": {"text"}}, {"buttonList": {"buttons": [{"text", "onClick": {"openLink": {"url"}}}]}}]}]}}],
"thread": {"threadKey"}}``, and ``messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD`` to reply in a
thread. Errors: ``{"error": {"code", "message", "status"}}``. A message is at most 32,000 bytes.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from tocsin_googlechat.card import LIMITS, MESSAGE_BYTES, violations
from tocsin_googlechat.markup import ZWSP

from tocsin import ConfigError, Outcome, sample_event
from tocsin.testing import Reply

SPACE = "/v1/spaces/AAAAx7Yh9kE/messages"
KEY = "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI"
TOKEN = "d9BpxGm1hPz7kQeRr4Ts5Uv6Wx8Yz0Ab-Cd2Ef3Gh4I%3D"
CREATED = Reply(
    200,
    {
        "name": "spaces/AAAAx7Yh9kE/messages/m1.m1",
        "thread": {"name": "spaces/AAAAx7Yh9kE/threads/t1"},
    },
)


def space(sink, **options):
    return {
        "name": "ops-space",
        "channel": "googlechat",
        "url": f"{sink.url}{SPACE}?key={KEY}&token={TOKEN}",
        **options,
    }


def google_error(code, status, message):
    return Reply(code, {"error": {"code": code, "message": message, "status": status}})


def sections(body):
    return body["cardsV2"][0]["card"]["sections"]


def test_the_space_receives_the_documented_card(tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(CREATED)
    receipt = tocsin_make_notifier([space(tocsin_http_sink)]).notify(sample_event("job_failed"))["ops-space"]

    assert (receipt.outcome, receipt.status_code) == (Outcome.DELIVERED, 200)
    request = tocsin_http_sink.last
    path = urlsplit(request.path)
    assert (request.method, path.path) == ("POST", SPACE)
    assert parse_qs(path.query) == {
        "key": [KEY],
        "token": [TOKEN.replace("%3D", "=")],
    }  # no reply option
    assert request.header("content-type").startswith("application/json")
    body = request.json()
    assert violations(body) == []
    assert body["text"] == "❌ Job failed: nightly-etl"
    assert "thread" not in body
    (card,) = body["cardsV2"]
    assert card["cardId"] == "tocsin"
    assert card["card"]["header"] == {
        "title": "❌ Job failed: nightly-etl",
        "subtitle": "failure · job_failed · tocsin-sample",
    }
    description, details, error, link = sections(body)
    assert description["widgets"] == [{"textParagraph": {"text": "A job ended with an error."}}]
    assert details["header"] == "Details"
    assert {"decoratedText": {"topLabel": "Duration", "text": "12m 34s"}} in details["widgets"]
    assert error["header"] == "Error"
    assert error["widgets"][0]["textParagraph"]["text"] == (
        'Traceback (most recent call last):<br>  File "etl.py", line 42, in load<br>IOError: disk full'
    )
    assert link["widgets"] == [
        {
            "buttonList": {
                "buttons": [
                    {
                        "text": "Open run",
                        "onClick": {"openLink": {"url": "https://example.org/runs/run-0042"}},
                    }
                ]
            }
        }
    ]


def test_a_thread_key_replies_in_the_runs_thread(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([space(tocsin_http_sink, thread_key="{instance}/{type}/{run_name}{missing}")])
    tocsin_http_sink.reply(CREATED)
    assert notifier.notify(sample_event("job_failed")).ok

    request = tocsin_http_sink.last
    query = parse_qs(urlsplit(request.path).query)
    assert query["messageReplyOption"] == ["REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"]
    assert (query["key"], query["token"]) == (
        [KEY],
        [TOKEN.replace("%3D", "=")],
    )  # the secret query is kept
    assert request.json()["thread"] == {"threadKey": "tocsin-sample/job_failed/nightly-etl"}


def test_event_text_cannot_forge_markup_mentions_or_links(tocsin_http_sink, tocsin_make_notifier, tocsin_hostile_event):
    event = tocsin_hostile_event("job_failed", title="<users/all> wake up <https://evil.example|click>")
    tocsin_http_sink.reply(CREATED)
    assert tocsin_make_notifier([space(tocsin_http_sink)]).notify(event).ok

    body = tocsin_http_sink.last.json()
    assert violations(body) == []
    assert body["text"] == f"❌ <{ZWSP}users/all> wake up <{ZWSP}https://evil.example|click>"
    widgets = {
        w["decoratedText"]["topLabel"]: w["decoratedText"]["text"]
        for w in sections(body)[1]["widgets"]
        if "decoratedText" in w and "topLabel" in w["decoratedText"]
    }
    assert widgets["Job"] == "&lt;/script&gt;&lt;script&gt;alert('x')&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    assert (
        widgets["Html"]
        == '&lt;b&gt;bold&lt;/b&gt; &amp; &lt;i&gt;italic&lt;/i&gt; &lt;a href="http://evil.example"&gt;click&lt;/a&gt;'
    )
    assert "\x00" not in widgets["Control"] and "\x1b" not in widgets["Control"]
    assert widgets["Queue"] == "Subject-ish<br>Bcc: victim@example.org<br>X-Injected: yes"
    button = sections(body)[-1]["widgets"][0]["buttonList"]["buttons"][0]
    assert button["onClick"]["openLink"]["url"] == "https://example.org/runs/1?a=1&b=%3C2%3E"


def test_a_huge_event_keeps_within_32000_bytes_and_both_ends_of_the_error(
    tocsin_http_sink, tocsin_make_notifier, tocsin_hostile_event
):
    tocsin_http_sink.reply(CREATED)
    assert tocsin_make_notifier([space(tocsin_http_sink)]).notify(tocsin_hostile_event("backup_failed")).ok

    request = tocsin_http_sink.last
    assert len(request.body) <= MESSAGE_BYTES
    body = request.json()
    assert violations(body) == []
    error = next(s for s in sections(body) if s.get("header") == "Error")["widgets"][0]["textParagraph"]["text"]
    assert error.startswith("&lt;/script&gt;") and error.endswith("EEEE") and "<br>…<br>" in error
    details = next(s for s in sections(body) if s.get("header") == "Details")
    assert details["collapsible"] is True and len(details["widgets"]) <= LIMITS["widgets"]


def test_a_deployment_template_cannot_break_the_byte_limit(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    folder = tmp_path / "notify-templates" / "googlechat"
    folder.mkdir(parents=True)
    (folder / "default.json.j2").write_text(
        '{"text": {{ data.blob }}, "cardsV2": [{"cardId": "x", "card": {"header": {"title": {{ data.blob }}}, '
        '"sections": [{"widgets": [{% for i in range(80) %}{"decoratedText": {"topLabel": "n{{ i }}", '
        '"text": {{ data.blob }}}}, {% endfor %}{"textParagraph": {"text": {{ data.blob }}}}]}]}}]}'
    )
    notifier = tocsin_make_notifier(
        [space(tocsin_http_sink)],
        notifications={"template_dirs": [str(tmp_path / "notify-templates")]},
    )
    tocsin_http_sink.reply(CREATED)
    assert notifier.notify(sample_event("job_failed", data={"blob": "漢字🎉<&>\n" * 3000})).ok

    request = tocsin_http_sink.last
    assert len(request.body) <= MESSAGE_BYTES
    body = request.json()
    assert violations(body) == []
    assert body["text"].endswith("…") and "\n" not in body["text"]
    widgets = sections(body)[0]["widgets"]
    assert len(widgets) == LIMITS["widgets"] and widgets[-1] == {"decoratedText": {"text": "… 32 more"}}


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            google_error(
                400,
                "INVALID_ARGUMENT",
                'Invalid JSON payload received. Unknown name "cards_v3": Cannot find field.',
            ),
            'HTTP 400: Invalid JSON payload received. Unknown name "cards_v3": Cannot find field. (INVALID_ARGUMENT) — '
            "Google Chat rejected the message",
        ),
        (
            google_error(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
            ),
            "HTTP 400: API key not valid. Please pass a valid API key. (INVALID_ARGUMENT) — the webhook URL's key",
        ),
        (
            google_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
            ),
            "HTTP 401: Request had invalid authentication credentials. (UNAUTHENTICATED) — the webhook URL's token",
        ),
        (
            google_error(403, "PERMISSION_DENIED", "The caller does not have permission"),
            "HTTP 403: The caller does not have permission (PERMISSION_DENIED) — the webhook was deleted",
        ),
        (
            google_error(404, "NOT_FOUND", "Requested entity was not found."),
            "HTTP 404: Requested entity was not found. (NOT_FOUND) — no such space",
        ),
    ],
)
def test_error_answers_fail_at_once_in_googles_words(tocsin_http_sink, tocsin_make_notifier, reply, expected):
    tocsin_http_sink.reply(reply)
    receipt = tocsin_make_notifier([space(tocsin_http_sink)]).notify(sample_event("job_failed"))["ops-space"]
    assert (receipt.outcome, receipt.attempts, len(tocsin_http_sink.requests)) == (
        Outcome.FAILED,
        1,
        1,
    )
    assert receipt.error.startswith(expected), receipt.error


def test_quota_and_outage_answers_are_retried(tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(
        google_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
        google_error(503, "UNAVAILABLE", "The service is currently unavailable."),
        CREATED,
    )
    receipt = tocsin_make_notifier([space(tocsin_http_sink)]).notify(sample_event("job_failed"))["ops-space"]
    assert (receipt.outcome, receipt.attempts) == (Outcome.DELIVERED, 3)


def test_key_and_token_quoted_back_stay_out_of_errors_and_logs(tocsin_http_sink, tocsin_make_notifier, caplog):
    caplog.set_level(logging.DEBUG)
    tocsin_http_sink.reply(
        google_error(500, "INTERNAL", f"internal error for key {KEY}"),
        google_error(
            400,
            "INVALID_ARGUMENT",
            f"token {TOKEN.replace('%3D', '=')} is not valid for key {KEY}",
        ),
    )
    receipt = tocsin_make_notifier([space(tocsin_http_sink)]).notify(sample_event("job_failed"))["ops-space"]
    assert (receipt.outcome, receipt.attempts) == (Outcome.FAILED, 2)
    assert receipt.error.startswith("HTTP 400: token *** is not valid for key *** (INVALID_ARGUMENT)")
    for secret in (KEY, TOKEN, TOKEN.replace("%3D", "=")):
        assert secret not in receipt.error and secret not in caplog.text


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "url",
            f"https://chat.googleapis.com{SPACE}?key={KEY}",
            "url: a Google Chat webhook URL looks like",
        ),
        (
            "url",
            "chat.googleapis.com/v1/spaces/AAAA/messages",
            "url: must be the space's webhook URL",
        ),
        ("thread_key", "{run_name", "thread_key: placeholders are written {name}"),
        ("thread_key", "  ", "thread_key: empty"),
    ],
)
def test_bad_options_name_file_and_key(tocsin_http_sink, tocsin_make_notifier, key, value, expected):
    with pytest.raises(ConfigError) as caught:
        tocsin_make_notifier([{**space(tocsin_http_sink), key: value}])
    assert any(f"tocsin.toml: targets[0].{expected}" in problem for problem in caught.value.problems), caught.value
    assert KEY not in str(caught.value)
