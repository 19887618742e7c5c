"""Files through the Slack Web API: the external upload flow against a fake Slack on 127.0.0.1 that answers
as Slack documents (files.getUploadURLExternal → upload URL → files.completeUploadExternal)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from tocsin import Attachment, Event, Outcome
from tocsin.testing import Recorded, Reply

TOKEN = "xoxb-1111-2222-SeCrEtBoTtOkEn"
TS = "1700000000.000100"
LOG = b"12:00:07 IOError: disk full\n"


class FakeSlack:
    """Answers each Web API method the way Slack does; records nothing itself (the sink does)."""

    def __init__(self, sink, fail: dict[str, Reply] | None = None) -> None:
        self.sink, self.fail, self.count = sink, fail or {}, 0
        sink.default = self

    def __call__(self, request: Recorded) -> Reply:
        method = request.path.rsplit("/", 1)[-1]
        if method in self.fail:
            return self.fail[method]
        if method == "chat.postMessage":
            return Reply(200, {"ok": True, "channel": "C0123456789", "ts": TS})
        if method == "files.getUploadURLExternal":
            self.count += 1
            file_id = f"F0000{self.count}"
            return Reply(200, {"ok": True, "upload_url": f"{self.sink.url}/upload/v1/{file_id}", "file_id": file_id})
        if request.path.startswith("/upload/"):
            return Reply(200, f"OK - {len(request.body)}")
        if method == "files.completeUploadExternal":
            return Reply(200, {"ok": True, "files": [{"id": f["id"]} for f in json.loads(request.body)["files"]]})
        return Reply(404, {"ok": False, "error": "unknown_method"})


def api_target(sink, channel="slack-api", **extra):
    return {
        "name": "ops-slack",
        "channel": channel,
        "rate_limit": "off",  # these tests send several messages in a second: no noise control
        "token": TOKEN,
        "channel_id": "C0123456789",
        "api_url": sink.url + "/api/chat.postMessage",
        **extra,
    }


def event(*attachments) -> Event:
    return Event("job_failed", data={"run_name": "nightly", "error": "disk full"}, attachments=attachments)


@pytest.mark.parametrize("channel", ["slack-api", "slack"])
def test_files_follow_the_alert_in_its_thread(tocsin_http_sink, tocsin_make_notifier, channel):
    FakeSlack(tocsin_http_sink)
    notifier = tocsin_make_notifier([api_target(tocsin_http_sink, channel=channel)])
    csv = Attachment.from_bytes(b"step,seconds\n", "steps.csv")
    receipt = notifier.notify(event(Attachment.from_bytes(LOG, "nightly.log"), csv))["ops-slack"]

    assert receipt.outcome is Outcome.DELIVERED and not receipt.warnings, receipt
    assert receipt.status_code == 200 and receipt.attempts == 1
    paths = [r.path for r in tocsin_http_sink.requests]
    assert paths == [
        "/api/chat.postMessage",
        "/api/files.getUploadURLExternal",
        "/upload/v1/F00001",
        "/api/files.getUploadURLExternal",
        "/upload/v1/F00002",
        "/api/files.completeUploadExternal",
    ]
    post, get_url, upload, _, _, complete = tocsin_http_sink.requests
    assert "nightly.log" in post.text  # the alert lists its files too
    assert get_url.header("content-type") == "application/x-www-form-urlencoded"
    assert get_url.header("authorization") == f"Bearer {TOKEN}"
    assert parse_qs(get_url.text) == {"filename": ["nightly.log"], "length": [str(len(LOG))]}
    assert (upload.method, upload.body, upload.header("content-type")) == ("POST", LOG, "text/plain")
    assert upload.header("authorization") is None, "the token never goes to the upload URL"
    assert complete.header("authorization") == f"Bearer {TOKEN}"
    assert complete.json() == {
        "files": [{"id": "F00001", "title": "nightly.log"}, {"id": "F00002", "title": "steps.csv"}],
        "channel_id": "C0123456789",
        "thread_ts": TS,
    }


def test_files_into_the_channel_and_a_webhook_only_lists_them(tocsin_http_sink, tocsin_make_notifier):
    FakeSlack(tocsin_http_sink)
    notifier = tocsin_make_notifier([api_target(tocsin_http_sink, files_in_thread=False)])
    notifier.notify(event(Attachment.from_bytes(LOG, "nightly.log")))
    assert "thread_ts" not in tocsin_http_sink.last.json()

    tocsin_http_sink.default = Reply(200, "ok")
    hook = {"name": "hook", "channel": "slack", "url": tocsin_http_sink.url + "/services/T0/B0/x", "rate_limit": "off"}
    webhook = tocsin_make_notifier([hook])
    before = len(tocsin_http_sink.requests)
    receipt = webhook.notify(event(Attachment.from_bytes(LOG, "nightly.log")))["hook"]
    assert receipt.outcome is Outcome.DELIVERED and not receipt.warnings
    assert len(tocsin_http_sink.requests) == before + 1
    assert "nightly.log" in tocsin_http_sink.last.text and b"disk full\n" not in tocsin_http_sink.last.body


def test_a_failed_upload_is_a_warning_never_a_second_alert(tocsin_http_sink, tocsin_make_notifier):
    FakeSlack(
        tocsin_http_sink,
        fail={
            "files.completeUploadExternal": Reply(200, {"ok": False, "error": "missing_scope", "needed": "files:write"})
        },
    )
    notifier = tocsin_make_notifier([api_target(tocsin_http_sink)])
    receipt = notifier.notify(event(Attachment.from_bytes(LOG, "nightly.log")))["ops-slack"]

    assert receipt.outcome is Outcome.DELIVERED, receipt.error
    assert receipt.attempts == 1
    assert len(receipt.warnings) == 1
    assert "'nightly.log' not shared: Slack API error missing_scope" in receipt.warnings[0]
    assert "files:write" in receipt.warnings[0]
    assert TOKEN not in " ".join(receipt.warnings)
    assert [r.path for r in tocsin_http_sink.requests].count("/api/chat.postMessage") == 1

    FakeSlack(
        tocsin_http_sink, fail={"files.getUploadURLExternal": Reply(503, {"ok": False, "error": "service_unavailable"})}
    )
    receipt = notifier.notify(event(Attachment.from_bytes(LOG, "nightly.log")))["ops-slack"]
    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.warnings and "not uploaded: HTTP 503" in receipt.warnings[0]
