"""Files on Discord: one multipart/form-data request with ``payload_json`` and ``files[n]`` (Discord's
"Uploading Files"), read back by a real HTTP server on 127.0.0.1 and parsed with the ``email`` package."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from tocsin import Attachment, Event, Outcome

LOG = b"12:00:07 IOError: disk full\n"
MIB = 1024 * 1024


def discord_target(sink, **options):
    return {"name": "chat", "channel": "discord", "url": f"{sink.url}/api/webhooks/42/s3cr3t-t0ken", **options}


def test_files_go_up_with_the_message_as_payload_json_and_files_n(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    log = tmp_path / "nightly.log"
    log.write_bytes(LOG)
    notifier = tocsin_make_notifier([discord_target(tocsin_http_sink, thread_id="99")])
    csv = Attachment.from_bytes(b"step,seconds\nload,754\n", "steps.csv")
    receipt = notifier.notify(Event("job_failed", data={"run_name": "nightly"}, attachments=[log, csv]))["chat"]

    assert receipt.outcome is Outcome.DELIVERED and not receipt.warnings, receipt
    request = tocsin_http_sink.last
    query = parse_qs(urlsplit(request.path).query)
    assert query == {"wait": ["true"], "thread_id": ["99"]}
    assert request.header("content-type").startswith("multipart/form-data; boundary=")
    parts = request.form()
    assert [p.name for p in parts] == ["payload_json", "files[0]", "files[1]"]
    payload = json.loads(parts[0].data)
    assert payload["embeds"][0]["title"].endswith("Job failed: nightly")
    assert payload["attachments"] == [{"id": 0, "filename": "nightly.log"}, {"id": 1, "filename": "steps.csv"}]
    assert payload["allowed_mentions"] == {"parse": []}
    assert (parts[1].filename, parts[1].content_type, parts[1].data) == ("nightly.log", "text/plain", LOG)
    assert (parts[2].filename, parts[2].content_type) == ("steps.csv", "text/csv")


def test_over_discords_limits_files_are_left_out_and_the_embed_says_so(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([discord_target(tocsin_http_sink)])
    too_big = Attachment.from_bytes(b"\0" * (10 * MIB + 1), "core.dump")
    many = [Attachment.from_bytes(f"{i}\n".encode(), f"part-{i}.txt") for i in range(11)]
    receipt = notifier.notify(Event("job_failed", attachments=[too_big, *many]))["chat"]

    assert receipt.outcome is Outcome.DELIVERED, receipt.error
    assert receipt.warnings == (
        "attachment 'core.dump' left out: 10.0 MiB is over the 10.0 MiB limit of discord",
        "attachment 'part-10.txt' left out: discord carries at most 10 files per message",
    )
    parts = tocsin_http_sink.last.form()
    assert [p.filename for p in parts[1:]] == [f"part-{i}.txt" for i in range(10)]
    embed = json.loads(parts[0].data)["embeds"][0]
    shown = {field["name"]: field["value"] for field in embed["fields"]}
    assert "core.dump (10.0 MiB, left out: 10.0 MiB is over the 10.0 MiB limit of discord)" in shown["Attachments"]


def test_a_boosted_server_takes_bigger_files_and_no_files_means_plain_json(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([discord_target(tocsin_http_sink, max_attachment_bytes=12 * MIB)])
    big = Attachment.from_bytes(b"\1" * (11 * MIB), "trace.bin")
    assert notifier.notify(Event("job_failed", attachments=[big]))["chat"].warnings == ()
    assert tocsin_http_sink.last.part("files[0]").data == b"\1" * (11 * MIB)
    notifier.notify(Event("job_failed"))
    assert tocsin_http_sink.last.header("content-type") == "application/json"
