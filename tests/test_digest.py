"""digest_event: many events as one ``digest`` event — its title in words, worst severity, plain data."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tocsin import DIGEST_TYPE, Event, Severity, digest_event, sample_digest, sample_event
from tocsin.digest import digest_fit, digest_view
from tocsin.testing import HOSTILE_STRINGS, hostile_event

UNTIL = datetime(2026, 12, 3, 21, 0, tzinfo=timezone.utc)
FIVE_MINUTES_AGO = UNTIL - timedelta(minutes=5)


def failures(n: int, event_type: str = "job_failed") -> list[Event]:
    return [
        sample_event(event_type, data={"run_name": f"run-{i}", "run_url": f"https://ci.example/r/{i}"})
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("events", "reason", "since", "title"),
    [
        (failures(5), "group", FIVE_MINUTES_AGO, "5 jobs failed in the last 5 minutes"),
        (failures(1), "group", UNTIL - timedelta(seconds=30), "1 job failed in the last 30 seconds"),
        (failures(3), "group", UNTIL - timedelta(minutes=1), "3 jobs failed in the last minute"),
        (failures(3), "group", None, "3 jobs failed"),
        (failures(12), "quiet_hours", UNTIL - timedelta(hours=9), "12 jobs failed during quiet hours"),
        (failures(3), "rate_limit", None, "3 jobs failed while rate-limited"),
        (failures(2, "run_failure"), "group", UNTIL - timedelta(hours=2), "2 run failures in the last 2 hours"),
        (failures(2, "scheduler_online"), "group", None, "2 scheduler online events"),
        (failures(2, "queue_finished"), "group", None, "2 queues finished"),
        (failures(2) + failures(1, "backup_failed"), "group", None, "3 failures"),
        (failures(2) + failures(1, "backup_failed"), "quiet_hours", None, "3 failures held during quiet hours"),
        (
            failures(2) + failures(3, "job_completed") + failures(1, "job_cancelled"),
            "quiet_hours",
            None,
            "6 notifications held during quiet hours (2 failures, 1 warning, 3 successes)",
        ),
        (
            failures(1) + failures(2, "job_started"),
            "rate_limit",
            None,
            "3 notifications held by the rate limit (1 failure, 2 notifications)",
        ),
    ],
)
def test_the_title_says_what_happened_in_words(events, reason, since, title):
    assert digest_event(events, reason=reason, until=UNTIL, since=since).title == title


def test_a_digest_is_an_ordinary_event_of_the_worst_severity_at_until():
    events = failures(3, "job_completed") + failures(1, "job_cancelled") + failures(2, "job_started")
    digest = digest_event(events, reason="group", until=UNTIL, since=FIVE_MINUTES_AGO, group={"type": "job_*"})
    assert digest.type == DIGEST_TYPE == "digest"
    assert digest.severity is Severity.WARNING
    assert digest.occurred_at == UNTIL
    assert digest_event(failures(1) + events, reason="group", until=UNTIL).severity is Severity.FAILURE
    assert digest_event(
        failures(1, "job_started") + failures(1, "job_completed"), reason="group", until=UNTIL
    ).severity is (Severity.SUCCESS)
    assert digest.source == events[0].source


def test_data_lists_the_first_shown_events_as_plain_json():
    events = [*failures(4), Event("job_started", data={"run_name": "no link"})]
    digest = digest_event(
        events,
        reason="group",
        until=UNTIL,
        since=FIVE_MINUTES_AGO,
        group={"type": "job_failed", "data.queue": "gpu"},
        shown=3,
    )
    data = json.loads(json.dumps(digest.data))  # JSON-safe: stored with held deliveries
    assert data == digest.data
    assert data["count"] == 5 and data["omitted"] == 2 and data["reason"] == "group"
    assert data["group"] == {"type": "job_failed", "data.queue": "gpu"}
    assert data["since"] == "2026-12-03T20:55:00Z" and data["until"] == "2026-12-03T21:00:00Z"
    assert data["span"] == "5 minutes"
    assert data["counts"] == {"failure": 4, "info": 1}
    assert data["types"] == {"job_failed": 4, "job_started": 1}
    assert [item["id"] for item in data["events"]] == [e.id for e in events[:3]]
    first = data["events"][0]
    assert first == {
        "id": events[0].id,
        "type": "job_failed",
        "title": "Job failed: run-0",
        "severity": "failure",
        "time": events[0].occurred_at.isoformat().replace("+00:00", "Z"),
        "url": "https://ci.example/r/0",
        "summary": "IOError: disk full",  # the last line of the traceback
    }
    everything = digest_event(events, reason="group", until=UNTIL)
    assert everything.data["omitted"] == 0 and everything.data["events"][-1]["url"] is None
    assert everything.data["events"][-1]["summary"] == "no link"
    assert everything.data["since"] is None and everything.data["span"] is None


def test_the_same_events_give_the_same_digest_id():
    events = failures(3)
    first = digest_event(events, reason="rate_limit", until=UNTIL)
    assert digest_event(events, reason="rate_limit", until=UNTIL + timedelta(seconds=5)).id == first.id
    assert digest_event(events[:2], reason="rate_limit", until=UNTIL).id != first.id
    assert digest_event(events, reason="quiet_hours", until=UNTIL).id != first.id


def test_hostile_titles_become_one_bounded_line_and_bad_links_are_dropped():
    event = hostile_event("job_failed", data={"run_url": "javascript:alert(1)", "error": HOSTILE_STRINGS["control"]})
    digest = digest_event([event], reason="group", until=UNTIL)
    item = digest.data["events"][0]
    assert len(item["title"]) <= 300 and item["title"].endswith("…")
    for text in (item["title"], item["summary"]):
        assert not any(ch in text for ch in "\r\n\x00\x07\x1b\u202e"), text
    assert item["url"] is None


def test_500_events_with_10kb_titles_keep_the_digest_small():
    events = [Event("job_failed", title=f"{i} " + "T" * 10_000, data={"error": "E" * 100_000}) for i in range(500)]
    digest = digest_event(events, reason="rate_limit", until=UNTIL)
    assert digest.data["count"] == 500 and digest.data["omitted"] == 480 and len(digest.data["events"]) == 20
    assert len(json.dumps(digest.data)) < 20 * 800
    assert digest.title == "500 jobs failed while rate-limited"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"events": []}, "at least one event"),
        ({"reason": "because"}, "digest reason must be one of group, rate_limit, quiet_hours, not 'because'"),
        ({"until": datetime(2026, 12, 3, 21, 0)}, "digest until must be timezone-aware"),
        ({"since": datetime(2026, 12, 3, 20, 0)}, "digest since must be timezone-aware"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, message):
    arguments = {"events": failures(1), "reason": "group", "until": UNTIL, **kwargs}
    events = arguments.pop("events")
    with pytest.raises(ValueError, match=message):
        digest_event(events, **arguments)


def test_digest_view_adds_marks_and_tolerates_hand_made_data():
    view = digest_view(
        digest_event(failures(2) + failures(1, "job_completed"), reason="quiet_hours", until=UNTIL, shown=2)
    )
    assert view["count"] == 3 and view["omitted"] == 1 and view["reason_text"] == "held during quiet hours"
    assert [item["mark"] for item in view["events"]] == ["❌", "❌"]
    assert view["events"][0]["when"].endswith(" UTC")
    bare = digest_view(Event("digest", data={"events": [{"title": "x", "severity": "odd"}, "junk"]}))
    assert bare["count"] == 1 and bare["omitted"] == 0 and bare["events"][0]["mark"] == "ℹ️"


# -- rendered: the console's digest template, and any channel's default ------------------------------
def test_the_console_prints_a_digest_with_every_listed_event_and_its_link(tocsin_make_notifier, capsys):
    notifier = tocsin_make_notifier([{"name": "term", "channel": "console"}])
    digest = sample_digest("group", count=23, until=UNTIL)
    assert notifier.notify(digest).ok

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "❌ 23 jobs failed in the last 5 minutes"
    assert lines[1:5] == [
        "   Events     23 (23 failures)",
        "   Why        grouped",
        "   Window     2026-12-03 20:55:00 UTC – 2026-12-03 21:00:00 UTC",
        "   Type       job_failed",
    ]
    assert lines.count("   ❌ Job failed: nightly-etl #1") == 1
    links = [line.strip() for line in lines if "https://example.org/runs/" in line]
    assert links == [f"https://example.org/runs/run-{i:04d}" for i in range(1, 21)]
    assert "   … and 3 more" in lines


def test_a_deployment_default_template_shows_a_digest_through_fields_and_description(
    tmp_path, tocsin_make_notifier, capsys
):
    override = tmp_path / "tpl" / "console" / "default.txt.j2"
    override.parent.mkdir(parents=True)
    override.write_text(
        "{{ title }}\n{% for f in fields %}{{ f.label }}: {{ f.value }}\n{% endfor %}{{ description }}\n",
        encoding="utf-8",
    )
    notifier = tocsin_make_notifier([{"name": "term", "channel": "console"}], notifications={"template_dirs": ["tpl"]})
    assert notifier.notify(sample_digest("rate_limit", count=3, until=UNTIL)).ok

    assert capsys.readouterr().out.splitlines() == [
        "3 notifications held by the rate limit (2 failures, 1 success)",
        "Events: 3 (2 failures, 1 success)",
        "Why: held by the rate limit",
        "Window: 2026-12-03 20:59:00 UTC – 2026-12-03 21:00:00 UTC",
        "❌ Job failed: nightly-etl #1 — https://example.org/runs/run-0001",
        "✅ Job completed: nightly-etl #2 — https://example.org/runs/run-0002",
        "❌ Backup failed: nightly-etl #3 — https://example.org/runs/run-0003",
    ]


def test_digest_fit_keeps_the_first_events_that_fit_and_at_least_one():
    items = [{"title": "t" * 60, "summary": "", "url": None}] * 10  # 100 characters each, with the layout's 40
    assert len(digest_fit(items, 15, 350)) == 3
    assert len(digest_fit(items, 2, 10_000)) == 2
    assert len(digest_fit([{"title": "x" * 5000}], 15, 100)) == 1  # one is always listed
    assert digest_fit([], 15, 100) == []
