"""Routing: events (names, globs, "*"), when (severities), users, the master switch, extra targets."""

from __future__ import annotations

import pytest

from tocsin import ConfigError, Event, Outcome, Target


def routed(notifier, event, **kwargs) -> dict[str, str]:
    chosen, skipped = notifier.route(event, **kwargs)
    result = {t.name: "send" for t in chosen}
    result.update({r.target: r.reason for r in skipped})
    return result


@pytest.fixture
def notifier(tocsin_make_notifier):
    return tocsin_make_notifier(
        [
            {"name": "all", "channel": "console"},
            {"name": "jobs", "channel": "console", "events": ["job_*", "queue_finished"]},
            {"name": "failures", "channel": "console", "when": ["failure"]},
            {"name": "ada-only", "channel": "console", "users": ["ada@example.org"]},
            {"name": "off", "channel": "console", "enabled": False},
            {"name": "backups-bad", "channel": "console", "events": "backup_*", "when": ["failure", "warning"]},
        ]
    )


def test_rules(notifier):
    assert routed(notifier, Event("job_failed", user="ada@example.org")) == {
        "all": "send",
        "jobs": "send",
        "failures": "send",
        "ada-only": "send",
        "off": "target disabled",
        "backups-bad": "event job_failed not in events",
    }
    result = routed(notifier, Event("backup_completed", user={"name": "bob"}))
    assert result["jobs"] == "event backup_completed not in events"
    assert result["failures"] == "severity success not in when"
    assert result["ada-only"] == "user bob not in users"
    assert result["backups-bad"] == "severity success not in when"
    assert routed(notifier, Event("backup_failed"))["backups-bad"] == "send"
    assert routed(notifier, Event("backup_failed"))["ada-only"] == "event has no user and users is set"


def test_named_targets_bypass_rules(notifier):
    assert routed(notifier, Event("user_login"), targets=["failures"]) == {"failures": "send"}
    with pytest.raises(ConfigError, match="no target named 'failure' \\(did you mean 'failures'\\?\\)"):
        notifier.route(Event("user_login"), targets=["failure"])


def test_extra_targets_at_submission(notifier, testchan, tocsin_http_sink):
    extra = [Target("job-owner", "testchan", {"url": tocsin_http_sink.url}), {"name": "x", "channel": "console"}]
    result = routed(notifier, Event("user_login"), extra_targets=extra)
    assert result["job-owner"] == "send" and result["x"] == "send"
    report = notifier.notify(Event("user_login"), extra_targets=extra[:1])
    assert report["job-owner"].outcome is Outcome.DELIVERED
    assert tocsin_http_sink.last.json()["type"] == "user_login"
    with pytest.raises(ConfigError, match="already used"):
        notifier.route(Event("user_login"), extra_targets=[{"name": "all", "channel": "console"}])
    with pytest.raises(ConfigError, match=r"extra_targets: targets\[0\]\.url: required"):
        notifier.route(Event("user_login"), extra_targets=[{"name": "y", "channel": "testchan"}])


def test_master_switch(tocsin_make_notifier, capsys):
    notifier = tocsin_make_notifier([{"name": "all", "channel": "console"}], notifications={"enabled": False})
    report = notifier.notify(Event("job_failed"))
    assert [(r.outcome, r.reason) for r in report.receipts] == [(Outcome.SKIPPED, "notifications disabled")]
    assert report.ok
    assert capsys.readouterr().out == ""
