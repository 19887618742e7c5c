"""The routing model: subscriptions, --target and enabled, [events.*], default_targets, users, people."""

from __future__ import annotations

import json

import pytest

from tocsin import ConfigError, Event, Outcome, Subscription, Target

from .conftest import run_cli, write


def routed(notifier, event, **kwargs) -> dict[str, str]:
    routes = notifier.route(event, **kwargs)
    result = {t.name: "send" for t in routes.targets}
    result.update({r.target: r.reason for r in routes.skipped})
    return result


TARGETS = [
    {"name": "ops-chat", "channel": "console"},
    {"name": "ops-mail", "channel": "console"},
    {"name": "pager", "channel": "console", "when": ["failure"]},
    {"name": "off", "channel": "console", "enabled": False},
]


@pytest.fixture
def notifier(tocsin_make_notifier):
    return tocsin_make_notifier(TARGETS)


def test_subscriptions_pick_targets_each_with_its_condition(notifier):
    subs = [Subscription("ops-mail", when="failure"), Subscription("ops-chat"), Subscription("off")]
    assert routed(notifier, Event("backup_failed"), subscriptions=subs) == {
        "ops-mail": "send",
        "ops-chat": "send",
        "off": "target disabled (enabled = false)",
    }
    result = routed(notifier, Event("backup_completed"), subscriptions=subs)
    assert result["ops-mail"] == "severity success not in the subscription's when (failure)"
    assert result["ops-chat"] == "send"
    # The subscription's condition replaces the target's own: pager (when failure) is sent a success.
    assert routed(notifier, Event("backup_completed"), subscriptions=[Subscription("pager", when="success")]) == {
        "pager": "send"
    }
    with pytest.raises(ValueError, match="when: must be 'always' or a list of"):
        Subscription("pager", when="sometimes")
    with pytest.raises(ConfigError, match="no target named 'opsmail'"):
        notifier.route(Event("backup_failed"), subscriptions=[Subscription("opsmail")])


def test_subscriptions_through_notify_report_the_skipped(notifier, capsys):
    report = notifier.notify(Event("backup_completed"), subscriptions=[Subscription("ops-mail", when="failure")])
    assert [(r.target, r.outcome) for r in report.receipts] == [("ops-mail", Outcome.SKIPPED)]
    assert capsys.readouterr().out == ""


def test_target_never_overrides_enabled_false(notifier, capsys):
    report = notifier.notify(Event("job_failed"), targets=["off", "pager"])
    assert report["off"].outcome is Outcome.SKIPPED
    assert report["off"].reason == "target disabled (enabled = false); --target does not override it"
    assert report["pager"].outcome is Outcome.DELIVERED


def test_extra_targets_honour_their_own_when(notifier):
    extra = [Target("job-owner", "console", {}, when="failure")]
    assert routed(notifier, Event("job_completed"), extra_targets=extra)["job-owner"] == "severity success not in when"
    assert routed(notifier, Event("job_failed"), extra_targets=extra)["job-owner"] == "send"
    disabled = [{"name": "job-owner", "channel": "console", "enabled": False}]
    assert routed(notifier, Event("job_failed"), extra_targets=disabled)["job-owner"] == "target disabled"


def test_event_tables_defaults_overrides_and_globs(tocsin_make_notifier):
    notifier = tocsin_make_notifier(
        TARGETS,
        notifications={"default_targets": ["ops-chat", "ops-mail"]},
        events={
            "job_*": {"enabled": False},
            "job_failed": {"enabled": True, "targets": ["pager"]},
            "backup_failed": {"targets": ["pager", "ops-mail"]},
        },
    )
    assert routed(notifier, Event("backup_completed")) == {
        "ops-chat": "send",
        "ops-mail": "send",
        "pager": "not in notifications.default_targets",
        "off": "not in notifications.default_targets",
    }
    result = routed(notifier, Event("backup_failed"))
    assert result["ops-chat"] == "not in [events.backup_failed] targets"
    assert result["pager"] == result["ops-mail"] == "send"
    assert routed(notifier, Event("job_started"))["ops-chat"] == 'event type job_started disabled by [events."job_*"]'
    # The exact table wins over the glob: job_failed is on again, and goes to its override only.
    assert routed(notifier, Event("job_failed")) == {
        "pager": "send",
        "ops-chat": "not in [events.job_failed] targets",
        "ops-mail": "not in [events.job_failed] targets",
        "off": "not in [events.job_failed] targets",
    }


def test_users_targets_and_several_users(tocsin_make_notifier):
    targets = [*TARGETS, {"name": "ada-dm", "channel": "console"}, {"name": "bob-dm", "channel": "console"}]
    users = {"ada": {"email": "ada@example.org", "targets": ["ada-dm"]}, "bob": {"targets": ["bob-dm"]}}
    notifier = tocsin_make_notifier(targets, notifications={"default_targets": ["ops-chat"]}, users=users)
    result = routed(notifier, Event("run_failure", user="ada@example.org"))
    assert result["ada-dm"] == "send" and result["ops-chat"] == "send"
    assert result["bob-dm"] == "belongs to user bob, whom the event does not name"
    # An audit failure names every owner of the model.
    result = routed(notifier, Event("audit_failure", users=["ada", "bob"]))
    assert result["ada-dm"] == result["bob-dm"] == "send"
    only = tocsin_make_notifier(targets, notifications={"only_user": "bob"}, users=users, path=None)
    result = routed(only, Event("run_failure", user="ada"))
    assert result == {
        "ops-chat": "only_user = bob: not a target of user bob",
        "ops-mail": "only_user = bob: not a target of user bob",
        "pager": "only_user = bob: not a target of user bob",
        "off": "only_user = bob: not a target of user bob",
        "ada-dm": "only_user = bob: not a target of user bob",
        "bob-dm": "send",
    }


def test_bad_routing_tables_are_config_errors(tmp_path):
    from tocsin import Notifier

    path = write(
        tmp_path / "tocsin.toml",
        """
        [notifications]
        default_targets = ["ops-chatt"]
        only_user = "carol"

        [events."job_*"]
        targets = ["nope"]
        notify_user = "sometimes"

        [users.ada]
        targets = ["ops-chat"]
        emial = "ada@example.org"

        [[targets]]
        name = "ops-chat"
        channel = "console"
        event_recipients = "also"
        """,
    )
    with pytest.raises(ConfigError) as info:
        Notifier.from_file(path)
    problems = "\n".join(info.value.problems)
    assert "notifications.default_targets[0]: no target named 'ops-chatt' (did you mean 'ops-chat'?)" in problems
    assert "notifications.only_user: no [users.carol] table" in problems
    assert "events.\"job_*\".notify_user: must be one of 'off', 'also', 'only'" in problems
    assert "users.ada.emial: unknown key (did you mean 'email'?)" in problems
    assert "targets[0].event_recipients: channel 'console' does not address people (email does)" in problems


MAIL_CONFIG = """
[notifications]
default_targets = ["chat", "mail"]
recipient_events = ["job_failed", "job_timeout"]

[events."user_*"]
notify_user = "also"

[events.user_created]
notify_user = "only"

[[targets]]
name = "chat"
channel = "console"

[[targets]]
name = "mail"
channel = "email"
host = "127.0.0.1"
port = {port}
security = "none"
from = "alerts@example.org"
to = "admins@example.org"

[[targets]]
name = "job-mail"
channel = "email"
host = "127.0.0.1"
port = {port}
security = "none"
from = "alerts@example.org"
event_recipients = "only"
"""


def test_people_notify_user_and_recipients(tmp_path, tocsin_smtp_sink):
    pytest.importorskip("tocsin_email")
    from tocsin import Notifier

    path = write(tmp_path / "tocsin.toml", MAIL_CONFIG.format(port=tocsin_smtp_sink.port))
    with Notifier.from_file(path) as notifier:
        login = Event("user_login", user={"name": "Ann", "email": "ann@example.org"})
        assert routed(notifier, login) == {
            "chat": "send",
            "mail": "send",
            "mail/user": "send",
            "job-mail": "not in notifications.default_targets",
        }
        created = routed(notifier, Event("user_created", user="ann@example.org"))
        assert (
            created["chat"]
            == created["mail"]
            == "[events.user_created] notify_user = only: only the user's own message"
        )
        assert created["mail/user"] == "send"
        assert routed(notifier, Event("user_login"))["mail/user"] == "notify_user: the event's user has no email"

        # Per-job recipients: job-scoped types only, the default set unless the job names its own.
        job = {"recipients": ["owner@example.org"]}
        failed = routed(notifier, Event("job_failed", **job), targets=["job-mail"])
        assert failed == {
            "job-mail": "event_recipients = only: only the event's own recipients get its messages",
            "job-mail/recipients": "send",
        }
        done = routed(notifier, Event("job_completed", **job), targets=["job-mail"])
        assert done["job-mail/recipients"] == "event job_completed not in notifications.recipient_events"
        chosen = routed(
            notifier, Event("job_completed", recipient_events=["job_completed"], **job), targets=["job-mail"]
        )
        assert chosen["job-mail/recipients"] == "send"
        scoped = routed(notifier, Event("backup_failed", recipient_events=["*"], **job), targets=["job-mail"])
        assert scoped["job-mail/recipients"] == "event backup_failed not in recipient_scope (job_*)"

        report = notifier.notify(login)
        assert report.ok and [r.target for r in report.delivered] == ["chat", "mail", "mail/user"]
    mails = {tuple(m.rcpt_tos): m for m in tocsin_smtp_sink.wait_for(2)}
    assert set(mails) == {("admins@example.org",), ("ann@example.org",)}
    assert str(mails[("ann@example.org",)]["To"]) == "Ann <ann@example.org>"


def test_route_and_test_event_through_the_cli(tmp_path, tocsin_http_sink, testchan):
    write(
        tmp_path / "tocsin.toml",
        f"""
        [notifications]
        default_targets = ["hook"]

        [events.backup_failed]
        targets = ["pager"]

        [[targets]]
        name = "hook"
        channel = "testchan"
        url = "{tocsin_http_sink.url}/hook"

        [[targets]]
        name = "pager"
        channel = "testchan"
        url = "{tocsin_http_sink.url}/pager"
        when = ["failure"]

        [[targets]]
        name = "off"
        channel = "testchan"
        url = "{tocsin_http_sink.url}/off"
        enabled = false
        """,
    )
    result = run_cli("route", "backup_failed", "-d", "backup_name=db", cwd=tmp_path, site=testchan)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "hook   skip: not in [events.backup_failed] targets",
        "pager  send  (in [events.backup_failed] targets)",
        "off    skip: not in [events.backup_failed] targets",
    ]
    as_json = json.loads(run_cli("route", "backup_completed", "--json", cwd=tmp_path, site=testchan).stdout)
    assert [(r["target"], r["send"]) for r in as_json["routes"]] == [("hook", True), ("pager", False), ("off", False)]
    assert as_json["routes"][1]["why"] == "not in notifications.default_targets"
    assert tocsin_http_sink.requests == []  # route sends nothing

    result = run_cli("test", "--event", "backup_failed", cwd=tmp_path, site=testchan)
    assert result.returncode == 0, result.stderr
    sent = tocsin_http_sink.wait_for(1)
    assert [r.path for r in sent] == ["/pager"] and sent[0].json()["type"] == "backup_failed"
    result = run_cli("test", "off", "--event", "backup_failed", cwd=tmp_path, site=testchan)
    assert result.returncode == 2 and "target 'off' has enabled = false: nothing sent" in result.stderr
    result = run_cli("test", cwd=tmp_path, site=testchan)
    assert result.returncode == 2 and "name a TARGET, or an event type with --event TYPE" in result.stderr
