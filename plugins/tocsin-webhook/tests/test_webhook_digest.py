"""A digest (tocsin.digest_event) as a signed webhook: a tocsin.event/v1 document with a "digest" object."""

from __future__ import annotations

import jsonschema
from tocsin_webhook import json_schema, verify

from tocsin import sample_digest

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_a_digest_body_lists_the_events_and_is_signed(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier(
        [{"name": "hook", "channel": "webhook", "url": tocsin_http_sink.url + "/in", "secret": SECRET}]
    )
    digest = sample_digest("group", count=30)
    assert notifier.notify(digest).ok

    request = tocsin_http_sink.last
    verify(request.body, request.headers, SECRET)
    body = request.json()
    jsonschema.Draft202012Validator(json_schema()).validate(body)
    assert (body["type"], body["id"], body["title"]) == ("digest", digest.id, "30 jobs failed in the last 5 minutes")
    assert body["data"] == digest.data  # the digest's data as made (tocsin.digest_event)
    listed = body["digest"]["events"]
    assert (body["digest"]["count"], body["digest"]["omitted"], len(listed)) == (30, 10, 20)
    assert body["digest"]["group"] == {"type": "job_failed"}
    assert listed[0] == {
        "id": digest.data["events"][0]["id"],
        "type": "job_failed",
        "title": "Job failed: nightly-etl #1",
        "severity": "failure",
        "time": digest.data["events"][0]["time"],
        "url": "https://example.org/runs/run-0001",
        "summary": "IOError: disk full",
    }
