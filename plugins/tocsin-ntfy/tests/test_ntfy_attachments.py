"""A file on ntfy: ``PUT <url>/<topic>`` with the file as the body and ``X-Filename`` (ntfy's "Attach local
file"), the text in ``X-Message``; checked on a real HTTP server on 127.0.0.1 as ntfy would read it."""

from __future__ import annotations

from email.header import decode_header, make_header

from tocsin import Attachment, Event, Outcome
from tocsin.testing import Reply

NTFY_OK = Reply(200, {"id": "sPs7tqR5Ww4S", "time": 1700000000, "event": "message", "topic": "backups"})
LOG = b"12:00:07 IOError: disk full\n"


def ntfy(sink, **options):
    sink.default = NTFY_OK
    return {"name": "phone", "channel": "ntfy", "url": sink.url, "topic": "backups", **options}


def decoded(value: str) -> str:
    return str(make_header(decode_header(value)))


def event(*attachments) -> Event:
    data = {"run_name": "nächtlich", "error": "disk full"}
    return Event("backup_failed", data=data, attachments=attachments)


def test_one_file_is_put_with_the_message_in_headers(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([ntfy(tocsin_http_sink, token="tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2")])
    second = Attachment.from_bytes(b"more", "second.txt")
    receipt = notifier.notify(event(Attachment.from_bytes(LOG, "backup.log"), second))["phone"]

    assert receipt.outcome is Outcome.DELIVERED, receipt.error
    assert receipt.warnings == ("attachment 'second.txt' left out: ntfy carries at most 1 file per message",)
    request = tocsin_http_sink.last
    assert (request.method, request.path, request.body) == ("PUT", "/backups", LOG)
    assert request.header("x-filename") == "backup.log"
    assert request.header("content-type") == "text/plain"
    assert request.header("authorization") == "Bearer tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"
    assert decoded(request.header("x-title")).endswith("Backup failed: nächtlich")
    assert request.header("x-priority") == "5" and request.header("x-tags").startswith("x,backup_failed")
    message = decoded(request.header("x-message")).replace("\\n", "\n")
    assert "disk full" in message and "\n" in message
    assert "second.txt (4 B, left out: ntfy carries at most 1 file per message)" in message


def test_json_form_uploads_the_same_way_and_no_file_means_json(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([ntfy(tocsin_http_sink, form="json")])
    notifier.notify(event(Attachment.from_bytes(LOG, "backup.log")))
    request = tocsin_http_sink.last
    assert (request.method, request.path, request.header("x-filename")) == ("PUT", "/backups", "backup.log")
    assert request.header("x-priority") == "5" and "disk full" in decoded(request.header("x-message"))
    notifier.notify(event())
    assert (tocsin_http_sink.last.method, tocsin_http_sink.last.json()["topic"]) == ("POST", "backups")


def test_a_server_with_a_smaller_limit_gets_the_message_without_the_file(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([ntfy(tocsin_http_sink)])
    tocsin_http_sink.reply(
        Reply(413, {"code": 41301, "http": 413, "error": "attachment too large, or bandwidth limit reached"})
    )
    receipt = notifier.notify(event(Attachment.from_bytes(LOG, "backup.log")))["phone"]

    assert receipt.outcome is Outcome.DELIVERED, receipt.error
    assert receipt.status_code == 200 and len(receipt.warnings) == 1
    assert "'backup.log' left out: the ntfy server refused it as too large" in receipt.warnings[0]
    assert "attachment too large" in receipt.warnings[0]
    upload, plain = tocsin_http_sink.requests
    assert upload.method == "PUT" and plain.method == "POST" and b"disk full" in plain.body
    assert plain.header("x-filename") is None
