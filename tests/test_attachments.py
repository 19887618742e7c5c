"""Attachments in the core: the Attachment model, the content-addressed store, references in a Message that
an outbox can keep, per-channel caps with warnings (never a failed alert), the transport's upload methods
against a real HTTP server, and ``tocsin send -a`` as a subprocess."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time

import pytest

from tocsin import (
    Attachment,
    AttachmentRef,
    Channel,
    Event,
    Message,
    Outcome,
    PermanentError,
    Receipt,
    RetryableError,
    Transport,
)
from tocsin.attachment_store import AttachmentStore
from tocsin.attachments import Caps, caps_for, checked, fit_attachments
from tocsin.testing import Reply

from .conftest import run_cli, write

MIB = 1024 * 1024


# -- the model -----------------------------------------------------------------------------------------
def test_attachment_is_a_path_or_bytes_with_a_name():
    assert Attachment("/var/log/nightly.log").name == "nightly.log"
    assert Attachment("/var/log/nightly.log").content_type == "text/plain"
    report = Attachment.from_bytes(b"id,size\n", "report.csv")
    assert (report.name, report.content_type) == ("report.csv", "text/csv")
    with pytest.raises(ValueError, match="exactly one"):
        Attachment()
    with pytest.raises(ValueError, match="exactly one"):
        Attachment("/x", data=b"x")
    with pytest.raises(ValueError, match="needs a name"):
        Attachment(data=b"x")
    with pytest.raises(ValueError, match="content_type"):
        Attachment(data=b"x", name="a.txt", content_type="text/plain\r\nBcc: evil@example.org")


def test_hostile_names_are_made_safe():
    for hostile, expected in [
        ("../../etc/passwd", "passwd"),
        ('a"b\r\nContent-Type: x.txt', "a_b__Content-Type: x.txt"),
        ("\u202egnp.exe", "_gnp.exe"),
        ("...", "attachment"),
    ]:
        assert Attachment(data=b"x", name=hostile).name == expected
    long = Attachment(data=b"x", name="a" * 500 + ".log").name
    assert len(long) <= 200 and long.endswith(".log")


def test_event_takes_paths_attachments_and_their_dicts(tmp_path):
    event = Event("job_failed", attachments=[tmp_path / "run.log", Attachment.from_bytes(b"x", "x.bin")])
    assert [a.name for a in event.attachments] == ["run.log", "x.bin"]
    assert Event("job_failed", attachments=str(tmp_path / "one.log")).attachments[0].name == "one.log"
    with pytest.raises(TypeError, match="an attachment is a path"):
        Event("job_failed", attachments=[42])


# -- the store -----------------------------------------------------------------------------------------
def test_store_copies_by_content_hash_and_sends_what_was_submitted(tmp_path):
    log = tmp_path / "run.log"
    log.write_bytes(b"line 1\n")
    store = AttachmentStore(tmp_path / "store")
    staged = store.stage(Event("job_failed", attachments=[log, Attachment.from_bytes(b"line 1\n", "copy.log")]))
    first, second = staged.attachments
    digest = hashlib.sha256(b"line 1\n").hexdigest()
    assert (first.sha256, first.size, first.name) == (digest, 7, "run.log")
    assert first.path == second.path == str(tmp_path / "store" / digest[:2] / digest)  # stored once
    assert oct(os.stat(first.path).st_mode & 0o777) == "0o600"
    log.write_bytes(b"line 1\nline 2 written after the alert was accepted\n")
    assert first.read_bytes() == b"line 1\n"


def test_missing_unreadable_and_too_large_files_are_left_out_with_the_reason(tmp_path):
    store = AttachmentStore(tmp_path / "store", limit=100)
    missing = tmp_path / "gone.log"
    staged = store.stage(
        Event("job_failed", attachments=[missing, tmp_path, Attachment.from_bytes(b"x" * 101, "big.bin")])
    )
    gone, folder, big = staged.attachments
    assert gone.omitted == f"file not found: {missing}" and gone.sha256 is None
    assert "is a folder" in folder.omitted
    assert big.size == 101 and "over the notifier's 100 B max_attachment_bytes" in big.omitted
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").glob("*/*"))


def test_release_deletes_copies_nobody_holds_and_purge_removes_old_ones(tmp_path):
    store = AttachmentStore(tmp_path / "store")
    one = store.stage(Event("a_failed", attachments=[Attachment.from_bytes(b"same", "a.txt")]))
    two = store.stage(Event("b_failed", attachments=[Attachment.from_bytes(b"same", "b.txt")]))
    path = one.attachments[0].path
    store.release(one.attachments)
    assert os.path.exists(path), "another event still holds the same content"
    store.release(two.attachments)
    assert not os.path.exists(path)

    other = AttachmentStore(tmp_path / "store")  # another process staged the same content meanwhile
    kept = store.stage(Event("c_failed", attachments=[Attachment.from_bytes(b"shared", "c.txt")]))
    time.sleep(0.01)
    other.stage(Event("d_failed", attachments=[Attachment.from_bytes(b"shared", "d.txt")]))
    store.release(kept.attachments)
    assert os.path.exists(kept.attachments[0].path), "deleted a copy another process had staged since"
    old = time.time() - 8 * 24 * 3600
    os.utime(kept.attachments[0].path, (old, old))
    assert AttachmentStore(tmp_path / "store").purge() == 1
    assert not os.path.exists(kept.attachments[0].path)


# -- references in a Message ---------------------------------------------------------------------------
def test_message_holds_references_that_round_trip_never_the_bytes(tmp_path):
    store = AttachmentStore(tmp_path / "store")
    staged = store.stage(Event("job_failed", attachments=[Attachment.from_bytes(os.urandom(5 * MIB), "dump.bin")]))
    message = Message(
        channel="x",
        target="t",
        event_id="1",
        event_type="job_failed",
        severity="failure",
        attachments=staged.attachments,
    )
    stored = json.dumps(message.to_dict())
    assert len(stored) < 1000, "a Message must never hold megabytes inline"
    back = Message.from_dict(json.loads(stored))
    assert back == message and isinstance(back.attachments[0], AttachmentRef)
    assert back.attachments[0].read_bytes() == staged.attachments[0].read_bytes()


def test_a_stored_copy_gone_before_delivery_is_left_out_with_a_warning(tmp_path):
    store = AttachmentStore(tmp_path / "store")
    ref = store.stage(Event("job_failed", attachments=[Attachment.from_bytes(b"log", "run.log")])).attachments[0]
    message = Message(channel="x", target="t", event_id="1", event_type="a", severity="info", attachments=[ref])
    os.unlink(ref.path)
    message, warnings = checked(message)
    assert not message.attachments[0].sent
    assert warnings == ["attachment 'run.log' left out: no longer in the attachment store (purged or removed)"]
    with pytest.raises(PermanentError, match=r"run\.log"):
        message.attachments[0].read_bytes()


def test_caps_per_file_count_and_total():
    refs = [AttachmentRef(f"f{i}.bin", size=size, sha256=str(i), path="/x") for i, size in enumerate([5, 30, 5, 5])]
    fitted = fit_attachments(refs, Caps(per_file=10, count=2, total=12), "discord")
    assert [r.omitted for r in fitted] == [
        None,
        "30 B is over the 10 B limit of discord",
        None,
        "discord carries at most 2 files per message",
    ]
    fitted = fit_attachments(refs[:3], Caps(per_file=10, total=8), "email")
    assert fitted[2].omitted == "the files together would pass the 8 B limit of email"
    listing = fit_attachments(refs, Caps(per_file=0), "teams")
    assert all(r.sent for r in listing), "a channel that carries no files lists them all, none left out"


def test_a_targets_own_cap_and_the_notifiers_limit():
    spec = Channel("x", max_attachment_bytes=10 * MIB, max_attachments_total_bytes=10 * MIB)

    class Options:
        max_attachment_bytes = 50 * MIB  # a boosted server

    assert caps_for(spec, Options(), None) == Caps(per_file=50 * MIB, total=50 * MIB)
    assert caps_for(spec, Options(), 5 * MIB) == Caps(per_file=5 * MIB, total=5 * MIB)
    assert caps_for(spec, None, None).per_file == 10 * MIB
    assert caps_for(Channel("y"), None, None).per_file == 0, "a channel that declares nothing lists names"


def test_receipt_shows_warnings():
    receipt = Receipt("chat", "discord", Outcome.DELIVERED, attempts=1, warnings=["attachment 'a' left out: x"])
    assert "[warning: attachment 'a' left out: x]" in receipt.summary()
    assert Receipt("chat", "discord", Outcome.DELIVERED).warnings == ()


# -- the transport's upload methods ----------------------------------------------------------------------
def test_post_multipart_and_put_bytes_reach_a_real_server(tocsin_http_sink):
    async def run():
        transport = Transport(timeout=5)
        try:
            await transport.post_multipart(
                tocsin_http_sink.url + "/hook",
                {"payload_json": '{"content": "hi"}'},
                [("files[0]", "run.log", b"line 1\n", "text/plain"), ("files[1]", "a.bin", b"\x00\xff", "x/y")],
            )
            await transport.put_bytes(tocsin_http_sink.url + "/topic", b"raw", headers={"X-Filename": "run.log"})
            tocsin_http_sink.reply(Reply(503, {"message": "busy"}), Reply(400, {"message": "bad file"}))
            with pytest.raises(RetryableError, match="HTTP 503: busy"):
                await transport.post_multipart(tocsin_http_sink.url, {}, [("f", "a", b"a", "text/plain")])
            with pytest.raises(PermanentError, match="HTTP 400: bad file"):
                await transport.put_bytes(tocsin_http_sink.url, b"a")
        finally:
            await transport.aclose()

    asyncio.run(run())
    multipart, put = tocsin_http_sink.requests[:2]
    parts = multipart.form()
    assert [(p.name, p.filename, p.content_type) for p in parts] == [
        ("payload_json", None, "text/plain"),
        ("files[0]", "run.log", "text/plain"),
        ("files[1]", "a.bin", "x/y"),
    ]
    assert json.loads(parts[0].data) == {"content": "hi"}
    assert parts[1].data == b"line 1\n" and parts[2].data == b"\x00\xff"
    assert (put.method, put.body, put.header("x-filename")) == ("PUT", b"raw", "run.log")
    assert put.header("content-type") == "application/octet-stream"


# -- end to end ------------------------------------------------------------------------------------------
def test_console_lists_attachments_and_render_releases_them(tocsin_make_notifier, tmp_path):
    log = tmp_path / "run.log"
    log.write_text("boom\n")
    notifier = tocsin_make_notifier([{"name": "console", "channel": "console", "stream": "stderr"}])
    message = notifier.render("console", Event("job_failed", attachments=[log]))
    assert "run.log (5 B)" in message.text
    assert message.attachments[0].name == "run.log"
    assert not any((tmp_path / "attachments").glob("*/*")), "render kept a copy in the store"
    report = notifier.notify(Event("job_failed", attachments=[log, tmp_path / "missing.log"]))
    receipt = report["console"]
    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.warnings == (f"attachment 'missing.log' left out: file not found: {tmp_path / 'missing.log'}",)
    assert not any((tmp_path / "attachments").glob("*/*")), "delivered attachments were not released"


def test_cli_send_attach(tmp_path):
    log = write(tmp_path / "run.log", "the last lines of the log\n")
    csv = write(tmp_path / "rows.csv", "a,b\n")
    env = {"TOCSIN_ATTACHMENT_DIR": str(tmp_path / "store")}
    result = run_cli(
        "send", "job_failed", "-a", str(log), "--attach", str(csv), "--json-report", "-", cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "run.log (26 B); rows.csv (4 B)" in result.stdout + result.stderr  # the console's message
    assert json.loads(result.stdout[result.stdout.index("{\n") :])["receipts"][0]["warnings"] == []
    missing = run_cli("send", "job_failed", "-a", str(tmp_path / "nope.log"), cwd=tmp_path, env=env)
    assert missing.returncode == 2
    assert "nope.log" in missing.stderr and "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_durable_outbox_stores_references_and_the_files_go_after_delivery(tocsin_make_notifier, tmp_path):
    import sqlite3

    outbox = tmp_path / "outbox.db"
    notifier = tocsin_make_notifier(
        [{"name": "console", "channel": "console", "format": "json", "stream": "stderr"}],
        delivery={"store": f"sqlite:///{outbox}"},
    )
    payload = os.urandom(256 * 1024)
    report = notifier.notify(Event("job_failed", attachments=[Attachment.from_bytes(payload, "dump.bin")]))
    assert report["console"].outcome is Outcome.DELIVERED
    (message_json, event_json) = sqlite3.connect(outbox).execute("SELECT message, event FROM deliveries").fetchone()
    stored = Message.from_dict(json.loads(message_json))
    assert stored.attachments[0].sha256 == hashlib.sha256(payload).hexdigest()
    assert len(message_json) + len(event_json) < 10_000, "the outbox row holds the file instead of a reference"
    assert json.loads(event_json)["attachments"][0]["name"] == "dump.bin"
    assert not any((tmp_path / "attachments").glob("*/*")), "the delivered file was not released"
