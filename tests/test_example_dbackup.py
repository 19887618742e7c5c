"""examples/dbackup: per-job On Failure, global channels with an override and its reset, the three
notify-user modes, and the Test buttons, against a local HTTP server (Discord) and SMTP server."""

from __future__ import annotations

import pytest

from tocsin import Event, Notifier, Outcome, Subscription

from .conftest import run_cli
from .examples import by_to, copy_example

pytest.importorskip("tocsin_discord")
pytest.importorskip("tocsin_email")

ANN = {"name": "Ann Admin-User", "email": "ann@example.org"}


@pytest.fixture
def env(monkeypatch, tocsin_http_sink, tocsin_smtp_sink):
    values = {
        "DBACKUP_DISCORD_WEBHOOK_URL": f"{tocsin_http_sink.url}/hook/admin",
        "DBACKUP_OPS_DISCORD_WEBHOOK_URL": f"{tocsin_http_sink.url}/hook/ops",
        "DBACKUP_SMTP_URL": f"smtp://127.0.0.1:{tocsin_smtp_sink.port}",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def open_example(tmp_path, replace=None) -> Notifier:
    return Notifier.from_file(copy_example("dbackup", tmp_path, replace) / "tocsin.toml")


# The webhook paths differ from the target names: a path segment of a secret URL is redacted wherever the CLI
# prints it, so a URL ending in /admin-discord would blank the target name admin-discord in `tocsin route`.
HOOKS = {"/hook/admin": "/admin-discord", "/hook/ops": "/ops-discord"}


def paths(sink) -> list[str]:
    """The target each request reached, by its webhook path."""
    return sorted(HOOKS[r.path.split("?")[0]] for r in sink.requests)


def test_per_job_channels_with_on_failure(env, tmp_path, tocsin_http_sink, tocsin_smtp_sink):
    job = [Subscription("admin-mail", when="failure"), Subscription("ops-discord", when="always")]
    with open_example(tmp_path) as notifier:
        ok = notifier.notify(Event("backup_completed", data={"backup_name": "db"}), subscriptions=job)
        assert ok["ops-discord"].outcome is Outcome.DELIVERED
        assert ok["admin-mail"].outcome is Outcome.SKIPPED
        assert ok["admin-mail"].reason == "severity success not in the subscription's when (failure)"
        assert [r.target for r in ok.receipts] == ["admin-mail", "ops-discord"]  # nothing else
        failed = notifier.notify(
            Event("backup_failed", data={"backup_name": "db", "error": "disk full"}), subscriptions=job
        )
        assert [r.outcome for r in failed.receipts] == [Outcome.DELIVERED, Outcome.DELIVERED]
    assert paths(tocsin_http_sink) == ["/ops-discord", "/ops-discord"]
    mail = tocsin_smtp_sink.wait_for(1)[0]
    assert mail.rcpt_tos == ["admins@example.org"] and "backup failed: db" in mail["Subject"].lower()


def test_system_notifications_default_channels_override_and_reset(env, tmp_path, tocsin_http_sink, tocsin_smtp_sink):
    with open_example(tmp_path / "a") as notifier:
        report = notifier.notify(Event("backup_failed", data={"backup_name": "db"}))
        assert [(r.target, r.outcome) for r in report.receipts] == [
            ("admin-discord", Outcome.DELIVERED),
            ("admin-mail", Outcome.DELIVERED),
            ("ops-discord", Outcome.SKIPPED),
        ]
        assert report["ops-discord"].reason == "not in notifications.default_targets"
        override = notifier.notify(Event("system_error", data={"error": "scheduler crashed"}))
        assert [r.target for r in override.delivered] == ["admin-mail"]
        assert override["admin-discord"].reason == "not in [events.system_error] targets"
        off = notifier.notify(Event("restore_completed"))
        assert (
            not off.delivered
            and off["admin-mail"].reason == "event type restore_completed disabled by [events.restore_completed]"
        )
    reset = {'targets = ["admin-mail"]                 # override: only the admins\' mail, not Discord\n': ""}
    with open_example(tmp_path / "b", reset) as notifier:  # "reset to global": the override line deleted
        report = notifier.notify(Event("system_error", data={"error": "scheduler crashed"}))
        assert [r.target for r in report.delivered] == ["admin-discord", "admin-mail"]
    assert paths(tocsin_http_sink) == ["/admin-discord", "/admin-discord"]


@pytest.mark.parametrize("mode", ["off", "also", "only"])
def test_notify_user_modes(mode, env, tmp_path, tocsin_http_sink, tocsin_smtp_sink):
    setting = {'notify_user = "also"': f'notify_user = "{mode}"'}
    with open_example(tmp_path, setting) as notifier:
        report = notifier.notify(Event("user_login", user=ANN))
    delivered = [r.target for r in report.delivered]
    expected = {
        "off": ["admin-discord", "admin-mail"],
        "also": ["admin-discord", "admin-mail", "admin-mail/user"],
        "only": ["admin-mail/user"],
    }[mode]
    assert delivered == expected
    mails = by_to(tocsin_smtp_sink.wait_for(len([d for d in expected if "mail" in d])))
    if mode != "off":  # the user's mail is their own: nobody else on its To: line or envelope
        user_mail = mails[("ann@example.org",)]
        assert user_mail.rcpt_tos == ["ann@example.org"]
        assert user_mail["To"].addresses[0].display_name == "Ann Admin-User"
    assert (("admins@example.org",) in mails) is (mode != "only")
    assert paths(tocsin_http_sink) == (["/admin-discord"] if mode != "only" else [])


def test_user_created_goes_to_the_user_only(env, tmp_path, tocsin_http_sink, tocsin_smtp_sink):
    with open_example(tmp_path) as notifier:
        report = notifier.notify(Event("user_created", user=ANN))
        assert [r.target for r in report.delivered] == ["admin-mail/user"]
        assert report["admin-discord"].reason == "[events.user_created] notify_user = only: only the user's own message"
    assert tocsin_smtp_sink.wait_for(1)[0].rcpt_tos == ["ann@example.org"]
    assert tocsin_http_sink.requests == []


def test_test_buttons_per_channel_and_per_event(env, tmp_path, tocsin_http_sink, tocsin_smtp_sink):
    folder = copy_example("dbackup", tmp_path)
    with Notifier.from_file(folder / "tocsin.toml") as notifier:
        assert notifier.test("ops-discord")["ops-discord"].outcome is Outcome.DELIVERED  # not a default channel
    assert paths(tocsin_http_sink) == ["/ops-discord"]
    result = run_cli("test", "--event", "backup_failed", cwd=folder, env=env)
    assert result.returncode == 0, result.stderr
    assert paths(tocsin_http_sink) == ["/admin-discord", "/ops-discord"]
    assert all(r.json()["embeds"] for r in tocsin_http_sink.requests)
    assert tocsin_smtp_sink.wait_for(1)[0].rcpt_tos == ["admins@example.org"]
    route = run_cli("route", "user_login", "--user", "ann@example.org", cwd=folder, env=env)
    assert route.stdout.splitlines() == [
        "admin-discord    send  (in notifications.default_targets)",
        "admin-mail       send  (in notifications.default_targets)",
        "admin-mail/user  send  ([events.user_login] notify_user = also: the event user's own message)",
        "ops-discord      skip: not in notifications.default_targets",
    ]
