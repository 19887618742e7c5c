"""What recipients get: the parsed mail under hostile data, recipients by mode, templates, the render CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tocsin import Event, Message, Outcome, sample_event

from .conftest import EXPECTED_HEADERS, SENDER, target


def deliver(notifier: Any, event: Event, name: str = "mail") -> None:
    receipt = notifier.notify(event, targets=[name])[name]
    assert receipt.outcome is Outcome.DELIVERED, receipt.error


# -- hostile data ------------------------------------------------------------------------------------
def test_hostile_event_is_escaped_and_harmless(tocsin_smtp_sink, tocsin_make_notifier, tocsin_hostile_event):
    notifier = tocsin_make_notifier(
        [target(tocsin_smtp_sink, subject_prefix="[ci]")], events={"job_failed": {"notify_user": "only"}}
    )
    event = tocsin_hostile_event("job_failed")
    assert notifier.notify(event)["mail/user"].outcome is Outcome.DELIVERED
    mail = tocsin_smtp_sink.wait_for(1)[0]
    head, _, _ = mail.raw.partition(b"\r\n\r\n")

    # No injected header: the CR/LF in the title and in the user's name stayed inside their values.
    assert {name.lower() for name in mail} == EXPECTED_HEADERS
    assert mail["Bcc"] is None and mail["X-Injected"] is None
    assert head.isascii()  # every non-ASCII header is RFC 2047-encoded
    subject = mail["Subject"]
    assert subject.startswith("[ci] ❌ Subject-ish Bcc: victim@example.org X-Injected: yes @everyone")
    assert "\n" not in subject and "\r" not in subject
    # Cut to 200 characters with a visible mark (folding may add a space where it mixes encodings).
    sent = notifier.render("mail", event).subject  # the same subject the admins' mail has
    assert len(sent) == 200 and sent.endswith("…") and " ".join(subject.split()) == sent
    # The user's name became a (quoted) display name; victim@ never became a recipient.
    to = mail["To"].addresses
    assert [a.addr_spec for a in to] == ["user@example.org"]
    assert to[0].display_name == "Subject-ish Bcc: victim@example.org X-Injected: yes"
    assert mail.rcpt_tos == ["user@example.org"]

    html = mail.part("html").get_content()
    text = mail.part("plain").get_content()
    # HTML: event data autoescaped, nothing executable.
    assert "<script>" not in html and "<img src=x" not in html and "<b>bold</b>" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;i&gt;italic&lt;/i&gt;" in html
    assert '<a href="https://example.org/runs/1?a=1&amp;b=&lt;2&gt;"' in html
    assert "{{ 7*7 }} {% raw %} ${ENV}" in html  # event data is text, never a template
    # The 1 MB error is cut, with a note, in both parts; the mail stays small.
    assert "Cut to 20,000 of 1,048,675 characters." in html
    assert "[error cut to 20,000 of 1,048,675 characters]" in text
    assert len(mail.raw) < 250_000
    # Emoji and other non-BMP characters survive intact; control characters are gone.
    assert "emoji 🎉🔥💾 math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 cjk 漢字" in text and "emoji 🎉🔥💾" in html
    assert "\x00" not in text and "\x1b" not in text and "\x07" not in html
    # The text part's headline is one line even though the title holds CR/LF.
    assert text.splitlines()[0].startswith("❌ Subject-ish Bcc: victim@example.org X-Injected: yes @everyone")


def test_a_hostile_hook_cannot_inject_a_header_either(tocsin_smtp_sink, tocsin_make_notifier):
    """Headers are collapsed again at delivery, so even an edited Message stays one header per value."""
    import tocsin

    class Meddler:
        @tocsin.hookimpl(wrapper=True)
        def format_message(self, event, target, templates):
            message = yield
            headers = {**message.headers, "X-Note": "a\r\nBcc: victim@example.org"}
            return Message.from_dict({**message.to_dict(), "subject": "hi\r\nX-Injected: 1", "headers": headers})

    notifier = tocsin_make_notifier([target(tocsin_smtp_sink)], plugins=[Meddler()])
    deliver(notifier, sample_event("job_failed"))
    mail = tocsin_smtp_sink.wait_for(1)[0]
    assert mail["Subject"] == "hi X-Injected: 1"
    assert mail["X-Note"] == "a Bcc: victim@example.org"
    assert mail["Bcc"] is None and mail["X-Injected"] is None
    assert mail.rcpt_tos == ["ops@example.org"]


def test_utf8_subject_is_encoded_and_decodes_back(tocsin_smtp_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([target(tocsin_smtp_sink, subject_prefix="[Ünïcode]")])
    deliver(notifier, Event("job_completed", data={"run_name": "Nacht-Lauf 🌙 日本 𝔘"}))
    mail = tocsin_smtp_sink.wait_for(1)[0]
    assert mail["Subject"] == "[Ünïcode] ✅ Job completed: Nacht-Lauf 🌙 日本 𝔘"
    raw_subject = next(line for line in mail.raw.split(b"\r\n") if line.startswith(b"Subject:"))
    assert raw_subject.isascii() and b"=?utf-8?" in raw_subject


# -- recipients ----------------------------------------------------------------------------------------
EVENT = {
    "recipients": ["Job Owner <owner@example.org>", "second@example.org"],
    "user": {"name": "Ann Example", "email": "ann@example.org"},
}


def mails_by_to(sink: Any, count: int) -> dict[tuple[str, ...], Any]:
    return {tuple(a.addr_spec for a in m["To"].addresses): m for m in sink.wait_for(count)}


@pytest.mark.parametrize("mode", ["ignore", "also", "only"])
def test_event_recipients_get_their_own_mail(mode, tocsin_smtp_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([target(tocsin_smtp_sink, event_recipients=mode, bcc="audit@example.org")])
    report = notifier.notify(Event("job_failed", data={"run_name": "x"}, **EVENT))
    admins = ("ops@example.org",)
    owners = ("owner@example.org", "second@example.org")
    expected = {"ignore": [admins], "also": [admins, owners], "only": [owners]}[mode]
    mails = mails_by_to(tocsin_smtp_sink, len(expected))
    assert sorted(mails) == sorted(expected)  # never one To: line with both
    if mode != "only":
        assert mails[admins].rcpt_tos == ["ops@example.org", "audit@example.org"]
        assert report["mail"].outcome is Outcome.DELIVERED
    else:
        assert report["mail"].reason.startswith("event_recipients = only")
    if mode != "ignore":
        assert mails[owners].rcpt_tos == list(owners)  # no Bcc of the admins' either
        assert {a.display_name for a in mails[owners]["To"].addresses} == {"Job Owner", ""}
        assert report["mail/recipients"].outcome is Outcome.DELIVERED


@pytest.mark.parametrize("notify_user", ["also", "only"])
def test_notify_user_is_a_separate_mail_with_the_users_name(notify_user, tocsin_smtp_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier(
        [target(tocsin_smtp_sink), {"name": "console", "channel": "console"}],
        events={"user_*": {"notify_user": notify_user}},
    )
    report = notifier.notify(Event("user_created", user={"name": "Ann Example", "email": "ann@example.org"}))
    mails = mails_by_to(tocsin_smtp_sink, 2 if notify_user == "also" else 1)
    assert mails[("ann@example.org",)]["To"].addresses[0].display_name == "Ann Example"
    assert mails[("ann@example.org",)].rcpt_tos == ["ann@example.org"]
    assert (("ops@example.org",) in mails) is (notify_user == "also")
    assert report["mail/user"].outcome is Outcome.DELIVERED
    assert (report["console"].outcome is Outcome.SKIPPED) is (notify_user == "only")


def test_a_target_without_recipients_says_so(tocsin_smtp_sink, tocsin_make_notifier):
    table = target(tocsin_smtp_sink, event_recipients="also")
    del table["to"]
    notifier = tocsin_make_notifier([table])
    report = notifier.notify(Event("job_failed", recipients=["someone@example.org"]))
    assert tocsin_smtp_sink.wait_for(1)[0].rcpt_tos == ["someone@example.org"]
    assert report["mail"].outcome is Outcome.FAILED and "has no recipients" in report["mail"].error
    assert report["mail/recipients"].outcome is Outcome.DELIVERED


def test_bad_event_recipients_are_dropped_never_sent_to(tocsin_smtp_sink, tocsin_make_notifier, caplog):
    notifier = tocsin_make_notifier([target(tocsin_smtp_sink, event_recipients="only")])
    hostile = [
        "x@example.org\r\nBcc: victim@example.org",
        "a@example.org, victim@example.org",
        "not an address",
        "<victim@example.org> <other@example.org>",
        "ok@example.org",
        "OK@example.org",  # a duplicate, whatever its case
    ]
    assert notifier.notify(Event("job_failed", recipients=hostile))["mail/recipients"].outcome is Outcome.DELIVERED
    mail = tocsin_smtp_sink.wait_for(1)[0]
    assert mail.rcpt_tos == ["ok@example.org"]
    assert "victim" not in mail["To"]
    assert "ignoring recipient" in caplog.text


def test_recipients_and_sender_show_in_the_message_not_the_options(tocsin_smtp_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier(
        [target(tocsin_smtp_sink, cc="lead@example.org", reply_to="Help <help@example.org>")]
    )
    message = notifier.render("mail", "job_failed")
    assert message.recipients == ("ops@example.org", "lead@example.org")
    assert message.headers["From"] == SENDER
    assert message.headers["Reply-To"] == "Help <help@example.org>"
    assert message.extra == {"to": ["ops@example.org"]}
    deliver(notifier, sample_event("job_failed"))
    assert tocsin_smtp_sink.wait_for(1)[0]["Reply-To"].addresses[0].addr_spec == "help@example.org"


# -- the Message --------------------------------------------------------------------------------------
def test_message_is_plain_serializable_and_secret_free(tocsin_smtp_sink, tocsin_make_notifier):
    password = "Very-Secret-Pw-31337"
    url = f"smtp://user:{password}@127.0.0.1:{tocsin_smtp_sink.port}"
    table = {**target(tocsin_smtp_sink), "smtp_url": url}
    for key in ("host", "port", "security"):
        del table[key]
    notifier = tocsin_make_notifier([table])
    message = notifier.render("mail", "job_failed")
    data = message.to_dict()
    dumped = json.dumps(data, ensure_ascii=False)
    assert password not in dumped and "smtp://" not in dumped and password not in repr(message)
    assert Message.from_dict(json.loads(dumped)) == message
    assert message.subject and message.text and message.html


def test_message_id_is_stable_per_event_and_target(tocsin_smtp_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([target(tocsin_smtp_sink, "a"), target(tocsin_smtp_sink, "b b/c")])
    event = sample_event("job_failed")
    first = notifier.render("a", event).headers["Message-ID"]
    assert notifier.render("a", event).headers["Message-ID"] == first == f"<{event.id}.a@example.org>"
    assert notifier.render("b b/c", event).headers["Message-ID"] == f"<{event.id}.b-b-c@example.org>"
    assert notifier.render("a", sample_event("job_failed")).headers["Message-ID"] != first


def test_event_specific_templates(tocsin_smtp_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([target(tocsin_smtp_sink)])
    failed = notifier.render("mail", "job_failed")
    completed = notifier.render("mail", "job_completed")
    other = notifier.render("mail", "backup_failed")
    assert failed.subject == "❌ Job failed: nightly-etl (exit code 1)"
    assert 'The job failed at step "load: write partitions" with exit code 1.' in failed.text
    assert "The job failed at step <strong>load: write partitions</strong>" in failed.html
    assert completed.subject == "✅ Job completed: nightly-etl in 12m 34s"
    assert "The job finished in 12m 34s (1.5 GiB)." in completed.text
    assert other.subject == "❌ Backup failed: nightly-etl"
    assert "A backup ended with an error." in other.text  # the default template's description


# -- template overrides --------------------------------------------------------------------------------
def test_template_override_by_file_name(tocsin_smtp_sink, tocsin_make_notifier, tmp_path):
    folder = tmp_path / "notify-templates" / "email"
    folder.mkdir(parents=True)
    (folder / "default.subject.j2").write_text("OVERRIDDEN {{ title }}", encoding="utf-8")
    (folder / "job_failed.html.j2").write_text("<p>custom: {{ title }} {{ error }}</p>", encoding="utf-8")
    notifier = tocsin_make_notifier(
        [target(tocsin_smtp_sink)], notifications={"template_dirs": [str(tmp_path / "notify-templates")]}
    )
    # default.subject.j2 shapes every event's subject (the event-specific ones extend it) ...
    assert notifier.render("mail", "job_completed").subject == "OVERRIDDEN Job completed: nightly-etl"
    # ... job_failed.html.j2 only job_failed's HTML, still autoescaped.
    event = sample_event("job_failed", data={"error": "<b>boom</b>"})
    deliver(notifier, event)
    mail = tocsin_smtp_sink.wait_for(1)[0]
    assert mail["Subject"] == "OVERRIDDEN Job failed: nightly-etl"
    assert mail.part("html").get_content().strip() == "<p>custom: Job failed: nightly-etl &lt;b&gt;boom&lt;/b&gt;</p>"
    assert "The job failed at step" in mail.part("plain").get_content()  # the packaged text part
    assert "<table" in notifier.render("mail", "job_completed").html


# -- tocsin render ---------------------------------------------------------------------------------------
def test_cli_render_prints_subject_text_and_html(tocsin_smtp_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier(
        [target(tocsin_smtp_sink, subject_prefix="[ci]", user="u", password="Render-Secret-77")]
    )
    result = subprocess.run(
        [sys.executable, "-m", "tocsin", "render", "mail", "job_failed", "-d", "run_name=<nightly>",
         "--config", str(notifier.config.path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "From: Build alerts <alerts@example.org>" in out
    assert "To: ops@example.org" in out
    assert "Subject: [ci] ❌ Job failed: <nightly> (exit code 1)" in out
    text, html = out.split("--- text ---", 1)[1].split("--- html ---", 1)
    assert "Job failed: <nightly>" in text and "IOError: disk full" in text
    assert "<title>Job failed: &lt;nightly&gt;</title>" in html and "<pre " in html
    assert "Render-Secret-77" not in out + result.stderr
    assert tocsin_smtp_sink.messages == []  # rendering sends nothing


def test_an_internationalised_domain_is_sent_in_its_ascii_form(tocsin_smtp_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([target(tocsin_smtp_sink, to="Bücher <info@bücher.example>")])
    deliver(notifier, sample_event("job_failed"))
    mail = tocsin_smtp_sink.wait_for(1)[0]
    assert mail.rcpt_tos == ["info@xn--bcher-kva.example"]
    assert mail["To"].addresses[0].display_name == "Bücher"


@pytest.mark.parametrize("event_type", ["job_failed", "job_completed"])
def test_a_huge_last_step_message_and_description_make_a_bounded_mail(
    event_type, tocsin_smtp_sink, tocsin_make_notifier
):
    # Before: job_failed's templates put last_step, message and description in whole (a 5 MB mail).
    data = {"last_step": "S" * 2_000_000, "message": "M" * 2_000_000, "exit_code": "9" * 1_000_000}
    notifier = tocsin_make_notifier([target(tocsin_smtp_sink)])
    deliver(notifier, Event(event_type, data=data))
    mail = tocsin_smtp_sink.last
    assert len(mail.raw) < 400_000, len(mail.raw)
    text = mail.part("plain").get_content()
    assert "SSS" in text and "MMM" in text and "…" in text
    assert len(mail["Subject"]) <= 200
