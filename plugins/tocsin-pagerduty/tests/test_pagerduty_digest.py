"""A digest (tocsin.digest_event) for PagerDuty: one trigger keyed by its group, or a change event, never a resolve."""

from __future__ import annotations

import attrs

from tocsin import sample_digest

KEY = "0123456789abcdef0123456789abcdef"


def pagerduty(sink):
    return {"name": "pd", "channel": "pagerduty", "api_url": sink.url, "routing_key": KEY}


def test_a_digest_of_failures_is_one_trigger_listing_the_events(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([pagerduty(tocsin_http_sink)])
    assert notifier.notify(sample_digest("group", count=25)).ok
    assert notifier.notify(sample_digest("group", count=3)).ok

    first, second = (r.json() for r in tocsin_http_sink.requests)
    assert tocsin_http_sink.requests[0].path == "/v2/enqueue"
    assert first["event_action"] == "trigger"
    assert first["payload"]["summary"] == "25 jobs failed in the last 5 minutes"
    assert first["dedup_key"] == "tocsin-sample:digest:group:type=job_failed" == second["dedup_key"]  # one alert
    listed = first["payload"]["custom_details"]["Listed"]
    assert len(listed) == 21 and listed[-1] == "… and 5 more"
    assert listed[0].startswith("❌ Job failed: nightly-etl #1 · ") and listed[0].endswith(
        "https://example.org/runs/run-0001"
    )
    assert [link["href"] for link in first["links"]] == [f"https://example.org/runs/run-{i:04d}" for i in range(1, 11)]


def test_a_digest_of_successes_is_a_change_event_not_a_resolve(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([pagerduty(tocsin_http_sink)])
    digest = sample_digest("quiet_hours", count=5)
    successes = attrs.evolve(digest, severity="success")  # as if only successes had been held
    assert notifier.notify(successes).ok

    request = tocsin_http_sink.last
    assert request.path == "/v2/change/enqueue"
    body = request.json()
    assert "event_action" not in body and "dedup_key" not in body
    assert body["payload"]["summary"] == digest.title
