"""A digest (tocsin.digest_event) as Slack gets it: a section per listed event, its title linking to the run."""

from __future__ import annotations

from tocsin import Event, digest_event, sample_digest


def test_a_digest_lists_each_event_as_a_linked_section(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([{"name": "team-slack", "channel": "slack", "url": tocsin_http_sink.url + "/hook"}])
    assert notifier.notify(sample_digest("rate_limit", count=17)).ok

    body = tocsin_http_sink.last.json()
    blocks = body["blocks"]
    title = "❌ 17 notifications held by the rate limit (7 failures, 7 successes, 3 notifications)"
    assert blocks[0]["text"]["text"] == title
    assert body["text"].startswith(
        title + "\nEvents: 17 (7 failures, 7 successes, 3 notifications) · Why: held by the rate limit"
    )
    assert blocks[1]["text"]["text"].startswith(
        "*Events:* 17 (7 failures, 7 successes, 3 notifications)\n*Listed:* the first 15, and 2 more"
    )
    events = [b["text"]["text"] for b in blocks if b["type"] == "section"][1:]
    assert len(events) == 15
    assert events[0].startswith("❌ *<https://example.org/runs/run-0001|Job failed: nightly-etl #1>*\n")
    assert events[1].startswith("✅ *<https://example.org/runs/run-0002|Job completed: nightly-etl #2>*\n")
    assert {"type": "context", "elements": [{"type": "mrkdwn", "text": "… and 2 more"}]} in blocks


def test_event_titles_cannot_ping_or_forge_links(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([{"name": "team-slack", "channel": "slack", "url": tocsin_http_sink.url + "/hook"}])
    hostile = Event(
        "job_failed",
        title="<!channel> <http://evil.example|docs> & co",
        data={"run_url": "https://ci.example/r?a=1&b=2"},
    )
    assert notifier.notify(digest_event([hostile], reason="quiet_hours", until=hostile.occurred_at)).ok

    events = [b["text"]["text"] for b in tocsin_http_sink.last.json()["blocks"] if b["type"] == "section"]
    assert events[-1].startswith(
        "❌ *<https://ci.example/r?a=1&amp;b=2|&lt;!channel&gt; &lt;http://evil.example|docs&gt; &amp; co>*"
    )
