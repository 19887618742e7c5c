"""Files on Telegram: one ``sendDocument`` per file after the ``sendMessage``, read back by a real HTTP server
on 127.0.0.1 that answers as the Bot API documents; the multipart body is parsed with the ``email`` package."""

from __future__ import annotations

import json

from tocsin import Attachment, Event, Outcome, sample_event
from tocsin.testing import Reply

from .conftest import TOKEN, refused
from .conftest import bot as telegram_bot

LOG = b"12:00:07 IOError: disk full\n"


def answer(request):
    """The Bot API's answer: the sent message, with id 42 for the alert and 43 for each document."""
    method = request.path.rsplit("/", 1)[-1]
    return Reply(200, {"ok": True, "result": {"message_id": 42 if method == "sendMessage" else 43}})


def bot(sink, **options):
    return telegram_bot(sink, answer, **options)


def methods(sink):
    return [request.path.rsplit("/", 1)[-1] for request in sink.requests]


def test_the_alert_goes_first_then_each_file_as_a_reply(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    log = tmp_path / "nightly.log"
    log.write_bytes(LOG)
    csv = Attachment.from_bytes(b"step,seconds\nload,754\n", "steps.csv")
    notifier = tocsin_make_notifier([bot(tocsin_http_sink, message_thread_id=7)])
    event = sample_event("job_failed", data={"run_name": "nightly <b>"}, attachments=[log, csv])
    receipt = notifier.notify(event)["tg"]

    assert receipt.outcome is Outcome.DELIVERED and not receipt.warnings, receipt
    assert methods(tocsin_http_sink) == ["sendMessage", "sendDocument", "sendDocument"]
    alert, first, second = tocsin_http_sink.requests
    assert "<b>Attachments:</b> nightly.log (28 B); steps.csv (22 B)" in alert.json()["text"]
    assert first.path == f"/bot{TOKEN}/sendDocument"
    assert first.header("content-type").startswith("multipart/form-data; boundary=")
    parts = first.form()
    fields = {p.name: p.text for p in parts if p.filename is None}
    assert fields == {
        "chat_id": "-100123",
        "parse_mode": "HTML",
        "disable_notification": "true",
        "caption": "❌ <b>Job failed: nightly &lt;b&gt;</b>",
        "message_thread_id": "7",
        "reply_parameters": '{"message_id":42,"allow_sending_without_reply":true}',
    }
    document = next(p for p in parts if p.filename is not None)
    assert (document.name, document.filename, document.content_type, document.data) == (
        "document",
        "nightly.log",
        "text/plain",
        LOG,
    )
    assert second.part("document").filename == "steps.csv"
    assert second.part("document").data == b"step,seconds\nload,754\n"


def test_a_file_over_the_cap_is_listed_left_out_and_warned(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([bot(tocsin_http_sink, max_attachment_bytes=1024)])
    big = Attachment.from_bytes(b"\0" * 2048, "core.dump")
    small = Attachment.from_bytes(LOG, "run.log")
    receipt = notifier.notify(Event("job_failed", attachments=[big, small]))["tg"]

    assert receipt.outcome is Outcome.DELIVERED, receipt.error
    assert receipt.warnings == ("attachment 'core.dump' left out: 2.0 KiB is over the 1.0 KiB limit of telegram",)
    assert methods(tocsin_http_sink) == ["sendMessage", "sendDocument"]
    text = tocsin_http_sink.requests[0].json()["text"]
    assert "core.dump (2.0 KiB, left out: 2.0 KiB is over the 1.0 KiB limit of telegram)" in text
    assert tocsin_http_sink.last.part("document").filename == "run.log"


def test_the_cloud_limit_is_50_mib_and_at_most_ten_files(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([bot(tocsin_http_sink)])
    assert notifier.target("tg").options.max_attachment_bytes == 50 * 1024 * 1024
    files = [Attachment.from_bytes(f"{i}\n".encode(), f"part-{i}.txt") for i in range(11)]
    receipt = notifier.notify(Event("job_failed", attachments=files))["tg"]
    assert receipt.warnings == ("attachment 'part-10.txt' left out: telegram carries at most 10 files per message",)
    assert methods(tocsin_http_sink) == ["sendMessage"] + ["sendDocument"] * 10


def test_a_refused_file_is_a_warning_never_a_failed_alert(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([bot(tocsin_http_sink)])
    tocsin_http_sink.reply(answer, refused(413, "Request Entity Too Large"))
    receipt = notifier.notify(Event("job_failed", attachments=[Attachment.from_bytes(LOG, "run.log")]))["tg"]
    assert (receipt.outcome, receipt.attempts) == (Outcome.DELIVERED, 1)
    assert receipt.warnings == (
        "attachment 'run.log' not sent: HTTP 413: Request Entity Too Large — the file is larger than the Bot API "
        "server takes (50 MB on api.telegram.org)",
    )
    assert methods(tocsin_http_sink) == ["sendMessage", "sendDocument"]  # the alert is not posted again

    tocsin_http_sink.reply(answer, Reply(200, {"ok": False, "description": "Bad Request: file must be non-empty"}))
    receipt = notifier.notify(Event("job_failed", attachments=[Attachment.from_bytes(LOG, "run.log")]))["tg"]
    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.warnings == ("attachment 'run.log' not sent: Telegram: Bad Request: file must be non-empty",)


def test_retry_after_is_honoured_for_a_file_within_a_short_wait(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([bot(tocsin_http_sink)])
    tocsin_http_sink.reply(answer, refused(429, "Too Many Requests: retry after 0", retry_after=0))
    receipt = notifier.notify(Event("job_failed", attachments=[Attachment.from_bytes(LOG, "run.log")]))["tg"]
    assert receipt.outcome is Outcome.DELIVERED and not receipt.warnings, receipt.warnings
    assert methods(tocsin_http_sink) == ["sendMessage", "sendDocument", "sendDocument"]
    assert tocsin_http_sink.last.part("document").data == LOG

    tocsin_http_sink.requests.clear()
    tocsin_http_sink.reply(answer, refused(429, "Too Many Requests: retry after 40", retry_after=40))
    receipt = notifier.notify(Event("job_failed", attachments=[Attachment.from_bytes(LOG, "run.log")]))["tg"]
    assert receipt.outcome is Outcome.DELIVERED
    (warning,) = receipt.warnings
    assert warning.startswith("attachment 'run.log' not sent: HTTP 429 rate limited: Too Many Requests: retry after 40")
    assert warning.endswith("Telegram asks to wait 40s, more than the 5s a file is waited for")
    assert methods(tocsin_http_sink) == ["sendMessage", "sendDocument"]


def test_the_token_never_shows_in_a_files_warning(tocsin_http_sink, tocsin_make_notifier, caplog):
    notifier = tocsin_make_notifier([bot(tocsin_http_sink)])
    tocsin_http_sink.reply(answer, refused(404, f"Not Found: /bot{TOKEN}/sendDocument"))
    receipt = notifier.notify(Event("job_failed", attachments=[Attachment.from_bytes(LOG, "run.log")]))["tg"]
    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.warnings and "check the bot_token option" in receipt.warnings[0]
    secret_part = TOKEN.split(":")[1]
    assert secret_part not in json.dumps(receipt.warnings) and secret_part not in caplog.text
