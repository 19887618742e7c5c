"""Attachments by email: multipart/mixed around the multipart/alternative body, received by a real SMTP
server (aiosmtpd) and read back with the ``email`` package as a mail client would."""

from __future__ import annotations

from email import message_from_bytes, policy

from tocsin import Attachment, Event, Outcome

from .conftest import target

LOG = "12:00:01 load: writing partitions\n12:00:07 IOError: disk full — naïve retry failed\n".encode()
MIB = 1024 * 1024


def event(*attachments) -> Event:
    return Event("job_failed", data={"run_name": "nightly", "error": "disk full"}, attachments=attachments)


def test_files_are_mixed_parts_after_the_alternative_body(tocsin_smtp_sink, tocsin_make_notifier, tmp_path):
    log = tmp_path / "nightly.log"
    log.write_bytes(LOG)
    png = Attachment.from_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "chart.png")
    notifier = tocsin_make_notifier([target(tocsin_smtp_sink)])
    receipt = notifier.notify(event(log, png))["mail"]

    assert receipt.outcome is Outcome.DELIVERED and not receipt.warnings, receipt
    mail = message_from_bytes(tocsin_smtp_sink.last.raw, policy=policy.default)
    assert mail.get_content_type() == "multipart/mixed"
    body, *files = mail.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in body.iter_parts()] == ["text/plain", "text/html"]
    assert "nightly.log (" in body.get_body(("plain",)).get_content()
    assert [(f.get_filename(), f.get_content_type(), f.get_content_disposition()) for f in files] == [
        ("nightly.log", "text/plain", "attachment"),
        ("chart.png", "image/png", "attachment"),
    ]
    assert files[0].get_payload(decode=True) == LOG
    assert files[1].get_payload(decode=True) == png.data
    assert files[1]["Content-Transfer-Encoding"] == "base64"
    assert mail.get_body(("html",)) is not None  # clients still find the HTML body


def test_too_large_and_missing_files_are_left_out_with_a_note(tocsin_smtp_sink, tocsin_make_notifier, tmp_path):
    notifier = tocsin_make_notifier([target(tocsin_smtp_sink, max_attachment_bytes=1 * MIB)])
    big = Attachment.from_bytes(b"\0" * (MIB + 1), "core.dump")
    receipt = notifier.notify(event(big, tmp_path / "gone.log"))["mail"]

    assert receipt.outcome is Outcome.DELIVERED, receipt.error
    assert receipt.warnings == (
        "attachment 'core.dump' left out: 1.0 MiB is over the 1.0 MiB limit of email",
        f"attachment 'gone.log' left out: file not found: {tmp_path / 'gone.log'}",
    )
    mail = message_from_bytes(tocsin_smtp_sink.last.raw, policy=policy.default)
    assert mail.get_content_type() == "multipart/alternative", "no file was sent: no mixed wrapper"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for shown in (text, html):
        assert "core.dump (1.0 MiB, left out: 1.0 MiB is over the 1.0 MiB limit of email)" in shown
        assert "gone.log (left out: file not found" in shown


def test_a_server_refusing_the_size_gets_the_mail_without_files(tocsin_smtp_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([target(tocsin_smtp_sink)])
    tocsin_smtp_sink.reply("552 5.3.4 Message size exceeds fixed maximum message size")
    receipt = notifier.notify(event(Attachment.from_bytes(LOG, "nightly.log")))["mail"]

    assert receipt.outcome is Outcome.DELIVERED, receipt.error
    assert receipt.warnings and "'nightly.log' left out: the server refused the mail" in receipt.warnings[0]
    assert "552" in receipt.warnings[0]
    assert tocsin_smtp_sink.transactions == 2 and len(tocsin_smtp_sink.messages) == 1
    assert tocsin_smtp_sink.last.get_content_type() == "multipart/alternative"
