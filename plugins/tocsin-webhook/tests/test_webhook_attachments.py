"""Attachments on the webhook: listed by default, base64 inside the signed body with attachments = "inline",
checked as a receiver checks them (standardwebhooks, the JSON Schema, the sha256 of the decoded bytes)."""

from __future__ import annotations

import base64
import hashlib

import jsonschema
import standardwebhooks
from tocsin_webhook import json_schema

from tocsin import Attachment, Event, Outcome

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
LOG = b"12:00:01 load: writing partitions\n12:00:07 IOError: disk full\n"


def hook(url: str, **options) -> dict:
    return {"name": "hook", "channel": "webhook", "url": url, "secret": SECRET, **options}


def event(*attachments) -> Event:
    return Event("job_failed", data={"run_name": "nightly"}, attachments=attachments)


def test_inline_attachments_are_base64_inside_the_signature(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    log = tmp_path / "nightly.log"
    log.write_bytes(LOG)
    notifier = tocsin_make_notifier([hook(tocsin_http_sink.url, attachments="inline", inline_max_bytes=1000)])
    big = Attachment.from_bytes(b"x" * 1001, "core.dump")
    receipt = notifier.notify(event(log, big))["hook"]

    assert receipt.outcome is Outcome.DELIVERED, receipt.error
    assert receipt.warnings == ("attachment 'core.dump' left out: 1001 B is over the 1000 B limit of webhook",)
    request = tocsin_http_sink.last
    body = standardwebhooks.Webhook(SECRET).verify(request.body, request.headers)  # the files are signed too
    jsonschema.Draft202012Validator(json_schema()).validate(body)
    sent, left_out = body["attachments"]
    assert base64.b64decode(sent["content_base64"]) == LOG
    assert sent["sha256"] == hashlib.sha256(LOG).hexdigest()
    assert (sent["name"], sent["content_type"], sent["size"]) == ("nightly.log", "text/plain", len(LOG))
    assert left_out["name"] == "core.dump" and "content_base64" not in left_out and "over" in left_out["omitted"]


def test_attachments_are_listed_by_default_never_their_bytes(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([hook(tocsin_http_sink.url)])
    receipt = notifier.notify(event(Attachment.from_bytes(LOG, "nightly.log")))["hook"]
    assert receipt.outcome is Outcome.DELIVERED and not receipt.warnings
    body = tocsin_http_sink.last.json()
    assert body["attachments"] == [
        {
            "name": "nightly.log",
            "content_type": "text/plain",
            "size": len(LOG),
            "sha256": hashlib.sha256(LOG).hexdigest(),
        }
    ]
    assert b"disk full" not in tocsin_http_sink.last.body
    notifier.notify(Event("job_failed"))
    assert "attachments" not in tocsin_http_sink.last.json(), "no attachments: no key (the v1 body is unchanged)"
