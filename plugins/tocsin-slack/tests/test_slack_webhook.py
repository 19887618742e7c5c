"""The ``slack`` channel against a real HTTP server standing in for a Slack incoming webhook."""

from __future__ import annotations

import re

import pytest
from tocsin_slack.limits import BUTTON_TEXT, HEADER_TEXT, violations

from tocsin import Outcome, sample_event
from tocsin.testing import Reply

WEBHOOK_PATH = "/services/T0000/B0000/SeCrEtWeBhOoKtOkEn"

# Every "<" a message may hold in mrkdwn is one the plugin wrote itself: a date token or a link
# to the run / the instance (event data cannot add any: it is escaped to &lt;).
OWN_TOKEN_RE = re.compile(r"<(!date\^\d+\^[^|<>]*\|[^<>]*|https://example\.org[^|<>\s]*\|[^<>]*)>")


def slack_target(sink, **extra):
    return {"name": "team-slack", "channel": "slack", "url": sink.url + WEBHOOK_PATH, **extra}


def mrkdwn_texts(body):
    """The body's ``text`` and every mrkdwn text object in its blocks (and attachments' blocks)."""
    found = [body["text"]]

    def walk(obj):
        if isinstance(obj, dict):
            if obj.get("type") == "mrkdwn":
                found.append(obj["text"])
            for value in obj.values():
                walk(value)
        elif isinstance(obj, list):
            for value in obj:
                walk(value)

    walk(body.get("blocks"))
    walk(body.get("attachments"))
    return found


def blocks_of(body, kind):
    return [b for b in body["blocks"] if b["type"] == kind]


def test_webhook_receives_the_block_kit_message(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([slack_target(tocsin_http_sink)], source={"instance": "prod-scheduler"})
    event = sample_event("job_failed", source={})  # the config's [source] names the instance

    report = notifier.notify(event)

    receipt = report["team-slack"]
    assert receipt.outcome is Outcome.DELIVERED, receipt.error
    assert (receipt.attempts, receipt.status_code) == (1, 200)
    request = tocsin_http_sink.last
    assert (request.method, request.path) == ("POST", WEBHOOK_PATH)
    assert request.header("content-type").startswith("application/json")
    body = request.json()
    assert violations(body) == []
    # Header with the status mark.
    assert body["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "❌ Job failed: nightly-etl", "emoji": True},
    }
    # Fields: job/run, status, duration, size, last step …
    fields = [f["text"] for b in blocks_of(body, "section") for f in b.get("fields", [])]
    for expected in ("*Run*\nnightly-etl", "*Status*\nfailed", "*Duration*\n12m 34s", "*Size*\n1.5 GiB"):
        assert expected in fields
    assert "*Last step*\nload: write partitions" in fields
    # The error, preformatted.
    error_text = next(
        b["text"]["text"] for b in blocks_of(body, "section") if "text" in b and "Error" in b["text"]["text"]
    )
    assert error_text.startswith("*Error*\n```Traceback (most recent call last):")
    assert error_text.endswith("IOError: disk full```")
    # Context line: severity, type, instance, and the time as a Slack date token.
    context = " | ".join(e["text"] for e in blocks_of(body, "context")[-1]["elements"])
    assert "failure · job_failed" in context
    assert "prod-scheduler" in context
    assert re.search(r"<!date\^\d+\^\{date_short_pretty\} \{time_secs\}\|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC>", context)
    # A button to the run.
    button = blocks_of(body, "actions")[0]["elements"][0]
    assert button["type"] == "button"
    assert button["url"] == "https://example.org/runs/run-0042"
    assert button["text"]["text"] == "Open run"
    # The plain-text fallback for notifications and screen readers.
    assert body["text"].startswith("❌ Job failed: nightly-etl\n")
    assert "Error: IOError: disk full" in body["text"]
    assert body["unfurl_links"] is False


def test_hostile_event_keeps_limits_and_can_neither_ping_nor_link(
    tocsin_http_sink, tocsin_make_notifier, tocsin_hostile_event
):
    notifier = tocsin_make_notifier([slack_target(tocsin_http_sink)])

    report = notifier.notify(tocsin_hostile_event("job_failed"))

    assert report.ok, report["team-slack"].error
    request = tocsin_http_sink.last
    assert len(request.body) < 40_000  # the 1 MB error did not travel
    body = request.json()
    assert violations(body) == []
    for text in mrkdwn_texts(body):
        leftover = OWN_TOKEN_RE.sub("", text)
        assert "<" not in leftover and ">" not in leftover, text[:300]
        for forged in ("<!channel>", "<!here>", "<!everyone>", "<@U024BE7LH>", "<http://evil", "<https://evil"):
            assert forged not in text
    fields = [f["text"] for b in blocks_of(body, "section") for f in b.get("fields", [])]
    run = next(f for f in fields if f.startswith("*Run*"))
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;@U024BE7LH&gt;" in run  # shown, not parsed
    last_step = next(f for f in fields if f.startswith("*Last step*"))
    assert "&lt;http://evil.example|click here&gt;" in last_step
    note = next(f for f in fields if f.startswith("*Note*"))
    assert "🎉🔥💾" in note and "𝔘𝔫𝔦𝔠𝔬𝔡𝔢" in note
    control = next(f for f in fields if f.startswith("*Control*"))
    assert "\x00" not in control and "\x1b" not in control
    # Long parts are cut with a visible mark, never rejected.
    header = body["blocks"][0]["text"]["text"]
    assert len(header) <= HEADER_TEXT and header.endswith("…")
    error_text = next(
        b["text"]["text"] for b in blocks_of(body, "section") if "text" in b and "Error" in b["text"]["text"]
    )
    assert error_text.endswith("…```")
    assert "&lt;/script&gt;&lt;script&gt;" in error_text
    # 54 fields: at most 10 per section, the rest counted.
    assert all(len(b.get("fields", [])) <= 10 for b in blocks_of(body, "section"))
    assert any("more fields" in e["text"] for b in blocks_of(body, "context") for e in b["elements"])
    # The run URL (with & < > in it) is still a working button.
    button = blocks_of(body, "actions")[0]["elements"][0]
    assert button["url"] == "https://example.org/runs/1?a=1&b=<2>"
    assert len(button["text"]["text"]) <= BUTTON_TEXT


def test_color_bar_and_link_options(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([slack_target(tocsin_http_sink, color_bar=True, button=False, username="tocsin")])

    assert notifier.notify(sample_event("job_completed")).ok

    body = tocsin_http_sink.last.json()
    assert violations(body) == []
    assert "blocks" not in body
    (attachment,) = body["attachments"]
    assert attachment["color"] == "#2EB67D"  # success green
    assert attachment["blocks"][0]["text"]["text"] == "✅ Job completed: nightly-etl"
    assert attachment["blocks"][-1]["text"]["text"] == "<https://example.org/runs/run-0042|Open run>"
    assert body["username"] == "tocsin"
    assert body["text"].startswith("✅ Job completed: nightly-etl")


@pytest.mark.parametrize(
    ("status", "answer", "hint"),
    [
        (404, "no_team", "webhook URL is wrong"),
        (403, "invalid_token", "create a new webhook"),
        (400, "invalid_payload", "could not read the message"),
        (410, "channel_is_archived", "archived"),
        (404, "no_service", "disabled or removed"),
    ],
)
def test_webhook_error_answers_are_permanent_and_keep_slacks_text(
    tocsin_http_sink, tocsin_make_notifier, status, answer, hint
):
    notifier = tocsin_make_notifier([slack_target(tocsin_http_sink)])
    tocsin_http_sink.reply(Reply(status, answer))

    receipt = notifier.notify(sample_event("job_failed"))["team-slack"]

    assert receipt.outcome is Outcome.FAILED
    assert (receipt.attempts, receipt.status_code) == (1, status)
    assert f"HTTP {status}: {answer}" in receipt.error
    assert hint in receipt.error
    assert "SeCrEtWeBhOoKtOkEn" not in receipt.error and tocsin_http_sink.url not in receipt.error
    assert len(tocsin_http_sink.requests) == 1


def test_webhook_429_waits_for_retry_after_then_delivers(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([slack_target(tocsin_http_sink)])
    tocsin_http_sink.reply(Reply(429, "rate_limited", headers={"Retry-After": "0.3"}), Reply(200, "ok"))

    receipt = notifier.notify(sample_event("job_failed"))["team-slack"]

    assert receipt.outcome is Outcome.DELIVERED, receipt.error
    assert receipt.attempts == 2
    first, second = tocsin_http_sink.requests
    assert second.received_at - first.received_at >= 0.28
    assert first.json() == second.json()


def test_webhook_server_error_is_retried(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([slack_target(tocsin_http_sink)])
    tocsin_http_sink.reply(Reply(500, "rollup_error"), Reply(200, "ok"))

    receipt = notifier.notify(sample_event("job_failed"))["team-slack"]

    assert receipt.outcome is Outcome.DELIVERED
    assert receipt.attempts == 2


def test_workflow_webhook_json_failure_is_reported(tocsin_http_sink, tocsin_make_notifier):
    notifier = tocsin_make_notifier([slack_target(tocsin_http_sink)])
    tocsin_http_sink.reply(Reply(200, {"ok": False, "error": "invalid_blocks"}))

    receipt = notifier.notify(sample_event("job_failed"))["team-slack"]

    assert receipt.outcome is Outcome.FAILED
    assert "invalid_blocks" in receipt.error
