"""examples/sqlmesh: notify_on lists, Slack webhook and Web API (a DM by member ID), SMTP, targets
attached to users, audit failures to every owner, and only_user, against local HTTP and SMTP servers."""

from __future__ import annotations

import pytest

from tocsin import Event, Notifier
from tocsin.testing import HttpSink
from tocsin.testing.sinks import Reply

from .conftest import run_cli
from .examples import by_to, copy_example

pytest.importorskip("tocsin_slack")
pytest.importorskip("tocsin_email")


@pytest.fixture
def slack():
    with HttpSink(default=Reply(200, {"ok": True})) as sink:  # what both Slack endpoints answer
        yield sink


@pytest.fixture
def env(monkeypatch, slack, tocsin_smtp_sink):
    values = {
        "SLACK_WEBHOOK_URL": f"{slack.url}/services/T0/B0/webhook",
        "SLACK_BOT_TOKEN": "xoxb-Bot-Token-Secret-44",
        "SLACK_API_URL": f"{slack.url}/api/chat.postMessage",
        "SMTP_URL": f"smtp://127.0.0.1:{tocsin_smtp_sink.port}",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def open_example(tmp_path, replace=None) -> Notifier:
    return Notifier.from_file(copy_example("sqlmesh", tmp_path, replace) / "tocsin.toml")


def test_notify_on_and_a_users_own_targets(env, tmp_path, slack, tocsin_smtp_sink):
    with open_example(tmp_path) as notifier:
        report = notifier.notify(Event("run_failure", user="ada", data={"environment": "prod", "error": "boom"}))
        assert [r.target for r in report.delivered] == ["data-slack", "data-mail", "ada-dm"]
        assert report["bob-mail"].reason == "belongs to user bob, whom the event does not name"
        start = notifier.notify(Event("run_start", user="ada"))
        assert start["data-slack"].reason == "event run_start not in events"  # notify_on
    api = next(r for r in slack.requests if r.path == "/api/chat.postMessage")
    assert api.json()["channel"] == "U0ADA0001"  # a direct message to ada's member ID
    assert api.header("authorization") == "Bearer xoxb-Bot-Token-Secret-44"
    assert [r.path for r in slack.requests].count("/services/T0/B0/webhook") == 1
    assert tocsin_smtp_sink.wait_for(1)[0].rcpt_tos == ["data-team@example.org"]


def test_an_audit_failure_reaches_every_owner(env, tmp_path, slack, tocsin_smtp_sink):
    with open_example(tmp_path) as notifier:
        event = Event("audit_failure", users=["ada", "bob"], data={"model": "sales.orders", "audit": "not_null"})
        report = notifier.notify(event)
    assert [r.target for r in report.delivered] == ["data-slack", "data-mail", "ada-dm", "bob-mail"]
    assert sorted(by_to(tocsin_smtp_sink.wait_for(2))) == [("bob@example.org",), ("data-team@example.org",)]


def test_only_this_users_targets(env, tmp_path, slack, tocsin_smtp_sink):
    per_user = {'# only_user = "ada"': 'only_user = "ada"'}
    with open_example(tmp_path, per_user) as notifier:
        report = notifier.notify(Event("audit_failure", users=["ada", "bob"], data={"model": "sales.orders"}))
    assert [r.target for r in report.delivered] == ["ada-dm"]
    assert report["data-slack"].reason == "only_user = ada: not a target of user ada"
    assert [r.path for r in slack.requests] == ["/api/chat.postMessage"]


def test_route_for_owners(env, tmp_path, slack):
    folder = copy_example("sqlmesh", tmp_path)
    (folder / "owners.json").write_text('{"users": ["ada", "bob"], "data": {"model": "sales.orders"}}')
    result = run_cli("route", "audit_failure", "--event-json", "owners.json", cwd=folder, env=env)
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines() if "  send" in line] == [
        "data-slack",
        "data-mail",
        "ada-dm",
        "bob-mail",
    ]
    assert "Bot-Token-Secret" not in result.stdout + result.stderr and slack.requests == []
