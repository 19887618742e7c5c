"""A digest (tocsin.digest_event) as Teams gets it: an Adaptive Card with a FactSet and one entry per event."""

from __future__ import annotations

from tocsin import Event, digest_event, sample_digest


def test_a_digest_card_has_facts_and_a_linked_entry_per_event(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier(
        [{"name": "team-teams", "channel": "teams", "url": tocsin_http_sink.url + "/workflows/1"}]
    )
    assert notifier.notify(sample_digest("group", count=18)).ok

    card = tocsin_http_sink.last.json()["attachments"][0]["content"]
    assert card["fallbackText"] == "❌ 18 jobs failed in the last 5 minutes"
    facts = next(e for e in card["body"] if e["type"] == "FactSet")["facts"]
    assert [f["title"] for f in facts] == ["Events", "Why", "Window", "Type"]
    assert facts[0]["value"] == "18 \\(18 failures\\)"
    entries = [e for e in card["body"] if e["type"] == "Container" and e.get("separator")]
    assert len(entries) == 15
    assert entries[0]["items"][0]["text"] == "❌ [Job failed: nightly-etl #1](https://example.org/runs/run-0001)"
    assert card["body"][-2]["text"] == "… and 3 more"
    assert "actions" not in card  # no single run to open


def test_a_messagecard_digest_lists_the_events_in_a_section(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier(
        [{"name": "old-teams", "channel": "teams", "url": tocsin_http_sink.url + "/webhookb2/1", "format": "messagecard"}]
    )
    hostile = Event("job_failed", title="<b>[x](http://evil.example)</b>", data={"run_url": "https://ci.example/r/1"})
    others = [Event("job_failed", title=f"Run {i}", data={"run_url": f"https://ci.example/r/{i}"}) for i in range(2, 18)]
    assert notifier.notify(digest_event([hostile, *others], reason="group", until=hostile.occurred_at)).ok

    card = tocsin_http_sink.last.json()
    assert card["@type"] == "MessageCard" and card["summary"] == "❌ 17 jobs failed"
    assert [f["name"] for f in card["sections"][0]["facts"]] == ["Events", "Why", "Window"]
    lines = card["sections"][1]["text"].split("\n\n")
    assert lines[0].startswith("❌ [&lt;b&gt;\\[x\\]\\(http://evil.example\\)&lt;/b&gt;](https://ci.example/r/1) · ")
    assert lines[1].startswith("❌ [Run 2](https://ci.example/r/2) · ")
    assert (len(lines), lines[-1]) == (16, "… and 2 more")
