"""Noise control in one process: de-duplication, rate limits, grouping, quiet hours, critical events, flush,
a restart in the middle of a held window, and the config errors of its keys.

Real HTTP sinks on 127.0.0.1, real config files, real SQLite files; time moves by a FakeClock (the notifier's
injectable clock), so a one-minute window or a night of quiet hours passes at once, with no sleeping.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tocsin import ConfigError, Event, Message, Outcome
from tocsin.delivery.stores import Delivery
from tocsin.delivery.stores.sqlite import SqliteOutbox
from tocsin.testing import FakeClock, HttpSink

SECRET = "noiseSecret42"

pytest.importorskip("tocsin_webhook")  # the targets here are webhooks; the core's own sdist has no plugin


def slack(sink: HttpSink, **keys) -> dict:
    return {"name": "team", "channel": "slack", "url": f"{sink.url}/services/T0000000/B0000000/{SECRET}", **keys}


def hook(sink: HttpSink, name: str = "hook", **keys) -> dict:
    return {"name": name, "channel": "webhook", "url": f"{sink.url}/{name}/{SECRET}", **keys}


@pytest.fixture(params=["memory", "sqlite"])
def delivery(request, tmp_path) -> dict:
    return {"store": "memory" if request.param == "memory" else f"sqlite:///{tmp_path / 'outbox.db'}"}


def posted(sink: HttpSink) -> list[dict]:
    """The JSON bodies the sink received, in order."""
    return [r.json() for r in sink.requests]


def test_a_burst_of_100_failures_to_slack_ends_in_two_posts_and_every_event_is_in_the_digest(
    delivery, tocsin_http_sink, tocsin_make_notifier, tmp_path
):
    pytest.importorskip("tocsin_slack")  # the core's own sdist runs this suite without any channel plugin
    clock = FakeClock()
    notifier = tocsin_make_notifier([slack(tocsin_http_sink)], delivery=delivery, clock=clock)
    events = [Event("job_failed", data={"run_id": f"r{i}", "error": "disk full"}) for i in range(100)]
    reports = [s.result(10) for s in [notifier.submit(e) for e in events]]
    outcomes = Counter(r["team"].outcome for r in reports)
    assert outcomes == {Outcome.DELIVERED: 1, Outcome.HELD: 99}  # Slack declares 1/1s
    held = [r["team"] for r in reports if r["team"].outcome is Outcome.HELD]
    assert all("held until" in r.reason and "rate limit 1/1s" in r.reason for r in held)
    assert all(r.ok for r in reports)  # held is accounted for, not a failure
    assert len(tocsin_http_sink.requests) == 1

    clock.advance(1.5)  # the window opens
    assert notifier.flush(10)
    assert len(tocsin_http_sink.requests) == 2
    assert "99" in tocsin_http_sink.requests[1].text  # one digest for the 99 held failures

    rows = notifier.store.rows(limit=1000)
    digests = [r for r in rows if r.message.event_type == "digest"]
    assert len(digests) == 1 and digests[0].state == "delivered"
    merged = [r for r in rows if r.state == "merged"]
    assert {r.event_id for r in merged} == {e.id for e in events} - {reports[0].event_id}
    assert {r.note for r in merged} == {f"merged into digest {digests[0].event_id}"}
    if delivery["store"] != "memory":
        assert SECRET.encode() not in (tmp_path / "outbox.db").read_bytes()  # held rows hold no secret


def test_a_critical_event_is_never_merged_but_waits_for_the_rate_limit_in_order(tocsin_http_sink, tocsin_make_notifier):
    clock = FakeClock()
    notifier = tocsin_make_notifier([hook(tocsin_http_sink, rate_limit="1/1m")], clock=clock)
    first = notifier.notify(Event("job_failed", data={"run_id": "1"}))
    urgent = notifier.submit(Event("backup_failed", data={"run_id": "2"}, critical=True))
    later = notifier.notify(Event("job_failed", data={"run_id": "3"}))
    assert first["hook"].outcome is Outcome.DELIVERED
    assert later["hook"].outcome is Outcome.HELD
    assert not urgent.done()  # not held for a digest: it waits for the window, pending

    clock.advance(61)
    assert notifier.flush(10)
    assert urgent.result(5)["hook"].outcome is Outcome.DELIVERED
    clock.advance(61)
    assert notifier.flush(10)
    types = [(body["type"], body["data"].get("run_id")) for body in posted(tocsin_http_sink)]
    assert types == [("job_failed", "1"), ("backup_failed", "2"), ("job_failed", "3")]  # a bundle of one: itself


def test_dedup_window_sends_the_same_run_once_and_says_whose_duplicate(
    delivery, tocsin_http_sink, tocsin_make_notifier
):
    clock = FakeClock()
    notifier = tocsin_make_notifier([hook(tocsin_http_sink, dedup_window="10m")], delivery=delivery, clock=clock)
    first = notifier.notify(Event("job_completed", data={"run_id": "7"}))
    again = notifier.notify(Event("job_completed", data={"run_id": "7"}))
    other = notifier.notify(Event("job_completed", data={"run_id": "8"}))
    assert first["hook"].outcome is Outcome.DELIVERED and other["hook"].outcome is Outcome.DELIVERED
    assert again["hook"].outcome is Outcome.SKIPPED
    assert again["hook"].reason == f"duplicate of {first.event_id}"
    assert notifier.notify(Event("job_completed", data={"run_id": "7"}, critical=True))["hook"].outcome is (
        Outcome.DELIVERED
    )  # critical bypasses de-duplication
    clock.advance(11 * 60)  # the window is over
    assert notifier.notify(Event("job_completed", data={"run_id": "7"}))["hook"].outcome is Outcome.DELIVERED
    assert len(tocsin_http_sink.requests) == 4


def test_dedup_key_template_and_a_durable_store_across_notifiers(tocsin_http_sink, tocsin_make_notifier, tmp_path):
    target = hook(tocsin_http_sink, dedup_window="1h", dedup_key="{{ data.queue }}")
    store = {"store": f"sqlite:///{tmp_path / 'outbox.db'}"}
    first = tocsin_make_notifier([target], delivery=store)
    sent = first.notify(Event("job_failed", data={"queue": "gpu"}))
    first.close()
    second = tocsin_make_notifier([target], delivery=store, path=tmp_path / "second.toml")
    report = second.notify(Event("job_timeout", data={"queue": "gpu"}))  # another type, the same key
    assert report["hook"].reason == f"duplicate of {sent.event_id}"
    assert second.notify(Event("job_failed", data={"queue": "cpu"}))["hook"].outcome is Outcome.DELIVERED
    assert len(tocsin_http_sink.requests) == 2


def test_group_by_makes_one_digest_per_group_then_waits_group_interval(
    delivery, tocsin_http_sink, tocsin_make_notifier
):
    clock = FakeClock(datetime(2026, 12, 3, 11, 59, 59, 700000, tzinfo=timezone.utc))  # a minute turns meanwhile
    keys = {"group_by": ["type", "data.queue"], "group_wait": "30s", "group_interval": "5m"}
    notifier = tocsin_make_notifier([hook(tocsin_http_sink, **keys)], delivery=delivery, clock=clock)
    batch = [("job_failed", "gpu")] * 3 + [("job_failed", "cpu")] * 2 + [("job_completed", "gpu")]
    reports = [
        notifier.notify(Event(kind, data={"queue": queue, "run_id": str(i)})) for i, (kind, queue) in enumerate(batch)
    ]
    assert {r["hook"].outcome for r in reports} == {Outcome.HELD}
    assert "grouped with like events" in reports[0]["hook"].reason
    assert not tocsin_http_sink.requests

    clock.advance(31)
    assert notifier.flush(10)
    bodies = posted(tocsin_http_sink)
    digests = sorted((b["data"]["count"], b["data"]["group"]["data.queue"]) for b in bodies if b["type"] == "digest")
    assert digests == [(2, "cpu"), (3, "gpu")]
    assert [b["type"] for b in bodies if b["type"] != "digest"] == ["job_completed"]  # alone: sent as itself

    late = notifier.notify(Event("job_failed", data={"queue": "gpu", "run_id": "9"}))
    due = datetime.fromtimestamp(clock() + 300, timezone.utc)  # the group's last digest (now) + group_interval
    assert late["hook"].outcome is Outcome.HELD and due.strftime("%H:%M:%S") in late["hook"].reason
    clock.advance(300)
    assert notifier.flush(10)
    assert posted(tocsin_http_sink)[-1]["data"]["run_id"] == "9"


def test_quiet_hours_hold_all_but_allowed_and_critical_then_one_digest(
    delivery, tocsin_http_sink, tocsin_make_notifier
):
    berlin = ZoneInfo("Europe/Berlin")
    clock = FakeClock(datetime(2026, 12, 3, 23, 30, tzinfo=berlin))
    quiet = {"start": "22:00", "end": "07:00", "timezone": "Europe/Berlin", "allow": ["failure"]}
    target = hook(tocsin_http_sink, quiet_hours=quiet, critical=["warning"])
    notifier = tocsin_make_notifier([target], delivery=delivery, clock=clock)
    night = [notifier.notify(Event("job_completed", data={"run_id": str(i)})) for i in range(2)]
    assert [r["hook"].outcome for r in night] == [Outcome.HELD, Outcome.HELD]
    assert "held until 2026-12-04 06:00:00 UTC (quiet hours)" in night[0]["hook"].reason  # 07:00 in Berlin
    assert notifier.notify(Event("job_failed"))["hook"].outcome is Outcome.DELIVERED  # allowed
    assert notifier.notify(Event("job_cancelled"))["hook"].outcome is Outcome.DELIVERED  # a critical severity
    assert len(tocsin_http_sink.requests) == 2

    clock.set(datetime(2026, 12, 4, 7, 0, 1, tzinfo=berlin))
    assert notifier.flush(10)
    digest = posted(tocsin_http_sink)[-1]
    assert digest["type"] == "digest" and digest["data"]["reason"] == "quiet_hours" and digest["data"]["count"] == 2


def test_flush_waits_for_a_digest_whose_window_opens_within_its_timeout(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([hook(tocsin_http_sink, rate_limit="1/3s")])  # the real clock
    reports = [notifier.notify(Event("job_failed", data={"run_id": str(i)})) for i in range(3)]
    assert [r["hook"].outcome for r in reports] == [Outcome.DELIVERED, Outcome.HELD, Outcome.HELD]
    assert notifier.flush(20)
    assert [b["type"] for b in posted(tocsin_http_sink)] == ["job_failed", "digest"]


def test_flush_does_not_wait_for_held_deliveries_due_after_its_timeout(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([hook(tocsin_http_sink, rate_limit="1/1h")])
    for i in range(2):
        notifier.notify(Event("job_failed", data={"run_id": str(i)}))
    assert notifier.flush(0.5)  # held for an hour: accounted for, not waited for
    assert len(tocsin_http_sink.requests) == 1


def test_closing_a_memory_notifier_sends_what_it_holds_as_a_digest(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([hook(tocsin_http_sink, rate_limit="1/1h")])
    for i in range(3):
        notifier.notify(Event("job_failed", data={"run_id": str(i)}))
    notifier.close(10)  # nothing outlives a memory store: held ones go now
    assert [b["type"] for b in posted(tocsin_http_sink)] == ["job_failed", "digest"]
    assert posted(tocsin_http_sink)[1]["data"]["count"] == 2


def test_a_restart_in_the_middle_of_a_held_window_loses_nothing_and_sends_nothing_twice(
    tocsin_http_sink, tocsin_make_notifier, tmp_path
):
    store = {"store": f"sqlite:///{tmp_path / 'outbox.db'}"}
    target = hook(tocsin_http_sink, rate_limit="1/1m")
    clock = FakeClock()
    first = tocsin_make_notifier([target], delivery=store, clock=clock)
    events = [Event("job_failed", data={"run_id": str(i)}) for i in range(5)]
    for event in events:
        first.notify(event)
    first.close(1)  # the window opens in a minute: the held rows stay in the file
    assert len(tocsin_http_sink.requests) == 1

    clock.advance(61)
    second = tocsin_make_notifier([target], delivery=store, clock=clock, path=tmp_path / "second.toml")
    assert {r.state for r in second.store.rows(state="held")} == {"held"}
    second.start()
    assert second.flush(10)
    second.close()
    clock.advance(600)
    third = tocsin_make_notifier([target], delivery=store, clock=clock, path=tmp_path / "third.toml")
    third.start()
    assert third.flush(5)
    third.close()

    bodies = posted(tocsin_http_sink)
    assert [b["type"] for b in bodies] == ["job_failed", "digest"]  # nothing twice
    assert sorted(e["id"] for e in bodies[1]["data"]["events"]) == sorted(e.id for e in events[1:])
    with sqlite3.connect(tmp_path / "outbox.db") as db:
        states = Counter(state for (state,) in db.execute("SELECT state FROM deliveries"))
    assert states == {"delivered": 2, "merged": 4}


def test_a_file_written_before_noise_control_is_migrated_with_its_rows(tmp_path):
    path = tmp_path / "old.db"
    message = Message("webhook", "hook", "e1", "job_failed", "failure", body={"a": 1})
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
        db.execute(
            "INSERT INTO deliveries (event_id, target, channel, event_type, state, next_at, created_at, updated_at, "
            "message, event) VALUES ('e1', 'hook', 'webhook', 'job_failed', 'pending', 1, 1, 1, ?, '{}')",
            (__import__("json").dumps(message.to_dict()),),
        )
    store = SqliteOutbox(path)
    (row,) = store.rows()
    assert (row.event_id, row.state, row.message.body) == ("e1", "pending", {"a": 1})
    held = Delivery("e2", "hook", message, state="held", hold="quiet_hours")
    assert store.put([held]) == {}
    assert store.rows(state="held")[0].event_id == "e2"
    store.close()


OLD_SCHEMA = """
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, target TEXT NOT NULL, channel TEXT NOT NULL,
    event_type TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    last_status INTEGER, last_error TEXT, lease_owner TEXT, lease_until REAL, message TEXT NOT NULL,
    event TEXT NOT NULL, UNIQUE (event_id, target));
CREATE INDEX deliveries_due ON deliveries (state, target, next_at);
"""


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"dedup_window": "10x"}, "targets[0].dedup_window: not a duration: '10x'"),
        ({"rate_limit": "fast"}, 'targets[0].rate_limit: expected "N/period" like "30/1m"'),
        ({"group_wait": "-5"}, "targets[0].group_wait: not a duration: '-5'"),
        ({"critical": ["urgent"]}, "targets[0].critical: 'urgent' is not a severity"),
        ({"dedup_key": "{{ data.run_id "}, "targets[0].dedup_key: template syntax error"),
        (
            {"quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Europe/Berln"}},
            "targets[0].quiet_hours.timezone: unknown time zone 'Europe/Berln'",
        ),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "targets[0].quiet_hours.start: expected a time"),
        ({"rate_limt": "1/1s"}, "targets[0].rate_limt: unknown key (did you mean 'rate_limit'?)"),
    ],
)
def test_a_bad_noise_key_is_a_config_error_naming_the_key(keys, message, tocsin_http_sink, tocsin_make_notifier):
    with pytest.raises(ConfigError) as info:
        tocsin_make_notifier([hook(tocsin_http_sink, **keys)])
    assert message in str(info.value)


def test_notifications_defaults_apply_to_every_target_and_a_target_may_turn_the_channel_limit_off(
    tocsin_http_sink, tocsin_make_notifier
):
    clock = FakeClock()
    notifier = tocsin_make_notifier(
        [slack(tocsin_http_sink, rate_limit="off"), hook(tocsin_http_sink)],
        notifications={"dedup_window": "1h"},
        clock=clock,
    )
    reports = [notifier.notify(Event("job_failed", data={"run_id": str(i)})) for i in range(3)]
    assert {r["team"].outcome for r in reports} == {Outcome.DELIVERED}  # no 1/1s for this Slack target
    again = notifier.notify(Event("job_failed", data={"run_id": "0"}))
    assert again["team"].outcome is Outcome.SKIPPED and again["hook"].outcome is Outcome.SKIPPED
    assert notifier.noise.policy(notifier.target("team")).dedup_window == 3600
    assert notifier.noise.policy(notifier.target("hook")).rate_limit is None


def test_durations_share_one_syntax():
    from tocsin.durations import parse_duration

    assert [parse_duration(v) for v in ("90s", "10m", "2h", "1d", 45, "1.5h")] == [90, 600, 7200, 86400, 45, 5400]
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")
    assert timedelta(seconds=parse_duration("1w")).days == 7


def test_a_digest_that_cannot_be_made_fails_its_events_loudly_and_retry_sends_them(
    delivery, tocsin_http_sink, tocsin_make_notifier, tmp_path
):
    broken = tmp_path / "broken-templates"
    (broken / "webhook").mkdir(parents=True)
    (broken / "webhook" / "digest.json.j2").write_text("{{ 1 / 0 }}", encoding="utf-8")
    clock = FakeClock()
    notifier = tocsin_make_notifier(
        [hook(tocsin_http_sink, rate_limit="1/1m")],
        notifications={"template_dirs": [str(broken)]},
        delivery=delivery,
        clock=clock,
    )
    for i in range(3):
        notifier.notify(Event("job_failed", data={"run_id": str(i)}))
    clock.advance(61)
    assert notifier.flush(10)
    dead = notifier.store.rows(state="dead")
    assert len(dead) == 2  # not held forever, not dropped: dead, with the reason
    assert all(
        r.last_error.startswith("cannot make the digest of 2 held deliveries: template 'digest.json.j2'")
        and "line 1: ZeroDivisionError" in r.last_error
        for r in dead
    )
    assert notifier.store.retry(all_dead=True) == 2
    clock.advance(61)
    assert notifier.drain(10)  # sent as themselves (no digest to make)
    assert sorted(b["data"]["run_id"] for b in posted(tocsin_http_sink)) == ["0", "1", "2"]
