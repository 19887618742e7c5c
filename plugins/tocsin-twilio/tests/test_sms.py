"""What Twilio's Messages API receives from the sms channel: form fields, auth, segments, partial failures.

A real HTTP server on 127.0.0.1 stands in for api.twilio.com and answers as Twilio documents: 201 with
the Message resource, or ``{"code", "message", "more_info", "status"}`` for an error.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import pytest

from tocsin import ConfigError, sample_event
from tocsin.testing import Reply

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "f00dbabe0123456789abcdef01234567"
PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"
NUMBERS = ["+14155550101", "+14155550102", "+14155550103"]


def created(status="queued"):
    return Reply(201, {"sid": "SM" + "1" * 32, "status": status, "num_segments": "1", "error_code": None})


def twilio_error(status, code, message):
    more = f"https://www.twilio.com/docs/errors/{code}"
    return Reply(status, {"code": code, "message": message, "more_info": more, "status": status})


def phones(sink, **options):
    sink.default = created()
    return {
        "name": "phones",
        "channel": "sms",
        "api_url": sink.url,
        "account_sid": SID,
        "auth_token": TOKEN,
        "from": "+14155550100",
        "to": NUMBERS[:1],
        **options,
    }


def form(request):
    return {key: values[0] for key, values in parse_qs(request.text, strict_parsing=True).items()}


def test_one_form_encoded_request_per_number(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([phones(tocsin_http_sink, to=NUMBERS)])
    event = sample_event("job_failed", data={"run_name": "nightly"}, source={"instance": "prod"})
    receipt = notifier.notify(event)["phones"]
    assert (str(receipt.outcome), receipt.attempts, receipt.status_code) == ("delivered", 1, 201)
    assert len(tocsin_http_sink.requests) == 3
    for request in tocsin_http_sink.requests:
        assert (request.method, request.path) == ("POST", PATH)
        assert request.header("content-type") == "application/x-www-form-urlencoded"
        assert request.header("authorization") == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    fields = sorted((form(r) for r in tocsin_http_sink.requests), key=lambda f: f["To"])
    assert [f["To"] for f in fields] == NUMBERS
    assert {f["From"] for f in fields} == {"+14155550100"}
    assert fields[0]["Body"] == "[prod] Job failed: nightly\nIOError: disk full\nhttps://example.org/runs/run-0042"


def test_a_messaging_service_and_an_api_key(tocsin_http_sink, tocsin_make_notifier):
    service, key = "MG" + "a" * 32, "SK" + "b" * 32
    target = phones(tocsin_http_sink, messaging_service_sid=service, api_key_sid=key)
    del target["from"]
    assert tocsin_make_notifier([target]).notify(sample_event("job_completed")).ok
    fields = form(tocsin_http_sink.last)
    assert fields["MessagingServiceSid"] == service and "From" not in fields
    assert (
        tocsin_http_sink.last.header("authorization") == "Basic " + base64.b64encode(f"{key}:{TOKEN}".encode()).decode()
    )


def test_the_text_and_its_segments(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([phones(tocsin_http_sink)])
    plain = notifier.render("phones", sample_event("job_completed", data={"run_name": "nightly"}))
    assert plain.extra == {"encoding": "GSM-7", "segments": 1, "characters": len(plain.text)}
    emoji = notifier.render("phones", sample_event("job_completed", data={"run_name": "nightly 🌙"}))
    assert emoji.extra["encoding"] == "UCS-2"
    long_run = notifier.render("phones", sample_event("job_failed", data={"error": "disk full: " + "x" * 400}))
    assert long_run.extra["encoding"] == "GSM-7" and long_run.extra["segments"] == 3  # 160 < text ≤ 3 × 153


@pytest.mark.parametrize(
    ("run_name", "encoding", "limit", "marker"),
    [("nightly", "GSM-7", 160, "..."), ("nächtlich ✓", "UCS-2", 70, "…")],
)
def test_max_segments_cuts_with_a_marker_that_keeps_the_encoding(
    tocsin_http_sink, tocsin_make_notifier, run_name, encoding, limit, marker
):
    notifier = tocsin_make_notifier([phones(tocsin_http_sink, max_segments=1)])
    event = sample_event("job_failed", data={"run_name": run_name, "error": "disk full " * 40})
    assert notifier.notify(event).ok
    body = form(tocsin_http_sink.last)["Body"]
    assert body.endswith(marker) and len(body) <= limit
    assert notifier.render("phones", event).extra == {"encoding": encoding, "segments": 1, "characters": len(body)}


def test_hostile_text_is_cleaned_and_cut_to_1600(tocsin_http_sink, tocsin_make_notifier, tocsin_hostile_event):
    notifier = tocsin_make_notifier([phones(tocsin_http_sink)])
    assert notifier.notify(tocsin_hostile_event("job_failed", title="Job failed \x1b[31m\u202eevil")).ok
    body = form(tocsin_http_sink.last)["Body"]
    assert body.startswith(
        '[<b>bold</b> & <i>italic</i> <a href="http://evil.example">click</a>] Job failed [31m evil\n'
    )
    assert body.endswith("EEE...\nhttps://example.org/runs/1?a=1&b=<2>")  # the error's last line, cut
    assert not any(c in body for c in "\x00\x07\x1b\r\u202e")
    assert len(body) <= 1600


def test_a_number_twilio_refuses_fails_the_receipt_and_says_who(tocsin_http_sink, tocsin_make_notifier):
    def answer(request):
        if form(request)["To"] == NUMBERS[1]:
            return twilio_error(400, 21211, f"The 'To' number {NUMBERS[1]} is not a valid phone number.")
        return created()

    tocsin_http_sink.default = answer
    target = {**phones(tocsin_http_sink, to=NUMBERS)}
    tocsin_http_sink.default = answer
    receipt = tocsin_make_notifier([target]).notify(sample_event("job_failed"))["phones"]
    assert (str(receipt.outcome), receipt.attempts, receipt.status_code) == ("failed", 1, 400)
    assert receipt.error == (
        f"sent to 2 of 3 numbers; not to {NUMBERS[1]}: HTTP 400: The 'To' number {NUMBERS[1]} is not a valid "
        "phone number. (Twilio error 21211, https://www.twilio.com/docs/errors/21211) — check the numbers in to"
    )
    assert len(tocsin_http_sink.requests) == 3


def test_a_retry_texts_only_the_numbers_still_missing(tocsin_http_sink, tocsin_make_notifier):
    outages = {NUMBERS[2]: 2}

    def answer(request):
        number = form(request)["To"]
        if outages.get(number):
            outages[number] -= 1
            return twilio_error(503, 20503, "Service Unavailable")
        return created()

    target = phones(tocsin_http_sink, to=NUMBERS)
    tocsin_http_sink.default = answer
    receipt = tocsin_make_notifier([target]).notify(sample_event("backup_failed"))["phones"]
    assert (str(receipt.outcome), receipt.attempts) == ("delivered", 3)
    sent_to = sorted(form(r)["To"] for r in tocsin_http_sink.requests)
    assert sent_to == [NUMBERS[0], NUMBERS[1], NUMBERS[2], NUMBERS[2], NUMBERS[2]]  # the first two, once each


def test_a_partial_failure_that_never_passes_names_the_number(tocsin_http_sink, tocsin_make_notifier):
    def answer(request):
        return twilio_error(500, 20500, "Internal Server Error") if form(request)["To"] == NUMBERS[0] else created()

    target = phones(tocsin_http_sink, to=NUMBERS[:2])
    tocsin_http_sink.default = answer
    notifier = tocsin_make_notifier([target], notifications={"max_retries": 1})
    receipt = notifier.notify(sample_event("job_failed"))["phones"]
    assert (str(receipt.outcome), receipt.attempts) == ("failed", 2)
    assert receipt.error.startswith(f"sent to 1 of 2 numbers; not to {NUMBERS[0]}: HTTP 500: Internal Server Error")
    assert sorted(form(r)["To"] for r in tocsin_http_sink.requests) == [NUMBERS[0], NUMBERS[0], NUMBERS[1]]


def test_bad_credentials_fail_at_once_without_showing_the_token(tocsin_http_sink, tocsin_make_notifier, caplog):
    tocsin_http_sink.reply(twilio_error(401, 20003, f"Authenticate: token {TOKEN} is not valid"))
    receipt = tocsin_make_notifier([phones(tocsin_http_sink)]).notify(sample_event("job_failed"))["phones"]
    assert (str(receipt.outcome), receipt.attempts, receipt.status_code) == ("failed", 1, 401)
    assert receipt.error == (
        "HTTP 401: Authenticate: token *** is not valid (Twilio error 20003, https://www.twilio.com/docs/errors/20003)"
        " — check account_sid and auth_token (or api_key_sid)"
    )
    assert TOKEN not in caplog.text


def test_too_many_requests_is_retried(tocsin_http_sink, tocsin_make_notifier):
    tocsin_http_sink.reply(twilio_error(429, 20429, "Too Many Requests"))
    receipt = tocsin_make_notifier([phones(tocsin_http_sink)]).notify(sample_event("job_failed"))["phones"]
    assert (str(receipt.outcome), receipt.attempts, receipt.status_code) == ("delivered", 2, 201)


def test_a_message_created_as_failed_is_a_failure(tocsin_http_sink, tocsin_make_notifier):
    failed = {"sid": "SM" + "2" * 32, "status": "failed", "error_code": 30003, "error_message": "Unreachable"}
    tocsin_http_sink.reply(Reply(201, failed))
    receipt = tocsin_make_notifier([phones(tocsin_http_sink)]).notify(sample_event("job_failed"))["phones"]
    assert str(receipt.outcome) == "failed"
    assert receipt.error == "Twilio: message failed: Unreachable (error 30003)"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"messaging_service_sid": "MG" + "a" * 32}, "targets[0].from: give either from"),
        ({"to": []}, "targets[0].to: name at least one phone number"),
        ({"to": ["+1 415 555 0101"]}, "targets[0].to: '+1 415 555 0101' is not a phone number in E.164 form"),
        ({"account_sid": "SK" + "0" * 32}, "targets[0].account_sid: expected AC followed by 32 hex digits"),
        ({"max_segments": 30}, "targets[0].max_segments: must be 1 to 24"),
    ],
)
def test_bad_options_name_file_and_key(tocsin_http_sink, tocsin_make_notifier, options, expected):
    with pytest.raises(ConfigError) as caught:
        tocsin_make_notifier([phones(tocsin_http_sink, **options)])
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems
