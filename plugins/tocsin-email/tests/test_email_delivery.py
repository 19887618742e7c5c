"""Delivery to a real SMTP server (aiosmtpd on 127.0.0.1): TLS modes, AUTH, connection reuse, errors."""

from __future__ import annotations

import json
import logging
import socket
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tocsin import Event, Outcome, sample_event
from tocsin.testing.smtp import AuthAttempt, SmtpSink

from .conftest import SENDER, target

USER = "mailer@example.org"
PASSWORD = "pa:ss@w/rd%Zq-7"  # every character a URL must percent-encode


def send(notifier: Any, event: Event | None = None, name: str = "mail") -> Any:
    return notifier.notify(event or sample_event("job_failed"), targets=[name])[name]


@pytest.fixture
def starttls_sink() -> Iterator[SmtpSink]:
    with SmtpSink(starttls=True, require_starttls=True, user=USER, password=PASSWORD) as sink:
        yield sink


@pytest.fixture
def tls_sink() -> Iterator[SmtpSink]:
    with SmtpSink(implicit_tls=True, user=USER, password=PASSWORD) as sink:
        yield sink


# -- the three security modes ------------------------------------------------------------------------
def test_plain_smtp_delivers_a_multipart_message(tocsin_smtp_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier(
        [target(tocsin_smtp_sink, cc="Lead <lead@example.org>", bcc=["audit@example.org"], subject_prefix="[ci]")]
    )
    event = sample_event("job_failed")
    receipt = send(notifier, event)
    assert receipt.outcome is Outcome.DELIVERED, receipt.error
    mail = tocsin_smtp_sink.wait_for(1)[0]
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
    assert mail["Subject"] == "[ci] ❌ Job failed: nightly-etl (exit code 1)"
    assert mail["From"].addresses[0].display_name == "Build alerts"
    assert mail["From"].addresses[0].addr_spec == "alerts@example.org"
    assert [a.addr_spec for a in mail["To"].addresses] == ["ops@example.org"]
    assert [a.addr_spec for a in mail["Cc"].addresses] == ["lead@example.org"]
    assert mail["Bcc"] is None  # blind copies are in the envelope only
    assert mail.mail_from == "alerts@example.org"
    assert mail.rcpt_tos == ["ops@example.org", "lead@example.org", "audit@example.org"]
    assert mail["Date"].datetime == event.occurred_at.replace(microsecond=0)
    assert mail["Message-ID"] == f"<{event.id}.mail@example.org>"
    assert mail["Auto-Submitted"] == "auto-generated"
    text = mail.part("plain").get_content()
    html = mail.part("html").get_content()
    assert "Job failed: nightly-etl" in text and "IOError: disk full" in text
    assert "Last step:   load: write partitions" in text
    assert "https://example.org/runs/run-0042" in text
    assert 'bgcolor="#E01E5A"' in html  # the status colour band
    assert "<pre " in html and "IOError: disk full</pre>" in html
    assert ">Last step</td>" in html and ">load: write partitions</td>" in html
    assert '<a href="https://example.org/runs/run-0042"' in html
    assert not mail.tls


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_starttls_and_auth(mechanism, tocsin_make_notifier):
    with SmtpSink(starttls=True, require_starttls=True, user=USER, password=PASSWORD, mechanisms=[mechanism]) as sink:
        notifier = tocsin_make_notifier(
            [target(sink, security="starttls", user=USER, password=PASSWORD, ca_file=str(sink.ca_file))]
        )
        receipt = send(notifier)
        assert receipt.outcome is Outcome.DELIVERED, receipt.error
        mail = sink.wait_for(1)[0]
        assert mail.tls and mail.login == USER
        assert sink.auth_attempts == [AuthAttempt(mechanism, USER, True)]


def test_implicit_tls_from_an_smtps_url_with_percent_encoded_credentials(tls_sink, tocsin_make_notifier):
    url = f"smtps://{quote(USER, safe='')}:{quote(PASSWORD, safe='')}@127.0.0.1:{tls_sink.port}"
    table = target(tls_sink, smtp_url=url, ca_file=str(tls_sink.ca_file))
    for key in ("host", "port", "security"):
        del table[key]
    receipt = send(tocsin_make_notifier([table]))
    assert receipt.outcome is Outcome.DELIVERED, receipt.error
    mail = tls_sink.wait_for(1)[0]
    assert mail.tls and mail.login == USER


def test_starttls_from_an_smtp_url_with_tls_required(starttls_sink, tocsin_make_notifier):
    url = f"smtp://{quote(USER, safe='')}:{quote(PASSWORD, safe='')}@127.0.0.1:{starttls_sink.port}?tls=required"
    table = {**target(starttls_sink), "smtp_url": url, "ca_file": str(starttls_sink.ca_file)}
    for key in ("host", "port", "security"):
        del table[key]
    receipt = send(tocsin_make_notifier([table]))
    assert receipt.outcome is Outcome.DELIVERED, receipt.error
    assert starttls_sink.wait_for(1)[0].tls


def test_lettre_opportunistic_tls_and_ehlo_name(starttls_sink, tocsin_smtp_sink, tocsin_make_notifier):
    """lettre's smtp_url whole: ?tls=opportunistic upgrades when offered, goes on in the clear when not;
    the path is the EHLO name."""
    login = f"{quote(USER, safe='')}:{quote(PASSWORD, safe='')}"
    upgraded = {
        **target(starttls_sink, name="tls"),
        "smtp_url": f"smtp://{login}@127.0.0.1:{starttls_sink.port}/client.example.org?tls=opportunistic",
        "ca_file": str(starttls_sink.ca_file),
    }
    plain = {
        **target(tocsin_smtp_sink, name="plain"),
        "smtp_url": f"smtp://127.0.0.1:{tocsin_smtp_sink.port}/?tls=opportunistic",
    }
    for table in (upgraded, plain):
        for key in ("host", "port", "security"):
            del table[key]
    notifier = tocsin_make_notifier([upgraded, plain])
    report = notifier.notify(sample_event("job_failed"))
    assert report.ok and len(report.delivered) == 2, report
    mail = starttls_sink.wait_for(1)[0]
    assert mail.tls and mail.login == USER and mail.ehlo == "client.example.org"
    assert not tocsin_smtp_sink.wait_for(1)[0].tls


def test_verify_false_accepts_an_untrusted_certificate(tls_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([target(tls_sink, security="ssl", user=USER, password=PASSWORD, verify=False)])
    assert send(notifier).outcome is Outcome.DELIVERED
    assert tls_sink.wait_for(1)[0].tls


# -- AUTH failures and secrecy -----------------------------------------------------------------------
@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_wrong_password_fails_at_once_and_never_shows_it(mechanism, tocsin_make_notifier, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-Secret-Value-8842"
    with SmtpSink(implicit_tls=True, user=USER, password=PASSWORD, mechanisms=[mechanism]) as sink:
        notifier = tocsin_make_notifier(
            [target(sink, security="ssl", user=USER, password=wrong, ca_file=str(sink.ca_file))]
        )
        receipt = send(notifier)
        assert receipt.outcome is Outcome.FAILED
        assert receipt.attempts == 1  # permanent: no retry would fix it
        assert "authentication failed — check user/password; Gmail needs an app password" in receipt.error
        assert "535" in receipt.error
        assert sink.auth_attempts == [AuthAttempt(mechanism, USER, False)]
        assert sink.messages == []
        message = notifier.render("mail", "job_failed")
        for text in (
            receipt.error,
            receipt.summary(),
            caplog.text,
            repr(notifier.target("mail")),
            json.dumps(message.to_dict(), ensure_ascii=False),
        ):
            assert wrong not in text


def test_a_server_that_requires_auth_says_so(tocsin_make_notifier):
    with SmtpSink(user=USER, password=PASSWORD) as sink:
        receipt = send(tocsin_make_notifier([target(sink)]))
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 1
    assert "requires authentication" in receipt.error and "set user and password" in receipt.error


# -- one connection per batch ------------------------------------------------------------------------
def test_targets_on_one_server_share_one_connection(tocsin_smtp_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier(
        [
            target(tocsin_smtp_sink, "team", to="team@example.org"),
            target(tocsin_smtp_sink, "lead", to="lead@example.org"),
        ]
    )
    for event_type in ("job_failed", "job_completed", "backup_failed"):
        report = notifier.notify(sample_event(event_type))
        assert report.ok, [r.error for r in report.receipts]
    assert len(tocsin_smtp_sink.wait_for(6)) == 6
    assert tocsin_smtp_sink.connections == 1
    assert (
        sorted(m.rcpt_tos[0] for m in tocsin_smtp_sink.messages) == ["lead@example.org"] * 3 + ["team@example.org"] * 3
    )


def test_a_dropped_connection_is_reopened_without_a_failed_attempt(tocsin_smtp_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([target(tocsin_smtp_sink)])
    assert send(notifier).outcome is Outcome.DELIVERED
    tocsin_smtp_sink.disconnect_all()  # as a server's idle timeout would
    receipt = send(notifier)
    assert receipt.outcome is Outcome.DELIVERED and receipt.attempts == 1
    assert len(tocsin_smtp_sink.wait_for(2)) == 2
    assert tocsin_smtp_sink.connections == 2


def test_different_logins_use_different_connections(tocsin_make_notifier):
    with SmtpSink(implicit_tls=True, user=USER, password=PASSWORD) as sink:
        tls = {"security": "ssl", "ca_file": str(sink.ca_file), "user": USER}
        notifier = tocsin_make_notifier(
            [target(sink, "good", password=PASSWORD, **tls), target(sink, "bad", password="not-it", **tls)]
        )
        report = notifier.notify(sample_event("job_failed"))
        assert report["good"].outcome is Outcome.DELIVERED
        assert report["bad"].outcome is Outcome.FAILED and "authentication failed" in report["bad"].error
        assert sink.connections == 2


# -- errors, classified --------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_connection_refused_is_retried(tocsin_make_notifier):
    port = _free_port()
    notifier = tocsin_make_notifier(
        [{"name": "mail", "channel": "email", "host": "127.0.0.1", "port": port, "security": "none",
          "from": SENDER, "to": "ops@example.org"}],
        notifications={"max_retries": 2},
    )  # fmt: skip
    receipt = send(notifier)
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 3
    assert f"connection refused by 127.0.0.1:{port}" in receipt.error


def test_unknown_host_is_retried(tocsin_make_notifier):
    notifier = tocsin_make_notifier(
        [{"name": "mail", "channel": "email", "host": "no-such-host.invalid", "security": "none",
          "from": SENDER, "to": "ops@example.org"}],
        notifications={"max_retries": 1},
    )  # fmt: skip
    receipt = send(notifier)
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 2
    assert "could not resolve the host name 'no-such-host.invalid'" in receipt.error


def test_a_server_that_never_greets_times_out_and_is_retried(tocsin_make_notifier):
    with socket.socket() as silent:  # accepts connections (the kernel does), never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        notifier = tocsin_make_notifier(
            [{"name": "mail", "channel": "email", "host": "127.0.0.1", "port": port, "security": "starttls",
              "from": SENDER, "to": "ops@example.org", "timeout": 0.5}],
            notifications={"max_retries": 1},
        )  # fmt: skip
        receipt = send(notifier)
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 2
    assert "timed out" in receipt.error


def test_starttls_against_a_server_without_it(tocsin_smtp_sink, tocsin_make_notifier):
    receipt = send(tocsin_make_notifier([target(tocsin_smtp_sink, security="starttls")]))
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 1
    assert 'does not offer STARTTLS: use security = "none" or a server with STARTTLS' in receipt.error


def test_implicit_tls_against_a_plain_server(tocsin_smtp_sink, tocsin_make_notifier):
    receipt = send(tocsin_make_notifier([target(tocsin_smtp_sink, security="ssl")]))
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 1
    assert 'the server does not speak TLS on this port: use security = "starttls" or "none"' in receipt.error


@pytest.mark.parametrize("security", ["starttls", "none"])
def test_plain_or_starttls_against_an_implicit_tls_port(security, tls_sink, tocsin_make_notifier):
    receipt = send(tocsin_make_notifier([target(tls_sink, security=security, timeout=3.0)]))
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 1
    assert "speaks TLS from the first byte" in receipt.error and 'use security = "ssl"' in receipt.error


def test_no_tls_against_a_server_that_requires_starttls(starttls_sink, tocsin_make_notifier):
    receipt = send(tocsin_make_notifier([target(starttls_sink, security="none")]))
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 1
    assert "requires STARTTLS before sending" in receipt.error and 'use security = "starttls"' in receipt.error


def test_auth_without_tls_against_a_starttls_server(starttls_sink, tocsin_make_notifier):
    receipt = send(tocsin_make_notifier([target(starttls_sink, security="none", user=USER, password=PASSWORD)]))
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 1
    assert 'offers AUTH only after STARTTLS: use security = "starttls"' in receipt.error


def test_an_untrusted_certificate_is_a_permanent_error(starttls_sink, tocsin_make_notifier):
    receipt = send(tocsin_make_notifier([target(starttls_sink, security="starttls", user=USER, password=PASSWORD)]))
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 1
    assert "failed verification" in receipt.error and "ca_file" in receipt.error
    assert starttls_sink.messages == []


def test_a_refused_recipient_is_named(tocsin_smtp_sink, tocsin_make_notifier):
    tocsin_smtp_sink.refuse("gone@example.org")
    notifier = tocsin_make_notifier([target(tocsin_smtp_sink, to=["ops@example.org", "gone@example.org"])])
    receipt = send(notifier)
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 1
    assert "recipient refused: gone@example.org (550 5.1.1 mailbox unavailable)" in receipt.error
    assert "the message went to the other 1 recipient(s)" in receipt.error
    assert tocsin_smtp_sink.wait_for(1)[0].rcpt_tos == ["ops@example.org"]


def test_every_recipient_refused(tocsin_smtp_sink, tocsin_make_notifier):
    tocsin_smtp_sink.refuse("gone@example.org")
    receipt = send(tocsin_make_notifier([target(tocsin_smtp_sink, to="gone@example.org")]))
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 1
    assert receipt.error == "recipient refused: gone@example.org (550 5.1.1 mailbox unavailable)"
    assert tocsin_smtp_sink.messages == [] and tocsin_smtp_sink.transactions == 0


def test_a_temporary_refusal_is_retried_on_the_same_connection(tocsin_smtp_sink, tocsin_make_notifier):
    tocsin_smtp_sink.reply("451 4.3.0 try again later")
    event = sample_event("job_failed")
    receipt = send(tocsin_make_notifier([target(tocsin_smtp_sink)]), event)
    assert receipt.outcome is Outcome.DELIVERED and receipt.attempts == 2
    assert tocsin_smtp_sink.transactions == 2 and tocsin_smtp_sink.connections == 1
    assert tocsin_smtp_sink.wait_for(1)[0]["Message-ID"] == f"<{event.id}.mail@example.org>"


def test_a_rejected_message_is_permanent(tocsin_smtp_sink, tocsin_make_notifier):
    tocsin_smtp_sink.reply("554 5.6.0 message content rejected")
    receipt = send(tocsin_make_notifier([target(tocsin_smtp_sink)]))
    assert receipt.outcome is Outcome.FAILED and receipt.attempts == 1
    assert receipt.error == "message refused: 554 5.6.0 message content rejected"


# -- the command line ------------------------------------------------------------------------------------
def test_cli_test_sends_one_sample(tocsin_smtp_sink, tocsin_make_notifier):
    import subprocess

    notifier = tocsin_make_notifier([target(tocsin_smtp_sink, subject_prefix="[check]")])
    result = subprocess.run(
        [sys.executable, "-m", "tocsin", "test", "mail", "--config", str(notifier.config.path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "mail  delivered  1 attempt" in result.stderr
    mail = tocsin_smtp_sink.wait_for(1)[0]
    assert mail["Subject"].startswith("[check] ✅ tocsin test notification: this target works")
    assert len(tocsin_smtp_sink.messages) == 1


def test_an_idle_connection_is_closed_and_reopened_when_needed(tocsin_smtp_sink, tocsin_make_notifier, monkeypatch):
    import time

    import tocsin_email.smtp

    monkeypatch.setattr(tocsin_email.smtp, "IDLE_SECONDS", 0.2)
    notifier = tocsin_make_notifier([target(tocsin_smtp_sink)])
    assert send(notifier).outcome is Outcome.DELIVERED
    assert tocsin_smtp_sink.open_connections == 1  # kept for the next message of the batch
    started = time.monotonic()
    tocsin_smtp_sink.wait_closed(timeout=5)  # QUIT after the idle time
    assert time.monotonic() - started < 2
    assert send(notifier).outcome is Outcome.DELIVERED
    assert tocsin_smtp_sink.connections == 2


def test_closing_the_notifier_quits_the_session(tocsin_smtp_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([target(tocsin_smtp_sink)])
    assert send(notifier).outcome is Outcome.DELIVERED
    assert tocsin_smtp_sink.open_connections == 1
    notifier.close()
    tocsin_smtp_sink.wait_closed(timeout=2)


def test_delivery_does_not_block_the_event_loop(tocsin_make_notifier):
    """A server that never answers holds up only its own target: the loop keeps running meanwhile."""
    import asyncio

    with socket.socket() as silent, SmtpSink() as sink:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        slow = {**target(sink, "slow"), "port": silent.getsockname()[1], "timeout": 0.6}
        notifier = tocsin_make_notifier([slow, target(sink, "fast")], notifications={"max_retries": 0})

        async def scenario() -> tuple[int, Any]:
            ticks = 0
            task = asyncio.ensure_future(notifier.anotify(sample_event("job_failed")))
            while not task.done():
                ticks += 1
                await asyncio.sleep(0.01)
            report = task.result()
            await notifier.aclose()
            return ticks, report

        ticks, report = asyncio.run(scenario())
    assert report["fast"].outcome is Outcome.DELIVERED
    assert report["slow"].outcome is Outcome.FAILED and "timed out" in report["slow"].error
    assert ticks >= 20  # ~0.6 s of waiting, and the loop ticked all along
